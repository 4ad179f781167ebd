//! The SSV stage: keyshares checks, cluster fees and runway, registration, status and the watch
//! service.

pub mod actions;
pub mod cluster;
pub mod cluster_tx;
pub mod exit;
pub mod fees;
pub mod keyshares;
pub mod lifecycle;
pub mod register;
pub mod revert;
pub mod status;
pub mod validators;
pub mod views;
pub mod watch;
