//! The one send path under faults, on the devnet (issue 10, items 1-4): a foreign pending
//! transaction blocks signing; a dropped transaction is rebroadcast (same bytes) and confirmed
//! once; a transaction stuck under a low fee is replaced within the cap, journaled first; a receipt
//! reorged away during the confirmations is waited for again; a hung RPC endpoint times out; the
//! aggregate and the per-validator deposit files share one journal.

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
};
use ssv_agent::{
    chain::{Chain, ChainConfig, ChainError, FeeCaps, Sender, TxPolicy, send::send},
    devnet::{Devnet, DevnetOptions, STAKER_ACCOUNT, dev_account},
    journal::{TxRecord, TxStatus},
};

async fn devnet() -> Devnet {
    Devnet::start(DevnetOptions {
        operators: 4,
        ..Default::default()
    })
    .await
    .expect("devnet starts (needs `cd anvil && npm ci`)")
}

async fn rpc(d: &Devnet, method: &str, params: serde_json::Value) -> serde_json::Value {
    d.provider()
        .raw_request::<_, serde_json::Value>(method.to_string().into(), params)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

async fn automine(d: &Devnet, on: bool) {
    rpc(d, "evm_setAutomine", serde_json::json!([on])).await;
}

/// A staker chain with short waits, its outbox under `state`.
async fn chain(d: &Devnet, state: &Path, policy: TxPolicy) -> Chain {
    let mut cc = ChainConfig::new(d.rpc_url());
    cc.state_dir = Some(state.to_owned());
    cc.tx = policy;
    Chain::open(cc, d.profile(), Sender::Local(dev_account(STAKER_ACCOUNT)))
        .await
        .unwrap()
}

fn quick(replace_after: Option<u64>) -> TxPolicy {
    TxPolicy {
        caps: FeeCaps {
            max_fee_per_gas: Some(50_000_000_000),
            max_priority_fee_per_gas: Some(1_000_000_000),
        },
        timeout: Duration::from_secs(60),
        rebroadcast_every: Duration::from_millis(500),
        replace_after: replace_after.map(Duration::from_secs),
        bump_percent: 20,
        poll: Duration::from_millis(100),
    }
}

/// A plain value transfer to a fresh address (stands in for any stage's transaction).
fn transfer(to: Address) -> TransactionRequest {
    TransactionRequest::default()
        .with_to(to)
        .with_value(U256::from(12_345u64))
}

/// Sends `tx` in the background, journaling every record into the returned list.
fn spawn_send(
    chain: Chain,
    tx: TransactionRequest,
) -> (
    Arc<Mutex<Vec<TxRecord>>>,
    tokio::task::JoinHandle<Result<B256, ChainError>>,
) {
    let journal = Arc::new(Mutex::new(Vec::new()));
    let j = journal.clone();
    let task = tokio::spawn(async move {
        send(&chain, "transfer", tx, |r| {
            j.lock().unwrap().push(r.clone());
            Ok(())
        })
        .await
        .map(|(r, _)| r.tx_hash)
    });
    (journal, task)
}

async fn wait_for(what: &str, mut pred: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !pred().await {
        assert!(start.elapsed() < Duration::from_secs(30), "{what} never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn balance(d: &Devnet, who: Address) -> U256 {
    d.provider().get_balance(who).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_pending_transaction_blocks_signing() {
    let d = devnet().await;
    let dir = tempfile::tempdir().unwrap();
    let c = chain(&d, dir.path(), quick(None)).await;
    let staker = dev_account(STAKER_ACCOUNT).address();
    automine(&d, false).await;
    // Another wallet holding the same key sends a transaction that is still pending.
    rpc(
        &d,
        "eth_sendTransaction",
        serde_json::json!([{ "from": staker, "to": Address::repeat_byte(9), "value": "0x1" }]),
    )
    .await;
    let err = send(&c, "transfer", transfer(Address::repeat_byte(7)), |_| Ok(()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChainError::ForeignPending { count: 1, first: 0, last: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("no ssv-agent journal holds"), "{err}");
    // Once it is mined, signing goes on.
    d.mine(1).await.unwrap();
    automine(&d, true).await;
    send(&c, "transfer", transfer(Address::repeat_byte(7)), |_| Ok(()))
        .await
        .unwrap();
    assert_eq!(balance(&d, Address::repeat_byte(7)).await, U256::from(12_345u64));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_transaction_is_rebroadcast_and_confirmed_once() {
    let d = devnet().await;
    let dir = tempfile::tempdir().unwrap();
    let c = chain(&d, dir.path(), quick(None)).await;
    let to = Address::repeat_byte(0x44);
    automine(&d, false).await;
    let (journal, task) = spawn_send(c, transfer(to));
    let hash = {
        let j = journal.clone();
        wait_for("the broadcast", async || {
            j.lock().unwrap().iter().any(|r| r.status == TxStatus::Broadcast)
        })
        .await;
        journal.lock().unwrap()[0].tx_hash
    };
    // The node drops it (a restart, a full pool): the agent must put the same bytes back.
    rpc(&d, "anvil_dropTransaction", serde_json::json!([hash])).await;
    wait_for("the rebroadcast", async || {
        d.provider()
            .get_transaction_by_hash(hash)
            .await
            .unwrap()
            .is_some()
    })
    .await;
    d.mine(1).await.unwrap();
    let mined = task.await.unwrap().unwrap();
    assert_eq!(mined, hash, "the very same transaction");
    assert_eq!(balance(&d, to).await, U256::from(12_345u64), "sent once");
    let last = journal.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.status, TxStatus::Confirmed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_transaction_is_replaced_within_the_cap_journaled_first() {
    let d = devnet().await;
    let dir = tempfile::tempdir().unwrap();
    let c = chain(&d, dir.path(), quick(Some(1))).await;
    let to = Address::repeat_byte(0x55);
    automine(&d, false).await;
    let (journal, task) = spawn_send(c, transfer(to));
    // Not mined for a while: the agent replaces it (same nonce, higher fees).
    wait_for("a replacement", async || {
        journal.lock().unwrap().iter().any(|r| !r.replaced.is_empty())
    })
    .await;
    let replacement = journal
        .lock()
        .unwrap()
        .iter()
        .find(|r| !r.replaced.is_empty())
        .cloned()
        .unwrap();
    // Journaled before it reached the node: the record holds the new bytes and the old hash.
    assert_eq!(replacement.replaced.len(), 1);
    let old = replacement.replaced[0];
    wait_for("the replacement in the pool", async || {
        d.provider()
            .get_transaction_by_hash(replacement.tx_hash)
            .await
            .unwrap()
            .is_some()
    })
    .await;
    d.mine(1).await.unwrap();
    let mined = task.await.unwrap().unwrap();
    assert_ne!(mined, old, "the replacement, not the original, was mined");
    assert_eq!(balance(&d, to).await, U256::from(12_345u64), "one transfer");
    let tx = d
        .provider()
        .get_transaction_by_hash(mined)
        .await
        .unwrap()
        .unwrap();
    use alloy::consensus::Transaction as _;
    assert!(tx.max_fee_per_gas() <= 50_000_000_000, "within the cap");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receipt_reorged_away_is_waited_for_again() {
    let d = devnet().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = chain(&d, dir.path(), quick(None)).await;
    c = c.with_confirmations(3);
    let to = Address::repeat_byte(0x66);
    automine(&d, false).await;
    let snapshot = rpc(&d, "evm_snapshot", serde_json::json!([])).await;
    let (journal, task) = spawn_send(c, transfer(to));
    wait_for("the broadcast", async || {
        journal.lock().unwrap().iter().any(|r| r.status == TxStatus::Broadcast)
    })
    .await;
    let hash = journal.lock().unwrap()[0].tx_hash;
    d.mine(1).await.unwrap();
    // Included, then reorged away before the 3 confirmations.
    rpc(&d, "evm_revert", serde_json::json!([snapshot])).await;
    assert!(
        d.provider().get_transaction_receipt(hash).await.unwrap().is_none(),
        "the receipt is gone"
    );
    // The waiter rebroadcasts the same bytes; mine them back in and past the confirmations.
    wait_for("the rebroadcast after the reorg", async || {
        d.provider()
            .get_transaction_by_hash(hash)
            .await
            .unwrap()
            .is_some()
    })
    .await;
    d.mine(4).await.unwrap();
    assert_eq!(task.await.unwrap().unwrap(), hash);
    assert_eq!(balance(&d, to).await, U256::from(12_345u64));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_rpc_endpoint_times_out() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(4) {
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(10));
    });
    let mut cc = ChainConfig::new(&url);
    cc.request_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let err = Chain::open(cc, &ssv_agent::network::NetworkProfile::hoodi(), Sender::ReadOnly)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, ChainError::Unreachable { .. }), "{err}");
    assert!(took < Duration::from_secs(5), "gave up after {took:?}");
    drop(keep);
}
