//! Watch alerts on the fast devnet (real SSVNetwork code), received by a loopback webhook with the
//! payload the README documents:
//! - low runway (caps leave nothing for the day), posted once while it lasts; a full top-up
//!   posts `topup_sent` and no low runway; a liquidated cluster posts `liquidated` once;
//! - a top-up stuck under automine-off posts `stuck_transaction` (and low runway) once, and the
//!   next ticks finish it without another post; an `exitValidator` sent by the test posts
//!   `validator_exited`;
//! - a webhook that never answers does not delay the tick or its top-up, a full queue drops and
//!   counts alerts, and a failing webhook is retried, then counted as failed.

use std::time::{Duration, Instant};

use crate::{
    ssv_watch::{
        FLOOR, assert_at_target, liquidate, one_eth, policy, reading, register_cluster, runway,
    },
    support::{
        ssv::*,
        webhook::{Answer, Webhook},
    },
};
use alloy::{
    network::TransactionBuilder,
    primitives::{B256, Bytes, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use ssv_agent::{
    chain::{
        Chain, ChainConfig, FeeCaps, Sender, SensitiveUrl, TxPolicy, contracts::SSVNetwork,
        reads::cluster_id, send::send,
    },
    devnet::{Devnet, STAKER_ACCOUNT, SsvMode, dev_account},
    journal::now_secs,
    ssv::watch::{
        WatchPolicy, Watcher,
        alerts::{Alert, AlertOptions, Alerter, ClusterRef},
        ledger::Ledger,
        metrics::{Metrics, SharedMetrics},
    },
};

const TOKEN: &str = "T0KEN-s3cr3t-9f8e7d";

fn options(hook: &Webhook) -> AlertOptions {
    AlertOptions {
        url: SensitiveUrl::new(&hook.url(TOKEN)),
        timeout: Duration::from_secs(5),
        attempts: 2,
        backoff: Duration::from_millis(100),
        queue: 64,
    }
}

fn watcher(
    chain: &Chain,
    p: WatchPolicy,
    ids: &[&[u64]],
    dir: &std::path::Path,
    m: &SharedMetrics,
    alerts: AlertOptions,
) -> Watcher {
    let alerter = Alerter::start(alerts, "hoodi", chain.profile().chain_id, m.clone())
        .expect("alerter starts");
    Watcher::new(
        chain.clone(),
        p,
        ids.iter().map(|i| (staker(), i.to_vec())).collect(),
        Ledger::open(dir).unwrap(),
        m.clone(),
    )
    .with_alerts(Some(alerter), Some(Duration::from_secs(3600)))
}

fn kinds(alerts: &[Alert]) -> Vec<&'static str> {
    alerts.iter().map(Alert::kind).collect()
}

fn cluster_json(ids: &[u64]) -> serde_json::Value {
    serde_json::to_value(ClusterRef {
        id: cluster_id(staker(), ids),
        owner: staker(),
        operator_ids: ids.to_vec(),
    })
    .unwrap()
}

/// The envelope every payload carries, with `fields` (the kind's own) beside it; `at` and `text`
/// are checked and then taken from the payload itself.
fn expect_payload(
    got: &serde_json::Value,
    d: &Devnet,
    block: u64,
    kind: &str,
    fields: serde_json::Value,
) {
    let at = got["at"].as_u64().expect("at is unix seconds");
    let mut fields = fields;
    // JSON floats may lose the last bit on a round trip: compare them with a tolerance.
    if let (Some(want), Some(sent)) = (fields["days"].as_f64(), got["days"].as_f64()) {
        assert!((want - sent).abs() < 1e-9, "days {sent}, expected {want}");
        fields["days"] = got["days"].clone();
    }
    assert!(at.abs_diff(now_secs()) < 600, "at {at}");
    let text = got["text"].as_str().expect("text");
    assert!(text.contains("cluster 0x"), "{text}");
    let mut want = serde_json::json!({
        "source": "ssv-agent",
        "version": 1,
        "network": "hoodi",
        "chain_id": d.profile().chain_id,
        "block": block,
        "at": at,
        "text": text,
        "kind": kind,
    });
    for (k, v) in fields.as_object().unwrap() {
        want[k] = v.clone();
    }
    assert_eq!(got, &want, "the {kind} payload");
}

fn sent(m: &SharedMetrics, kind: &str) -> u64 {
    m.alerts_sent.get_or_create(&Metrics::kind(kind)).get()
}

#[tokio::test(flavor = "multi_thread")]
async fn low_runway_topup_and_liquidation_reach_the_webhook_once_each() {
    let d = fast_devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = [1u64, 2, 3, 4];
    let id = cluster_id(staker(), &ids);
    register_cluster(&d, &chain, dir.path(), &ids, 40).await;
    d.mine(11 * FAST_BLOCKS_PER_DAY).await.unwrap();
    let hook = Webhook::start(Answer::Ok).await;
    let metrics = Metrics::shared();
    let state = dir.path().join("watch");
    std::fs::create_dir_all(&state).unwrap();

    // No budget left today: the runway stays under the floor; posted once, not every tick.
    let mut w = watcher(
        &chain,
        policy(one_eth(), U256::ZERO, false),
        &[&ids],
        &state,
        &metrics,
        options(&hook),
    );
    let r = w.tick().await.unwrap();
    assert!(r.topups.is_empty() && r.capped == vec![id], "{r:?}");
    assert_eq!(kinds(&r.alerts), ["low_runway"], "{r:?}");
    let days = runway(&r, id);
    assert!(days < FLOOR as f64);
    let again = w.tick().await.unwrap();
    assert!(again.alerts.is_empty(), "de-duplicated: {again:?}");
    w.close_alerts(Duration::from_secs(10)).await;
    drop(w);
    let got = hook.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, format!("/hooks/{TOKEN}"));
    assert!(got[0].content_type.starts_with("application/json"));
    expect_payload(
        &got[0].json,
        &d,
        r.block,
        "low_runway",
        serde_json::json!({ "cluster": cluster_json(&ids), "days": days, "floor_days": FLOOR }),
    );
    assert_eq!(sent(&metrics, "low_runway"), 1);

    // With a budget: one top-up to the target, posted as sent; no low-runway alert for it.
    let mut w = watcher(
        &chain,
        policy(one_eth(), one_eth(), false),
        &[&ids],
        &state,
        &metrics,
        options(&hook),
    );
    let r = w.tick().await.unwrap();
    assert_eq!(r.topups.len(), 1, "{r:?}");
    assert_eq!(kinds(&r.alerts), ["topup_sent"], "{r:?}");
    assert_at_target(runway(&w.tick().await.unwrap(), id));
    w.close_alerts(Duration::from_secs(10)).await;
    let topups = hook.of_kind("topup_sent");
    assert_eq!(topups.len(), 1, "{:?}", hook.received());
    expect_payload(
        &topups[0],
        &d,
        r.block,
        "topup_sent",
        serde_json::json!({
            "cluster": cluster_json(&ids),
            "action": "topup",
            "amount": r.topups[0].amount.to_string(),
            "currency": "ETH",
            "tx": r.topups[0].tx_hash,
        }),
    );
    drop(w);

    // Liquidated (reactivation off): posted once while it lasts.
    liquidate(&d, &chain, &ids).await;
    let mut w = watcher(
        &chain,
        policy(one_eth(), one_eth(), false),
        &[&ids],
        &state,
        &metrics,
        options(&hook),
    );
    let r = w.tick().await.unwrap();
    assert_eq!(r.liquidated, vec![id]);
    assert!(!reading(&r, id).active);
    assert_eq!(kinds(&r.alerts), ["liquidated"], "{r:?}");
    assert!(w.tick().await.unwrap().alerts.is_empty());
    w.close_alerts(Duration::from_secs(10)).await;
    let liquidated = hook.of_kind("liquidated");
    assert_eq!(liquidated.len(), 1, "{:?}", hook.received());
    expect_payload(
        &liquidated[0],
        &d,
        r.block,
        "liquidated",
        serde_json::json!({ "cluster": cluster_json(&ids), "reactivation_sent": false }),
    );
    assert_eq!(hook.received().len(), 3, "nothing else was posted");
    assert_eq!(
        (sent(&metrics, "topup_sent"), sent(&metrics, "liquidated")),
        (1, 1)
    );
}

async fn automine(d: &Devnet, on: bool) {
    d.provider()
        .raw_request::<_, serde_json::Value>("evm_setAutomine".into(), serde_json::json!([on]))
        .await
        .unwrap();
}

/// A staker chain whose transactions are given up on (stuck) after 3 s, never replaced.
async fn impatient_chain(d: &Devnet, state: &std::path::Path) -> Chain {
    let mut cc = ChainConfig::new(d.rpc_url());
    cc.state_dir = Some(state.to_owned());
    cc.tx = TxPolicy {
        caps: FeeCaps {
            max_fee_per_gas: Some(50_000_000_000),
            max_priority_fee_per_gas: Some(1_000_000_000),
        },
        timeout: Duration::from_secs(3),
        rebroadcast_every: Duration::from_millis(500),
        replace_after: None,
        bump_percent: 20,
        poll: Duration::from_millis(100),
    };
    Chain::open(cc, d.profile(), Sender::Local(dev_account(STAKER_ACCOUNT)))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_top_up_and_an_exited_validator_reach_the_webhook() {
    let d = fast_devnet(SsvMode::V2).await;
    let dir = tempfile::tempdir().unwrap();
    let chain = impatient_chain(&d, dir.path()).await;
    let ids = [2u64, 3, 4, 5];
    let id = cluster_id(staker(), &ids);
    let pubkey = register_cluster(&d, &chain, dir.path(), &ids, 40).await;
    let hook = Webhook::start(Answer::Ok).await;
    let metrics = Metrics::shared();
    let state = dir.path().join("watch");
    std::fs::create_dir_all(&state).unwrap();
    let mut w = watcher(
        &chain,
        policy(one_eth(), one_eth(), false),
        &[&ids],
        &state,
        &metrics,
        options(&hook),
    );
    let r = w.tick().await.unwrap();
    assert!(r.alerts.is_empty() && r.exits.is_empty(), "{r:?}");

    // The owner exits its validator: the next tick posts it.
    let tx = TransactionRequest::default()
        .with_to(d.profile().ssv_network)
        .with_input(
            SSVNetwork::exitValidatorCall {
                publicKey: Bytes::from(pubkey.to_vec()),
                operatorIds: ids.to_vec(),
            }
            .abi_encode(),
        );
    let (exit, _) = send(&chain, "exit", tx, |_| Ok(()))
        .await
        .expect("the owner exits its validator");
    let r = w.tick().await.unwrap();
    assert_eq!(kinds(&r.alerts), ["validator_exited"], "{r:?}");
    assert_eq!(r.exits.len(), 1);
    let (exit_block, exit_tick) = (r.exits[0].block, r.block);
    assert_eq!(r.exits[0].tx_hash, exit.tx_hash);
    assert!(w.tick().await.unwrap().alerts.is_empty(), "posted once");

    // Under the floor with nothing mined: the top-up is stuck; posted once with the low runway.
    d.mine(11 * FAST_BLOCKS_PER_DAY).await.unwrap();
    automine(&d, false).await;
    let r = w.tick().await.unwrap();
    assert!(r.topups.is_empty(), "{r:?}");
    assert_eq!(r.stuck.len(), 1, "{r:?}");
    let mut k = kinds(&r.alerts);
    k.sort();
    assert_eq!(k, ["low_runway", "stuck_transaction"], "{r:?}");
    let stuck = r.stuck[0].clone();
    // Still unmined: the next tick stops at the stuck transaction and posts nothing new.
    let again = w.tick().await;
    assert!(again.is_err(), "nothing new is signed while one is stuck");
    automine(&d, true).await;
    d.mine(1).await.unwrap();
    let r = w.tick().await.unwrap();
    assert!(r.alerts.is_empty(), "{r:?}");
    assert_at_target(runway(&r, id));
    assert_eq!(metrics.stuck.get(), 2, "seen stuck by two ticks");
    w.close_alerts(Duration::from_secs(10)).await;

    let exited = hook.of_kind("validator_exited");
    assert_eq!(exited.len(), 1, "{:?}", hook.received());
    expect_payload(
        &exited[0],
        &d,
        exit_tick,
        "validator_exited",
        serde_json::json!({
            "pubkey": format!("0x{}", hex::encode(pubkey)),
            "cluster": cluster_json(&ids),
            "tx": exit.tx_hash,
            "block": exit_block,
        }),
    );
    let stuck_posts = hook.of_kind("stuck_transaction");
    assert_eq!(stuck_posts.len(), 1, "{:?}", hook.received());
    let p = &stuck_posts[0];
    assert_eq!(p["tx"], serde_json::to_value(stuck.tx_hash).unwrap());
    assert_eq!(p["tx_kind"], "topup");
    assert_eq!(p["nonce"], stuck.nonce);
    assert!(p["waited_secs"].as_u64().unwrap() >= 3, "{p}");
    assert_eq!(p["cluster"], cluster_json(&ids));
    assert_eq!(hook.of_kind("low_runway").len(), 1);
    assert_eq!(hook.received().len(), 3, "{:?}", hook.received());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_webhook_delays_no_top_up_and_a_failing_one_is_retried_then_counted() {
    let d = fast_devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let a = [1u64, 2, 3, 4];
    let b = [5u64, 6, 7, 8];
    register_cluster(&d, &chain, dir.path(), &a, 40).await;
    register_cluster(&d, &chain, dir.path(), &b, 400).await;
    d.mine(11 * FAST_BLOCKS_PER_DAY).await.unwrap();
    let hung = Webhook::start(Answer::Hang).await;
    let metrics = Metrics::shared();
    let state = dir.path().join("watch");
    std::fs::create_dir_all(&state).unwrap();
    // One POST may take 60 s, twice; one alert may wait in the queue.
    let slow = AlertOptions {
        timeout: Duration::from_secs(60),
        queue: 1,
        ..options(&hung)
    };
    let mut w = watcher(
        &chain,
        policy(one_eth(), one_eth(), false),
        &[&a, &b],
        &state,
        &metrics,
        slow,
    );
    let start = Instant::now();
    let r = w.tick().await.unwrap();
    let took = start.elapsed();
    assert_eq!(r.topups.len(), 1, "{r:?}");
    assert!(
        took < Duration::from_secs(15),
        "the tick took {took:?} with a hung webhook"
    );
    // The top-up alert did reach the hook, which holds it unanswered.
    hung.wait_for(1, Duration::from_secs(10)).await;
    assert_at_target(runway(&w.tick().await.unwrap(), cluster_id(staker(), &a)));

    // Both clusters liquidated while the hook hangs: one alert queues, the other is dropped.
    liquidate(&d, &chain, &a).await;
    liquidate(&d, &chain, &b).await;
    let start = Instant::now();
    let r = w.tick().await.unwrap();
    assert_eq!(kinds(&r.alerts), ["liquidated", "liquidated"], "{r:?}");
    assert!(start.elapsed() < Duration::from_secs(15));
    assert_eq!(metrics.alerts_dropped.get(), 1);
    let start = Instant::now();
    w.close_alerts(Duration::from_secs(1)).await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "closing waits for the hung hook at most its bound"
    );
    drop(w);

    // A failing hook: every attempt is made, then the alert counts as failed.
    let failing = Webhook::start(Answer::Fail).await;
    let alerter = Alerter::start(
        AlertOptions {
            attempts: 3,
            ..options(&failing)
        },
        "hoodi",
        d.profile().chain_id,
        metrics.clone(),
    )
    .unwrap();
    alerter.post(
        Alert::Liquidated {
            cluster: ClusterRef {
                id: B256::repeat_byte(1),
                owner: staker(),
                operator_ids: a.to_vec(),
            },
            reactivation_sent: false,
        },
        1,
    );
    alerter.close(Duration::from_secs(10)).await;
    assert_eq!(failing.received().len(), 3, "three attempts");
    assert_eq!(
        metrics
            .alerts_failed
            .get_or_create(&Metrics::kind("liquidated"))
            .get(),
        1
    );
}
