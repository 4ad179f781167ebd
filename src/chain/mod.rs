//! The chain layer: provider and sender, contract bindings, chunked log scanning, typed reads and
//! the one journaled send path.

pub mod contracts;
pub mod error;
pub mod logs;
pub mod multicall;
pub mod reads;
pub mod scan_cache;
pub mod send;
pub mod signer;
pub mod url;

use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::client::ClientBuilder,
    signers::local::PrivateKeySigner,
    transports::layers::RetryBackoffLayer,
};

pub use error::{Cause, ChainError, Revert};
pub use send::{FeeCaps, TxPolicy};
pub use url::{SensitiveUrl, redact_url};

use crate::{config::Config, network::NetworkProfile};

/// Who signs what the chain layer sends.
#[derive(Debug, Clone)]
pub enum Sender {
    /// Reads only; any send is refused.
    ReadOnly,
    /// A local key: real transactions, signed here and journaled before broadcast.
    Local(PrivateKeySigner),
    /// An account unlocked on an anvil fork (`--dry-run`); refused on any node that is not anvil.
    Impersonated(Address),
}

impl Sender {
    /// The sending address, if any.
    pub fn address(&self) -> Option<Address> {
        match self {
            Self::ReadOnly => None,
            Self::Local(s) => Some(s.address()),
            Self::Impersonated(a) => Some(*a),
        }
    }
}

/// How to talk to the execution layer: every command builds its [`Chain`] from one of these.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// The JSON-RPC endpoint (HTTP(S) or WS(S)).
    pub url: SensitiveUrl,
    /// Blocks per `eth_getLogs` request (halved when the provider refuses a range).
    pub log_chunk: u64,
    /// `eth_getLogs` requests in flight and per second.
    pub scan: logs::ScanLimits,
    /// Where scanned log heights are cached between runs.
    pub scan_cache: Option<PathBuf>,
    /// The state root: the account outbox lives in `<state_dir>/accounts/`.
    pub state_dir: Option<PathBuf>,
    /// Confirmations after inclusion.
    pub confirmations: u64,
    /// Longest wait for one JSON-RPC answer.
    pub request_timeout: Duration,
    /// Fee caps, waits, rebroadcast and replacement.
    pub tx: TxPolicy,
    /// Read batches larger than one JSON-RPC batch through Multicall3 where it is deployed
    /// (`chain::multicall`); off, they are plain `eth_call` batches.
    pub multicall: bool,
}

impl ChainConfig {
    /// Defaults for `url`: 50 000-block log ranges, 1 confirmation, 30 s requests.
    pub fn new(url: &str) -> Self {
        Self {
            url: SensitiveUrl::new(url),
            log_chunk: 50_000,
            scan: logs::ScanLimits::default(),
            scan_cache: None,
            state_dir: None,
            confirmations: 1,
            request_timeout: Duration::from_secs(30),
            tx: TxPolicy::default(),
            multicall: true,
        }
    }

    /// The settings the config file gives.
    pub fn from_config(config: &Config) -> Self {
        Self {
            url: SensitiveUrl::new(&config.rpc.url),
            log_chunk: config.rpc.log_chunk_blocks,
            scan: logs::ScanLimits {
                in_flight: config.rpc.max_logs_in_flight.max(1),
                per_second: config.rpc.max_requests_per_second,
            },
            scan_cache: config.rpc.log_cache_dir.clone(),
            state_dir: Some(config.validators.output_dir.clone()),
            confirmations: config.deposit.confirmations,
            request_timeout: Duration::from_secs(config.rpc.request_timeout_secs.max(1)),
            tx: TxPolicy::from_config(config),
            multicall: true,
        }
    }
}

/// A provider checked against a network profile, with its sender and settings.
#[derive(Debug, Clone)]
pub struct Chain {
    provider: DynProvider,
    /// The same endpoint behind alloy's rate-limit retry layer, for log scans and the head and
    /// chain id reads: it must not carry batches, whose per-call reverts the layer would turn
    /// into a failure of the whole batch.
    scan_provider: DynProvider,
    profile: NetworkProfile,
    sender: Sender,
    config: ChainConfig,
    log_calls: Arc<AtomicU64>,
    pacer: Arc<logs::Pacer>,
    sent: send::SentLog,
    multicall: multicall::Presence,
}

impl Chain {
    /// Connects, and refuses an endpoint on another chain than the profile's.
    pub async fn open(
        config: ChainConfig,
        profile: &NetworkProfile,
        sender: Sender,
    ) -> Result<Self, ChainError> {
        let provider = build_provider(&config, false).await?;
        let scan_provider = build_provider(&config, true).await?;
        let unreachable = |e: alloy::transports::TransportError| ChainError::Unreachable {
            url: config.url.to_string(),
            source: Cause::scrubbed(&e, Some(&config.url)),
        };
        let actual = scan_provider.get_chain_id().await.map_err(unreachable)?;
        if actual != profile.chain_id {
            return Err(ChainError::WrongChain {
                url: config.url.to_string(),
                profile: profile.name.clone(),
                expected: profile.chain_id,
                actual,
            });
        }
        let chain = Self {
            provider,
            scan_provider,
            profile: profile.clone(),
            sender,
            config,
            log_calls: Default::default(),
            pacer: Default::default(),
            sent: Default::default(),
            multicall: Default::default(),
        };
        if let Sender::Impersonated(who) = chain.sender {
            send::impersonate(&chain, who).await?;
        }
        Ok(chain)
    }

    /// [`Chain::open`] from the config file's settings.
    pub async fn from_config(config: &Config, sender: Sender) -> Result<Self, ChainError> {
        let profile = config.profile().map_err(|e| ChainError::Unexpected {
            what: "network profile".into(),
            detail: e.to_string(),
        })?;
        Self::open(ChainConfig::from_config(config), &profile, sender).await
    }

    /// Connects with default settings and a local key, if given (tests, examples).
    pub async fn connect(
        url: &str,
        profile: &NetworkProfile,
        signer: Option<PrivateKeySigner>,
    ) -> Result<Self, ChainError> {
        let sender = signer.map_or(Sender::ReadOnly, Sender::Local);
        Self::open(ChainConfig::new(url), profile, sender).await
    }

    /// Sets the `eth_getLogs` range size.
    pub fn with_log_chunk(mut self, blocks: u64) -> Self {
        self.config.log_chunk = blocks.max(1);
        self
    }

    /// Turns Multicall3 for large read batches on (the default) or off (plain `eth_call`
    /// batches, as on a chain without Multicall3).
    pub fn with_multicall(mut self, on: bool) -> Self {
        self.config.multicall = on;
        self
    }

    /// Caches scanned heights (owner nonce, cluster snapshots) in this folder between runs.
    pub fn with_scan_cache(mut self, dir: Option<PathBuf>) -> Self {
        self.config.scan_cache = dir;
        self
    }

    /// Keeps the account outbox under this state root.
    pub fn with_state_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.config.state_dir = dir;
        self
    }

    /// Confirmations to wait for after inclusion.
    pub fn with_confirmations(mut self, n: u64) -> Self {
        self.config.confirmations = n.max(1);
        self
    }

    /// Replaces the transaction policy (caps, waits, replacement).
    pub fn with_tx_policy(mut self, policy: TxPolicy) -> Self {
        self.config.tx = policy;
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

    /// Who sends.
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// The sender's address, if it can send.
    pub fn signer_address(&self) -> Option<Address> {
        self.sender.address()
    }

    /// The settings.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// The configured confirmations.
    pub fn confirmations(&self) -> u64 {
        self.config.confirmations.max(1)
    }

    /// A fresh log scanner with the configured chunk size.
    pub fn log_scanner(&self) -> logs::LogScanner {
        logs::LogScanner::with_counter(
            self.scan_provider.clone(),
            self.config.log_chunk,
            self.log_calls.clone(),
        )
        .with_url(self.config.url.clone())
        .with_limits(self.config.scan, self.pacer.clone())
    }

    /// Sets the scan's requests in flight and per second.
    pub fn with_scan_limits(mut self, limits: logs::ScanLimits) -> Self {
        self.config.scan = limits;
        self
    }

    /// `eth_getLogs` requests made through this chain so far (benchmarks, tests).
    pub fn log_calls(&self) -> u64 {
        self.log_calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn sent_log(&self) -> &send::SentLog {
        &self.sent
    }

    pub(crate) fn cache_dir(&self) -> Option<&PathBuf> {
        self.config.scan_cache.as_ref()
    }

    /// Maps a transport error of `what` to [`ChainError::Rpc`], scrubbed of the URL's secrets.
    pub fn rpc_err<W: Into<String>>(
        &self,
        what: W,
    ) -> impl FnOnce(alloy::transports::TransportError) -> ChainError + use<W> {
        let what = what.into();
        let url = self.config.url.clone();
        move |e| ChainError::Rpc {
            what,
            source: Cause::scrubbed(&e, Some(&url)),
        }
    }
}

/// HTTP with a request timeout (WS as is); with `retry`, behind alloy's rate-limit retry layer
/// (429 and the providers' equivalents, backing off as they ask).
async fn build_provider(config: &ChainConfig, retry: bool) -> Result<DynProvider, ChainError> {
    let unreachable = |source: Cause| ChainError::Unreachable {
        url: config.url.to_string(),
        source,
    };
    let raw = config.url.expose();
    // 10 retries starting at 200 ms; no compute-unit budget (unknown for a generic provider).
    let layer = RetryBackoffLayer::new(10, 200, u64::MAX);
    let client = if raw.starts_with("ws://") || raw.starts_with("wss://") {
        let ws = alloy::providers::WsConnect::new(raw);
        let scrub = |e: alloy::transports::TransportError| {
            unreachable(Cause::scrubbed(&e, Some(&config.url)))
        };
        if retry {
            ClientBuilder::default()
                .layer(layer)
                .ws(ws)
                .await
                .map_err(scrub)?
        } else {
            ClientBuilder::default().ws(ws).await.map_err(scrub)?
        }
    } else {
        let url: reqwest::Url = raw
            .parse()
            .map_err(|e: ::url::ParseError| unreachable(Cause::message(e.to_string())))?;
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| unreachable(Cause::scrubbed(&e, Some(&config.url))))?;
        if retry {
            ClientBuilder::default()
                .layer(layer)
                .http_with_client(http, url)
        } else {
            ClientBuilder::default().http_with_client(http, url)
        }
    };
    // No wallet filler: `send` signs locally so the raw bytes can be journaled before broadcast.
    Ok(ProviderBuilder::new().connect_client(client).erased())
}
