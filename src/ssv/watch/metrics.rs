//! Prometheus text-format metrics on a loopback port: balance, runway, burn rate and last top-up
//! per cluster, plus tick and error counters. A tiny hand-rolled HTTP responder keeps the
//! dependency list short; it answers every request with the current metrics.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// Per-cluster gauges.
#[derive(Debug, Clone, Default)]
pub struct ClusterGauges {
    /// Balance in wei (or SSV wei).
    pub balance: f64,
    /// Runway in days (+Inf when none is burnt).
    pub runway_days: f64,
    /// Burn per block.
    pub burn_rate: f64,
    /// Unix time of the last top-up (0 = never).
    pub last_topup: f64,
    /// 1 when liquidated.
    pub liquidated: f64,
}

/// Everything exported.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Keyed by cluster id (hex).
    pub clusters: BTreeMap<String, ClusterGauges>,
    /// Completed ticks.
    pub ticks: u64,
    /// Failed ticks or sends.
    pub errors: u64,
    /// Ticks that failed as a whole (e.g. the RPC endpoint was unreachable).
    pub failed_ticks: u64,
    /// Top-ups sent.
    pub topups: u64,
    /// Reactivations sent.
    pub reactivations: u64,
    /// Head block of the last tick.
    pub last_block: u64,
    /// RPC round trips of the last tick.
    pub last_tick_round_trips: u64,
    /// Transactions of the last tick not mined within the configured wait.
    pub stuck_transactions: u64,
}

/// Shared handle.
pub type SharedMetrics = Arc<Mutex<Metrics>>;

/// Renders the Prometheus exposition text.
pub fn render(m: &Metrics) -> String {
    let mut s = String::new();
    let gauge = |s: &mut String, name: &str, help: &str, f: &dyn Fn(&ClusterGauges) -> f64| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (id, g) in &m.clusters {
            let _ = writeln!(s, "{name}{{cluster=\"{id}\"}} {}", f(g));
        }
    };
    gauge(
        &mut s,
        "ssv_cluster_balance_wei",
        "Cluster balance settled to the last tick",
        &|g| g.balance,
    );
    gauge(
        &mut s,
        "ssv_cluster_runway_days",
        "Days until the balance reaches the liquidation collateral",
        &|g| g.runway_days,
    );
    gauge(
        &mut s,
        "ssv_cluster_burn_rate_wei_per_block",
        "Operator plus network fees per block",
        &|g| g.burn_rate,
    );
    gauge(
        &mut s,
        "ssv_cluster_last_topup_timestamp",
        "Unix time of the last top-up",
        &|g| g.last_topup,
    );
    gauge(
        &mut s,
        "ssv_cluster_liquidated",
        "1 when the cluster is liquidated",
        &|g| g.liquidated,
    );
    for (name, help, v) in [
        ("ssv_watch_ticks_total", "Completed ticks", m.ticks),
        (
            "ssv_watch_errors_total",
            "Failed ticks or transactions",
            m.errors,
        ),
        (
            "ssv_watch_failed_ticks_total",
            "Ticks that failed as a whole",
            m.failed_ticks,
        ),
        ("ssv_watch_topups_total", "Top-ups sent", m.topups),
        (
            "ssv_watch_reactivations_total",
            "Reactivations sent",
            m.reactivations,
        ),
        (
            "ssv_watch_last_block",
            "Head block of the last tick",
            m.last_block,
        ),
        (
            "ssv_watch_last_tick_round_trips",
            "RPC round trips of the last tick",
            m.last_tick_round_trips,
        ),
        (
            "ssv_watch_stuck_transactions",
            "Transactions not mined within the configured wait (they stay journaled)",
            m.stuck_transactions,
        ),
    ] {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    }
    s
}

/// Serves the metrics until the listener fails; spawn it as a task.
pub async fn serve(listener: TcpListener, metrics: SharedMetrics) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            // Read (and ignore) the request head; every path gets the metrics.
            let _ = sock.read(&mut buf).await;
            let body = match metrics.lock() {
                Ok(m) => render(&m),
                Err(_) => String::new(),
            };
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        });
    }
}
