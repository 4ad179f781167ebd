//! Beacon API: a small client for the endpoints the agent reads, the activation follower and the
//! activation ETA from queue and churn.

pub mod activation;
pub mod client;
pub mod eta;
pub mod types;
