//! The SSV stage: keyshares checks, cluster fees and runway, registration, status and the watch
//! service.

pub mod keyshares;
