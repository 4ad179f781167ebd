//! The watch service's Prometheus metrics, kept in a `prometheus-client` registry (the Prometheus
//! project's Rust client): balance, runway, burn rate and last top-up per cluster, tick, error,
//! stuck and alert counters. The names are the dashboard's and the tests' contract
//! (`deploy/grafana/ssv-agent-watch.json`); `super::server` serves them over HTTP.

use std::sync::{Arc, atomic::AtomicU64};

use prometheus_client::{
    encoding::{EncodeLabelSet, prometheus_text},
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

/// The label of a per-cluster series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabel {
    /// Cluster id, 0x-hex.
    pub cluster: String,
}

/// The label of a per-alert-kind series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// Alert kind (`low_runway`, `topup_sent`, ...).
    pub kind: String,
}

/// A gauge holding an `f64` (wei amounts do not fit an `i64`; +Inf is a valid runway).
pub type FloatGauge = Gauge<f64, AtomicU64>;

/// Everything exported, registered once; every handle is atomic, so the watcher and the HTTP
/// server share it without a lock.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Cluster balance settled to the last tick (wei or SSV wei).
    pub balance: Family<ClusterLabel, FloatGauge>,
    /// Days until the balance reaches the liquidation collateral (+Inf when nothing burns, 0 when
    /// liquidated).
    pub runway_days: Family<ClusterLabel, FloatGauge>,
    /// Operator plus network fees per block.
    pub burn_rate: Family<ClusterLabel, FloatGauge>,
    /// Unix time of the last top-up (0 = never).
    pub last_topup: Family<ClusterLabel, FloatGauge>,
    /// 1 when liquidated.
    pub liquidated: Family<ClusterLabel, FloatGauge>,
    /// Completed ticks.
    pub ticks: Counter,
    /// Failed ticks or transactions.
    pub errors: Counter,
    /// Ticks that failed as a whole (e.g. the RPC endpoint was unreachable).
    pub failed_ticks: Counter,
    /// Top-ups sent.
    pub topups: Counter,
    /// Reactivations sent.
    pub reactivations: Counter,
    /// Head block of the last tick.
    pub last_block: Gauge,
    /// RPC round trips of the last tick.
    pub last_tick_round_trips: Gauge,
    /// Transactions of the last tick not mined within the configured wait.
    pub stuck_transactions: Gauge,
    /// Stuck transactions seen, one per transaction per tick.
    pub stuck: Counter,
    /// Validator exits of the watched owners seen.
    pub validator_exits: Counter,
    /// Alerts the webhook accepted (2xx), by kind.
    pub alerts_sent: Family<KindLabel, Counter>,
    /// Alerts given up after every attempt failed, by kind.
    pub alerts_failed: Family<KindLabel, Counter>,
    /// Alerts dropped because the delivery queue was full (a webhook slower than the alerts).
    pub alerts_dropped: Counter,
}

/// Shared handle.
pub type SharedMetrics = Arc<Metrics>;

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric registered under its exported name.
    pub fn new() -> Self {
        let mut m = Self {
            balance: Family::default(),
            runway_days: Family::default(),
            burn_rate: Family::default(),
            last_topup: Family::default(),
            liquidated: Family::default(),
            ticks: Counter::default(),
            errors: Counter::default(),
            failed_ticks: Counter::default(),
            topups: Counter::default(),
            reactivations: Counter::default(),
            last_block: Gauge::default(),
            last_tick_round_trips: Gauge::default(),
            stuck_transactions: Gauge::default(),
            stuck: Counter::default(),
            validator_exits: Counter::default(),
            alerts_sent: Family::default(),
            alerts_failed: Family::default(),
            alerts_dropped: Counter::default(),
            registry: Registry::default(),
        };
        // Disjoint fields: the registry is borrowed mutably while the handles are cloned into it.
        let r = &mut m.registry;
        r.register(
            "ssv_cluster_balance_wei",
            "Cluster balance settled to the last tick",
            m.balance.clone(),
        );
        r.register(
            "ssv_cluster_runway_days",
            "Days until the balance reaches the liquidation collateral",
            m.runway_days.clone(),
        );
        r.register(
            "ssv_cluster_burn_rate_wei_per_block",
            "Operator plus network fees per block",
            m.burn_rate.clone(),
        );
        r.register(
            "ssv_cluster_last_topup_timestamp",
            "Unix time of the last top-up",
            m.last_topup.clone(),
        );
        r.register(
            "ssv_cluster_liquidated",
            "1 when the cluster is liquidated",
            m.liquidated.clone(),
        );
        // Counters: the client appends `_total` to the exported name.
        r.register("ssv_watch_ticks", "Completed ticks", m.ticks.clone());
        r.register(
            "ssv_watch_errors",
            "Failed ticks or transactions",
            m.errors.clone(),
        );
        r.register(
            "ssv_watch_failed_ticks",
            "Ticks that failed as a whole",
            m.failed_ticks.clone(),
        );
        r.register("ssv_watch_topups", "Top-ups sent", m.topups.clone());
        r.register(
            "ssv_watch_reactivations",
            "Reactivations sent",
            m.reactivations.clone(),
        );
        r.register(
            "ssv_watch_last_block",
            "Head block of the last tick",
            m.last_block.clone(),
        );
        r.register(
            "ssv_watch_last_tick_round_trips",
            "RPC round trips of the last tick",
            m.last_tick_round_trips.clone(),
        );
        r.register(
            "ssv_watch_stuck_transactions",
            "Transactions not mined within the configured wait (they stay journaled)",
            m.stuck_transactions.clone(),
        );
        r.register(
            "ssv_watch_stuck",
            "Stuck transactions seen, one per transaction per tick",
            m.stuck.clone(),
        );
        r.register(
            "ssv_watch_validator_exits",
            "Validator exits of the watched owners seen",
            m.validator_exits.clone(),
        );
        r.register(
            "ssv_watch_alerts_sent",
            "Alerts the webhook accepted",
            m.alerts_sent.clone(),
        );
        r.register(
            "ssv_watch_alerts_failed",
            "Alerts given up after every delivery attempt failed",
            m.alerts_failed.clone(),
        );
        r.register(
            "ssv_watch_alerts_dropped",
            "Alerts dropped because the delivery queue was full",
            m.alerts_dropped.clone(),
        );
        m
    }

    /// A new shared handle.
    pub fn shared() -> SharedMetrics {
        Arc::new(Self::new())
    }

    /// The label of cluster `id`.
    pub fn cluster(id: impl std::fmt::Display) -> ClusterLabel {
        ClusterLabel {
            cluster: id.to_string(),
        }
    }

    /// The label of alert kind `kind`.
    pub fn kind(kind: &str) -> KindLabel {
        KindLabel { kind: kind.into() }
    }

    /// The Prometheus text exposition (format 0.0.4) of every metric.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_text::encode(&mut s, &self.registry);
        s
    }
}

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{series} not in\n{text}"))
            .to_string()
    }

    #[test]
    fn names_and_values_are_the_exported_ones() {
        let m = Metrics::new();
        let c = Metrics::cluster("0xab");
        m.runway_days.get_or_create(&c).set(f64::INFINITY);
        m.balance.get_or_create(&c).set(1.5e18);
        m.topups.inc();
        m.last_block.set(42);
        m.alerts_sent
            .get_or_create(&Metrics::kind("low_runway"))
            .inc();
        let text = m.encode();
        assert_eq!(
            value(&text, "ssv_cluster_runway_days{cluster=\"0xab\"}"),
            "+Inf"
        );
        assert_eq!(
            value(&text, "ssv_cluster_balance_wei{cluster=\"0xab\"}")
                .parse::<f64>()
                .unwrap(),
            1.5e18
        );
        assert_eq!(value(&text, "ssv_watch_topups_total"), "1");
        assert_eq!(value(&text, "ssv_watch_errors_total"), "0");
        assert_eq!(value(&text, "ssv_watch_last_block"), "42");
        assert_eq!(
            value(&text, "ssv_watch_alerts_sent_total{kind=\"low_runway\"}"),
            "1"
        );
        assert!(
            text.contains("# TYPE ssv_watch_ticks_total counter"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE ssv_cluster_runway_days gauge"),
            "{text}"
        );
    }
}
