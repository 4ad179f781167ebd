//! (module under construction)
pub mod bls;
pub mod ecies;
pub mod keystore;
pub mod rsa_keys;
