//! A small Beacon API client over reqwest: the read endpoints the deposit, activation and exit
//! stages need, and the one write the devnet's exit double makes (a signed voluntary exit into the
//! pool). Each call has its own timeout; errors say which URL failed and whether a retry can help,
//! so the followers can ride out a node restart.

use std::{collections::HashMap, time::Duration};

use serde::de::DeserializeOwned;
use url::Url;

use crate::chain::{Cause, SensitiveUrl};

use super::types::{
    DepositContractInfo, Envelope, FinalityCheckpoints, Fork, Genesis, PendingDeposit, SyncStatus,
    ValidatorInfo,
};
use super::voluntary_exit::SignedVoluntaryExitJson;

/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes read of the answer to a POST (a pool endpoint answers with a short status).
const MAX_POST_REPLY: usize = 64 * 1024;

/// A failed Beacon API call.
#[derive(Debug, thiserror::Error)]
pub enum BeaconError {
    /// The base URL is unusable.
    #[error("invalid beacon node URL `{url}`")]
    BadUrl {
        /// What was given, redacted.
        url: String,
        /// Why.
        #[source]
        source: Cause,
    },
    /// Connection refused/reset, DNS, timeout: the node may come back.
    #[error("beacon node unreachable at {url}")]
    Unreachable {
        /// Endpoint, redacted.
        url: String,
        /// reqwest's error and its causes, scrubbed of the URL's secrets.
        #[source]
        source: Cause,
    },
    /// An HTTP error status.
    #[error("beacon node answered {status} for {url}: {body}")]
    Status {
        /// Endpoint.
        url: String,
        /// HTTP status.
        status: u16,
        /// First bytes of the body.
        body: String,
    },
    /// A 2xx answer this client cannot read.
    #[error("unexpected JSON from {url}")]
    Decode {
        /// Endpoint, redacted.
        url: String,
        /// serde's error.
        #[source]
        source: serde_json::Error,
    },
    /// `/eth/v1/config/spec` lacks a value the agent needs.
    #[error("beacon spec has no usable `{0}`")]
    MissingSpec(String),
}

impl BeaconError {
    /// Whether waiting and retrying can help (node restarting, overloaded, not yet serving).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }
}

/// `/eth/v1/config/spec`: a flat map; values are strings (numbers and hex), newer clients add arrays.
#[derive(Debug, Clone, Default)]
pub struct Spec(pub HashMap<String, serde_json::Value>);

impl Spec {
    /// A numeric value, if present.
    pub fn u64(&self, key: &str) -> Option<u64> {
        match self.0.get(key)? {
            serde_json::Value::String(s) => s.parse().ok(),
            serde_json::Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// A numeric value that must be there.
    pub fn require(&self, key: &str) -> Result<u64, BeaconError> {
        self.u64(key)
            .ok_or_else(|| BeaconError::MissingSpec(key.to_string()))
    }
}

/// Beacon API client bound to one node.
#[derive(Debug, Clone)]
pub struct BeaconClient {
    base: Url,
    secret: SensitiveUrl,
    http: reqwest::Client,
}

impl BeaconClient {
    /// A client for `base` (e.g. `http://127.0.0.1:5052`) with the given per-request timeout.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, BeaconError> {
        let secret = SensitiveUrl::new(base);
        let mut base = Url::parse(base).map_err(|e| BeaconError::BadUrl {
            url: secret.to_string(),
            source: Cause::message(e.to_string()),
        })?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| BeaconError::BadUrl {
                url: secret.to_string(),
                source: Cause::scrubbed(&e, Some(&secret)),
            })?;
        Ok(Self { base, secret, http })
    }

    /// The node's base URL with user info, path and query removed (API keys live there).
    pub fn display_url(&self) -> String {
        self.secret.to_string()
    }

    fn url(&self, path: &str) -> Result<Url, BeaconError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| BeaconError::BadUrl {
                url: self.secret.to_string(),
                source: Cause::message(e.to_string()),
            })
    }

    /// `path` under the redacted base, for messages.
    fn shown(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.secret.redacted().trim_end_matches("..."),
            path.trim_start_matches('/')
        )
    }

    /// GET returning `None` on 404 (unknown validator, endpoint absent on this client), asked again
    /// after 0.25, 0.5, 1 and 2 s when the node answers 5xx or 429. Lodestar answers a state query
    /// with a passing 500 ("Must commit changes before reading all nodes") until its next head
    /// once a posted voluntary exit touched the head state, so the pauses span a few slots; a
    /// one-shot command should not fail on it. Unreachable nodes fail at once (their timeout
    /// already waited).
    async fn get_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, BeaconError> {
        let mut pause = std::time::Duration::from_millis(250);
        for _ in 0..4 {
            match self.get_opt_once(path).await {
                Err(BeaconError::Status { status, .. }) if status >= 500 || status == 429 => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                other => return other,
            }
        }
        self.get_opt_once(path).await
    }

    async fn get_opt_once<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, BeaconError> {
        let url = self.url(path)?;
        let shown = self.shown(path);
        let resp = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| BeaconError::Unreachable {
                url: shown.clone(),
                source: Cause::scrubbed(&e, Some(&self.secret)),
            })?;
        let status = resp.status();
        if status.as_u16() == 404 {
            return Ok(None);
        }
        let bytes = resp.bytes().await.map_err(|e| BeaconError::Unreachable {
            url: shown.clone(),
            source: Cause::scrubbed(&e, Some(&self.secret)),
        })?;
        if !status.is_success() {
            let body = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err(BeaconError::Status {
                url: shown,
                status: status.as_u16(),
                body,
            });
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| BeaconError::Decode { url: shown, source })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, BeaconError> {
        match self.get_opt(path).await? {
            Some(v) => Ok(v),
            None => Err(BeaconError::Status {
                url: self.shown(path),
                status: 404,
                body: "not found".into(),
            }),
        }
    }

    /// `/eth/v1/beacon/genesis`.
    pub async fn genesis(&self) -> Result<Genesis, BeaconError> {
        Ok(self
            .get::<Envelope<Genesis>>("eth/v1/beacon/genesis")
            .await?
            .data)
    }

    /// `/eth/v1/config/spec`.
    pub async fn spec(&self) -> Result<Spec, BeaconError> {
        Ok(Spec(
            self.get::<Envelope<HashMap<String, serde_json::Value>>>("eth/v1/config/spec")
                .await?
                .data,
        ))
    }

    /// `/eth/v1/config/deposit_contract`.
    pub async fn deposit_contract(&self) -> Result<DepositContractInfo, BeaconError> {
        Ok(self
            .get::<Envelope<DepositContractInfo>>("eth/v1/config/deposit_contract")
            .await?
            .data)
    }

    /// `/eth/v1/node/syncing`.
    pub async fn syncing(&self) -> Result<SyncStatus, BeaconError> {
        Ok(self
            .get::<Envelope<SyncStatus>>("eth/v1/node/syncing")
            .await?
            .data)
    }

    /// `/eth/v1/beacon/states/{state}/finality_checkpoints`.
    pub async fn finality(&self, state: &str) -> Result<FinalityCheckpoints, BeaconError> {
        let path = format!("eth/v1/beacon/states/{state}/finality_checkpoints");
        Ok(self.get::<Envelope<FinalityCheckpoints>>(&path).await?.data)
    }

    /// `/eth/v1/beacon/states/{state}/fork`.
    pub async fn fork(&self, state: &str) -> Result<Fork, BeaconError> {
        let path = format!("eth/v1/beacon/states/{state}/fork");
        Ok(self.get::<Envelope<Fork>>(&path).await?.data)
    }

    /// `POST /eth/v1/beacon/pool/voluntary_exits`: 200 (broadcast) and 204 (stored, broadcast
    /// later) are success; a 400 means the node judged the exit invalid now (its body says why).
    pub async fn submit_voluntary_exit(
        &self,
        exit: &SignedVoluntaryExitJson,
    ) -> Result<(), BeaconError> {
        let path = "eth/v1/beacon/pool/voluntary_exits";
        let shown = self.shown(path);
        let unreachable = |e: reqwest::Error| BeaconError::Unreachable {
            url: shown.clone(),
            source: Cause::scrubbed(&e, Some(&self.secret)),
        };
        let mut resp = self
            .http
            .post(self.url(path)?)
            .header("accept", "application/json")
            .json(exit)
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        // Bounded: a node (or something posing as one) must not make us buffer without limit.
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            body.extend_from_slice(&chunk[..chunk.len().min(MAX_POST_REPLY - body.len())]);
            if body.len() >= MAX_POST_REPLY {
                break;
            }
        }
        Err(BeaconError::Status {
            url: shown.clone(),
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
        })
    }

    /// `/eth/v1/beacon/states/{state}/validators/{id}`; `None` when the node does not know it.
    pub async fn validator(
        &self,
        state: &str,
        id: &str,
    ) -> Result<Option<ValidatorInfo>, BeaconError> {
        let path = format!("eth/v1/beacon/states/{state}/validators/{id}");
        Ok(self
            .get_opt::<Envelope<ValidatorInfo>>(&path)
            .await?
            .map(|e| e.data))
    }

    /// Validators of the given statuses (repeated `status=` parameters: Lodestar 1.5.1 does not
    /// split comma lists).
    pub async fn validators_by_status(
        &self,
        state: &str,
        statuses: &[&str],
    ) -> Result<Vec<ValidatorInfo>, BeaconError> {
        let query: Vec<String> = statuses.iter().map(|s| format!("status={s}")).collect();
        let path = format!(
            "eth/v1/beacon/states/{state}/validators?{}",
            query.join("&")
        );
        Ok(self.get::<Envelope<Vec<ValidatorInfo>>>(&path).await?.data)
    }

    /// `/eth/v1/beacon/states/{state}/pending_deposits` (Electra+); `None` on nodes without it.
    pub async fn pending_deposits(
        &self,
        state: &str,
    ) -> Result<Option<Vec<PendingDeposit>>, BeaconError> {
        let path = format!("eth/v1/beacon/states/{state}/pending_deposits");
        match self.get_opt::<Envelope<Vec<PendingDeposit>>>(&path).await {
            Ok(v) => Ok(v.map(|e| e.data)),
            // Pre-Electra states answer 400 ("not available before Electra") on current clients.
            Err(BeaconError::Status {
                status: 400 | 405 | 501,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
