//! `ssv-agent run --dry-run` against a fork of the devnet chain: the report lists the deposit and
//! the registration it would send (gas, ETH), the activation wait is skipped and said so, and the
//! forked-from chain is unchanged (block number, the owner's nonce and balance, the cluster).
//!
//! Needs anvil (`cd anvil && npm ci`).

use std::process::Command;

use alloy::{primitives::U256, providers::Provider};
use ssv_agent::{
    chain::{Chain, reads::cluster_id},
    journal::STATE_FILE,
    pipeline::{
        local::{LocalOptions, LocalSetup},
        plan::{RUN_FILE, validator_folders},
    },
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dry_run_reports_the_transactions_and_leaves_the_chain_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let setup = match LocalSetup::start(&LocalOptions {
        dir: tmp.path().join("local"),
        operators: 4,
        beacon: false,
    })
    .await
    {
        Ok(s) => s,
        Err(e) => panic!("cannot start the devnet ({e}); install anvil: `cd anvil && npm ci`"),
    };
    let out = tmp.path().join("output");
    let mut config = setup.config(1, &out);
    // No beacon node here: a closed loopback port, which a dry run tolerates with a warning.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    config.beacon.url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config_path = tmp.path().join("config.toml");
    std::fs::write(&config_path, toml::to_string(&config).unwrap()).unwrap();
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, &setup.tls.ca_certs_pem[0]).unwrap();

    let p = setup.devnet.provider();
    let chain = Chain::connect(setup.devnet.rpc_url(), setup.devnet.profile(), None)
        .await
        .unwrap();
    let before = (
        p.get_block_number().await.unwrap(),
        p.get_transaction_count(setup.staker).await.unwrap(),
        p.get_balance(setup.staker).await.unwrap(),
        chain.owner_nonce(setup.staker).await.unwrap(),
        chain
            .cluster_snapshot(setup.staker, &setup.operator_ids)
            .await
            .unwrap(),
    );

    let o = Command::new(env!("CARGO_BIN_EXE_ssv-agent"))
        .env_remove("SSV_AGENT_TEST_KILL_AT")
        .args(["--json", "--config"])
        .arg(&config_path)
        .args(["run", "--dry-run", "--operator-ca-cert"])
        .arg(&ca)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "dry run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let txs: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "transaction")
        .collect();
    let kinds: Vec<&str> = txs.iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["deposit", "register"], "{stdout}");
    assert_eq!(
        txs[0]["eth_wei"],
        U256::from(32_000_000_000_000_000_000u128).to_string()
    );
    for t in &txs {
        assert_eq!(t["status"], "executed on the fork");
        assert!(t["gas"].as_u64().unwrap() > 21_000, "{t}");
    }
    let register_value: U256 = txs[1]["eth_wei"].as_str().unwrap().parse().unwrap();
    assert!(
        register_value > U256::ZERO,
        "the registration funds the cluster"
    );
    assert!(
        events.iter().any(|e| e["event"] == "stage_skipped"
            && e["stage"] == "activation"
            && e["reason"].as_str().unwrap().contains("dry run")),
        "{stdout}"
    );
    let summary = events
        .iter()
        .find(|e| e["event"] == "summary")
        .expect("a summary event");
    let runway = summary["facts"]["runway"].as_str().unwrap();
    assert!(runway.ends_with("days"), "{summary}");
    assert!(
        summary["facts"]["would move in total"]
            .as_str()
            .unwrap()
            .contains("2 transaction(s)"),
        "{summary}"
    );

    // The forked-from chain did not move.
    let after = (
        p.get_block_number().await.unwrap(),
        p.get_transaction_count(setup.staker).await.unwrap(),
        p.get_balance(setup.staker).await.unwrap(),
        chain.owner_nonce(setup.staker).await.unwrap(),
        chain
            .cluster_snapshot(setup.staker, &setup.operator_ids)
            .await
            .unwrap(),
    );
    assert_eq!(before, after, "the dry run changed the devnet chain");
    assert!(
        before.4.is_none(),
        "no cluster {}",
        cluster_id(setup.staker, &setup.operator_ids)
    );

    // The ceremony output is kept for the real run; no state file or run file claims progress.
    let folders = validator_folders(&out).unwrap();
    assert_eq!(folders.len(), 1);
    assert!(folders[0].2.join("deposit_data.json").is_file());
    assert!(
        !folders[0].2.join(STATE_FILE).exists(),
        "dry-run state leaked into the output"
    );
    assert!(!out.join(RUN_FILE).exists());
}
