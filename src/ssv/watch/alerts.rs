//! Alerts of the watch service: what an operator of the service must hear about (a runway the
//! watcher could not restore, money it sent, a transaction stuck, a liquidated cluster, an exited
//! validator), de-duplicated, and posted as JSON to a webhook.
//!
//! Conditions (low runway, liquidated, stuck) post once when they start and again every repeat
//! interval while they last; events (top-up sent, validator exited) post once each. Delivery runs
//! on its own task behind a bounded queue, so a slow or dead webhook never delays a tick or a
//! top-up: the tick only `try_send`s. Each POST has a timeout, a few attempts with exponential
//! back-off, no redirects, and the reply body is never read. Failures are counted in the metrics
//! and logged at most once a minute; the URL (which may hold a token) only ever appears redacted.
//! The payload shape is documented in the README ("Alerts").

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::primitives::{Address, B256, Bytes, U256};
use serde::Serialize;
use tokio::sync::mpsc;

use super::{TickReport, metrics::SharedMetrics};
use crate::chain::SensitiveUrl;

/// Version of the payload shape; bumped on any incompatible change.
pub const PAYLOAD_VERSION: u32 = 1;

/// An ongoing condition is posted again after this long unless configured otherwise
/// (`watch.alert_repeat_hours`).
pub const DEFAULT_REPEAT: Duration = Duration::from_secs(6 * 3600);

/// How long a stopping service waits for queued alerts.
pub const SHUTDOWN_FLUSH: Duration = Duration::from_secs(15);

/// A cluster as alerts name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterRef {
    /// Cluster id (keccak of owner and operator ids), 0x-hex.
    pub id: B256,
    /// Owner.
    pub owner: Address,
    /// Operator ids, ascending.
    pub operator_ids: Vec<u64>,
}

/// What a top-up alert carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopUpAction {
    /// `deposit` into an active cluster.
    Topup,
    /// `reactivate` of a liquidated cluster.
    Reactivate,
}

/// One alert; serialised with its `kind` tag beside its fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    /// The runway is under the floor and this tick did not restore it (caps, a failed send, a
    /// legacy SSV cluster, a stuck transaction).
    LowRunway {
        /// The cluster.
        cluster: ClusterRef,
        /// Runway in days, as read this tick.
        days: f64,
        /// The configured floor (`watch.floor_days`).
        floor_days: u64,
    },
    /// The watcher sent money to a cluster.
    TopupSent {
        /// The cluster.
        cluster: ClusterRef,
        /// Top-up or reactivation.
        action: TopUpAction,
        /// Amount, decimal, in the smallest unit of `currency`.
        #[serde(serialize_with = "decimal")]
        amount: U256,
        /// `ETH` (wei) or `SSV` (SSV wei, v1.2.0 networks).
        currency: &'static str,
        /// The value-carrying transaction.
        tx: B256,
    },
    /// A transaction was not mined within the configured wait; nothing new is signed until it is.
    StuckTransaction {
        /// The cluster it was for.
        cluster: ClusterRef,
        /// Its latest hash.
        tx: B256,
        /// What it does (`topup`, `approve`, `reactivate`).
        tx_kind: String,
        /// Its nonce.
        nonce: u64,
        /// Seconds waited so far.
        waited_secs: u64,
    },
    /// A watched cluster is liquidated.
    Liquidated {
        /// The cluster.
        cluster: ClusterRef,
        /// Whether this tick sent a reactivation.
        reactivation_sent: bool,
    },
    /// A validator of a watched owner was exited (`exitValidator` on SSVNetwork).
    ValidatorExited {
        /// Validator BLS public key, 0x-hex.
        pubkey: Bytes,
        /// Its cluster.
        cluster: ClusterRef,
        /// The exit transaction.
        tx: B256,
        /// Its block.
        block: u64,
    },
}

fn decimal<S: serde::Serializer>(v: &U256, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

fn ids(c: &ClusterRef) -> String {
    c.operator_ids
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl Alert {
    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LowRunway { .. } => "low_runway",
            Self::TopupSent { .. } => "topup_sent",
            Self::StuckTransaction { .. } => "stuck_transaction",
            Self::Liquidated { .. } => "liquidated",
            Self::ValidatorExited { .. } => "validator_exited",
        }
    }

    /// One human line (chat webhooks show `text`).
    pub fn text(&self) -> String {
        match self {
            Self::LowRunway {
                cluster,
                days,
                floor_days,
            } => format!(
                "cluster {} (operators {}) has {days:.1} days of runway, under the {floor_days}-day floor",
                cluster.id,
                ids(cluster)
            ),
            Self::TopupSent {
                cluster,
                action,
                amount,
                currency,
                tx,
            } => {
                let what = match action {
                    TopUpAction::Topup => "topped up",
                    TopUpAction::Reactivate => "reactivated",
                };
                let unit = if *currency == "SSV" { "SSV wei" } else { "wei" };
                format!(
                    "{what} cluster {} (operators {}) with {amount} {unit}: {tx}",
                    cluster.id,
                    ids(cluster)
                )
            }
            Self::StuckTransaction {
                cluster,
                tx,
                tx_kind,
                nonce,
                waited_secs,
            } => format!(
                "{tx_kind} transaction {tx} (nonce {nonce}) for cluster {} not mined after {waited_secs} s; nothing new is signed until it is",
                cluster.id
            ),
            Self::Liquidated {
                cluster,
                reactivation_sent,
            } => format!(
                "cluster {} (operators {}) is liquidated{}",
                cluster.id,
                ids(cluster),
                if *reactivation_sent {
                    "; a reactivation was sent"
                } else {
                    ""
                }
            ),
            Self::ValidatorExited {
                pubkey,
                cluster,
                tx,
                ..
            } => format!(
                "validator {pubkey} of cluster {} (operators {}) was exited: {tx}",
                cluster.id,
                ids(cluster)
            ),
        }
    }
}

/// What the webhook receives: the alert's fields beside its context.
#[derive(Debug, Clone, Serialize)]
pub struct AlertPayload {
    /// Always `ssv-agent`.
    pub source: &'static str,
    /// [`PAYLOAD_VERSION`].
    pub version: u32,
    /// Network profile name.
    pub network: String,
    /// Chain id.
    pub chain_id: u64,
    /// Head block of the tick that raised it.
    pub block: u64,
    /// Unix seconds when raised.
    pub at: u64,
    /// One human line.
    pub text: String,
    /// `kind` and the kind's fields.
    #[serde(flatten)]
    pub alert: Alert,
}

/// The de-duplication of conditions: which are active, and when each was last posted.
#[derive(Debug)]
pub struct AlertState {
    clusters: HashMap<B256, ClusterRef>,
    repeat: Option<Duration>,
    /// (kind, key) -> unix seconds of the last post.
    active: HashMap<(&'static str, B256), u64>,
}

impl AlertState {
    /// State over the watched clusters; `repeat` = post an ongoing condition again after this
    /// long (`None`: only when it starts).
    pub fn new(clusters: impl IntoIterator<Item = ClusterRef>, repeat: Option<Duration>) -> Self {
        Self {
            clusters: clusters.into_iter().map(|c| (c.id, c)).collect(),
            repeat,
            active: HashMap::new(),
        }
    }

    /// Changes the repeat interval (`None`: post a condition only when it starts).
    pub fn set_repeat(&mut self, repeat: Option<Duration>) {
        self.repeat = repeat;
    }

    /// The cluster `id` (owner zero and no ids when it is not a watched one).
    pub fn cluster(&self, id: B256) -> ClusterRef {
        self.clusters.get(&id).cloned().unwrap_or(ClusterRef {
            id,
            owner: Address::ZERO,
            operator_ids: Vec::new(),
        })
    }

    /// Whether condition (`kind`, `key`) is due now, recording it as posted if so.
    fn due(&mut self, kind: &'static str, key: B256, now: u64) -> bool {
        match self.active.get(&(kind, key)) {
            Some(&last) => {
                let again = self
                    .repeat
                    .is_some_and(|r| now.saturating_sub(last) >= r.as_secs());
                if again {
                    self.active.insert((kind, key), now);
                }
                again
            }
            None => {
                self.active.insert((kind, key), now);
                true
            }
        }
    }

    /// The alerts a tick raises (besides the top-ups, posted as they are sent). `complete` is
    /// false for a tick that stopped early: its conditions are added but none is cleared.
    pub fn tick_alerts(
        &mut self,
        report: &TickReport,
        floor_days: u64,
        complete: bool,
        now: u64,
    ) -> Vec<Alert> {
        let mut out = Vec::new();
        let mut seen: HashSet<(&'static str, B256)> = HashSet::new();
        for s in &report.stuck {
            seen.insert(("stuck_transaction", s.tx_hash));
            if self.due("stuck_transaction", s.tx_hash, now) {
                out.push(Alert::StuckTransaction {
                    cluster: self.cluster(s.cluster_id),
                    tx: s.tx_hash,
                    tx_kind: s.kind.clone(),
                    nonce: s.nonce,
                    waited_secs: s.waited_secs,
                });
            }
        }
        let fixed = |id: B256| {
            report.topups.iter().any(|t| t.cluster_id == id) && !report.capped.contains(&id)
        };
        for c in &report.clusters {
            let low = c
                .runway_days
                .filter(|d| c.active && *d < floor_days as f64 && !fixed(c.cluster_id));
            if let Some(days) = low {
                seen.insert(("low_runway", c.cluster_id));
                if self.due("low_runway", c.cluster_id, now) {
                    out.push(Alert::LowRunway {
                        cluster: self.cluster(c.cluster_id),
                        days,
                        floor_days,
                    });
                }
            }
            if !c.active {
                seen.insert(("liquidated", c.cluster_id));
                if self.due("liquidated", c.cluster_id, now) {
                    out.push(Alert::Liquidated {
                        cluster: self.cluster(c.cluster_id),
                        reactivation_sent: report
                            .reactivated
                            .iter()
                            .any(|r| r.cluster_id == c.cluster_id),
                    });
                }
            }
        }
        for e in &report.exits {
            out.push(Alert::ValidatorExited {
                pubkey: e.pubkey.clone(),
                cluster: ClusterRef {
                    id: e.cluster_id,
                    owner: e.owner,
                    operator_ids: e.operator_ids.clone(),
                },
                tx: e.tx_hash,
                block: e.block,
            });
        }
        if complete {
            // A cluster not read this tick keeps its state (a failed read is not a recovery).
            let read: HashSet<B256> = report.clusters.iter().map(|c| c.cluster_id).collect();
            self.active.retain(|(kind, key), _| {
                seen.contains(&(*kind, *key))
                    || (*kind != "stuck_transaction" && !read.contains(key))
            });
        }
        out
    }
}

/// How alerts are delivered.
#[derive(Debug, Clone)]
pub struct AlertOptions {
    /// Where to POST (may hold a token: only its redacted form is ever shown).
    pub url: SensitiveUrl,
    /// Timeout of one POST (connect, send, status line).
    pub timeout: Duration,
    /// Attempts per alert (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each next one.
    pub backoff: Duration,
    /// Alerts waiting for delivery at most; more are dropped and counted.
    pub queue: usize,
}

impl AlertOptions {
    /// Defaults for `url`: 10 s per POST, 4 attempts from 1 s back-off, 64 queued.
    pub fn new(url: SensitiveUrl) -> Self {
        Self {
            url,
            timeout: Duration::from_secs(10),
            attempts: 4,
            backoff: Duration::from_secs(1),
            queue: 64,
        }
    }
}

/// An alert webhook that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// Not an http(s) URL.
    #[error("alert webhook URL {url} is not an http:// or https:// URL")]
    BadUrl {
        /// The redacted URL.
        url: String,
    },
    /// The HTTP client could not be built.
    #[error("building the alert webhook client")]
    Client(#[source] reqwest::Error),
}

/// Why one delivery failed (logged, URL scrubbed).
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error("the webhook answered {0}")]
    Status(reqwest::StatusCode),
    #[error("{0}")]
    Transport(String),
}

/// At most one log line a minute; counts what it held back.
#[derive(Debug, Default)]
struct LogLimit {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimit {
    /// `Some(suppressed since the last line)` when a line may be written now.
    fn allow(&mut self) -> Option<u64> {
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_secs(60))
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(Instant::now());
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// The delivery side: a bounded queue and the task that empties it.
#[derive(Debug)]
pub struct Alerter {
    queue: mpsc::Sender<AlertPayload>,
    worker: tokio::task::JoinHandle<()>,
    network: String,
    chain_id: u64,
    metrics: SharedMetrics,
    log: Arc<Mutex<LogLimit>>,
    url: String,
}

impl Alerter {
    /// Starts the delivery task (needs a tokio runtime).
    pub fn start(
        options: AlertOptions,
        network: &str,
        chain_id: u64,
        metrics: SharedMetrics,
    ) -> Result<Self, AlertError> {
        let scheme_ok = url::Url::parse(options.url.expose())
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        if !scheme_ok {
            return Err(AlertError::BadUrl {
                url: options.url.redacted().to_string(),
            });
        }
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ssv-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(AlertError::Client)?;
        let (queue, rx) = mpsc::channel(options.queue.max(1));
        let log = Arc::new(Mutex::new(LogLimit::default()));
        let url = options.url.redacted().to_string();
        let worker = tokio::spawn(deliver_all(
            rx,
            client,
            options,
            metrics.clone(),
            log.clone(),
        ));
        Ok(Self {
            queue,
            worker,
            network: network.to_string(),
            chain_id,
            metrics,
            log,
            url,
        })
    }

    /// The redacted webhook URL (for start-up logs).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues `alert` for delivery; never waits (a full queue drops it, counted and logged).
    pub fn post(&self, alert: Alert, block: u64) {
        let payload = AlertPayload {
            source: "ssv-agent",
            version: PAYLOAD_VERSION,
            network: self.network.clone(),
            chain_id: self.chain_id,
            block,
            at: crate::journal::now_secs(),
            text: alert.text(),
            alert,
        };
        if let Err(e) = self.queue.try_send(payload) {
            self.metrics.alerts_dropped.inc();
            let kind = match &e {
                mpsc::error::TrySendError::Full(p) | mpsc::error::TrySendError::Closed(p) => {
                    p.alert.kind()
                }
            };
            if let Some(suppressed) = self.log.lock().ok().and_then(|mut l| l.allow()) {
                tracing::warn!(kind, suppressed, webhook = %self.url,
                    "alert dropped: the delivery queue is full (the webhook is slow or down)");
            }
        }
    }

    /// Stops taking alerts and waits up to `within` for the queued ones to be delivered (or to
    /// fail); what is left after that is abandoned.
    pub async fn close(self, within: Duration) {
        let Self { queue, worker, .. } = self;
        drop(queue);
        if tokio::time::timeout(within, worker).await.is_err() {
            tracing::warn!("alerts still queued at shutdown were not delivered within {within:?}");
        }
    }
}

/// The delivery task: one alert at a time, in order.
async fn deliver_all(
    mut rx: mpsc::Receiver<AlertPayload>,
    client: reqwest::Client,
    options: AlertOptions,
    metrics: SharedMetrics,
    log: Arc<Mutex<LogLimit>>,
) {
    while let Some(payload) = rx.recv().await {
        let kind = payload.alert.kind();
        match deliver(&client, &options, &payload).await {
            Ok(()) => {
                metrics
                    .alerts_sent
                    .get_or_create(&super::metrics::Metrics::kind(kind))
                    .inc();
            }
            Err(e) => {
                metrics
                    .alerts_failed
                    .get_or_create(&super::metrics::Metrics::kind(kind))
                    .inc();
                if let Some(suppressed) = log.lock().ok().and_then(|mut l| l.allow()) {
                    tracing::warn!(kind, suppressed, webhook = %options.url, error = %e,
                        attempts = options.attempts, "alert not delivered");
                }
            }
        }
    }
}

/// POSTs one payload, retrying transport errors, 429 and 5xx with exponential back-off; the
/// reply body is never read.
async fn deliver(
    client: &reqwest::Client,
    options: &AlertOptions,
    payload: &AlertPayload,
) -> Result<(), DeliveryError> {
    let mut wait = options.backoff;
    let mut last = DeliveryError::Transport("no attempt made".into());
    for attempt in 0..options.attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
        match client.post(options.url.expose()).json(payload).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => {
                let status = r.status();
                last = DeliveryError::Status(status);
                // Another 4xx will not change on a retry (bad URL, bad token).
                if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS {
                    return Err(last);
                }
            }
            Err(e) => last = DeliveryError::Transport(transport_text(&options.url, e)),
        }
    }
    Err(last)
}

/// The error and its causes on one line, without the URL or any part of it.
fn transport_text(url: &SensitiveUrl, e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    url.scrub(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssv::watch::{ClusterReading, Sent, StuckTx};

    fn cluster(b: u8) -> ClusterRef {
        ClusterRef {
            id: B256::repeat_byte(b),
            owner: Address::repeat_byte(0xaa),
            operator_ids: vec![1, 2, 3, 4],
        }
    }

    fn reading(b: u8, active: bool, days: f64) -> ClusterReading {
        ClusterReading {
            cluster_id: B256::repeat_byte(b),
            owner: Address::repeat_byte(0xaa),
            operator_ids: vec![1, 2, 3, 4],
            active,
            validators: 1,
            balance: U256::from(1u8),
            exact: true,
            measured_at: 1,
            burn_rate: U256::from(1u8),
            collateral: U256::from(1u8),
            runway_days: active.then_some(days),
        }
    }

    fn kinds(a: &[Alert]) -> Vec<&'static str> {
        a.iter().map(Alert::kind).collect()
    }

    #[test]
    fn a_condition_posts_once_per_state_change_and_again_after_the_repeat() {
        let mut s = AlertState::new([cluster(1)], Some(Duration::from_secs(3600)));
        let low = TickReport {
            clusters: vec![reading(1, true, 10.0)],
            ..Default::default()
        };
        assert_eq!(kinds(&s.tick_alerts(&low, 30, true, 1000)), ["low_runway"]);
        assert!(
            s.tick_alerts(&low, 30, true, 1060).is_empty(),
            "no repeat within the hour"
        );
        assert_eq!(kinds(&s.tick_alerts(&low, 30, true, 4600)), ["low_runway"]);
        // A failed read keeps the state; a recovery clears it, and a new drop posts at once.
        let unread = TickReport::default();
        assert!(s.tick_alerts(&unread, 30, true, 4700).is_empty());
        assert!(s.tick_alerts(&low, 30, true, 4800).is_empty());
        let fine = TickReport {
            clusters: vec![reading(1, true, 40.0)],
            ..Default::default()
        };
        assert!(s.tick_alerts(&fine, 30, true, 4900).is_empty());
        assert_eq!(kinds(&s.tick_alerts(&low, 30, true, 5000)), ["low_runway"]);
    }

    #[test]
    fn a_full_top_up_is_not_low_runway_but_a_capped_one_is() {
        let mut s = AlertState::new([cluster(1)], None);
        let sent = Sent {
            cluster_id: B256::repeat_byte(1),
            amount: U256::from(5u8),
            tx_hash: B256::repeat_byte(9),
        };
        let mut r = TickReport {
            clusters: vec![reading(1, true, 10.0)],
            topups: vec![sent],
            ..Default::default()
        };
        assert!(s.tick_alerts(&r, 30, true, 1).is_empty());
        r.capped.push(B256::repeat_byte(1));
        assert_eq!(kinds(&s.tick_alerts(&r, 30, true, 2)), ["low_runway"]);
    }

    #[test]
    fn stuck_and_liquidated_follow_their_keys() {
        let mut s = AlertState::new([cluster(1), cluster(2)], None);
        let stuck = StuckTx {
            cluster_id: B256::repeat_byte(1),
            tx_hash: B256::repeat_byte(7),
            kind: "topup".into(),
            nonce: 3,
            waited_secs: 600,
        };
        let r = TickReport {
            stuck: vec![stuck],
            ..Default::default()
        };
        let a = s.tick_alerts(&r, 30, false, 1);
        assert_eq!(kinds(&a), ["stuck_transaction"]);
        assert!(a[0].text().contains("nonce 3"), "{}", a[0].text());
        // An incomplete tick without it does not clear it; a complete one does.
        assert!(
            s.tick_alerts(&TickReport::default(), 30, false, 2)
                .is_empty()
        );
        assert!(s.tick_alerts(&r, 30, false, 3).is_empty());
        assert!(
            s.tick_alerts(&TickReport::default(), 30, true, 4)
                .is_empty()
        );
        assert_eq!(
            kinds(&s.tick_alerts(&r, 30, false, 5)),
            ["stuck_transaction"]
        );
        let liq = TickReport {
            clusters: vec![reading(2, false, 0.0)],
            ..Default::default()
        };
        let a = s.tick_alerts(&liq, 30, true, 6);
        assert_eq!(kinds(&a), ["liquidated"]);
        assert!(s.tick_alerts(&liq, 30, true, 7).is_empty());
    }

    #[test]
    fn the_payload_has_the_documented_shape() {
        let p = AlertPayload {
            source: "ssv-agent",
            version: PAYLOAD_VERSION,
            network: "hoodi".into(),
            chain_id: 560_048,
            block: 7,
            at: 1_700_000_000,
            text: "t".into(),
            alert: Alert::TopupSent {
                cluster: cluster(1),
                action: TopUpAction::Topup,
                amount: U256::from(10u64).pow(U256::from(18u8)),
                currency: "ETH",
                tx: B256::repeat_byte(9),
            },
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["kind"], "topup_sent");
        assert_eq!(v["amount"], "1000000000000000000");
        assert_eq!(v["action"], "topup");
        assert_eq!(
            v["cluster"]["operator_ids"],
            serde_json::json!([1, 2, 3, 4])
        );
        assert_eq!(v["cluster"]["id"], format!("{}", B256::repeat_byte(1)));
        assert_eq!(
            (v["version"].as_u64(), v["chain_id"].as_u64()),
            (Some(1), Some(560_048))
        );
    }
}
