//! `ssv-agent run` end to end on the devnet (anvil at Hoodi's addresses + real Lodestar + the
//! project's operator servers) for 2 validators, SIGKILLed at every stage boundary and resumed:
//! afterwards the chain holds exactly one DepositEvent and one ValidatorAdded per validator, the
//! beacon node reports both active, and every state file and output is complete.
//!
//! Needs anvil (`cd anvil && npm ci`) and Lodestar (`scripts/install-lodestar.sh`).

use std::{
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::Command,
};

use alloy::{primitives::Bytes, providers::Provider, rpc::types::Filter, sol_types::SolEvent};
use ssv_agent::{
    chain::contracts::{DepositContract, SSVNetwork},
    journal::{STATE_FILE, Stage, ValidatorState},
    pipeline::{
        local::{LocalOptions, LocalSetup},
        plan::validator_folders,
    },
};

/// Where the run is SIGKILLed, in order (the binary must be built with the `test-hooks` feature:
/// `cargo test --features test-hooks`, as scripts/test-all.sh does).
const KILL_POINTS: [&str; 7] = [
    "dkg",
    "verify",
    "deposit.signed",
    "deposit",
    "activation",
    "register",
    "fund",
];

fn agent() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ssv-agent"));
    c.env_remove("SSV_AGENT_TEST_KILL_AT")
        .env_remove("SSV_AGENT_RPC_URL")
        .env_remove("SSV_AGENT_BEACON_URL");
    c
}

fn write_config(setup: &LocalSetup, count: u32, out: &Path) -> (PathBuf, PathBuf) {
    let config = setup.config(count, out);
    let path = setup.dir.join(format!("config-{count}.toml"));
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let ca = setup.dir.join("operators-ca.pem");
    std::fs::write(&ca, &setup.tls.ca_certs_pem[0]).unwrap();
    (path, ca)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_validators_survive_sigkill_at_every_stage_boundary() {
    let tmp = tempfile::tempdir().unwrap();
    let setup = match LocalSetup::start(&LocalOptions {
        dir: tmp.path().join("local"),
        operators: 4,
        beacon: true,
    })
    .await
    {
        Ok(s) => s,
        Err(e) => panic!(
            "cannot start the devnet with Lodestar ({e}); install the peers: `cd anvil && npm ci` and `scripts/install-lodestar.sh`"
        ),
    };
    let out = tmp.path().join("output");
    let (config, ca) = write_config(&setup, 2, &out);
    let run = |kill: Option<&str>| {
        let mut c = agent();
        c.args(["--config"])
            .arg(&config)
            .args(["run", "--poll-secs", "1", "--operator-ca-cert"])
            .arg(&ca);
        if let Some(k) = kill {
            c.env("SSV_AGENT_TEST_KILL_AT", k);
        }
        c.output().unwrap()
    };

    // Right after the first deposit is confirmed (queued on the beacon chain, not yet known by it),
    // validator #0's state file is lost: the rerun must find the deposit in the contract's logs.
    let mut lost: Option<std::path::PathBuf> = None;
    let mut after_loss = String::new();
    for point in KILL_POINTS {
        let o = run(Some(point));
        let stderr = String::from_utf8_lossy(&o.stderr);
        if lost.is_some() && after_loss.is_empty() {
            after_loss = stderr.to_string();
        }
        assert_eq!(
            o.status.signal(),
            Some(libc::SIGKILL),
            "the run was meant to die at `{point}` but ended with {:?}:\n{stderr}",
            o.status
        );
        assert!(
            stderr.contains(&format!("killing the process at {point}")),
            "{stderr}"
        );
        if point == "deposit" {
            let (_, _, dir) = validator_folders(&out).unwrap().remove(0);
            std::fs::remove_file(dir.join(STATE_FILE)).unwrap();
            lost = Some(dir);
        }
    }
    assert!(
        after_loss.contains("a DepositEvent for this pubkey is already on chain"),
        "the rerun after the lost state file must name the existing deposit:\n{after_loss}"
    );
    // The last run finds everything done and sends nothing.
    let o = run(None);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "final run failed:\n{stderr}");
    for stage in ["dkg", "verify", "deposit", "activation", "register", "fund"] {
        assert!(
            stderr.contains(&format!("- {stage}")),
            "final run should skip {stage}:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("tx "),
        "final run sent a transaction:\n{stderr}"
    );

    // Outputs and state files.
    let folders = validator_folders(&out).unwrap();
    assert_eq!(folders.len(), 2, "{folders:?}");
    assert_eq!(
        folders.iter().map(|f| f.0).collect::<Vec<_>>(),
        vec![0, 1],
        "nonces 0 and 1"
    );
    let mut indices = Vec::new();
    for (_, pk, dir) in &folders {
        for f in ["deposit_data.json", "keyshares.json", "proofs.json"] {
            assert!(dir.join(f).is_file(), "{} misses {f}", dir.display());
        }
        let s: ValidatorState =
            serde_json::from_slice(&std::fs::read(dir.join(STATE_FILE)).unwrap()).unwrap();
        assert_eq!(s.stage, Stage::Funded);
        assert_eq!(
            s.pubkey.as_deref(),
            Some(format!("0x{}", hex::encode(pk)).as_str())
        );
        if lost.as_deref() == Some(dir.as_path()) {
            // Its journal was rebuilt from the chain: no transaction of its own, a note instead.
            assert!(s.deposit.is_none());
            assert!(
                s.log
                    .iter()
                    .any(|(_, n)| n.contains("already on chain") && n.contains("nothing sent")),
                "{:?}",
                s.log
            );
        } else {
            let dep = s.deposit.as_ref().expect("deposit recorded");
            assert_eq!(dep.status, ssv_agent::journal::TxStatus::Confirmed);
        }
        assert!(!s.registration.is_empty(), "registration recorded");
        let a = s.activation.as_ref().expect("activation recorded");
        assert_eq!(a.status, "active_ongoing");
        indices.push(a.validator_index.expect("index"));
        // The state file is private.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(STATE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "state.json is readable by others");
    }

    // Chain: exactly one deposit and one registration per validator.
    let p = setup.devnet.provider();
    let profile = setup.devnet.profile();
    let deposits = p
        .get_logs(
            &Filter::new()
                .address(profile.deposit_contract)
                .event_signature(DepositContract::DepositEvent::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    let added = p
        .get_logs(
            &Filter::new()
                .address(profile.ssv_network)
                .event_signature(SSVNetwork::ValidatorAdded::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    for (_, pk, _) in &folders {
        let key = Bytes::copy_from_slice(pk);
        let d = deposits
            .iter()
            .filter(|l| {
                DepositContract::DepositEvent::decode_log(&l.inner)
                    .map(|e| e.pubkey == key)
                    .unwrap_or(false)
            })
            .count();
        let r = added
            .iter()
            .filter(|l| {
                SSVNetwork::ValidatorAdded::decode_log(&l.inner)
                    .map(|e| e.publicKey == key && e.owner == setup.staker)
                    .unwrap_or(false)
            })
            .count();
        assert_eq!((d, r), (1, 1), "validator 0x{}", hex::encode(pk));
    }

    // Beacon: both active with the recorded indices.
    let beacon = setup.devnet.beacon_url().unwrap().to_string();
    let client = reqwest::Client::new();
    for ((_, pk, _), index) in folders.iter().zip(&indices) {
        let v: serde_json::Value = client
            .get(format!(
                "{beacon}/eth/v1/beacon/states/head/validators/0x{}",
                hex::encode(pk)
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["data"]["status"], "active_ongoing", "{v}");
        assert_eq!(v["data"]["index"], index.to_string(), "{v}");
    }
}
