//! `ssv-agent change-operators` end to end on the devnet with Lodestar and the real SSVNetwork
//! code: a validator that runs on the beacon chain (interop genesis validator 0, `active_ongoing`
//! from genesis) is registered by the binary in the cluster of operators 1,2,3,4, then moved to
//! 1,2,3,5 with new keyshares for the same key. The new keyshares come from the test-only trusted
//! dealer (`support::ssv::trusted_dealer`): the reshare ceremony is the DKG initiator's job, this
//! test is about what the command sends.
//!
//! Refusals first, each with nothing sent: the same set, the wrong old cluster, a new operator
//! that does not exist, keyshares signed for a nonce that moved (resign needed), keyshares for
//! another set, and (without `--keyshares`, so the ceremony's ping runs) two of the four old
//! operators down, named. Then a dry run on a fork, then the real run SIGKILLed after every step
//! (and while the removal and the registration are in flight), rerun each time: one removal, one
//! new registration, one withdrawal; the validator stays `active_ongoing` with the same key, is in
//! the new cluster, gone from the old, whose balance is withdrawn; the registration came at least
//! three epochs after the removal.
//!
//! Needs anvil (`cd anvil && npm ci`), Lodestar (`scripts/install-lodestar.sh`), the real contracts
//! (`scripts/build-real-contracts.sh`) and the `test-hooks` feature
//! (`cargo test --features test-hooks --test it change_operators`).

use std::{
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use alloy::{primitives::Address, providers::Provider, rpc::types::Filter, sol_types::SolEvent};
use ssv_agent::{
    chain::{Chain, contracts::SSVNetwork},
    config::Config,
    devnet::{
        Contracts, Devnet, DevnetOptions, STAKER_ACCOUNT, dev_account,
        lodestar::interop::interop_secret_key,
    },
    ssv::{cluster::read_cluster, validators::owner_validators},
};

use crate::support::ssv::{ops, trusted_dealer::trusted_dealer_keyshares};

const OLD: [u64; 4] = [1, 2, 3, 4];
const NEW: [u64; 4] = [1, 2, 3, 5];

fn agent(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ssv-agent"));
    c.env_remove("SSV_AGENT_TEST_KILL_AT")
        .env_remove("SSV_AGENT_RPC_URL")
        .env_remove("SSV_AGENT_BEACON_URL")
        .arg("--config")
        .arg(config);
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

async fn events<E: SolEvent>(
    d: &Devnet,
    pubkey: &[u8],
    key: impl Fn(&E) -> &[u8],
) -> Vec<(E, u64)> {
    let logs = d
        .provider()
        .get_logs(
            &Filter::new()
                .address(d.profile().ssv_network)
                .event_signature(E::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    logs.iter()
        .filter_map(|l| {
            let e = E::decode_log(&l.inner).ok()?.data;
            (key(&e) == pubkey).then(|| (e, l.block_number.unwrap_or_default()))
        })
        .collect()
}

async fn block_time(d: &Devnet, n: u64) -> u64 {
    d.provider()
        .get_block_by_number(n.into())
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp
}

async fn tx_count(d: &Devnet, who: Address) -> u64 {
    d.provider().get_transaction_count(who).await.unwrap()
}

async fn beacon_status(url: &str, pubkey: &str) -> String {
    let v: serde_json::Value = reqwest::get(format!(
        "{url}/eth/v1/beacon/states/head/validators/{pubkey}"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    v["data"]["status"].as_str().unwrap_or("").to_string()
}

/// SIGKILLs `child` once `pred` holds for the validator's state file.
fn kill_when(child: &mut Child, state: &Path, pred: impl Fn(&serde_json::Value) -> bool) -> String {
    let start = Instant::now();
    loop {
        if let Some(s) = std::fs::read_to_string(state)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            && pred(&s)
        {
            child.kill().unwrap(); // SIGKILL
            let _ = child.wait();
            return s.to_string();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the run ended ({status}) before the kill point");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "kill point never reached"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn change_operators_moves_a_running_validator_once_through_sigkills() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let mut d = Devnet::start(DevnetOptions {
        contracts: Contracts::Real,
        beacon: true,
        services: true,
        dir: Some(tmp.path().join("devnet")),
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "cannot start the devnet with Lodestar and the real contracts ({e}); install: `cd anvil && npm ci`, `scripts/install-lodestar.sh`, `scripts/build-real-contracts.sh`"
        )
    });
    println!("devnet up after {:?}", started.elapsed());
    let beacon = d.beacon_url().unwrap().to_string();
    let staker = dev_account(STAKER_ACCOUNT);
    let owner = staker.address();

    // Files: key, operators info (every operator with an endpoint), CA, config.
    let key_file = tmp.path().join("staker.key");
    std::fs::write(&key_file, format!("0x{}", hex::encode(staker.to_bytes()))).unwrap();
    let services = d.services().unwrap();
    let info: Vec<serde_json::Value> = d
        .operators()
        .iter()
        .filter_map(|o| {
            services
                .endpoint(o.id)
                .map(|url| serde_json::json!({"id": o.id, "public_key": o.public_key, "ip": url}))
        })
        .collect();
    let info_file = tmp.path().join("operators_info.json");
    std::fs::write(&info_file, serde_json::to_string(&info).unwrap()).unwrap();
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, services.ca_pem()).unwrap();
    let out = tmp.path().join("state");
    let mut config = Config {
        network: d.profile().name.clone(),
        ..Config::default()
    };
    config.rpc.url = d.rpc_url().to_string();
    config.beacon.url = beacon.clone();
    config.signer.private_key_file = Some(key_file);
    config.validators.output_dir = out.clone();
    config.validators.operators_info_file = Some(info_file);
    config.deposit.confirmations = 1;
    let config_path = tmp.path().join("config.toml");
    std::fs::write(&config_path, toml::to_string(&config).unwrap()).unwrap();

    // The validator: interop key 0, active on the beacon chain since genesis, registered in OLD.
    let sk = interop_secret_key(0).unwrap();
    let pk = ssv_agent::crypto::bls::public_key(&sk);
    let pubkey = format!("0x{}", hex::encode(pk));
    assert_eq!(beacon_status(&beacon, &pubkey).await, "active_ongoing");
    let write = |name: &str, json: String| {
        let p = tmp.path().join(name);
        std::fs::write(&p, json).unwrap();
        p
    };
    let old_ks = write(
        "old.json",
        trusted_dealer_keyshares(&sk, owner, 0, &ops(&d, &OLD)),
    );
    let o = agent(&config_path)
        .args(["register", "--keyshares"])
        .arg(&old_ks)
        .output()
        .unwrap();
    assert!(o.status.success(), "register failed:\n{}", text(&o).1);
    // Same key, new operators, signed for the chain's next nonce (1); and a stale one (nonce 0).
    let new_ks = write(
        "new.json",
        trusted_dealer_keyshares(&sk, owner, 1, &ops(&d, &NEW)),
    );
    let stale_ks = write(
        "stale.json",
        trusted_dealer_keyshares(&sk, owner, 0, &ops(&d, &NEW)),
    );
    let other_set = write(
        "other.json",
        trusted_dealer_keyshares(&sk, owner, 1, &ops(&d, &[1, 2, 3, 6])),
    );

    let change = |old: &str, new: &str, keyshares: Option<&Path>, extra: &[&str]| {
        let mut c = agent(&config_path);
        c.args([
            "change-operators",
            "--validator",
            &pubkey,
            "--old-operators",
            old,
            "--new-operators",
            new,
            "--poll-secs",
            "1",
            "--operator-ca-cert",
        ])
        .arg(&ca)
        .args(extra);
        if let Some(k) = keyshares {
            c.arg("--keyshares").arg(k);
        }
        c
    };
    let refused = |mut c: Command, words: &[&str]| {
        let o = c.output().unwrap();
        let (stdout, stderr) = text(&o);
        assert!(!o.status.success(), "must be refused:\n{stdout}{stderr}");
        for w in words {
            assert!(stderr.contains(w), "`{w}` missing from:\n{stderr}");
        }
        stderr
    };

    // Refusals: nothing sent.
    let sent = tx_count(&d, owner).await;
    refused(
        change("1,2,3,4", "4,3,2,1", Some(&new_ks), &[]),
        &["is the old one", "nothing sent"],
    );
    refused(
        change("1,2,3,5", "1,2,3,6", Some(&new_ks), &[]),
        &[
            "is not registered by",
            "cluster of operators [1, 2, 3, 4]",
            "nothing sent",
        ],
    );
    refused(
        change("1,2,3,4", "1,2,3,14", Some(&new_ks), &[]),
        &["new operator(s) [14] do not exist", "nothing sent"],
    );
    refused(
        change("1,2,3,4", "1,2,3,5", Some(&stale_ks), &[]),
        &[
            "signed for owner nonce 0",
            "nonce is now 1",
            "Resign",
            "nothing was sent",
        ],
    );
    refused(
        change("1,2,3,4", "1,2,3,5", Some(&other_set), &[]),
        &["not the new set [1, 2, 3, 5]", "nothing sent"],
    );
    // Without --keyshares the ceremony's ping runs: all up, the agent's reshare ceremony needs the
    // old proofs (this genesis validator has none) and says so before anything is sent.
    refused(
        change("1,2,3,4", "1,2,3,5", None, &[]),
        &[
            "the reshare ceremony failed; nothing sent",
            "proofs.json (--proofs)",
        ],
    );
    // Two of the four old operators down: fewer than the threshold (3) answer, named.
    let stopped = d.services_mut().unwrap();
    assert!(stopped.stop_operator(2) && stopped.stop_operator(3));
    let err = refused(
        change("1,2,3,4", "1,2,3,5", None, &[]),
        &[
            "only 2 of the old operators answer the ping, the reshare needs 3",
            "operator 2",
            "operator 3",
            "nothing sent",
        ],
    );
    assert!(!err.contains("operator 1 "), "{err}");
    assert_eq!(tx_count(&d, owner).await, sent, "a refusal sends nothing");
    println!("refusals done after {:?}", started.elapsed());

    // The dry run: every step listed, the three transactions rehearsed on a fork.
    let o = change("1,2,3,4", "1,2,3,5", Some(&new_ks), &["--dry-run"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    println!("--- dry run ---\n{stdout}");
    assert!(o.status.success(), "dry run failed:\n{stdout}{stderr}");
    for w in [
        "reshare: done",
        "verify: done",
        "remove: done",
        "wait: dry run: would wait",
        "register: done",
        "withdraw: done",
        "3 transaction(s) rehearsed on a fork",
    ] {
        assert!(stdout.contains(w), "`{w}` missing:\n{stdout}");
    }
    assert_eq!(tx_count(&d, owner).await, sent, "a dry run sends nothing");
    let removed_before = events::<SSVNetwork::ValidatorRemoved>(&d, &pk, |e| &e.publicKey).await;
    assert!(removed_before.is_empty());

    // The real run, SIGKILLed after each step and while the transactions are in flight.
    let killed = |point: &str| {
        let o = change("1,2,3,4", "1,2,3,5", Some(&new_ks), &[])
            .env("SSV_AGENT_TEST_KILL_AT", point)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&o);
        assert_eq!(
            o.status.signal(),
            Some(9),
            "not killed at {point} (build with --features test-hooks):\n{stdout}{stderr}"
        );
        stdout
    };
    let state_file: PathBuf = out.join(&pubkey).join("state.json");
    let registrations = |s: &serde_json::Value| s["registration"].as_array().map_or(0, Vec::len);
    let before =
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&state_file).unwrap())
            .unwrap();
    let registered_before = registrations(&before);
    for point in [
        "change.reshare",
        "change.verify",
        "change.remove.signed",
        "change.remove",
    ] {
        killed(point);
        println!("SIGKILL at {point} after {:?}", started.elapsed());
    }
    let stdout = killed("change.wait");
    assert!(
        stdout.contains("wait: beacon head at epoch"),
        "no progress shown:\n{stdout}"
    );
    // The registration in flight: killed as soon as its record is journaled.
    let mut child = change("1,2,3,4", "1,2,3,5", Some(&new_ks), &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let seen = kill_when(&mut child, &state_file, |s| {
        registrations(s) > registered_before
    });
    println!(
        "SIGKILL with the registration journaled: {}",
        &seen[seen.len().saturating_sub(200)..]
    );
    for point in ["change.register", "change.withdraw"] {
        killed(point);
        println!("SIGKILL at {point} after {:?}", started.elapsed());
    }
    let o = change("1,2,3,4", "1,2,3,5", Some(&new_ks), &[])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    println!("--- last rerun ---\n{stdout}");
    assert!(o.status.success(), "last rerun failed:\n{stdout}{stderr}");
    assert!(
        !stdout.contains("(sent now)"),
        "the last rerun sent something:\n{stdout}"
    );

    // One removal, one new registration, one withdrawal.
    let removed = events::<SSVNetwork::ValidatorRemoved>(&d, &pk, |e| &e.publicKey).await;
    assert_eq!(removed.len(), 1, "exactly one removal");
    assert_eq!(removed[0].0.operatorIds, OLD.to_vec());
    let added = events::<SSVNetwork::ValidatorAdded>(&d, &pk, |e| &e.publicKey).await;
    assert_eq!(
        added.len(),
        2,
        "the old registration and exactly one new one"
    );
    assert_eq!(added[1].0.operatorIds, NEW.to_vec());
    let waited = block_time(&d, added[1].1).await - block_time(&d, removed[0].1).await;
    assert!(
        waited >= 3 * 8,
        "registered {waited} s after the removal: less than 3 epochs"
    );
    let outbox = std::fs::read_dir(out.join("accounts"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .expect("the account outbox");
    let ob: serde_json::Value = serde_json::from_str(&outbox).unwrap();
    let kinds: Vec<&str> = ob["txs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["kind"].as_str())
        .collect();
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    assert_eq!(
        (count("remove"), count("register"), count("withdraw")),
        (1, 2, 1),
        "{kinds:?}"
    );
    assert_eq!(tx_count(&d, owner).await, sent + 3);

    // The chain and the beacon node agree.
    let chain = Chain::connect(d.rpc_url(), d.profile(), None)
        .await
        .unwrap();
    let head = chain.head().await.unwrap();
    let mine: Vec<_> = owner_validators(&chain, owner, head)
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.pubkey == pubkey)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].operator_ids, NEW.to_vec());
    assert!(!mine[0].removed);
    let old = read_cluster(&chain, owner, &OLD).await.unwrap();
    assert_eq!(old.load.validator_count, 0);
    assert!(
        old.balance.is_zero(),
        "old cluster still holds {}",
        old.balance
    );
    let new = read_cluster(&chain, owner, &NEW).await.unwrap();
    assert_eq!(new.load.validator_count, 1);
    assert!(!new.balance.is_zero(), "the new cluster is funded");
    assert_eq!(beacon_status(&beacon, &pubkey).await, "active_ongoing");

    // --json: one event per line, nothing sent again.
    let o = change("1,2,3,4", "1,2,3,5", Some(&new_ks), &[])
        .arg("--json")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "change_operators");
    assert!(
        last["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["sent_now"] == false),
        "{last}"
    );
    assert_eq!(tx_count(&d, owner).await, sent + 3);

    // The owner nonce moves after a removal (another validator registered meanwhile): the
    // registration refuses, says resign is needed and that the validator is offline until then;
    // keyshares resigned for the new nonce finish the change.
    let (from, to) = ([1u64, 2, 3, 10], [1u64, 2, 5, 10]);
    let sk1 = interop_secret_key(1).unwrap();
    let pubkey1 = format!(
        "0x{}",
        hex::encode(ssv_agent::crypto::bls::public_key(&sk1))
    );
    let register = |name: &str, json: String| {
        let o = agent(&config_path)
            .args(["register", "--keyshares"])
            .arg(write(name, json))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "register {name} failed:\n{}",
            text(&o).1
        );
    };
    register(
        "v1-old.json",
        trusted_dealer_keyshares(&sk1, owner, 2, &ops(&d, &from)),
    );
    let change1 = |keyshares: &Path| {
        let mut c = agent(&config_path);
        c.args([
            "change-operators",
            "--validator",
            &pubkey1,
            "--old-operators",
            "1,2,3,10",
            "--new-operators",
            "1,2,5,10",
            "--poll-secs",
            "1",
            "--keyshares",
        ])
        .arg(keyshares);
        c
    };
    let ks_nonce3 = write(
        "v1-new-3.json",
        trusted_dealer_keyshares(&sk1, owner, 3, &ops(&d, &to)),
    );
    let o = change1(&ks_nonce3)
        .env("SSV_AGENT_TEST_KILL_AT", "change.remove")
        .output()
        .unwrap();
    assert_eq!(o.status.signal(), Some(9), "{}", text(&o).1);
    let sk2 = interop_secret_key(2).unwrap();
    register(
        "v2.json",
        trusted_dealer_keyshares(&sk2, owner, 3, &ops(&d, &to)),
    );
    let err = refused(
        change1(&ks_nonce3),
        &[
            "signed for owner nonce 3",
            "nonce is now 4",
            "Resign",
            "already removed from its old cluster",
        ],
    );
    println!("--- nonce moved after the removal ---\n{err}");
    let ks_nonce4 = write(
        "v1-new-4.json",
        trusted_dealer_keyshares(&sk1, owner, 4, &ops(&d, &to)),
    );
    let o = change1(&ks_nonce4).output().unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "resigned run failed:\n{stdout}{stderr}");
    assert!(stdout.contains("wait: done"), "{stdout}");
    let head = chain.head().await.unwrap();
    let v1: Vec<_> = owner_validators(&chain, owner, head)
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.pubkey == pubkey1)
        .collect();
    assert_eq!(
        (v1.len(), v1[0].operator_ids.clone(), v1[0].removed),
        (1, to.to_vec(), false)
    );
    assert!(
        read_cluster(&chain, owner, &from)
            .await
            .unwrap()
            .balance
            .is_zero()
    );
    // remove, register v1 (old), register v2, register v1 (new), withdraw.
    assert_eq!(tx_count(&d, owner).await, sent + 3 + 5);
    println!("change-operators test done in {:?}", started.elapsed());
}

/// The whole life of a validator the agent made: `run` (DKG with 4 operators, deposit, activation,
/// registration), then `change-operators --proofs` with no keyshares given, so the agent's own
/// reshare ceremony makes the new set's shares from the old operators' proofs. The validator ends
/// in the new cluster with the same key, the ceremony's keyshares name it and the new operators,
/// and a rerun sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn change_operators_reshares_a_validator_the_agent_made() {
    use ssv_agent::{
        config::OperatorChoice,
        pipeline::{
            local::{LocalOptions, LocalSetup},
            plan::validator_folders,
        },
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let setup = LocalSetup::start(&LocalOptions {
        dir: tmp.path().join("local"),
        operators: 5,
        beacon: true,
    })
    .await
    .unwrap_or_else(|e| {
        panic!("cannot start the devnet with Lodestar ({e}); install: `cd anvil && npm ci`, `scripts/install-lodestar.sh`")
    });
    let ids = setup.operator_ids.clone();
    let (old, new) = (ids[..4].to_vec(), vec![ids[0], ids[1], ids[2], ids[4]]);
    let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let out = tmp.path().join("state");
    let mut config = setup.config(1, &out);
    config.validators.operators = OperatorChoice::Ids(old.clone());
    let config_path = tmp.path().join("config.toml");
    std::fs::write(&config_path, toml::to_string(&config).unwrap()).unwrap();
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, &setup.tls.ca_certs_pem[0]).unwrap();

    let o = agent(&config_path)
        .args(["run", "--poll-secs", "1", "--operator-ca-cert"])
        .arg(&ca)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "run failed:\n{stdout}{stderr}");
    println!("validator made and active after {:?}", started.elapsed());
    let (_, pk, dir) = validator_folders(&out).unwrap().remove(0);
    let pubkey = format!("0x{}", hex::encode(pk));

    let change = || {
        let mut c = agent(&config_path);
        c.args(["change-operators", "--validator", &pubkey])
            .args([
                "--old-operators",
                &list(&old),
                "--new-operators",
                &list(&new),
            ])
            .args(["--poll-secs", "1", "--proofs"])
            .arg(dir.join("proofs.json"))
            .arg("--operator-ca-cert")
            .arg(&ca);
        c
    };
    let o = change().output().unwrap();
    let (stdout, stderr) = text(&o);
    println!("--- change-operators ---\n{stdout}");
    assert!(
        o.status.success(),
        "change-operators failed:\n{stdout}{stderr}"
    );
    for w in [
        "reshare: done",
        "verify: done",
        "remove: done",
        "register: done",
    ] {
        assert!(stdout.contains(w), "`{w}` missing:\n{stdout}");
    }

    // On chain: in the new cluster, gone from the old.
    let d = &setup.devnet;
    let chain = Chain::connect(d.rpc_url(), d.profile(), None)
        .await
        .unwrap();
    let head = chain.head().await.unwrap();
    let mine: Vec<_> = owner_validators(&chain, setup.staker, head)
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.pubkey == pubkey)
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0].operator_ids, new);
    assert!(!mine[0].removed);
    assert_eq!(
        read_cluster(&chain, setup.staker, &old)
            .await
            .unwrap()
            .load
            .validator_count,
        0
    );

    // The ceremony's keyshares: the same validator key, shares for the new operators.
    let ceremony = out.join("changes").join(hex::encode(pk)).join("ceremony");
    let keyshares = walk(&ceremony)
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == "keyshares.json"))
        .unwrap_or_else(|| panic!("no keyshares.json under {}", ceremony.display()));
    let ks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&keyshares).unwrap()).unwrap();
    let share = &ks["shares"][0];
    assert_eq!(
        share["data"]["publicKey"]
            .as_str()
            .unwrap()
            .to_ascii_lowercase(),
        pubkey
    );
    let got: Vec<u64> = share["data"]["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(got, new);

    // A rerun sends nothing.
    let sent = tx_count(d, setup.staker).await;
    let o = change().output().unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "rerun failed:\n{stdout}{stderr}");
    assert!(
        !stdout.contains("(sent now)"),
        "the rerun sent something:\n{stdout}"
    );
    assert_eq!(tx_count(d, setup.staker).await, sent);
    println!("done in {:?}", started.elapsed());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
