//! Keyshares files: parsing every known layout and the checks that must pass before any
//! registration transaction (ssv-contracts.md §5–§6). The contract never inspects `sharesData`, so
//! a bad file costs gas, burns an owner nonce and yields a validator no node will run.

mod checks;
mod json;
mod nonce;
mod operator_key;
mod problems;
mod shares_data;

use std::path::{Path, PathBuf};

pub use checks::{
    OperatorKey, ValidatedKeyshares, ValidatedShare, load_and_validate, parse_owner, validate,
};
pub use json::{
    ExactJsonError, ItemData, ItemPayload, KEYSHARES_VERSION, KeysharesFile, KeysharesItem,
    KeysharesJson, Layout, OperatorEntry, SUPPORTED_VERSIONS, from_slice_exact,
};
pub use nonce::{NonceMismatch, check_nonce_sequence};
pub use operator_key::{onchain_key_der, operator_key_der};
pub use problems::{Problem, ShareProblem};
pub use shares_data::{
    ENCRYPTED_SHARE_LEN, SHARE_PUBKEY_LEN, SIGNATURE_LEN, SharesData, SharesDataError,
    owner_nonce_digest, shares_data_len,
};

/// Why a keyshares file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeysharesError {
    /// The file could not be read.
    #[error("cannot read keyshares file {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON of the expected shape.
    #[error("keyshares JSON does not parse: {0}")]
    Json(#[source] serde_json::Error),
    /// A `version` other than v1.1.0 / v1.2.0.
    #[error(
        "keyshares version `{0}` is not supported: only v1.1.0 and v1.2.0 carry the owner signature SSV nodes require; regenerate the shares"
    )]
    UnsupportedVersion(String),
    /// A `shares` wrapper without `version`.
    #[error("keyshares file has `shares` but no `version`")]
    MissingVersion,
    /// Neither a `shares` array nor a `data`/`payload` item.
    #[error(
        "unknown keyshares layout: expected `{{version, shares: [...]}}`, `{{version, data, payload}}` or `{{data, payload}}`"
    )]
    UnknownLayout,
    /// An empty `shares` array.
    #[error("keyshares file holds no shares")]
    NoShares,
    /// One or more findings; all are listed.
    #[error("keyshares rejected ({} problem(s)): {}", problems.len(), join(problems))]
    Rejected {
        /// Every finding.
        problems: Vec<ShareProblem>,
    },
    /// Any of the above, for a named file.
    #[error("{path}: {source}")]
    InFile {
        /// File.
        path: PathBuf,
        /// The error.
        #[source]
        source: Box<Self>,
    },
}

impl KeysharesError {
    /// Attaches the file name.
    pub fn in_file(self, path: &Path) -> Self {
        Self::InFile {
            path: path.to_path_buf(),
            source: Box::new(self),
        }
    }

    /// The findings, if this is a rejection (looking through `InFile`).
    pub fn problems(&self) -> &[ShareProblem] {
        match self {
            Self::Rejected { problems } => problems,
            Self::InFile { source, .. } => source.problems(),
            _ => &[],
        }
    }
}

fn join(problems: &[ShareProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
