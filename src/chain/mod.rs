//! The chain layer: provider and signer, contract bindings, chunked log scanning, typed reads and
//! journaled sending.

pub mod contracts;
pub mod impersonate;
pub mod logs;
pub mod reads;
pub mod scan_cache;
pub mod send;
pub mod signer;

use std::path::PathBuf;

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};

use crate::network::NetworkProfile;

/// A chain-layer failure, always saying which call or which input.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The endpoint could not be reached at all.
    #[error("cannot reach the RPC endpoint {url}: {message}")]
    Unreachable {
        /// The URL with any credentials removed.
        url: String,
        /// The transport error.
        message: String,
    },
    /// The endpoint serves another chain than the profile's.
    #[error(
        "the RPC endpoint {url} is on chain id {actual}, but the `{profile}` profile expects chain id {expected}; point rpc.url at a {profile} node or choose the matching network"
    )]
    WrongChain {
        /// The URL with any credentials removed.
        url: String,
        /// Profile name.
        profile: String,
        /// Profile chain id.
        expected: u64,
        /// What the node said.
        actual: u64,
    },
    /// A JSON-RPC call failed.
    #[error("{what} failed: {message}")]
    Rpc {
        /// Which call.
        what: String,
        /// The error text from the node or transport.
        message: String,
    },
    /// A contract call reverted; `reason` is the decoded custom error when known.
    #[error("{what} reverted: {reason}")]
    Revert {
        /// Which call.
        what: String,
        /// Decoded error name, or the raw data.
        reason: String,
    },
    /// A sending call was made on a read-only connection.
    #[error("{0} needs a signer, but none is configured")]
    NoSigner(&'static str),
    /// A recorded transaction cannot be resumed safely.
    #[error("{0}")]
    Resume(String),
    /// A state-file problem while journaling a transaction.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// The scan cache could not be written.
    #[error("scan cache {path}: {message}")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// A provider checked against a network profile, with an optional signer.
#[derive(Debug, Clone)]
pub struct Chain {
    provider: DynProvider,
    profile: NetworkProfile,
    signer: Option<PrivateKeySigner>,
    log_chunk: u64,
    cache_dir: Option<PathBuf>,
    confirmations: u64,
    log_calls: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Chain {
    /// Connects over HTTP(S) or WS(S), and refuses an endpoint on another chain than the profile's.
    pub async fn connect(
        url: &str,
        profile: &NetworkProfile,
        signer: Option<PrivateKeySigner>,
    ) -> Result<Self, ChainError> {
        let shown = redact_url(url);
        let builder = ProviderBuilder::new();
        let unreachable = |e: alloy::transports::TransportError| ChainError::Unreachable {
            url: shown.clone(),
            message: e.to_string(),
        };
        // No wallet filler: `send` signs locally so the raw bytes can be journaled before broadcast.
        let provider = builder.connect(url).await.map_err(unreachable)?.erased();
        let actual = provider
            .get_chain_id()
            .await
            .map_err(|e| ChainError::Unreachable {
                url: shown.clone(),
                message: e.to_string(),
            })?;
        if actual != profile.chain_id {
            return Err(ChainError::WrongChain {
                url: shown,
                profile: profile.name.clone(),
                expected: profile.chain_id,
                actual,
            });
        }
        Ok(Self {
            provider,
            profile: profile.clone(),
            signer,
            log_chunk: 50_000,
            cache_dir: None,
            confirmations: 1,
            log_calls: Default::default(),
        })
    }

    /// Sets the `eth_getLogs` range size.
    pub fn with_log_chunk(mut self, blocks: u64) -> Self {
        self.log_chunk = blocks.max(1);
        self
    }

    /// Caches scanned heights (owner nonce, cluster snapshots) in this folder between runs.
    pub fn with_scan_cache(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// Confirmations to wait for after inclusion.
    pub fn with_confirmations(mut self, n: u64) -> Self {
        self.confirmations = n.max(1);
        self
    }

    /// The underlying provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The network profile this chain was checked against.
    pub fn profile(&self) -> &NetworkProfile {
        &self.profile
    }

    /// The signer's address, if a signer is loaded.
    pub fn signer_address(&self) -> Option<Address> {
        self.signer.as_ref().map(|s| s.address())
    }

    /// The configured confirmations.
    pub fn confirmations(&self) -> u64 {
        self.confirmations
    }

    /// A fresh log scanner with the configured chunk size.
    pub fn log_scanner(&self) -> logs::LogScanner {
        logs::LogScanner::with_counter(
            self.provider.clone(),
            self.log_chunk,
            self.log_calls.clone(),
        )
    }

    /// `eth_getLogs` requests made through this chain so far (benchmarks, tests).
    pub fn log_calls(&self) -> u64 {
        self.log_calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn signer(&self) -> Option<&PrivateKeySigner> {
        self.signer.as_ref()
    }

    pub(crate) fn cache_dir(&self) -> Option<&PathBuf> {
        self.cache_dir.as_ref()
    }

    pub(crate) fn rpc_err(
        what: impl Into<String>,
    ) -> impl FnOnce(alloy::transports::TransportError) -> ChainError {
        let what = what.into();
        move |e| ChainError::Rpc {
            what,
            message: e.to_string(),
        }
    }
}

/// Removes user info and query strings (API keys) from a URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            // Path segments of hosted RPCs often are the API key; keep only the host.
            if u.path().len() > 1 {
                u.set_path("/...");
            }
            u.to_string()
        }
        Err(_) => "<invalid url>".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redaction_hides_keys() {
        assert_eq!(
            super::redact_url("https://u:p@eth.example/v3/SECRET?key=x"),
            "https://eth.example/..."
        );
        assert_eq!(
            super::redact_url("http://127.0.0.1:8545"),
            "http://127.0.0.1:8545/"
        );
    }
}
