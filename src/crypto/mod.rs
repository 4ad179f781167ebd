//! (module under construction)
pub mod bls;
pub mod ecies;
