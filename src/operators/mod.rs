//! Choosing SSV operators that will answer (issue 14): discovery from the SSV API with the
//! chain's facts over it, the web app's filters and more, health checks before a ceremony, the
//! cost and runway of a cluster, and automatic selection or replacement for `run`.
//!
//! - [`api`]: the SSV API client (`/api/v4/<network>/operators`, paging, bounded, retried) and its
//!   typed operator;
//! - [`candidates`]: an API operator with the chain's fees, validator count, privacy and
//!   whitelist (the chain wins, differences are kept);
//! - [`filter`]: filters, their reasons, the orders and the ranking;
//! - [`health`]: the per-operator health check (the initiator's ping, decoded when it refuses);
//! - [`cost`]: yearly fee, funding for N days plus collateral, what the wallet must hold;
//! - [`select`]: automatic choice and replacement of unhealthy operators;
//! - [`table`]: the terminal tables of `ssv-agent operators`.
//!
//! It sits between the flows (`pipeline`, `cli`) and the stages it reads through (`dkg`'s ping,
//! `ssv` views and fees, `chain`); [`api`] uses only the base layer, so `dkg init` fetches
//! operators by id through it too.

pub mod api;
pub mod candidates;
pub mod cost;
pub mod filter;
pub mod health;
pub mod select;
pub mod table;

pub use api::{ApiClient, ApiError, ApiOperator, ApiOptions, ListQuery};
pub use candidates::{Access, Candidate};
pub use filter::{Filters, Rejection, SortKey};
pub use health::{CheckOptions, Health, Problem};
pub use select::{Policy, Pool, SelectError, Selection};

/// A real operator key (ssv-dkg's first example operator) for the unit tests.
#[cfg(test)]
pub(crate) fn test_key() -> String {
    let path = "../shared/vectors/ssv-dkg/examples/initiator/operators_info.json";
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&text).expect("operators info JSON");
    v[0]["public_key"].as_str().expect("public_key").to_string()
}
