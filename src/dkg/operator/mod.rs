//! The operator side of an ssv-dkg ceremony: request logic, the HTTPS server and its limits.

pub mod config_file;
pub mod limits;
pub mod log_limit;
pub mod logic;
pub mod rate_limit;
pub mod saved_results;
pub mod server;

pub use limits::{ServerLimitOverrides, ServerLimits};
pub use logic::{Fault, OperatorError, OperatorState};
pub use server::{RunningOperator, ServerError, TlsMaterial, raise_open_file_limit, serve};
