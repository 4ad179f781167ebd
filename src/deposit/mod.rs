//! Deposit stage: deposit data (SSZ roots, domain, credentials), the `deposit_data.json` format,
//! the checks that must pass before any ETH moves, and sending each deposit exactly once.

pub mod checks;
pub mod data;
pub mod json;
pub mod send;
