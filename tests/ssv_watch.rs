//! Watch mode on the devnet: mine until the runway crosses the floor, the service tops up once to
//! the target within the caps, a restart (new watcher, same ledger) does not repeat it, and the
//! metrics endpoint reports the new runway.

mod ssv_support;

use std::sync::{Arc, Mutex};

use alloy::primitives::U256;
use ssv_agent::{
    chain::send::FeeCaps,
    devnet::SsvMode,
    journal::StateFile,
    ssv::{
        register::register,
        watch::{
            WatchPolicy, Watcher,
            ledger::Ledger,
            metrics::{Metrics, serve},
        },
    },
};
use ssv_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread")]
async fn tops_up_once_to_target_within_caps_and_survives_restart() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let mut state = StateFile::open(&dir.path().join("v")).unwrap();
    let ids = vec![1u64, 2, 3, 4];
    let ks = keyshares(&d, staker(), 0, 1, &ids);
    let mut o = opts();
    o.runway_days = 40;
    register(&chain, &ks, &mut state, &o)
        .await
        .expect("register with 40 days");

    let policy = WatchPolicy {
        floor_days: 30,
        target_days: 60,
        max_per_tx: U256::from(10u64).pow(U256::from(18)),
        max_per_day: U256::from(10u64).pow(U256::from(18)),
        reactivate: false,
        fee_caps: FeeCaps::default(),
    };
    let metrics = Arc::new(Mutex::new(Metrics::default()));
    let ledger_dir = dir.path().join("watch");
    std::fs::create_dir_all(&ledger_dir).unwrap();
    let mut w = Watcher::new(
        chain.clone(),
        policy.clone(),
        vec![(staker(), ids.clone())],
        Ledger::open(&ledger_dir).unwrap(),
        metrics.clone(),
    );

    // Above the floor: nothing to do.
    let r = w.tick().await.unwrap();
    assert!(r.topups.is_empty());
    let days = r.clusters[0].runway_days.unwrap();
    assert!((39.9..=40.0).contains(&days), "{days}");
    assert!(r.round_trips <= 5, "round trips {}", r.round_trips);

    // 11 days later the runway is under 30.
    d.mine(11 * d.profile().blocks_per_day).await.unwrap();
    let r = w.tick().await.unwrap();
    assert_eq!(r.topups.len(), 1, "{r:?}");
    let r2 = w.tick().await.unwrap();
    assert!(r2.topups.is_empty(), "no second top-up");
    let days = r2.clusters[0].runway_days.unwrap();
    assert!((59.9..=60.0).contains(&days), "topped up to target: {days}");

    // Restart: a new watcher on the same ledger sees the deposit and sends nothing.
    let before = tx_count(&chain, staker()).await;
    let mut w2 = Watcher::new(
        chain.clone(),
        policy.clone(),
        vec![(staker(), ids.clone())],
        Ledger::open(&ledger_dir).unwrap(),
        metrics.clone(),
    );
    assert_eq!(w2.ledger().topups.len(), 1);
    assert!(w2.tick().await.unwrap().topups.is_empty());
    assert_eq!(tx_count(&chain, staker()).await, before);

    // Caps: 40 more days pass; a tiny per-day cap limits the top-up.
    d.mine(40 * d.profile().blocks_per_day).await.unwrap();
    let tiny = WatchPolicy {
        max_per_day: U256::from(1_000_000u64) + w2.ledger().spent_last_day(u64::MAX / 2),
        ..policy
    };
    let spent_before = w2.ledger().spent_last_day(ssv_agent::journal::now_secs());
    let mut w3 = Watcher::new(
        chain.clone(),
        WatchPolicy {
            max_per_day: spent_before + U256::from(1_000_000u64),
            ..tiny
        },
        vec![(staker(), ids.clone())],
        Ledger::open(&ledger_dir).unwrap(),
        metrics.clone(),
    );
    let r = w3.tick().await.unwrap();
    assert_eq!(r.capped.len(), 1, "{r:?}");
    assert_eq!(r.topups.len(), 1);
    assert_eq!(
        r.topups[0].1,
        U256::from(1_000_000u64),
        "limited to what the day cap leaves"
    );

    // Metrics endpoint reports the runway.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, metrics.clone()));
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).await.unwrap();
    assert!(body.contains("ssv_cluster_runway_days{cluster="), "{body}");
    assert!(body.contains("ssv_watch_topups_total 2"), "{body}");
}
