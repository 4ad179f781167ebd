//! `ssv-agent operators` and `operators check` against the devnet (the real SSVNetwork code) and
//! its services: the SSV API double listing the 13 operators, and their DKG nodes in real
//! conditions (healthy; no endpoint: 6, 11; offline: 7; ssv-dkg v2.1.0: 8; serving an unregistered
//! key: 9; private, whitelisting dev account 9: 12, 13). Filters and orders give the expected ids,
//! the chain's fee wins over a stale API fee and the difference is shown, and `check` names the
//! offline operator, the outdated one, the one serving another key, one answering as another id,
//! a private one that does not allow the owner, and an untrusted certificate.
//!
//! Needs anvil (`cd anvil && npm ci`) and the real contracts (`scripts/build-real-contracts.sh`).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::Arc,
};

use serde_json::Value;
use ssv_agent::{
    crypto::rsa_keys::OperatorPrivateKey,
    devnet::{
        Contracts, Devnet, DevnetOptions, STAKER_ACCOUNT, WHITELISTED_ACCOUNT, dev_account,
        dkg_operators::DKG_VERSION,
    },
    dkg::operator::{OperatorState, TlsMaterial, serve},
};

struct Fixture {
    devnet: Devnet,
    dir: tempfile::TempDir,
    config: PathBuf,
    ca: PathBuf,
}

async fn fixture() -> Fixture {
    let devnet = Devnet::start(DevnetOptions {
        contracts: Contracts::Real,
        services: true,
        ..DevnetOptions::default()
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "devnet failed to start: {e} (install: `cd anvil && npm ci` and `scripts/build-real-contracts.sh`)"
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let api = devnet.services().expect("services").ssv_api_url();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "network = \"hoodi\"\n[rpc]\nurl = \"{}\"\n[operators]\nssv_api_url = \"{api}\"\n",
            devnet.rpc_url()
        ),
    )
    .unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, devnet.services().unwrap().ca_pem()).unwrap();
    Fixture {
        devnet,
        dir,
        config,
        ca,
    }
}

/// Runs the binary off the runtime's threads (the devnet's servers live on them).
async fn agent(config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssv-agent"));
    cmd.arg("--config").arg(config).args(args);
    for var in [
        "SSV_AGENT_RPC_URL",
        "SSV_AGENT_PRIVATE_KEY",
        "SSV_AGENT_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("run the ssv-agent binary"))
        .await
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "ssv-agent failed\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(o)
}

fn staker() -> String {
    dev_account(STAKER_ACCOUNT).address().to_string()
}

/// The ids `operators --json <args>` lists, in order.
async fn listed(f: &Fixture, args: &[&str]) -> Vec<u64> {
    let mut all = vec!["--json", "operators"];
    all.extend_from_slice(args);
    let v: Value = serde_json::from_str(&ok(&agent(&f.config, &all).await)).expect("JSON");
    v["operators"]
        .as_array()
        .expect("operators")
        .iter()
        .map(|o| o["api"]["id"].as_u64().expect("id"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filters_and_orders_give_the_expected_operators_and_the_chain_fee_wins() {
    let f = fixture().await;
    let owner = staker();
    let o = owner.as_str();
    assert_eq!(
        listed(&f, &["--owner", o]).await,
        (1..=13).collect::<Vec<_>>()
    );
    assert_eq!(
        listed(&f, &["--owner", o, "--dkg", "--verified", "--allowed"]).await,
        vec![1, 2, 4, 7, 8, 9, 10]
    );
    // Fees a year (chain): 1.0652 gwei + (id mod 7) · 0.5 gwei a block at 7 200 blocks a day.
    assert_eq!(
        listed(&f, &["--owner", o, "--max-yearly-fee", "0.006eth"]).await,
        vec![1, 2, 7, 8, 9]
    );
    assert_eq!(
        listed(&f, &["--owner", o, "--mev-relay", "titan relay"]).await,
        vec![4, 8, 13]
    );
    assert_eq!(
        listed(&f, &["--owner", o, "--min-performance", "99.5"]).await,
        vec![1, 2, 6, 7, 8, 9, 12]
    );
    assert_eq!(
        listed(&f, &["--owner", o, "--order", "fee", "--limit", "3"]).await,
        vec![7, 1, 8]
    );
    assert_eq!(
        listed(
            &f,
            &[
                "--owner",
                o,
                "--order",
                "performance",
                "--desc",
                "--limit",
                "2"
            ]
        )
        .await,
        vec![7, 9]
    );
    assert_eq!(
        listed(&f, &["--owner", o, "--dkg", "--allowed", "--order", "rank"]).await,
        vec![7, 9, 8, 1, 2, 4, 10, 3, 5]
    );
    assert_eq!(
        listed(&f, &["--owner", o, "--exclude", "1,2,3", "--limit", "2"]).await,
        vec![4, 5]
    );
    // Search is the API's: names containing "private".
    assert_eq!(listed(&f, &["--search", "private"]).await, vec![12, 13]);
    // The whitelisted account may use the private operators; the staker may not.
    let wl = dev_account(WHITELISTED_ACCOUNT).address().to_string();
    assert_eq!(
        listed(&f, &["--owner", &wl, "--allowed", "--search", "private"]).await,
        vec![12, 13]
    );
    assert_eq!(
        listed(&f, &["--owner", o, "--allowed", "--search", "private"]).await,
        Vec::<u64>::new()
    );

    // The API lags the chain on operator 3's fee: the chain's is shown and used, with both said.
    let api = f.devnet.services().unwrap().api();
    let chain_fee = api.records()[2]["eth_fee"].as_str().unwrap().to_string();
    api.update(|r| r[2]["eth_fee"] = "1065200000".into());
    let v: Value = serde_json::from_str(&ok(&agent(
        &f.config,
        &["--json", "operators", "--search", "cobalt"],
    )
    .await))
    .unwrap();
    let op = &v["operators"][0];
    assert_eq!(op["api"]["id"], 3);
    let hex = |d: &str| format!("{:#x}", d.parse::<alloy::primitives::U256>().unwrap());
    assert_eq!(op["chain"]["eth_fee"], hex(&chain_fee));
    assert_eq!(op["fee_differences"][0]["currency"], "ETH");
    assert_eq!(op["fee_differences"][0]["api"], hex("1065200000"));
    assert_eq!(op["fee_differences"][0]["chain"], hex(&chain_fee));
    let table = ok(&agent(
        &f.config,
        &[
            "operators",
            "--owner",
            o,
            "--dkg",
            "--min-performance",
            "99",
        ],
    )
    .await);
    println!("{table}");
    let row3 = table
        .lines()
        .find(|l| l.trim_start().starts_with("3  Cobalt"))
        .unwrap_or_else(|| panic!("no row for operator 3:\n{table}"));
    assert!(row3.contains("0.006741*"), "{row3}");
    assert!(
        table.contains(
            "* operator 3: the SSV API says 0.002799 ETH a year, the chain 0.006741 (the chain's is shown and used)"
        ),
        "{table}"
    );
    // The DKG filter is the API's (6 and 11 are not even listed); performance is checked here.
    assert!(table.contains("2 more left out by the filters"), "{table}");
    let explained = ok(&agent(
        &f.config,
        &["operators", "--dkg", "--min-performance", "99", "--explain"],
    )
    .await);
    assert!(
        explained.contains("operator 5 (Ember Stake): 30-day performance 98.75% is below 99.00%"),
        "{explained}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_names_each_unhealthy_operator_and_what_to_do() {
    let f = fixture().await;
    let owner = staker();
    let ca = f.ca.to_str().unwrap();
    let args = [
        "operators",
        "check",
        "1,6,7,8,9,12",
        "--owner",
        &owner,
        "--operator-ca-cert",
        ca,
    ];
    let out = agent(&f.config, &args).await;
    let text = stdout(&out);
    println!("{text}");
    assert!(
        !out.status.success(),
        "check passed with unhealthy operators:\n{text}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("5 of 6 operator(s) are not ready"),
        "{stderr}"
    );
    let row = |id: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("no row for {id}:\n{text}"))
            .to_string()
    };
    assert!(
        row("1").ends_with("healthy") && row("1").contains(DKG_VERSION),
        "{}",
        row("1")
    );
    for id in ["6", "7", "8", "9", "12"] {
        assert!(row(id).ends_with("UNHEALTHY"), "{}", row(id));
    }
    for want in [
        "operator 6 (Fjord Operators) publishes no DKG endpoint",
        "operator 7 (Glacier Labs) nothing answers at https://127.0.0.1:",
        "ask the operator to bring it up, or pick another operator",
        "operator 8 (Harbor Node) runs ssv-dkg \"v2.1.0\", which this agent cannot speak",
        "ask the operator to upgrade to ssv-dkg v3.1.x",
        "operator 9 (Iris Staking) serves a key that differs from the one registered on chain",
        &format!(
            "operator 12 (Lumen Private) is private and its whitelist on chain does not include {owner}"
        ),
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // The same as JSON, by kind.
    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(&args);
    let v: Value = serde_json::from_str(&stdout(&agent(&f.config, &json_args).await)).unwrap();
    let kinds: Vec<(u64, Vec<String>)> = v["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["id"].as_u64().unwrap(),
                h["problems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["kind"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    let k = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        kinds,
        vec![
            (1, k(&[])),
            (6, k(&["no_endpoint"])),
            (7, k(&["unreachable"])),
            (8, k(&["version"])),
            (9, k(&["key_mismatch"])),
            (12, k(&["not_whitelisted"])),
        ]
    );
    let h9 = &v["operators"][4];
    assert_eq!(h9["key_matches_chain"], false);
    assert_eq!(h9["claimed_id"], 9);
    assert!(v["operators"][0]["rtt_ms"].as_u64().is_some());

    // The healthy public ones pass together.
    let out = ok(&agent(
        &f.config,
        &["operators", "check", "1,2,3,4", "--operator-ca-cert", ca],
    )
    .await);
    assert!(
        out.contains("all 4 operator(s) are ready for a ceremony"),
        "{out}"
    );

    // Without trusting the operators' self-signed certificate: TLS is what fails, said so.
    let out = agent(&f.config, &["operators", "check", "1"]).await;
    let text = stdout(&out);
    assert!(!out.status.success());
    assert!(
        text.contains("takes connections but its HTTPS health check failed")
            && text.contains("--operator-ca-cert or --tls-insecure"),
        "{text}"
    );
    let out = ok(&agent(&f.config, &["operators", "check", "1", "--tls-insecure"]).await);
    assert!(out.contains("all 1 operator(s) are ready"), "{out}");

    // A node configured with the wrong operator id (ssv-dkg#106): operator 5's key, id 99.
    let op5 = &f.devnet.operators()[4];
    let key = OperatorPrivateKey::read_keystore_files(&op5.keystore, &op5.password_file).unwrap();
    let tls = TlsMaterial::self_signed(&[]).unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let state = Arc::new(OperatorState::new(99, key, DKG_VERSION.to_string()));
    let server = serve(state, addr, &tls).await.unwrap();
    let info = f.dir.path().join("operators_info.json");
    std::fs::write(
        &info,
        serde_json::json!([{"id": 5, "public_key": op5.public_key, "ip": server.url()}])
            .to_string(),
    )
    .unwrap();
    let out = agent(
        &f.config,
        &[
            "operators",
            "check",
            "5",
            "--operators-info-path",
            info.to_str().unwrap(),
            "--tls-insecure",
        ],
    )
    .await;
    let text = stdout(&out);
    assert!(!out.status.success());
    assert!(
        text.contains("operator 5 (Operator 5) answers as operator 99: its ssv-dkg runs with the wrong operatorID"),
        "{text}"
    );
    server.stop();

    // A node that takes the connection and never answers: the check gives up in time.
    let stuck = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", stuck.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = stuck.accept().await {
            held.push(sock);
        }
    });
    std::fs::write(
        &info,
        serde_json::json!([{"id": 5, "public_key": op5.public_key, "ip": url}]).to_string(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = agent(
        &f.config,
        &[
            "operators",
            "check",
            "5",
            "--operators-info-path",
            info.to_str().unwrap(),
            "--timeout-secs",
            "1",
            "--tls-insecure",
        ],
    )
    .await;
    holder.abort();
    let text = stdout(&out);
    assert!(!out.status.success());
    assert!(
        text.contains("did not answer its health check within 1 s"),
        "{text}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// `devnet up` (detached) keeps its DKG operators and the SSV API double in a process of its own,
/// recorded in devnet.json; `operators` and `operators check` work against it; `devnet down` stops
/// that process with anvil.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_devnet_serves_its_operators_until_devnet_down() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("devnet");
    let port = ssv_agent::devnet::anvil::free_port().unwrap().to_string();
    let bin = env!("CARGO_BIN_EXE_ssv-agent");
    let up = {
        let (d, port) = (d.clone(), port.clone());
        tokio::task::spawn_blocking(move || {
            Command::new(bin)
                .args(["devnet", "up", "--dir"])
                .arg(&d)
                .args(["--port", &port])
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    // Whatever happens below, the detached processes are stopped.
    struct Down(PathBuf);
    impl Drop for Down {
        fn drop(&mut self) {
            let _ = Command::new(env!("CARGO_BIN_EXE_ssv-agent"))
                .args(["devnet", "down", "--dir"])
                .arg(&self.0)
                .output();
        }
    }
    let guard = Down(d.clone());
    let text = ok(&up);
    assert!(text.contains("SSV API double"), "{text}");
    assert!(
        text.contains("offline [7]") && text.contains("v2.1.0 [8]") && text.contains("key [9]"),
        "{text}"
    );
    let info: Value =
        serde_json::from_slice(&std::fs::read(d.join("devnet.json")).unwrap()).unwrap();
    let pid = info["services_pid"].as_u64().expect("services pid") as i32;
    let api = info["ssv_api_url"].as_str().expect("api url").to_string();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "network = \"hoodi\"\n[rpc]\nurl = \"http://127.0.0.1:{port}\"\n[operators]\nssv_api_url = \"{api}\"\n"
        ),
    )
    .unwrap();
    let listed = ok(&agent(&config, &["operators", "--dkg"]).await);
    assert!(listed.starts_with("11 operator(s) on hoodi"), "{listed}");
    let ca = d.join("operators-ca.pem");
    let checked = ok(&agent(
        &config,
        &[
            "operators",
            "check",
            "1,2",
            "--operator-ca-cert",
            ca.to_str().unwrap(),
        ],
    )
    .await);
    assert!(checked.contains("all 2 operator(s) are ready"), "{checked}");
    let down = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args(["devnet", "down", "--dir"])
            .arg(&d)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    ok(&down);
    // (The guard's `devnet down` then finds nothing recorded, and says so harmlessly.)
    drop(guard);
    // SAFETY: signal 0 only asks whether the process still exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "the services process {pid} outlived `devnet down`");
}
