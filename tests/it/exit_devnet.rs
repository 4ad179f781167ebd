//! `ssv-agent exit` end to end on the devnet with the real Lodestar: a validator made by the
//! pipeline (DKG with the local operator servers, deposit, activation, SSV registration) is exited
//! through the binary while the devnet's exit double signs its voluntary exit with a threshold of
//! the operators' key shares, and the beacon node moves it through active_exiting and
//! exited_unslashed to withdrawal_possible. The exit run is SIGKILLed while its transaction is in
//! flight and again after it is mined; the reruns send nothing twice (one `ValidatorExited`, one
//! exit transaction in the account's outbox). A validator that is registered but still pending
//! on the beacon chain is refused with the words to say, and a dry run sends nothing.
//!
//! Needs anvil (`cd anvil && npm ci`) and Lodestar (`scripts/install-lodestar.sh`); the binary
//! is the test build of `ssv-agent`. Takes about five minutes.

use std::{
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    network::TransactionBuilder,
    primitives::{Bytes, FixedBytes, U256},
    providers::Provider,
    rpc::types::{Filter, TransactionRequest},
    sol_types::{SolCall, SolEvent},
};
use ssv_agent::{
    chain::{
        Chain,
        contracts::{DepositContract, SSVNetwork},
    },
    crypto::bls,
    deposit::data::{
        DepositMessage, deposit_data_root, deposit_signing_root, withdrawal_credentials,
    },
    devnet::exit_double::ExitOutcomeKind,
    pipeline::{
        local::{LocalOptions, LocalSetup},
        plan::validator_folders,
    },
    ssv::keyshares::shares_data_len,
};

fn agent() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ssv-agent"));
    c.env_remove("SSV_AGENT_TEST_KILL_AT")
        .env_remove("SSV_AGENT_RPC_URL")
        .env_remove("SSV_AGENT_BEACON_URL");
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn state_json(dir: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).ok()?).ok()
}

/// SIGKILLs `child` as soon as the state file satisfies `pred`; returns what it saw.
fn kill_when(
    child: &mut Child,
    dir: &Path,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    kill_when_file(child, &dir.join("state.json"), pred)
}

/// SIGKILLs `child` as soon as the JSON file at `path` satisfies `pred`; returns what it saw.
fn kill_when_file(
    child: &mut Child,
    path: &Path,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let start = Instant::now();
    loop {
        if let Some(s) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            && pred(&s)
        {
            child.kill().unwrap(); // SIGKILL
            let _ = child.wait();
            return s;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let read = |r: Option<Box<dyn std::io::Read>>| {
                r.and_then(|r| std::io::read_to_string(r).ok())
                    .unwrap_or_default()
            };
            let out = read(child.stdout.take().map(|s| Box::new(s) as _));
            let err = read(child.stderr.take().map(|s| Box::new(s) as _));
            panic!("the run ended ({status}) before the kill point:\n{out}\n{err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "kill point never reached"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The SSVNetwork events `E` that satisfy `keep`.
async fn ssv_events<E: SolEvent>(setup: &LocalSetup, keep: impl Fn(&E) -> bool) -> Vec<E> {
    let logs = setup
        .devnet
        .provider()
        .get_logs(
            &Filter::new()
                .address(setup.devnet.profile().ssv_network)
                .event_signature(E::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    logs.iter()
        .filter_map(|l| E::decode_log(&l.inner).ok().map(|e| e.data))
        .filter(|e| keep(e))
        .collect()
}

/// Runs `cmd` and SIGKILLs it as soon as its action journal holds a `kind` transaction, then
/// reruns it to the end; returns the rerun's output.
fn kill_then_rerun(mut cmd: impl FnMut() -> Command, journal: &Path, kind: &str) -> Output {
    let mut child = cmd()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = kill_when_file(&mut child, journal, |j| {
        j.as_array()
            .is_some_and(|a| a.iter().any(|r| r["kind"] == kind))
    });
    println!("SIGKILL with the {kind} transaction journaled: {seen}");
    cmd().output().unwrap()
}

async fn exit_events(setup: &LocalSetup, pubkey: &[u8]) -> usize {
    ssv_events::<SSVNetwork::ValidatorExited>(setup, |e| e.publicKey.as_ref() == pubkey)
        .await
        .len()
}

async fn beacon_validator(url: &str, pubkey: &str) -> Option<serde_json::Value> {
    let r = reqwest::get(format!(
        "{url}/eth/v1/beacon/states/head/validators/{pubkey}"
    ))
    .await
    .ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json::<serde_json::Value>()
        .await
        .ok()
        .map(|v| v["data"].clone())
}

async fn head_epoch(url: &str) -> u64 {
    let v: serde_json::Value = reqwest::get(format!("{url}/eth/v1/node/syncing"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["data"]["head_slot"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 8
}

/// Registers a fresh key in the staker's cluster (the double's contract keeps no keyshares
/// rules) and deposits 32 ETH for it: a validator that is the owner's but still pending.
async fn register_and_deposit_pending(setup: &LocalSetup) -> String {
    let d = &setup.devnet;
    let profile = d.profile().clone();
    let sk = blst::min_pk::SecretKey::key_gen(&[0x77; 32], &[]).unwrap();
    let pubkey = bls::public_key(&sk);
    let chain = Chain::connect(d.rpc_url(), &profile, None).await.unwrap();
    let cluster = chain
        .cluster_snapshot(setup.staker, &setup.operator_ids)
        .await
        .unwrap()
        .expect("the pipeline registered the cluster");
    let register = SSVNetwork::registerValidatorCall {
        publicKey: Bytes::copy_from_slice(&pubkey),
        operatorIds: setup.operator_ids.clone(),
        sharesData: vec![0u8; shares_data_len(setup.operator_ids.len())].into(),
        cluster,
    };
    let tx = TransactionRequest::default()
        .with_from(setup.staker)
        .with_to(profile.ssv_network)
        .with_input(register.abi_encode())
        .with_value(U256::from(10u64).pow(U256::from(17u64)));
    let r = d
        .provider()
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status(), "registering the pending validator");
    let msg = DepositMessage {
        pubkey,
        withdrawal_credentials: withdrawal_credentials(setup.staker, false),
        amount_gwei: 32_000_000_000,
    };
    let sig = bls::sign(
        &sk,
        &deposit_signing_root(&msg, profile.genesis_fork_version),
        bls::Dst::Pop,
    );
    let deposit = DepositContract::depositCall {
        pubkey: Bytes::copy_from_slice(&pubkey),
        withdrawal_credentials: Bytes::copy_from_slice(&msg.withdrawal_credentials),
        signature: Bytes::copy_from_slice(&sig),
        deposit_data_root: FixedBytes(deposit_data_root(&msg, &sig)),
    };
    let tx = TransactionRequest::default()
        .with_from(setup.staker)
        .with_to(profile.deposit_contract)
        .with_input(deposit.abi_encode())
        .with_value(U256::from(32u64) * U256::from(10u64).pow(U256::from(18u64)));
    let r = d
        .provider()
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status(), "depositing for the pending validator");
    format!("0x{}", hex::encode(pubkey))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exit_on_lodestar_survives_sigkill_and_refuses_a_pending_validator() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let setup = LocalSetup::start(&LocalOptions {
        dir: tmp.path().join("local"),
        operators: 4,
        beacon: true,
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "cannot start the devnet with Lodestar ({e}); install the peers: `cd anvil && npm ci` and `scripts/install-lodestar.sh`"
        )
    });
    assert!(
        setup.devnet.exit_double().is_some(),
        "the devnet with a beacon node runs the exit double"
    );
    let beacon = setup.devnet.beacon_url().unwrap().to_string();
    let out = tmp.path().join("output");
    let config = setup.dir.join("config.toml");
    std::fs::write(&config, toml::to_string(&setup.config(1, &out)).unwrap()).unwrap();
    let ca = setup.dir.join("operators-ca.pem");
    std::fs::write(&ca, &setup.tls.ca_certs_pem[0]).unwrap();

    // A validator from the pipeline: DKG, deposit, activation, registration, funding.
    let o = agent()
        .arg("--config")
        .arg(&config)
        .args(["run", "--poll-secs", "1", "--operator-ca-cert"])
        .arg(&ca)
        .output()
        .unwrap();
    assert!(o.status.success(), "pipeline run failed:\n{}", text(&o).1);
    let (_, pk, dir) = validator_folders(&out).unwrap().remove(0);
    let pubkey = format!("0x{}", hex::encode(pk));
    println!("pipeline done after {:?}: {pubkey}", started.elapsed());

    let exit_cmd = |args: &[&str]| {
        let mut c = agent();
        c.arg("--config").arg(&config).arg("exit").args(args);
        c
    };
    let lifecycle_cmd = |args: &[&str]| {
        let mut c = agent();
        c.arg("--config").arg(&config).args(args);
        c
    };
    let removed = |key: Vec<u8>| {
        ssv_events::<SSVNetwork::ValidatorRemoved>(&setup, move |e| e.publicKey.as_ref() == key)
    };

    // Before the exit: `remove` refuses an active validator (it could not be exited through SSV
    // afterwards), and sends nothing.
    let o = lifecycle_cmd(&["remove", &pubkey]).output().unwrap();
    let (_, stderr) = text(&o);
    assert!(
        !o.status.success(),
        "an active validator must not be removed"
    );
    assert!(
        stderr.contains("can no longer be exited through SSV") && stderr.contains("active_ongoing"),
        "{stderr}"
    );
    assert!(removed(pk.to_vec()).await.is_empty());

    // Registered by this owner but pending on the beacon chain: refused, nothing sent.
    let pending = register_and_deposit_pending(&setup).await;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let v = beacon_validator(&beacon, &pending).await;
        if v.as_ref()
            .is_some_and(|v| v["status"].as_str().unwrap_or("").starts_with("pending"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second deposit never became pending: {v:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let o = exit_cmd(&[&pending]).output().unwrap();
    let (stdout, stderr) = text(&o);
    println!("--- exit of a pending validator ---\n{stdout}{stderr}");
    assert!(!o.status.success(), "a pending validator must be refused");
    assert!(
        stderr.contains("refusing to exit, nothing sent")
            && stderr.contains(&pending)
            && stderr.contains("not active; a validator can only exit once it is active"),
        "{stderr}"
    );
    let pending_key = hex::decode(pending.trim_start_matches("0x")).unwrap();
    assert_eq!(exit_events(&setup, &pending_key).await, 0);

    // The first validator becomes exit-eligible SHARD_COMMITTEE_PERIOD (4) epochs after activation.
    let v = beacon_validator(&beacon, &pubkey)
        .await
        .expect("active validator");
    let eligible: u64 = v["validator"]["activation_epoch"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap()
        + 4;
    while head_epoch(&beacon).await < eligible {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // The dry run rehearses on a fork: the real chain and the state file stay untouched.
    let o = exit_cmd(&["--dry-run", &pubkey]).output().unwrap();
    let (stdout, stderr) = text(&o);
    println!("--- exit --dry-run ---\n{stdout}");
    assert!(o.status.success(), "dry run failed:\n{stdout}{stderr}");
    assert!(
        stdout.contains("1 transaction(s) rehearsed on a fork"),
        "{stdout}"
    );
    assert_eq!(exit_events(&setup, &pk).await, 0, "a dry run sends nothing");
    assert!(state_json(&dir).unwrap()["exit"].is_null());

    // SIGKILL while the exit transaction is in flight, then again once it is mined.
    let spawn = || {
        exit_cmd(&["--poll-secs", "1", &pubkey])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let requested = Instant::now();
    let mut child = spawn();
    let seen = kill_when(&mut child, &dir, |s| !s["exit"]["tx"].is_null());
    let first_hash = seen["exit"]["tx"]["tx_hash"].clone();
    println!(
        "SIGKILL with the exit transaction {}",
        seen["exit"]["tx"]["status"]
    );
    let mut child = spawn();
    let seen = kill_when(&mut child, &dir, |s| {
        s["exit"]["tx"]["status"] == "confirmed"
    });
    assert_eq!(
        seen["exit"]["tx"]["tx_hash"], first_hash,
        "same transaction resumed"
    );
    println!(
        "SIGKILL again with the exit transaction confirmed in block {}",
        seen["exit"]["tx"]["block"]
    );
    assert_eq!(exit_events(&setup, &pk).await, 1);

    // The last rerun sends nothing and follows the validator out.
    let o = exit_cmd(&["--poll-secs", "1", &pubkey]).output().unwrap();
    let (stdout, stderr) = text(&o);
    println!("--- exit (rerun after two SIGKILLs) ---\n{stdout}");
    assert!(o.status.success(), "rerun failed:\n{stdout}{stderr}");
    let exited_after = requested.elapsed();
    assert!(
        stdout.contains("from an earlier run; nothing new sent"),
        "{stdout}"
    );
    assert!(
        stdout.contains("what the operators do: operators [1, 2, 3, 4]"),
        "{stdout}"
    );
    for status in ["active_exiting", "exited_unslashed", "withdrawal_possible"] {
        assert!(stdout.contains(status), "{status} never shown:\n{stdout}");
    }
    assert_eq!(
        exit_events(&setup, &pk).await,
        1,
        "exactly one exit request"
    );
    let outbox = std::fs::read_dir(out.join("accounts"))
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .expect("the account outbox");
    let ob: serde_json::Value = serde_json::from_str(&outbox).unwrap();
    let exits = ob["txs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "exit")
        .count();
    assert_eq!(exits, 1, "one exit transaction signed: {ob}");

    // The beacon node, the double and the journal agree.
    let v = beacon_validator(&beacon, &pubkey).await.unwrap();
    assert_eq!(v["status"], "withdrawal_possible", "{v}");
    let submitted: Vec<_> = setup
        .devnet
        .exit_double()
        .unwrap()
        .outcomes()
        .into_iter()
        .filter(|o| o.pubkey == pubkey)
        .collect();
    assert_eq!(submitted.len(), 1, "{submitted:?}");
    match &submitted[0].kind {
        ExitOutcomeKind::Submitted { operators, .. } => {
            assert_eq!(operators.len(), 3, "a threshold subset of 4 signed");
        }
        other => panic!("the double did not submit: {other:?}"),
    }
    let s = state_json(&dir).unwrap();
    assert_eq!(s["exit"]["status"], "withdrawal_possible", "{s}");
    assert_eq!(
        s["exit"]["exit_epoch"].to_string(),
        v["validator"]["exit_epoch"].as_str().unwrap(),
        "{s}"
    );

    // --json: one event per line, and again nothing sent.
    let o = exit_cmd(&["--json", "--until", "exited", &pubkey])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(events[0]["event"], "exit_request");
    assert_eq!(events[0]["validators"][0]["outcome"], "resumed");
    assert_eq!(events.last().unwrap()["event"], "exit_done");
    assert_eq!(exit_events(&setup, &pk).await, 1);

    // Exited: `remove` succeeds; SIGKILLed with its transaction journaled, the rerun finishes that
    // one transaction.
    let journal = ssv_agent::journal::cluster_dir(
        &out,
        ssv_agent::chain::reads::cluster_id(setup.staker, &[1, 2, 3, 4]),
    )
    .join(ssv_agent::journal::ActionJournal::FILE);
    let o = kill_then_rerun(|| lifecycle_cmd(&["remove", &pubkey]), &journal, "remove");
    let (stdout, stderr) = text(&o);
    println!("--- remove (rerun after SIGKILL) ---\n{stdout}");
    assert!(
        o.status.success(),
        "remove of an exited validator failed:\n{stdout}{stderr}"
    );
    assert_eq!(removed(pk.to_vec()).await.len(), 1, "one removeValidator");

    // The second validator is still running: removed only with the explicit flag.
    let o = lifecycle_cmd(&["remove", "--i-understand-no-exit", &pending])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(removed(pending_key.clone()).await.len(), 1);

    // `withdraw --all` empties the now empty cluster, once, across a SIGKILL.
    let o = kill_then_rerun(
        || lifecycle_cmd(&["withdraw", "--cluster", "1,2,3,4", "--all"]),
        &journal,
        "withdraw",
    );
    let (stdout, stderr) = text(&o);
    println!("--- withdraw --all (rerun after SIGKILL) ---\n{stdout}");
    assert!(o.status.success(), "{stdout}{stderr}");
    let withdrawn =
        ssv_events::<SSVNetwork::ClusterWithdrawn>(&setup, |e| e.owner == setup.staker).await;
    assert_eq!(withdrawn.len(), 1, "one withdrawal: {withdrawn:?}");
    assert_eq!(
        withdrawn[0].cluster.balance,
        U256::ZERO,
        "the cluster is empty"
    );
    assert!(withdrawn[0].value > U256::ZERO);
    let o = lifecycle_cmd(&["withdraw", "--cluster", "1,2,3,4", "--all"])
        .output()
        .unwrap();
    assert!(
        ssv_events::<SSVNetwork::ClusterWithdrawn>(&setup, |e| e.owner == setup.staker)
            .await
            .len()
            == 1,
        "a third run sends nothing: {}",
        text(&o).1
    );
    println!(
        "exit request to withdrawal_possible: {exited_after:?}; whole test {:?}",
        started.elapsed()
    );
}
