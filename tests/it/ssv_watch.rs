//! Watch mode on the fast devnet (10 blocks a "day", so a month is 300 blocks to mine):
//! - the runway crosses the floor after mined blocks and the service tops up exactly once, to the
//!   target runway, through an RPC outage (a loopback proxy taken down and brought back);
//! - a restart (new watcher, same ledger) never repeats a top-up, including one journaled as
//!   Signed but never broadcast;
//! - the per-transaction and per-day caps cut and then stop top-ups;
//! - a liquidated cluster is only reported unless reactivation is on, and then reactivated to the
//!   target within the caps;
//! - the metrics endpoint reports the new runway.

use crate::support::ssv::{proxy::Proxy, *};
use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use ssv_agent::{
    chain::{Chain, contracts::SSVNetwork, reads::cluster_id, send::send},
    devnet::{Devnet, SsvMode},
    journal::{JournalError, StateFile, TxStatus},
    ssv::{
        register::register,
        watch::{
            ClusterReading, TickReport, WatchPolicy, Watcher,
            ledger::Ledger,
            metrics::{Metrics, SharedMetrics},
            server::serve,
        },
    },
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) const FLOOR: u64 = 30;
pub(crate) const TARGET: u64 = 60;

pub(crate) fn policy(max_per_tx: U256, max_per_day: U256, reactivate: bool) -> WatchPolicy {
    WatchPolicy {
        floor_days: FLOOR,
        target_days: TARGET,
        max_per_tx,
        max_per_day,
        reactivate,
    }
}

pub(crate) fn one_eth() -> U256 {
    U256::from(10u64).pow(U256::from(18))
}

/// Registers one fresh validator for the staker into `ids` with `days` of runway; returns its
/// public key.
pub(crate) async fn register_cluster(
    d: &Devnet,
    chain: &Chain,
    dir: &std::path::Path,
    ids: &[u64],
    days: u64,
) -> [u8; 48] {
    let nonce = chain.owner_nonce(staker()).await.expect("owner nonce");
    let mut state = StateFile::open(&dir.join(format!("v{nonce}"))).unwrap();
    let ks = keyshares(d, staker(), nonce, 1, ids);
    let mut o = opts();
    o.runway_days = days;
    register(chain, &ks, &mut state, &o)
        .await
        .unwrap_or_else(|e| panic!("register into {ids:?} with {days} days: {e}"));
    ks.shares[0].public_key
}

fn watcher(
    chain: &Chain,
    p: WatchPolicy,
    ids: &[u64],
    ledger_dir: &std::path::Path,
    m: &SharedMetrics,
) -> Watcher {
    Watcher::new(
        chain.clone(),
        p,
        vec![(staker(), ids.to_vec())],
        Ledger::open(ledger_dir).unwrap(),
        m.clone(),
    )
}

pub(crate) fn reading(r: &TickReport, id: B256) -> &ClusterReading {
    r.clusters
        .iter()
        .find(|c| c.cluster_id == id)
        .unwrap_or_else(|| panic!("cluster {id} missing from {r:?}"))
}

pub(crate) fn runway(r: &TickReport, id: B256) -> f64 {
    reading(r, id).runway_days.expect("finite runway")
}

/// A top-up's runway lands on the target: one "day" is 10 blocks, allow one block of rounding.
pub(crate) fn assert_at_target(days: f64) {
    assert!(
        (TARGET as f64 - 0.1..=TARGET as f64 + 0.1).contains(&days),
        "runway after the top-up should be the {TARGET}-day target, got {days}"
    );
}

async fn get_metrics(addr: std::net::SocketAddr) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    body
}

fn metric(body: &str, name_and_labels: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name_and_labels} not in\n{body}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn tops_up_once_through_an_outage_and_a_restart_never_repeats() {
    let d = fast_devnet(SsvMode::V2).await;
    let direct = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = [1u64, 2, 3, 4];
    let id = cluster_id(staker(), &ids);
    register_cluster(&d, &direct, dir.path(), &ids, 40).await;

    let mut proxy = Proxy::start(d.rpc_url()).await;
    let chain = staker_chain_at(&d, &proxy.url()).await;
    let metrics: SharedMetrics = Metrics::shared();
    let ledger_dir = dir.path().join("watch");
    std::fs::create_dir_all(&ledger_dir).unwrap();
    let p = policy(one_eth(), one_eth(), false);
    let mut w = watcher(&chain, p.clone(), &ids, &ledger_dir, &metrics);

    // Above the floor: nothing to do, in a handful of round trips.
    let r = w.tick().await.expect("first tick");
    assert!(r.topups.is_empty(), "{r:?}");
    let days = runway(&r, id);
    assert!(
        (39.8..=40.0).contains(&days),
        "registered with 40 days: {days}"
    );
    assert!(r.round_trips <= 5, "round trips {}", r.round_trips);

    // The RPC goes away while 11 days pass: ticks fail and are counted, nothing is sent.
    proxy.stop().await;
    d.mine(11 * FAST_BLOCKS_PER_DAY).await.unwrap();
    let before = tx_count(&direct, staker()).await;
    assert!(
        w.tick_logged().await.is_none(),
        "tick during the outage must fail"
    );
    assert!(
        w.tick_logged().await.is_none(),
        "tick during the outage must fail"
    );
    assert_eq!(
        (
            metrics.failed_ticks.get(),
            metrics.errors.get(),
            metrics.ticks.get()
        ),
        (2, 2, 1)
    );
    assert_eq!(tx_count(&direct, staker()).await, before);

    // Back online: the runway (29 days) is under the floor, one top-up to the target.
    proxy.resume().await;
    let r = w.tick_logged().await.expect("tick after the outage");
    assert_eq!(r.topups.len(), 1, "{r:?}");
    assert!(runway(&r, id) < FLOOR as f64);
    let r2 = w.tick().await.unwrap();
    assert!(r2.topups.is_empty(), "no second top-up: {r2:?}");
    assert_at_target(runway(&r2, id));
    assert_eq!(tx_count(&direct, staker()).await, before + 1);
    assert_eq!(w.ledger().topups.len(), 1);
    assert_eq!(w.ledger().topups[0].tx.status, TxStatus::Confirmed);

    // The metrics endpoint reports the new runway and the counters.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, metrics.clone()));
    let body = get_metrics(addr).await;
    let shown = metric(
        &body,
        &format!("ssv_cluster_runway_days{{cluster=\"{id}\"}}"),
    );
    assert_eq!(shown, runway(&r2, id), "{body}");
    assert_eq!(metric(&body, "ssv_watch_topups_total"), 1.0);
    assert_eq!(metric(&body, "ssv_watch_failed_ticks_total"), 2.0);
    assert!(
        metric(
            &body,
            &format!("ssv_cluster_last_topup_timestamp{{cluster=\"{id}\"}}")
        ) > 0.0
    );

    // Restart: a new watcher on the same ledger sees the deposit and sends nothing.
    drop(w);
    let mut w2 = watcher(&chain, p.clone(), &ids, &ledger_dir, &metrics);
    assert_eq!(w2.ledger().topups.len(), 1);
    let r = w2.tick().await.unwrap();
    assert!(r.topups.is_empty(), "{r:?}");
    assert_eq!(tx_count(&direct, staker()).await, before + 1);
    drop(w2);

    // A crash right after signing a top-up (journaled Signed, never broadcast), then a restart:
    // the recorded bytes are broadcast, and no second top-up is signed.
    d.mine(31 * FAST_BLOCKS_PER_DAY).await.unwrap();
    let snap = direct
        .cluster_snapshot(staker(), &ids)
        .await
        .unwrap()
        .expect("cluster exists");
    let amount = U256::from(10u64).pow(U256::from(13)) * U256::from(2u8);
    let tx = TransactionRequest::default()
        .with_to(d.profile().ssv_network)
        .with_value(amount)
        .with_input(
            SSVNetwork::depositCall {
                clusterOwner: staker(),
                operatorIds: ids.to_vec(),
                cluster: snap,
            }
            .abi_encode(),
        );
    {
        let mut ledger = Ledger::open(&ledger_dir).unwrap();
        let crashed = send(&chain, "topup", tx, |r| {
            ledger.record(id, amount, r)?;
            Err(JournalError::Io {
                action: "simulated crash after journaling",
                path: ledger_dir.clone(),
                source: std::io::Error::other("killed"),
            })
        })
        .await;
        assert!(crashed.is_err(), "the simulated crash stops the send");
        assert_eq!(ledger.pending().len(), 1);
        assert_eq!(ledger.pending()[0].tx.status, TxStatus::Signed);
    }
    assert_eq!(
        tx_count(&direct, staker()).await,
        before + 1,
        "never broadcast"
    );
    let mut w3 = watcher(&chain, p, &ids, &ledger_dir, &metrics);
    let r = w3.tick().await.unwrap();
    assert!(
        r.topups.is_empty(),
        "the journaled top-up covers the need: {r:?}"
    );
    assert!(runway(&r, id) >= FLOOR as f64, "{r:?}");
    assert_eq!(
        tx_count(&direct, staker()).await,
        before + 2,
        "exactly the journaled one was sent"
    );
    assert_eq!(w3.ledger().topups.len(), 2);
    assert!(w3.ledger().pending().is_empty());
    assert_eq!(w3.ledger().topups[1].tx.status, TxStatus::Confirmed);
}

#[tokio::test(flavor = "multi_thread")]
async fn caps_limit_each_top_up_and_stop_them_for_the_day() {
    let d = fast_devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = [5u64, 6, 7, 8];
    let id = cluster_id(staker(), &ids);
    register_cluster(&d, &chain, dir.path(), &ids, 40).await;
    d.mine(20 * FAST_BLOCKS_PER_DAY).await.unwrap();

    // Each top-up may be 2e11 wei (about 1.5 days here), 5e11 a day: far below the ~40 days needed.
    let per_tx = U256::from(200_000_000_000u64);
    let per_day = U256::from(500_000_000_000u64);
    let metrics: SharedMetrics = Metrics::shared();
    let ledger_dir = dir.path().join("watch");
    std::fs::create_dir_all(&ledger_dir).unwrap();
    let mut w = watcher(
        &chain,
        policy(per_tx, per_day, false),
        &ids,
        &ledger_dir,
        &metrics,
    );

    let mut sent = Vec::new();
    for _ in 0..4 {
        let r = w.tick().await.unwrap();
        assert!(
            runway(&r, id) < FLOOR as f64,
            "still under the floor: {r:?}"
        );
        assert_eq!(r.capped, vec![id], "every tick is capped: {r:?}");
        sent.push(r.topups.first().map(|t| t.amount));
    }
    assert_eq!(
        sent,
        vec![
            Some(per_tx),
            Some(per_tx),
            Some(per_day - per_tx - per_tx),
            None
        ],
        "per-transaction cap, then what the day leaves, then nothing"
    );
    assert_eq!(
        w.ledger().spent_last_day(ssv_agent::journal::now_secs()),
        per_day
    );

    // A restart does not reset the day's budget.
    drop(w);
    let before = tx_count(&chain, staker()).await;
    let mut w2 = watcher(
        &chain,
        policy(per_tx, per_day, false),
        &ids,
        &ledger_dir,
        &metrics,
    );
    let r = w2.tick().await.unwrap();
    assert!(r.topups.is_empty() && r.capped == vec![id], "{r:?}");
    assert_eq!(tx_count(&chain, staker()).await, before);
}

/// The staker liquidates its own cluster (an owner may at any time).
pub(crate) async fn liquidate(d: &Devnet, chain: &Chain, ids: &[u64]) {
    let snap = chain
        .cluster_snapshot(staker(), ids)
        .await
        .unwrap()
        .expect("cluster exists");
    let tx = TransactionRequest::default()
        .with_to(d.profile().ssv_network)
        .with_input(
            SSVNetwork::liquidateCall {
                clusterOwner: staker(),
                operatorIds: ids.to_vec(),
                cluster: snap,
            }
            .abi_encode(),
        );
    send(chain, "liquidate", tx, |_| Ok(()))
        .await
        .expect("owner liquidates its cluster");
}

#[tokio::test(flavor = "multi_thread")]
async fn liquidated_cluster_is_reported_or_reactivated_as_configured() {
    let d = fast_devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = [1u64, 2, 3, 5];
    let id = cluster_id(staker(), &ids);
    register_cluster(&d, &chain, dir.path(), &ids, 40).await;
    liquidate(&d, &chain, &ids).await;
    let metrics: SharedMetrics = Metrics::shared();
    let ledger_dir = dir.path().join("watch");
    std::fs::create_dir_all(&ledger_dir).unwrap();

    // Reactivation off: reported, nothing sent.
    let before = tx_count(&chain, staker()).await;
    let mut w = watcher(
        &chain,
        policy(one_eth(), one_eth(), false),
        &ids,
        &ledger_dir,
        &metrics,
    );
    let r = w.tick().await.unwrap();
    assert_eq!(r.liquidated, vec![id], "{r:?}");
    assert!(!reading(&r, id).active);
    assert!(r.reactivated.is_empty() && r.topups.is_empty(), "{r:?}");
    assert_eq!(tx_count(&chain, staker()).await, before);
    let collateral = reading(&r, id).collateral;
    assert!(!collateral.is_zero());

    // Reactivation on, but the caps leave no more than the collateral: refused before sending.
    drop(w);
    let mut w = watcher(
        &chain,
        policy(collateral, one_eth(), true),
        &ids,
        &ledger_dir,
        &metrics,
    );
    let r = w.tick().await.unwrap();
    assert!(r.reactivated.is_empty() && r.capped == vec![id], "{r:?}");
    assert_eq!(tx_count(&chain, staker()).await, before);

    // Reactivation on with room: reactivated to the target runway, once.
    drop(w);
    let mut w = watcher(
        &chain,
        policy(one_eth(), one_eth(), true),
        &ids,
        &ledger_dir,
        &metrics,
    );
    let r = w.tick().await.unwrap();
    assert_eq!(r.reactivated.len(), 1, "{r:?}");
    assert_eq!(tx_count(&chain, staker()).await, before + 1);
    let r = w.tick().await.unwrap();
    assert!(
        r.liquidated.is_empty() && r.reactivated.is_empty() && r.topups.is_empty(),
        "{r:?}"
    );
    assert!(reading(&r, id).active);
    assert_at_target(runway(&r, id));
    assert_eq!(metrics.reactivations.get(), 1);

    // Not the owner: a watcher with another signer only reports.
    let other = Chain::connect(
        d.rpc_url(),
        d.profile(),
        Some(ssv_agent::devnet::dev_account(7)),
    )
    .await
    .unwrap();
    liquidate(&d, &chain, &ids).await;
    let before = tx_count(&chain, staker()).await;
    let mut w = Watcher::new(
        other.clone(),
        policy(one_eth(), one_eth(), true),
        vec![(staker(), ids.to_vec())],
        Ledger::open(dir.path()).unwrap(),
        metrics.clone(),
    );
    let r = w.tick().await.unwrap();
    assert_eq!(r.liquidated, vec![id]);
    assert!(r.reactivated.is_empty(), "{r:?}");
    let other_addr: Address = ssv_agent::devnet::dev_account(7).address();
    assert_eq!(tx_count(&other, other_addr).await, 0);
    assert_eq!(tx_count(&chain, staker()).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_tops_up_in_ssv_then_a_legacy_cluster_on_v2_is_left_for_migration() {
    use ssv_agent::{
        chain::{contracts::SSVToken, reads::Billing},
        ssv::cluster::read_cluster,
    };
    let mut d = fast_devnet(SsvMode::V1).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = [1u64, 2, 3, 4];
    let id = cluster_id(staker(), &ids);
    register_cluster(&d, &chain, dir.path(), &ids, 40).await;
    let metrics: SharedMetrics = Metrics::shared();
    let ledger_dir = dir.path().join("watch");
    std::fs::create_dir_all(&ledger_dir).unwrap();
    let ssv = U256::from(1_000u64) * one_eth();
    let mut w = watcher(&chain, policy(ssv, ssv, false), &ids, &ledger_dir, &metrics);
    let days = runway(&w.tick().await.unwrap(), id);
    assert!((39.8..=40.0).contains(&days), "{days}");

    // v1: the top-up is an SSV approve of exactly the amount, then deposit(amount).
    d.mine(11 * FAST_BLOCKS_PER_DAY).await.unwrap();
    let token = SSVToken::new(d.profile().ssv_token, chain.provider());
    let before = token.balanceOf(staker()).call().await.unwrap();
    let r = w.tick().await.unwrap();
    assert_eq!(r.topups.len(), 1, "{r:?}");
    let kinds: Vec<_> = w
        .ledger()
        .topups
        .iter()
        .map(|t| t.tx.kind.as_str())
        .collect();
    assert_eq!(kinds, ["approve", "topup"]);
    assert_eq!(
        before - token.balanceOf(staker()).call().await.unwrap(),
        r.topups[0].amount,
        "exactly the top-up left the wallet, in SSV"
    );
    assert_at_target(runway(&w.tick().await.unwrap(), id));

    // The chain upgrades to v2: the cluster is legacy SSV; the watcher sends nothing for it.
    d.upgrade_to_v2().await.unwrap();
    d.mine(40 * FAST_BLOCKS_PER_DAY).await.unwrap();
    let before = tx_count(&chain, staker()).await;
    let r = w.tick().await.unwrap();
    assert_eq!(r.legacy_ssv, vec![id], "{r:?}");
    assert!(r.topups.is_empty() && r.errors.is_empty(), "{r:?}");
    assert_eq!(tx_count(&chain, staker()).await, before);

    // Migrated (by registering another validator with migration allowed): watched in ETH again.
    let nonce = chain.owner_nonce(staker()).await.unwrap();
    let mut state = StateFile::open(&dir.path().join("migrate")).unwrap();
    let mut o = opts();
    o.runway_days = 40;
    o.allow_migration = true;
    register(
        &chain,
        &keyshares(&d, staker(), nonce, 1, &ids),
        &mut state,
        &o,
    )
    .await
    .expect("migrate then register");
    assert_eq!(
        read_cluster(&chain, staker(), &ids).await.unwrap().billing,
        Some(Billing::Eth)
    );
    let r = w.tick().await.unwrap();
    assert!(r.legacy_ssv.is_empty(), "{r:?}");
    let days = runway(&r, id);
    assert!(
        (39.8..=40.0).contains(&days),
        "ETH runway after migration: {days}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_from_the_snapshot_cache_scans_only_new_blocks() {
    use ssv_agent::ssv::watch::snapshots::SNAPSHOTS_FILE;
    let d = fast_devnet(SsvMode::V2).await;
    // Small log ranges make the cost of a full rescan visible in round trips.
    let chain = staker_chain(&d).await.with_log_chunk(100);
    let dir = tempfile::tempdir().unwrap();
    let ids = [2u64, 3, 4, 5];
    let id = cluster_id(staker(), &ids);
    register_cluster(&d, &chain, dir.path(), &ids, 400).await;
    d.mine(1_000).await.unwrap();
    let metrics: SharedMetrics = Metrics::shared();
    let state = dir.path().join("watch");
    std::fs::create_dir_all(&state).unwrap();
    let p = policy(one_eth(), one_eth(), false);

    let cold = watcher(&chain, p.clone(), &ids, &state, &metrics)
        .with_snapshot_cache(&state)
        .tick()
        .await
        .unwrap();
    assert!(
        cold.round_trips >= 12,
        "a full scan of 1 000+ blocks in 100-block ranges: {cold:?}"
    );
    assert!(state.join(SNAPSHOTS_FILE).exists());

    d.mine(5).await.unwrap();
    let warm = watcher(&chain, p.clone(), &ids, &state, &metrics)
        .with_snapshot_cache(&state)
        .tick()
        .await
        .unwrap();
    // head + version + one log range (5 new blocks + the reorg margin) + one batch.
    assert_eq!(warm.round_trips, 4, "{warm:?}");
    let uncached = watcher(&chain, p.clone(), &ids, &state, &metrics)
        .tick()
        .await
        .unwrap();
    assert_eq!(uncached.block, warm.block);
    assert_eq!(reading(&warm, id).balance, reading(&uncached, id).balance);
    assert!(uncached.round_trips > warm.round_trips);

    // A corrupt cache is ignored (full rescan, same numbers) and rewritten.
    std::fs::write(state.join(SNAPSHOTS_FILE), b"{ not json").unwrap();
    let rebuilt = watcher(&chain, p.clone(), &ids, &state, &metrics)
        .with_snapshot_cache(&state)
        .tick()
        .await
        .unwrap();
    assert!(rebuilt.round_trips >= 12, "{rebuilt:?}");
    assert_eq!(
        reading(&rebuilt, id).balance,
        reading(&uncached, id).balance
    );
    let again = watcher(&chain, p, &ids, &state, &metrics)
        .with_snapshot_cache(&state)
        .tick()
        .await
        .unwrap();
    assert_eq!(again.round_trips, 4, "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_and_watch_give_the_same_runway_at_the_same_block() {
    let d = fast_devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = [1u64, 2, 3, 4];
    let id = cluster_id(staker(), &ids);
    register_cluster(&d, &chain, dir.path(), &ids, 400).await;
    d.mine(25).await.unwrap();
    // Nothing is mined between the two reads (blocks come with transactions only).
    let rows = ssv_agent::ssv::status::status(&chain, staker(), &[], 0)
        .await
        .unwrap();
    let metrics: SharedMetrics = Metrics::shared();
    let ledger_dir = dir.path().join("watch");
    let report = watcher(
        &chain,
        policy(one_eth(), one_eth(), false),
        &ids,
        &ledger_dir,
        &metrics,
    )
    .tick()
    .await
    .unwrap();
    let (s, w) = (&rows[0], reading(&report, id));
    assert_eq!(s.block, report.block, "the same block");
    assert_eq!(s.balance, w.balance);
    assert_eq!(s.burn_rate_per_block, w.burn_rate);
    assert_eq!(s.liquidation_collateral, w.collateral);
    assert_eq!(s.runway_days, w.runway_days, "one runway for both");
    assert!(report.topups.is_empty());
}

/// Carried readings: a tick after one with no event reads no balance and shows the contract's
/// figure less the stated margin (exactly that with implicit vUnits; within it after an
/// effective-balance update); a cluster event or a fee change makes the next tick read exactly,
/// and a carried cluster under the floor is read exactly before it is topped up.
#[tokio::test(flavor = "multi_thread")]
async fn carried_readings_stay_under_the_contracts_and_end_on_any_change() {
    use ssv_agent::{
        devnet::{DAO_ACCOUNT, dev_account},
        ssv::{cluster::read_cluster, fees::ETH_PACK},
    };
    let d = fast_devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = [1u64, 2, 3, 4];
    let id = cluster_id(staker(), &ids);
    register_cluster(&d, &chain, dir.path(), &ids, 400).await;
    let metrics = Metrics::shared();
    let p = policy(one_eth(), one_eth(), false);
    let mut w = watcher(&chain, p, &ids, dir.path(), &metrics).with_full_read_every(1_000_000);
    let exact_now = || async { read_cluster(&chain, staker(), &ids).await.unwrap() };

    let first = w.tick().await.unwrap();
    assert_eq!(first.exact_reads, 1, "{first:?}");
    assert!(reading(&first, id).exact);

    // No event: carried, and with implicit vUnits the linear figure is the contract's exactly,
    // so the gap is the margin itself.
    d.mine(40).await.unwrap();
    let carried = w.tick().await.unwrap();
    let shown = reading(&carried, id);
    assert_eq!(carried.exact_reads, 0, "{carried:?}");
    assert!(!shown.exact);
    assert_eq!(shown.measured_at, first.block);
    let exact = exact_now().await;
    assert_eq!(exact.block, carried.block);
    let blocks = carried.block - first.block;
    assert_eq!(
        exact.balance - shown.balance,
        U256::from(2 * ETH_PACK + blocks)
    );

    // A cluster event (the oracle's effective-balance update): read exactly again.
    d.set_effective_balance(staker(), &ids, 33).await.unwrap();
    let after_event = w.tick().await.unwrap();
    assert_eq!(after_event.exact_reads, 1, "{after_event:?}");
    assert_eq!(reading(&after_event, id).balance, exact_now().await.balance);

    // 10 313 vUnits: the floors make the linear figure inexact, never above the contract's.
    d.mine(70).await.unwrap();
    let carried = w.tick().await.unwrap();
    let shown = reading(&carried, id);
    assert!(!shown.exact);
    let exact = exact_now().await;
    let blocks = carried.block - after_event.block;
    assert!(shown.balance <= exact.balance);
    assert!(exact.balance - shown.balance <= U256::from(4 * ETH_PACK + 2 * blocks));

    // A network fee change (no event of the cluster): the fees differ, read exactly.
    let fee = exact.params.network_fee + U256::from(ETH_PACK * 1_000);
    SSVNetwork::new(d.profile().ssv_network, d.provider())
        .updateNetworkFee(fee)
        .from(dev_account(DAO_ACCOUNT).address())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let after_fee = w.tick().await.unwrap();
    assert_eq!(after_fee.exact_reads, 1, "{after_fee:?}");
    let exact = exact_now().await;
    assert_eq!(exact.params.network_fee, fee);
    assert_eq!(reading(&after_fee, id).balance, exact.balance);

    // Under the floor: the carried figure is only the trigger; the top-up is planned from an
    // exact reading and lands on the target.
    let spare = exact.runway_days(FAST_BLOCKS_PER_DAY).unwrap() - FLOOR as f64 + 1.0;
    d.mine((spare * FAST_BLOCKS_PER_DAY as f64) as u64)
        .await
        .unwrap();
    let topped = w.tick().await.unwrap();
    assert_eq!(topped.topups.len(), 1, "{topped:?}");
    assert!(reading(&topped, id).exact, "{topped:?}");
    let after = w.tick().await.unwrap();
    assert!(after.topups.is_empty(), "{after:?}");
    assert_at_target(runway(&after, id));
}
