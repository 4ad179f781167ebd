//! ssv-dkg wire format: SSZ containers, the proof hash-tree-root, identifiers.

pub mod changes;
pub mod ids;
pub mod proof_root;
pub(crate) mod ssz;
pub mod types;

pub use changes::*;
pub use ssz::SszError;
pub use types::*;

#[cfg(test)]
mod tests;
