//! The operator side of an ssv-dkg ceremony: request logic and the HTTPS server.

pub mod config_file;
pub mod logic;
pub mod saved_results;
pub mod server;

pub use logic::{Fault, OperatorError, OperatorState};
pub use server::{RunningOperator, ServerError, TlsMaterial, serve};
