//! The deployment files of `watch` hold against the code: every metric the Grafana dashboard
//! (`deploy/grafana/ssv-agent-watch.json`) queries is one the service exports, and the systemd
//! unit (`deploy/systemd/ssv-agent-watch.service`) passes `systemd-analyze verify` without a
//! warning and keeps its safety settings.

use std::{collections::BTreeSet, process::Command};

use ssv_agent::ssv::watch::metrics::Metrics;

fn repo_file(path: &str) -> String {
    let p = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Every `ssv_*` metric name in `text`.
fn names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("ssv_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

fn exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr" | "definition", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

#[test]
fn the_dashboard_queries_only_exported_metrics_and_shows_what_the_issue_lists() {
    let dash: serde_json::Value =
        serde_json::from_str(&repo_file("deploy/grafana/ssv-agent-watch.json"))
            .expect("the dashboard is JSON");
    let mut queries = Vec::new();
    exprs(&dash, &mut queries);
    let queried: BTreeSet<String> = queries.iter().flat_map(|q| names(q)).collect();
    // The exported names, from the TYPE lines of the real registry (a family appears once it
    // has a series: one cluster and one alert kind).
    let m = Metrics::new();
    let c = Metrics::cluster("0x01");
    for f in [
        &m.balance,
        &m.runway_days,
        &m.burn_rate,
        &m.last_topup,
        &m.liquidated,
    ] {
        f.get_or_create(&c).set(1.0);
    }
    for f in [&m.alerts_sent, &m.alerts_failed] {
        f.get_or_create(&Metrics::kind("low_runway")).inc();
    }
    let exported: BTreeSet<String> = m
        .encode()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next())
        .map(str::to_string)
        .collect();
    let unknown: Vec<_> = queried.difference(&exported).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard queries {unknown:?}, not exported ({exported:?})"
    );
    for needed in [
        "ssv_cluster_runway_days",
        "ssv_cluster_balance_wei",
        "ssv_cluster_burn_rate_wei_per_block",
        "ssv_watch_topups_total",
        "ssv_watch_stuck_transactions",
        "ssv_watch_errors_total",
        "ssv_watch_last_block",
        "ssv_watch_alerts_failed_total",
    ] {
        assert!(queried.contains(needed), "no panel shows {needed}");
    }
    let uid = dash["uid"].as_str().unwrap();
    assert_eq!(uid, "ssv-agent-watch");
}

#[test]
fn the_systemd_unit_verifies_cleanly_and_keeps_its_hardening() {
    let unit = repo_file("deploy/systemd/ssv-agent-watch.service");
    for line in [
        "Restart=on-failure",
        "User=ssv-agent",
        "ExecStart=/usr/local/bin/ssv-agent --config /etc/ssv-agent/config.toml watch",
        "LoadCredential=owner-key:/etc/ssv-agent/owner.key",
        "EnvironmentFile=-/etc/ssv-agent/watch.env",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "StateDirectory=ssv-agent",
        "CapabilityBoundingSet=",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks `{line}`");
    }
    // Verified as installed, with the binary this build made.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ssv-agent-watch.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/ssv-agent", env!("CARGO_BIN_EXE_ssv-agent")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!("systemd-analyze is needed to check the unit ({e}); install it: apt-get install systemd")
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed: {stderr}"
    );
    // An unknown or malformed directive is only a warning there: none is allowed.
    assert!(
        stderr.trim().is_empty(),
        "systemd-analyze verify warned: {stderr}"
    );
}
