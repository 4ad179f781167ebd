//! kyber-compatible joint-Feldman DKG on BLS12-381 G1 (drand/kyber v1.3.2 `share/dkg` with the
//! kyber-bls12381 suite), as ssv-dkg runs it.

pub mod bundle;
pub mod poly;
pub mod protocol;
pub mod reshare;

pub use bundle::{Deal, DealBundle};
pub use protocol::{DistKeyShare, DkgError, Node, Participant};

#[cfg(test)]
mod tests;
