//! ssv-agent: takes a staker from chosen SSV operators to an active, registered and funded
//! distributed validator. The binary (`src/main.rs`) is a thin clap layer over this library.
//!
//! Layers, each using only those below it (see `docs/architecture.md`):
//! `pipeline`/`devnet` -> `operators` -> `dkg` -> `deposit`, `ssv`, `beacon` -> `chain` -> `config`, `network`,
//! `crypto`, `journal`, `ui`.

pub mod amount;
pub mod beacon;
pub mod chain;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod deposit;
pub mod devnet;
pub mod dkg;
pub mod journal;
pub mod network;
pub mod operators;
pub mod pipeline;
pub mod rehearsal;
pub mod ssv;
pub mod ui;
