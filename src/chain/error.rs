//! What the chain layer can fail with. Every variant says which call or input failed and keeps
//! its cause as a `source`, so the CLI prints the whole chain; transport causes are scrubbed of the
//! endpoint's secrets first ([`Cause`]). Reverts are decoded once into [`Revert`], so callers match
//! on the contract's error type instead of parsing text.

use std::{error::Error as StdError, fmt, path::PathBuf};

use alloy::{
    primitives::{Address, B256, Bytes},
    sol_types::SolInterface,
};

use super::{
    contracts::{SSVNetwork::SSVNetworkErrors, SSVNetworkV1::SSVNetworkV1Errors},
    url::SensitiveUrl,
};

/// A chain-layer failure.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The endpoint could not be reached at all.
    #[error("cannot reach the RPC endpoint {url}")]
    Unreachable {
        /// The URL with any credentials removed.
        url: String,
        /// The transport error, scrubbed.
        #[source]
        source: Cause,
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
    #[error("{what} failed")]
    Rpc {
        /// Which call.
        what: String,
        /// The node's or the transport's error, scrubbed.
        #[source]
        source: Cause,
    },
    /// A view or a node answer that makes no sense for this contract version.
    #[error("{what}: {detail}")]
    Unexpected {
        /// Which call.
        what: String,
        /// What was returned and why it cannot be used.
        detail: String,
    },
    /// A contract call reverted.
    #[error("{what} reverted: {revert}")]
    Revert {
        /// Which call.
        what: String,
        /// The decoded reason.
        revert: Revert,
    },
    /// A sending call was made without a key.
    #[error("{0} needs a signer, but none is configured")]
    NoSigner(&'static str),
    /// The fee per gas the node asks for is above the configured cap.
    #[error(
        "the {kind} transaction needs {wanted_gwei:.2} gwei per gas, above the configured cap of {cap_gwei:.2} gwei; nothing was sent (raise deposit.max_fee_per_gas_gwei or wait)"
    )]
    FeeCap {
        /// What the transaction does.
        kind: String,
        /// Fee the node suggests.
        wanted_gwei: f64,
        /// The cap.
        cap_gwei: f64,
    },
    /// The account has pending transactions that no journal of this agent holds.
    #[error(
        "account {account} has {count} pending transaction(s) (nonces {first}..={last}) that no ssv-agent journal holds; nothing was signed. Wait for them to be mined (or replace them) before running again"
    )]
    ForeignPending {
        /// The signer.
        account: Address,
        /// How many.
        count: u64,
        /// First pending nonce.
        first: u64,
        /// Last pending nonce.
        last: u64,
    },
    /// A transaction was not mined within the configured wait.
    #[error(
        "the {kind} transaction {tx_hash} (nonce {nonce}) is not mined after {waited_secs} s; it stays journaled and the next run resumes it (raise the fee cap to let it be replaced)"
    )]
    Stuck {
        /// What it does.
        kind: String,
        /// Its latest hash.
        tx_hash: B256,
        /// Its nonce.
        nonce: u64,
        /// How long we waited.
        waited_secs: u64,
    },
    /// A recorded transaction's nonce was taken by another transaction.
    #[error(
        "the recorded {kind} transaction {tx_hash} never mined, and nonce {nonce} of {from} was used by another transaction; nothing was resent. Check the account's history before retrying"
    )]
    NonceTaken {
        /// What it does.
        kind: String,
        /// Its hash.
        tx_hash: B256,
        /// Its nonce.
        nonce: u64,
        /// The account.
        from: Address,
    },
    /// A recorded transaction belongs to another chain.
    #[error(
        "the recorded {kind} transaction {tx_hash} was signed for chain {recorded}, but this endpoint is chain {actual}; refusing to mix chains"
    )]
    OtherChain {
        /// What it does.
        kind: String,
        /// Its hash.
        tx_hash: B256,
        /// Recorded chain id.
        recorded: u64,
        /// This chain.
        actual: u64,
    },
    /// Signing failed.
    #[error("signing the {kind} transaction")]
    Sign {
        /// What it does.
        kind: String,
        /// The signer's error.
        #[source]
        source: Cause,
    },
    /// A state-file problem while journaling a transaction.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// The scan cache could not be written.
    #[error("scan cache {path}")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

impl ChainError {
    /// The decoded revert, when this is one.
    pub fn revert(&self) -> Option<&Revert> {
        match self {
            Self::Revert { revert, .. } => Some(revert),
            _ => None,
        }
    }
}

/// One link of an error chain with its text scrubbed of an endpoint's secrets; the original
/// chain's structure (each `source`) is kept.
#[derive(Debug, Clone)]
pub struct Cause {
    text: String,
    next: Option<Box<Self>>,
}

impl Cause {
    /// Captures `err` and its sources, each scrubbed with `url`.
    pub fn scrubbed(err: &(dyn StdError + 'static), url: Option<&SensitiveUrl>) -> Self {
        let scrub = |t: String| match url {
            Some(u) => u.scrub(&t),
            None => t,
        };
        let mut texts = vec![scrub(err.to_string())];
        let mut cur = err.source();
        while let Some(e) = cur {
            let t = scrub(e.to_string());
            // Transports repeat their cause in their own text; keep only new information.
            if !texts.last().is_some_and(|last| last.contains(&t)) {
                texts.push(t);
            }
            cur = e.source();
        }
        let mut next = None;
        for text in texts.into_iter().rev() {
            next = Some(Box::new(Self { text, next }));
        }
        *next.expect("at least one link")
    }

    /// A cause that is only a message (no underlying error value).
    pub fn message(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            next: None,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl StdError for Cause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.next.as_deref().map(|c| c as &(dyn StdError + 'static))
    }
}

/// Why a call reverted, decoded once from the revert data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revert {
    /// An SSVNetwork v2.0.0 custom error.
    SsvV2(SSVNetworkErrors),
    /// An SSVNetwork v1.2.0 custom error (only those whose selectors differ from v2's).
    SsvV1(SSVNetworkV1Errors),
    /// A `require` string or panic reason.
    Message(String),
    /// Data nothing here decodes.
    Raw(Bytes),
    /// Mined with status 0 (the reason is not in a receipt).
    Status0,
}

impl Revert {
    /// Decodes revert data: SSVNetwork v2 errors, then v1's own, then `Error(string)`/`Panic`.
    pub fn from_data(data: &[u8]) -> Self {
        if let Ok(e) = SSVNetworkErrors::abi_decode(data) {
            return Self::SsvV2(e);
        }
        if let Ok(e) = SSVNetworkV1Errors::abi_decode(data) {
            return Self::SsvV1(e);
        }
        use alloy::sol_types::{Panic, Revert as RequireRevert, SolError};
        if let Ok(r) = RequireRevert::abi_decode(data) {
            return Self::Message(r.reason);
        }
        if let Ok(p) = Panic::abi_decode(data) {
            return Self::Message(format!("panic {}", p.code));
        }
        Self::Raw(Bytes::copy_from_slice(data))
    }

    /// The Solidity error name, for custom errors.
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Self::SsvV2(e) => SSVNetworkErrors::name_by_selector(e.selector()),
            Self::SsvV1(e) => SSVNetworkV1Errors::name_by_selector(e.selector()),
            _ => None,
        }
    }

    /// "There is no such cluster", in either generation's spelling.
    pub fn is_cluster_missing(&self) -> bool {
        matches!(
            self,
            Self::SsvV2(SSVNetworkErrors::ClusterDoesNotExist(_))
                | Self::SsvV1(SSVNetworkV1Errors::ClusterDoesNotExists(_))
        )
    }
}

impl fmt::Display for Revert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SsvV2(_) | Self::SsvV1(_) => {
                let name = self.name().unwrap_or("unknown SSVNetwork error");
                write!(f, "{}", crate::ssv::revert::explain(name))
            }
            Self::Message(m) => write!(f, "{m}"),
            Self::Raw(d) if d.is_empty() => write!(f, "reverted without data"),
            Self::Raw(d) => write!(f, "revert data {d}"),
            Self::Status0 => write!(f, "mined with status 0"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolError;

    #[test]
    fn reverts_decode_to_their_type_and_name() {
        use super::super::contracts::SSVNetwork;
        let data = SSVNetwork::IncorrectClusterState {}.abi_encode();
        let r = Revert::from_data(&data);
        assert!(matches!(
            r,
            Revert::SsvV2(SSVNetworkErrors::IncorrectClusterState(_))
        ));
        assert_eq!(r.name(), Some("IncorrectClusterState"));
        assert!(r.to_string().contains("stale"), "{r}");
        let v1 = super::super::contracts::SSVNetworkV1::ClusterDoesNotExists {}.abi_encode();
        assert!(Revert::from_data(&v1).is_cluster_missing());
        assert_eq!(
            Revert::from_data(&[1, 2]),
            Revert::Raw(Bytes::from(vec![1, 2]))
        );
    }

    #[test]
    fn causes_keep_the_chain_and_lose_the_secret() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request for url (https://rpc.example/v3/KEY1234567)")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("connection reset"));
        let url = SensitiveUrl::new("https://rpc.example/v3/KEY1234567");
        let c = Cause::scrubbed(&e, Some(&url));
        assert!(!c.to_string().contains("KEY1234567"), "{c}");
        assert_eq!(c.source().unwrap().to_string(), "connection reset");
    }
}
