//! DKG ceremonies speaking ssv-dkg v3.1.0's wire protocol: the SSZ message layer (`wire`), the
//! kyber-compatible joint-Feldman DKG on G1 (`kyber`), each operator's result (`results`), the
//! operator HTTPS server (`operator`) and the initiator (`initiator`).

pub mod bls_batch;
pub mod defaults;
pub mod initiator;
pub mod kyber;
pub mod operator;
pub mod outputs;
pub mod owner_sig;
pub mod reshare;
pub mod resign;
pub mod results;
pub mod rsa_signer;
pub mod transport;
pub mod verify;
pub mod wire;
