//! The devnet's real beacon node end to end: anvil with the deposit contract at Hoodi's address,
//! the interop genesis deposits, Lodestar 1.5.1 following that contract, then a real 32 ETH deposit
//! for a new key that the Beacon API must report as unknown -> pending_* -> active_ongoing.
//!
//! Needs anvil (`cd anvil && npm ci`) and Lodestar (`scripts/install-lodestar.sh`); either missing
//! fails the test with that instruction. Takes about a minute.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, Bytes, FixedBytes, U256, address},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
};
use serde_json::Value;
use ssv_agent::{
    chain::contracts::DepositContract,
    crypto::bls::{self, Dst},
    deposit::data::{
        DepositMessage, deposit_data_root, deposit_signing_root, withdrawal_credentials,
    },
    devnet::lodestar::{
        Lodestar, LodestarOptions, StopOutcome,
        interop::{InteropSeed, seed_interop_deposits},
    },
    network::NetworkProfile,
};
use url::Url;

/// anvil's first dev account (unlocked; funded with 10 000 ETH).
const DEV_ACCOUNT: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
const GENESIS_VALIDATORS: u32 = 8;
const ACTIVATION_TIMEOUT: Duration = Duration::from_secs(300);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// anvil on a free loopback port with 1 s blocks (Lodestar's SECONDS_PER_ETH1_BLOCK); killed on drop.
struct Anvil {
    child: Child,
    url: Url,
    /// Anvil's persisted states (`--cache-path`), removed with the node.
    _cache: tempfile::TempDir,
}

impl Anvil {
    fn spawn(chain_id: u64) -> Self {
        // The binary itself, not npm's `node` wrapper: killing the wrapper left anvil running.
        let bin = ssv_agent::devnet::anvil::anvil_binary().unwrap_or_else(|e| panic!("{e}"));
        let port = TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cache = tempfile::tempdir().unwrap();
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--chain-id",
                &chain_id.to_string(),
                "--block-time",
                "1",
                "--silent",
            ])
            .arg("--cache-path")
            .arg(cache.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let url = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        Self {
            child,
            url,
            _cache: cache,
        }
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_for_rpc(provider: &DynProvider, chain_id: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match provider.get_chain_id().await {
            Ok(id) => {
                assert_eq!(id, chain_id, "anvil chain id");
                return;
            }
            Err(e) if Instant::now() > deadline => panic!("anvil did not answer within 20 s: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Places the committed DepositContract double at `at` (it has no constructor, so setCode suffices).
async fn place_deposit_contract(provider: &DynProvider, at: Address) {
    let path = repo().join("anvil/artifacts/DepositContract.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let artifact: Value = serde_json::from_str(&text).unwrap();
    let code = artifact["deployedBytecode"]
        .as_str()
        .expect("deployedBytecode in artifact");
    let _: Value = provider
        .raw_request("anvil_setCode".into(), (at, code))
        .await
        .expect("anvil_setCode");
    let placed = provider.get_code_at(at).await.unwrap();
    assert!(!placed.is_empty(), "no code at {at} after anvil_setCode");
}

/// Status of `pubkey` on the head state: `"unknown"` for 404, else the Beacon API status.
async fn validator_status(http: &reqwest::Client, base: &Url, pubkey: &str) -> (String, Value) {
    let url = base
        .join(&format!("eth/v1/beacon/states/head/validators/{pubkey}"))
        .unwrap();
    let resp = http.get(url).send().await.expect("Beacon API reachable");
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return ("unknown".into(), Value::Null);
    }
    assert!(
        resp.status().is_success(),
        "validator query answered {}",
        resp.status()
    );
    let body: Value = resp.json().await.unwrap();
    let status = body["data"]["status"]
        .as_str()
        .expect("data.status")
        .to_string();
    (status, body["data"].clone())
}

fn rank(status: &str) -> u8 {
    match status {
        "unknown" => 0,
        "pending_initialized" => 1,
        "pending_queued" => 2,
        "active_ongoing" => 3,
        other => panic!("unexpected validator status {other}"),
    }
}

async fn genesis_eth1_deposit_root(http: &reqwest::Client, base: &Url) -> String {
    let url = base.join("eth/v2/debug/beacon/states/genesis").unwrap();
    let resp = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "debug state answered {}",
        resp.status()
    );
    let body: Value = resp.json().await.unwrap();
    body["data"]["eth1_data"]["deposit_root"]
        .as_str()
        .expect("eth1_data.deposit_root")
        .to_string()
}

fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_on_anvil_becomes_active_on_lodestar() {
    let profile = NetworkProfile::hoodi();
    let t0 = Instant::now();
    let anvil = Anvil::spawn(profile.chain_id);
    let provider = ProviderBuilder::new()
        .connect_http(anvil.url.clone())
        .erased();
    wait_for_rpc(&provider, profile.chain_id).await;
    place_deposit_contract(&provider, profile.deposit_contract).await;

    let seed: InteropSeed = seed_interop_deposits(
        &provider,
        DEV_ACCOUNT,
        profile.deposit_contract,
        profile.genesis_fork_version,
        GENESIS_VALIDATORS,
    )
    .await
    .expect("seed interop deposits");
    assert_eq!(seed.deposit_count, u64::from(GENESIS_VALIDATORS));
    assert_eq!(seed.tx_hashes.len(), GENESIS_VALIDATORS as usize);
    // A second call finds the same deposits and sends nothing.
    let again = seed_interop_deposits(
        &provider,
        DEV_ACCOUNT,
        profile.deposit_contract,
        profile.genesis_fork_version,
        GENESIS_VALIDATORS,
    )
    .await
    .expect("re-seed is a no-op");
    assert!(again.tx_hashes.is_empty());
    assert_eq!(again.deposit_root, seed.deposit_root);

    let data = tempfile::tempdir().unwrap();
    let mut opts = LodestarOptions::new(
        anvil.url.clone(),
        profile.chain_id,
        profile.deposit_contract,
        profile.genesis_fork_version,
        data.path().join("lodestar"),
    );
    opts.genesis_validators = GENESIS_VALIDATORS;
    opts.deposit_contract_block = 0;
    let node = Lodestar::start(&opts)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let base = node.rest_url().clone();
    let pid = node.pid().expect("running");
    eprintln!(
        "lodestar ready at {base} after {:.1} s (pid {pid})",
        t0.elapsed().as_secs_f64()
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    // Lodestar's genesis commits to exactly the deposits the contract holds.
    assert_eq!(
        genesis_eth1_deposit_root(&http, &base).await,
        format!("0x{}", hex::encode(seed.deposit_root)),
        "genesis eth1_data.deposit_root vs the contract's root"
    );

    // A new validator key, deposited for real.
    let mut ikm = [0u8; 32];
    getrandom::fill(&mut ikm).unwrap();
    let sk = blst::min_pk::SecretKey::key_gen(&ikm, &[]).unwrap();
    let pubkey = bls::public_key(&sk);
    let pubkey_hex = format!("0x{}", hex::encode(pubkey));
    let message = DepositMessage {
        pubkey,
        withdrawal_credentials: withdrawal_credentials(DEV_ACCOUNT, false),
        amount_gwei: 32_000_000_000,
    };
    let signature = bls::sign(
        &sk,
        &deposit_signing_root(&message, profile.genesis_fork_version),
        Dst::Pop,
    );
    let (before, _) = validator_status(&http, &base, &pubkey_hex).await;
    assert_eq!(
        before, "unknown",
        "the new key must not be known before its deposit"
    );

    let contract = DepositContract::new(profile.deposit_contract, provider.clone());
    let tx: TransactionRequest = contract
        .deposit(
            Bytes::copy_from_slice(&message.pubkey),
            Bytes::copy_from_slice(&message.withdrawal_credentials),
            Bytes::copy_from_slice(&signature),
            FixedBytes(deposit_data_root(&message, &signature)),
        )
        .into_transaction_request()
        .from(DEV_ACCOUNT)
        .value(U256::from(32u64) * U256::from(10u64).pow(U256::from(18u64)));
    let receipt = provider
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "deposit reverted");
    let deposited = Instant::now();
    eprintln!("deposit mined in block {:?}", receipt.block_number);

    // Follow the validator: statuses must only move forward, through pending_*, to active_ongoing.
    let mut seen: Vec<(String, f64)> = vec![("unknown".into(), 0.0)];
    let mut last_data = Value::Null;
    while seen.last().map(|(s, _)| s.as_str()) != Some("active_ongoing") {
        assert!(
            deposited.elapsed() < ACTIVATION_TIMEOUT,
            "not active after {ACTIVATION_TIMEOUT:?}; statuses so far {seen:?}; log {}",
            node.log_path().display()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (status, data) = validator_status(&http, &base, &pubkey_hex).await;
        let previous = seen.last().map(|(s, _)| s.clone()).unwrap_or_default();
        if status != previous {
            assert!(
                rank(&status) > rank(&previous),
                "status went back: {previous} -> {status}"
            );
            eprintln!(
                "{:6.1} s after deposit: {status}",
                deposited.elapsed().as_secs_f64()
            );
            seen.push((status, deposited.elapsed().as_secs_f64()));
        }
        last_data = data;
    }
    let names: Vec<&str> = seen.iter().map(|(s, _)| s.as_str()).collect();
    assert!(
        names.iter().any(|s| s.starts_with("pending_")),
        "no pending_* status was observed between unknown and active: {names:?}"
    );
    // pending_queued lasts from eligibility until finality plus the seed lookahead (several
    // epochs), so a 250 ms poll always sees it; pending_initialized may last a single slot.
    assert!(
        names.contains(&"pending_queued"),
        "pending_queued was never observed: {names:?}"
    );
    assert_eq!(
        last_data["index"],
        Value::String(GENESIS_VALIDATORS.to_string())
    );
    assert_eq!(
        last_data["validator"]["pubkey"],
        Value::String(pubkey_hex.clone())
    );
    assert_eq!(last_data["validator"]["effective_balance"], "32000000000");
    assert_eq!(last_data["validator"]["exit_epoch"], "18446744073709551615");
    eprintln!(
        "time to active_ongoing: {:.1} s after the deposit, {:.1} s from anvil start; statuses {seen:?}",
        deposited.elapsed().as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );

    // A clean stop: the process is gone and its API no longer answers.
    let log_path = node.log_path().to_path_buf();
    let stop_started = Instant::now();
    let outcome = node.stop().await.expect("stop");
    eprintln!(
        "stop: {outcome:?} in {:.1} s",
        stop_started.elapsed().as_secs_f64()
    );
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(25).collect();
    eprintln!(
        "last lines of {}:\n{}",
        log_path.display(),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    assert!(
        outcome == StopOutcome::Graceful("exit status: 0".into()),
        "Lodestar did not exit 0 on SIGTERM within the grace period: {outcome:?}"
    );
    assert!(
        !process_alive(pid),
        "lodestar pid {pid} still exists after stop"
    );
    assert!(
        http.get(base.join("eth/v1/node/health").unwrap())
            .send()
            .await
            .is_err()
    );
}
