//! Beacon API: a small client for the endpoints the agent reads (and the exit pool the devnet's
//! exit double writes), the activation and exit followers, and their ETAs from queue and churn.

pub mod activation;
pub mod client;
pub mod eta;
pub mod exit;
pub mod exit_eta;
pub mod types;
pub mod voluntary_exit;
