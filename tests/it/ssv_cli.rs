//! The built `ssv-agent` binary against the devnet: `status` as a table and as JSON (numbers equal
//! the contract's views), a refused cluster flag, and `watch --once` topping a cluster up to the
//! target runway that `status` then shows.

use std::process::{Command, Output};

use crate::support::ssv::*;
use alloy::primitives::U256;
use ssv_agent::{
    chain::{contracts::SSVNetworkViews, reads::cluster_id},
    devnet::{STAKER_ACCOUNT, SsvMode, dev_account},
    journal::StateFile,
    ssv::register::register,
};

fn agent(config: &std::path::Path, args: &[&str], key: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssv-agent"));
    cmd.arg("--config").arg(config).args(args);
    for var in [
        "SSV_AGENT_RPC_URL",
        "SSV_AGENT_PRIVATE_KEY",
        "SSV_AGENT_CONFIG",
        "SSV_AGENT_LOG",
    ] {
        cmd.env_remove(var);
    }
    if let Some(k) = key {
        cmd.env("SSV_AGENT_PRIVATE_KEY", k);
    }
    cmd.output().expect("run the ssv-agent binary")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "ssv-agent failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn u256(v: &serde_json::Value) -> U256 {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not a string"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_table_json_and_watch_once_through_the_binary() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = [1u64, 2, 3, 4];
    let mut state = StateFile::open(&dir.path().join("v")).unwrap();
    let mut o = opts();
    o.runway_days = 40;
    register(&chain, &keyshares(&d, staker(), 0, 1, &ids), &mut state, &o)
        .await
        .expect("register with 40 days");

    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "network = \"hoodi\"\n[rpc]\nurl = \"{}\"\n[validators]\noperator_ids = [1, 2, 3, 4]\noutput_dir = \"{}\"\n[deposit]\nconfirmations = 1\n",
            d.rpc_url(),
            dir.path().join("out").display()
        ),
    )
    .unwrap();
    let owner = staker().to_string();

    // Table.
    let text = ok(&agent(&config, &["status", "--owner", &owner], None));
    let row = text
        .lines()
        .find(|l| l.starts_with("1,2,3,4 "))
        .unwrap_or_else(|| panic!("no row for cluster 1,2,3,4 in\n{text}"));
    assert!(row.contains("ETH") && row.contains("active"), "{row}");
    assert!(
        row.contains(" 40.0 ") || row.contains(" 39.9 "),
        "40 days of runway: {row}"
    );
    assert!(
        text.contains(&format!("owner {owner} on hoodi at block")),
        "{text}"
    );

    // JSON, checked against the views at the same block (nothing is mined between).
    let json: serde_json::Value = serde_json::from_str(&ok(&agent(
        &config,
        &["status", "--owner", &owner, "--json"],
        None,
    )))
    .expect("status --json prints JSON");
    let c = &json["clusters"][0];
    assert_eq!(json["clusters"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(c["operator_ids"], serde_json::json!([1, 2, 3, 4]));
    assert_eq!(
        c["cluster_id"].as_str().unwrap(),
        cluster_id(staker(), &ids).to_string()
    );
    let snap = chain
        .cluster_snapshot(staker(), &ids)
        .await
        .unwrap()
        .unwrap();
    let views = SSVNetworkViews::new(d.profile().ssv_views, d.provider());
    let balance = views
        .getBalance(staker(), ids.to_vec(), snap.clone())
        .call()
        .await
        .unwrap();
    let burn = views
        .getBurnRate(staker(), ids.to_vec(), snap.clone())
        .call()
        .await
        .unwrap();
    assert_eq!(u256(&c["balance"]), balance);
    assert_eq!(u256(&c["burn_rate_per_block"]), burn);
    assert_eq!(c["liquidatable_now"], serde_json::json!(false));
    assert_eq!(c["active"], serde_json::json!(true));
    let days = c["runway_days"].as_f64().unwrap();
    assert!((39.9..=40.0).contains(&days), "{days}");

    // A cluster flag that cannot be a cluster is refused with the reason.
    let bad = agent(
        &config,
        &["status", "--owner", &owner, "--cluster", "1,2,3"],
        None,
    );
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("4, 7, 10 or 13"), "{err}");

    // watch --once with a floor above the current runway: one top-up to the 60-day target.
    let key = format!("0x{}", hex::encode(dev_account(STAKER_ACCOUNT).to_bytes()));
    let bad = agent(
        &config,
        &[
            "watch",
            "--once",
            "--floor-days",
            "70",
            "--target-days",
            "60",
        ],
        Some(&key),
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("must be above the floor"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let before = tx_count(&chain, staker()).await;
    let out = agent(
        &config,
        &[
            "watch",
            "--once",
            "--json",
            "--log-format",
            "json",
            "--floor-days",
            "50",
            "--target-days",
            "60",
        ],
        Some(&key),
    );
    let report: serde_json::Value =
        serde_json::from_str(&ok(&out)).expect("watch --once --json prints the tick report");
    // Logs are JSON lines on stderr, and the key never appears in them.
    let logs = String::from_utf8_lossy(&out.stderr);
    let watching = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "watching")
        .unwrap_or_else(|| panic!("no JSON 'watching' log line in\n{logs}"));
    assert_eq!(watching["fields"]["clusters"], 1, "{watching}");
    assert!(
        !logs.contains(&key[2..]),
        "the private key leaked into the logs"
    );
    assert_eq!(report["topups"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(tx_count(&chain, staker()).await, before + 1);
    let json: serde_json::Value = serde_json::from_str(&ok(&agent(
        &config,
        &["status", "--owner", &owner, "--json"],
        None,
    )))
    .unwrap();
    let days = json["clusters"][0]["runway_days"].as_f64().unwrap();
    assert!(
        (59.9..=60.0).contains(&days),
        "topped up to 60 days: {days}"
    );
    // The ledger lives under validators.output_dir/watch.
    assert!(dir.path().join("out/watch/watch-ledger.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn register_through_the_binary_dry_run_real_rerun_and_refusal() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "network = \"hoodi\"\n[rpc]\nurl = \"{}\"\n[validators]\noperator_ids = [5, 6, 7, 8]\noutput_dir = \"{}\"\n[deposit]\nconfirmations = 1\n[funding]\nrunway_days = 100\nmin_runway_days = 30\n",
            d.rpc_url(),
            dir.path().join("out").display()
        ),
    )
    .unwrap();
    let key = format!("0x{}", hex::encode(dev_account(STAKER_ACCOUNT).to_bytes()));
    let ids = [5u64, 6, 7, 8];
    let file = dir.path().join("keyshares.json");
    std::fs::write(&file, keyshares_json(staker(), 0, 2, &ops(&d, &ids))).unwrap();
    let f = file.to_str().unwrap();

    // Dry run: the whole registration executed on a fork, nothing sent to the devnet.
    let before = tx_count(&chain, staker()).await;
    let out = ok(&agent(
        &config,
        &["register", "--keyshares", f, "--dry-run"],
        Some(&key),
    ));
    assert!(out.contains("nothing was sent to the real chain"), "{out}");
    assert_eq!(out.matches("registered: 0x").count(), 2, "{out}");
    assert!(
        out.contains("runway after: 100.0 days"),
        "config's runway_days: {out}"
    );
    assert_eq!(tx_count(&chain, staker()).await, before);

    // Real, with a flag overriding the config's runway.
    let out = ok(&agent(
        &config,
        &["register", "--keyshares", f, "--runway-days", "45"],
        Some(&key),
    ));
    assert_eq!(out.matches("registered: 0x").count(), 2, "{out}");
    assert!(out.contains("runway after: 45.0 days"), "{out}");
    let sent = tx_count(&chain, staker()).await - before;
    assert!(sent >= 1, "at least the registration was sent");
    let c = ssv_agent::ssv::cluster::read_cluster(&chain, staker(), &ids)
        .await
        .unwrap();
    assert_eq!(c.load.validator_count, 2);

    // Rerun: already registered, nothing sent.
    let out = ok(&agent(&config, &["register", "--keyshares", f], Some(&key)));
    assert_eq!(
        out.matches("already registered, nothing sent").count(),
        2,
        "{out}"
    );
    assert_eq!(tx_count(&chain, staker()).await, before + sent);

    // A file whose nonce the chain does not expect: refused with the expected nonce, nothing sent.
    let stale = dir.path().join("stale.json");
    std::fs::write(
        &stale,
        keyshares_json(staker(), 0, 1, &ops(&d, &[1, 2, 3, 4])),
    )
    .unwrap();
    let bad = agent(
        &config,
        &["register", "--keyshares", stale.to_str().unwrap()],
        Some(&key),
    );
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("signed for nonce 0, but the chain expects nonce 2"),
        "{err}"
    );
    assert!(!err.contains(&key[2..]), "the key leaked: {err}");
    assert_eq!(tx_count(&chain, staker()).await, before + sent);

    // Without a signer the command says what to configure.
    let bad = agent(&config, &["register", "--keyshares", f], None);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("configure [signer]"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_service_serves_metrics_and_stops_cleanly_on_sigterm() {
    /// The service is stopped even when an assertion fails first.
    struct KillOnDrop(Option<std::process::Child>);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            if let Some(c) = self.0.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = [1u64, 2, 3, 4];
    let mut state = StateFile::open(&dir.path().join("v")).unwrap();
    let mut o = opts();
    o.runway_days = 40;
    register(&chain, &keyshares(&d, staker(), 0, 1, &ids), &mut state, &o)
        .await
        .expect("register with 40 days");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "network = \"hoodi\"\n[rpc]\nurl = \"{}\"\n[validators]\noperator_ids = [1, 2, 3, 4]\noutput_dir = \"{}\"\n[deposit]\nconfirmations = 1\n",
            d.rpc_url(),
            dir.path().join("out").display()
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let key = format!("0x{}", hex::encode(dev_account(STAKER_ACCOUNT).to_bytes()));
    let spawned = Command::new(env!("CARGO_BIN_EXE_ssv-agent"))
        .arg("--config")
        .arg(&config)
        .args(["watch", "--interval", "1", "--metrics-addr"])
        .arg(format!("127.0.0.1:{port}"))
        .env_remove("SSV_AGENT_RPC_URL")
        .env_remove("SSV_AGENT_CONFIG")
        .env("SSV_AGENT_PRIVATE_KEY", &key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start ssv-agent watch");
    let mut guard = KillOnDrop(Some(spawned));
    let child = guard.0.as_mut().unwrap();

    // Poll the metrics endpoint until a tick has been published.
    let id = cluster_id(staker(), &ids);
    let gauge = format!("ssv_cluster_runway_days{{cluster=\"{id}\"}} ");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let body = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no metrics from the watch service within 30 s"
        );
        if let Ok(resp) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await
            && let Ok(text) = resp.text().await
            && text.contains(&gauge)
        {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let runway: f64 = body
        .lines()
        .find_map(|l| l.strip_prefix(&gauge))
        .unwrap()
        .parse()
        .unwrap();
    assert!((39.9..=40.0).contains(&runway), "{body}");
    assert!(body.contains("ssv_watch_errors_total 0"), "{body}");

    // A second watcher (a cron `--once`) on the same state folder refuses to start.
    let second = Command::new(env!("CARGO_BIN_EXE_ssv-agent"))
        .arg("--config")
        .arg(&config)
        .args(["watch", "--once"])
        .env_remove("SSV_AGENT_RPC_URL")
        .env_remove("SSV_AGENT_CONFIG")
        .env("SSV_AGENT_PRIVATE_KEY", &key)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second watcher ran: {err}");
    assert!(err.contains("another watcher"), "{err}");
    assert!(err.contains("in use by another ssv-agent process"), "{err}");

    // SIGTERM: the service stops between ticks and exits 0.
    let pid = child.id() as i32;
    // SAFETY: kill(2) on the child we spawned; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "watch did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut logs = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(status.success(), "exit {status:?}\n{logs}");
    assert!(logs.contains("SIGTERM"), "{logs}");
}
