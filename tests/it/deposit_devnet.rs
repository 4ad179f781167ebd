//! Deposits on the devnet (anvil + the deposit contract at the profile's address): exactly one
//! `DepositEvent` per pubkey whatever moment the agent is SIGKILLed at, a lost state file does not
//! lead to a second deposit, and bad input is refused with nothing sent.
//!
//! The agent runs as the real `ssv-agent deposit` binary in a child process, so it can be killed
//! with SIGKILL at the moment the state file shows.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use ssv_agent::{
    chain::{Chain, SensitiveUrl, contracts::DepositContract},
    crypto::bls::{self, Dst},
    deposit::{
        checks::{Allowances, CheckFailure, DepositCheckError, NetworkMismatch},
        data::{DepositDataJson, DepositMessage, deposit_signing_root, withdrawal_credentials},
        json::{read_deposit_file, write_deposit_file},
        send::{DepositJob, DepositRequest, DepositSendError, Outcome, SendOptions, deposit_all},
    },
    devnet::{Devnet, DevnetOptions, STAKER_ACCOUNT, dev_account},
    network::NetworkProfile,
    rehearsal::Rehearsal,
};

/// A valid hoodi deposit for a fresh key, written as `<dir>/000001-0x<pk>/deposit_data.json`.
fn make_deposit(dir: &Path, seed: u8, withdrawal: Address) -> (PathBuf, DepositDataJson) {
    let sk = blst::min_pk::SecretKey::key_gen(&[seed; 32], &[]).unwrap();
    let hoodi = NetworkProfile::hoodi();
    let msg = DepositMessage {
        pubkey: bls::public_key(&sk),
        withdrawal_credentials: withdrawal_credentials(withdrawal, false),
        amount_gwei: 32_000_000_000,
    };
    let sig = bls::sign(
        &sk,
        &deposit_signing_root(&msg, hoodi.genesis_fork_version),
        Dst::Pop,
    );
    let entry = DepositDataJson::new(&msg, &sig, hoodi.genesis_fork_version, "hoodi");
    let folder = dir.join(format!("000001-0x{}", hex::encode(entry.pubkey)));
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("deposit_data.json");
    write_deposit_file(&file, std::slice::from_ref(&entry)).unwrap();
    (file, entry)
}

fn request(file: &Path, withdrawal: Address) -> DepositRequest {
    let entry = read_deposit_file(file).unwrap().remove(0);
    DepositRequest {
        jobs: vec![DepositJob {
            entry,
            state_dir: file.parent().unwrap().to_owned(),
        }],
        withdrawal_address: withdrawal,
        compounding: Some(false),
        amount_gwei: Some(32_000_000_000),
        opts: SendOptions {
            allow: Allowances::default(),
        },
        scratch: None,
    }
}

/// A config for the binary: the devnet's RPC, 3 confirmations, state under `root`.
fn config_file(rpc: &str, root: &Path, withdrawal: Address) -> PathBuf {
    let path = root.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "network = \"hoodi\"\n[rpc]\nurl = \"{rpc}\"\nlog_chunk_blocks = 1000\n\
             [validators]\nwithdrawal_address = \"{withdrawal}\"\noutput_dir = \"{}\"\n\
             [deposit]\nmax_fee_per_gas_gwei = 100.0\nconfirmations = 3\n",
            root.display()
        ),
    )
    .unwrap();
    path
}

/// `ssv-agent deposit` on `file`, as a user runs it (state root: the file folder's parent).
fn spawn_child(rpc: &str, file: &Path, withdrawal: Address) -> Child {
    spawn_in(rpc, file.parent().unwrap().parent().unwrap(), file, withdrawal)
}

/// `ssv-agent deposit` on `file` with the state root `root`.
fn spawn_in(rpc: &str, root: &Path, file: &Path, withdrawal: Address) -> Child {
    let key = hex::encode(dev_account(STAKER_ACCOUNT).to_bytes());
    Command::new(env!("CARGO_BIN_EXE_ssv-agent"))
        .arg("--config")
        .arg(config_file(rpc, root, withdrawal))
        .args(["deposit", "--no-beacon"])
        .arg(file)
        .env("SSV_AGENT_PRIVATE_KEY", key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn state_json(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("state.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Waits until `pred` holds for the state file, then SIGKILLs the child; returns the state seen.
fn kill_when(
    child: &mut Child,
    dir: &Path,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let start = Instant::now();
    loop {
        if let Some(s) = state_json(dir)
            && pred(&s)
        {
            child.kill().unwrap(); // SIGKILL on unix
            let _ = child.wait();
            return s;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let out = child
                .stdout
                .take()
                .map(std::io::read_to_string)
                .and_then(Result::ok)
                .unwrap_or_default();
            let err = child
                .stderr
                .take()
                .map(std::io::read_to_string)
                .and_then(Result::ok)
                .unwrap_or_default();
            panic!("agent exited ({status}) before the kill point; stdout:\n{out}\nstderr:\n{err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "kill point never reached"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn run_child_to_end(rpc: &str, file: &Path, withdrawal: Address) -> String {
    finish(spawn_child(rpc, file, withdrawal))
}

fn finish(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "rerun failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

async fn deposit_events(d: &Devnet, pubkey: &[u8; 48]) -> usize {
    let filter = Filter::new()
        .address(d.profile().deposit_contract)
        .event_signature(DepositContract::DepositEvent::SIGNATURE_HASH)
        .from_block(0);
    let logs = d.provider().get_logs(&filter).await.unwrap();
    logs.iter()
        .filter(|l| {
            DepositContract::DepositEvent::decode_log_data(l.data())
                .is_ok_and(|e| e.pubkey.as_ref() == pubkey)
        })
        .count()
}

async fn devnet() -> Devnet {
    // One block per second: the window between broadcast and confirmation is long enough to hit.
    Devnet::start(DevnetOptions {
        operators: 4,
        block_time: Some(1),
        ..Default::default()
    })
    .await
    .expect("devnet starts (needs `cd anvil && npm ci`)")
}

#[tokio::test]
async fn sigkill_before_during_and_after_sending_gives_one_deposit() {
    let d = devnet().await;
    let tmp = tempfile::tempdir().unwrap();
    let withdrawal = dev_account(STAKER_ACCOUNT).address();
    type Pred = fn(&serde_json::Value) -> bool;
    let points: [(&str, Pred); 3] = [
        ("before", |s| {
            s["deposit"].is_null() && s["log"].to_string().contains("signing and sending")
        }),
        ("during", |s| {
            matches!(
                s["deposit"]["status"].as_str(),
                Some("signed" | "broadcast")
            )
        }),
        ("after", |s| s["deposit"]["status"] == "confirmed"),
    ];
    for (i, (name, pred)) in points.into_iter().enumerate() {
        let (file, entry) = make_deposit(tmp.path(), 40 + i as u8, withdrawal);
        let dir = file.parent().unwrap().to_owned();
        let mut child = spawn_child(d.rpc_url(), &file, withdrawal);
        let seen = kill_when(&mut child, &dir, pred);
        assert!(pred(&seen), "{name}");
        println!(
            "{name}: SIGKILL with deposit record {}",
            seen["deposit"]["status"]
        );
        let rerun = run_child_to_end(d.rpc_url(), &file, withdrawal);
        assert_eq!(
            deposit_events(&d, &entry.pubkey).await,
            1,
            "{name}: exactly one DepositEvent; rerun said:\n{rerun}"
        );
        let state = state_json(&dir).unwrap();
        assert_eq!(state["deposit"]["status"], "confirmed", "{name}: {state}");
        assert_eq!(state["stage"], "deposited", "{name}");
        if name != "before" {
            // The rerun resumed the recorded transaction instead of signing another.
            assert!(
                rerun.contains("resuming recorded deposit") || rerun.contains("already confirmed"),
                "{name}: {rerun}"
            );
            assert_eq!(
                state["deposit"]["tx_hash"], seen["deposit"]["tx_hash"],
                "{name}: same transaction"
            );
        }
        // A third run sends nothing.
        let again = run_child_to_end(d.rpc_url(), &file, withdrawal);
        assert!(again.contains("already confirmed"), "{again}");
        assert_eq!(deposit_events(&d, &entry.pubkey).await, 1, "{name}");
    }
}

#[tokio::test]
async fn lost_state_file_finds_the_deposit_in_the_logs() {
    let d = devnet().await;
    let tmp = tempfile::tempdir().unwrap();
    let withdrawal = dev_account(STAKER_ACCOUNT).address();
    let (file, entry) = make_deposit(tmp.path(), 77, withdrawal);
    run_child_to_end(d.rpc_url(), &file, withdrawal);
    std::fs::remove_file(file.parent().unwrap().join("state.json")).unwrap();
    let out = run_child_to_end(d.rpc_url(), &file, withdrawal);
    assert!(
        out.contains("a DepositEvent for this pubkey is already on chain")
            && out.contains("nothing sent"),
        "{out}"
    );
    assert_eq!(deposit_events(&d, &entry.pubkey).await, 1);
}

#[tokio::test]
async fn aggregate_and_per_validator_files_share_one_journal() {
    let d = devnet().await;
    let tmp = tempfile::tempdir().unwrap();
    let ceremony = tmp.path().join("ceremony-1");
    let withdrawal = dev_account(STAKER_ACCOUNT).address();
    let (one, a) = make_deposit(&ceremony, 61, withdrawal);
    let (two, b) = make_deposit(&ceremony, 62, withdrawal);
    let aggregate = ceremony.join("deposit_data.json");
    write_deposit_file(&aggregate, &[a.clone(), b.clone()]).unwrap();
    // The aggregate file deposits both; their journals are the per-validator folders.
    let out = finish(spawn_in(d.rpc_url(), tmp.path(), &aggregate, withdrawal));
    assert_eq!(out.matches("confirmed in block").count(), 2, "{out}");
    for f in [&one, &two] {
        let state = state_json(f.parent().unwrap()).expect("journal in the validator's folder");
        assert_eq!(state["deposit"]["status"], "confirmed");
    }
    // Each per-validator file finds the same journal: nothing is sent again.
    for f in [&one, &two] {
        let out = finish(spawn_in(d.rpc_url(), tmp.path(), f, withdrawal));
        assert!(out.contains("already confirmed"), "{out}");
    }
    assert_eq!(deposit_events(&d, &a.pubkey).await, 1);
    assert_eq!(deposit_events(&d, &b.pubkey).await, 1);
    assert!(!tmp.path().join(format!("0x{}", hex::encode(a.pubkey))).exists());
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_sent() {
    let d = devnet().await;
    let tmp = tempfile::tempdir().unwrap();
    let staker = dev_account(STAKER_ACCOUNT);
    let withdrawal = staker.address();
    let chain = Chain::connect(d.rpc_url(), d.profile(), Some(staker.clone()))
        .await
        .unwrap()
        .with_log_chunk(1_000);
    let (file, entry) = make_deposit(tmp.path(), 90, withdrawal);

    // Flipped signature byte (with a consistent root, as the contract would accept).
    let mut req = request(&file, withdrawal);
    req.jobs[0].entry.signature[5] ^= 1;
    req.jobs[0].entry.deposit_data_root = ssv_agent::deposit::data::deposit_data_root(
        &req.jobs[0].entry.message(),
        &req.jobs[0].entry.signature,
    );
    let err = deposit_all(&chain, None, &req, |_| {}).await.unwrap_err();
    assert!(
        matches!(&err, DepositSendError::Check(DepositCheckError::Entry { failures, .. })
        if matches!(failures.as_slice(), [CheckFailure::Signature { .. }])),
        "{err}"
    );

    // Another withdrawal address configured.
    let mut req = request(&file, withdrawal);
    req.withdrawal_address = Address::repeat_byte(0x11);
    let err = deposit_all(&chain, None, &req, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected the configured withdrawal address 0x1111"),
        "{err}"
    );

    // A profile whose deposit contract is not the chain's.
    let mut other = d.profile().clone();
    other.deposit_contract = Address::repeat_byte(0x42);
    let wrong = Chain::connect(d.rpc_url(), &other, Some(staker.clone()))
        .await
        .unwrap();
    let err = deposit_all(&wrong, None, &request(&file, withdrawal), |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DepositSendError::Check(DepositCheckError::Network(
                NetworkMismatch::ProfileDepositContract { .. }
            ))
        ),
        "{err}"
    );

    // Too little ETH: a fresh wallet with 31 ETH.
    let poor = PrivateKeySigner::random();
    d.set_balance(
        poor.address(),
        U256::from(31u64) * U256::from(10u64).pow(U256::from(18u64)),
    )
    .await
    .unwrap();
    let poor_chain = Chain::connect(d.rpc_url(), d.profile(), Some(poor.clone()))
        .await
        .unwrap();
    let err = deposit_all(&poor_chain, None, &request(&file, withdrawal), |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, DepositSendError::InsufficientFunds { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("nothing was sent"));

    // A dry run executes the deposit on a fork of the devnet, and nothing reaches the devnet or
    // the real state file.
    let rehearsal = Rehearsal::start(&SensitiveUrl::new(d.rpc_url()))
        .await
        .unwrap();
    let fork = rehearsal
        .chain_for(d.profile(), staker.address())
        .await
        .unwrap()
        .with_log_chunk(1_000);
    let mut req = request(&file, withdrawal);
    req.scratch = Some(rehearsal.scratch().join("state"));
    let out = deposit_all(&fork, None, &req, |_| {}).await.unwrap();
    assert!(
        matches!(&out[0], Outcome::Confirmed { resumed: false, .. }),
        "{out:?}"
    );
    assert_eq!(fork.sent().len(), 1);
    assert!(fork.sent()[0].rehearsal && fork.sent()[0].value > U256::ZERO);
    assert!(!file.parent().unwrap().join("state.json").exists());

    assert_eq!(
        deposit_events(&d, &entry.pubkey).await,
        0,
        "nothing reached the contract"
    );
    let nonce = d
        .provider()
        .get_transaction_count(poor.address())
        .await
        .unwrap();
    assert_eq!(nonce, 0);
}
