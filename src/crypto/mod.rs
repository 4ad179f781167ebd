//! The cryptography the agent signs and checks with, each on a vetted implementation: BLS12-381
//! signatures and Lagrange interpolation (`bls`, on blst), kyber's ECIES for DKG deals (`ecies`),
//! EIP-2335 keystores (`keystore`) and the SSV operators' RSA keys (`rsa_keys`). Nothing here
//! knows about SSV clusters or ceremonies; `dkg` and `ssv` build on it.

pub mod bls;
pub mod ecies;
pub mod keystore;
pub mod rsa_keys;
