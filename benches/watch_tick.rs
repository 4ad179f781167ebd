//! Benchmark: one watch tick over 1 000 clusters of one owner on the devnet, against reading the
//! same values with one JSON-RPC call each. Round trips are counted by a loopback HTTP proxy in
//! front of anvil (every request that crosses it), independently of the watcher's own count.
//! Run: `cargo bench --bench watch_tick` (needs `cd anvil && npm ci`). Target: < 2 s, < 20 trips.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use ssv_agent::{
    chain::{
        Chain,
        contracts::{Cluster, SSVNetwork, SSVNetworkViews},
    },
    devnet::{
        DAO_ACCOUNT, Devnet, DevnetOptions, DevnetSSVNetwork, WHITELISTED_ACCOUNT, dev_account,
    },
    ssv::watch::{WatchPolicy, Watcher, ledger::Ledger, metrics::Metrics},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const CLUSTERS: usize = 1_000;

/// All `k`-subsets of 1..=n in lexicographic order.
fn combinations(n: u64, k: usize) -> Vec<Vec<u64>> {
    let mut out = Vec::new();
    let mut cur = Vec::with_capacity(k);
    fn walk(start: u64, n: u64, k: usize, cur: &mut Vec<u64>, out: &mut Vec<Vec<u64>>) {
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..=n {
            cur.push(i);
            walk(i + 1, n, k, cur, out);
            cur.pop();
        }
    }
    walk(1, n, k, &mut cur, &mut out);
    out
}

/// Forwards loopback TCP to anvil and counts HTTP requests (each JSON-RPC POST, batched or not,
/// is one round trip).
async fn counting_proxy(target: SocketAddr, requests: Arc<AtomicU64>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address");
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let requests = requests.clone();
            tokio::spawn(async move {
                let Ok(outbound) = TcpStream::connect(target).await else {
                    return;
                };
                let (mut ri, mut wi) = inbound.into_split();
                let (mut ro, mut wo) = outbound.into_split();
                let up = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match ri.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        // Request heads start with the method; JSON bodies never contain "POST /".
                        let chunk = &buf[..n];
                        let heads = chunk.windows(6).filter(|w| w == b"POST /").count();
                        requests.fetch_add(heads as u64, Ordering::Relaxed);
                        if wo.write_all(chunk).await.is_err() {
                            break;
                        }
                    }
                };
                let down = async move {
                    let _ = tokio::io::copy(&mut ro, &mut wi).await;
                };
                tokio::join!(up, down);
            });
        }
    });
    addr
}

#[tokio::main]
async fn main() {
    let d = Devnet::start(DevnetOptions::default())
        .await
        .expect("devnet (install anvil: cd anvil && npm ci)");
    let dao = dev_account(DAO_ACCOUNT).address();
    DevnetSSVNetwork::new(d.profile().ssv_network, d.provider())
        .devnetSetValidatorsPerOperatorLimit(100_000)
        .from(dao)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();

    // The whitelisted account may use the private operators too, so all 13 are available:
    // the 715 four-operator clusters, then seven-operator ones up to 1 000.
    let owner: Address = dev_account(WHITELISTED_ACCOUNT).address();
    let mut sets = combinations(13, 4);
    sets.extend(combinations(13, 7));
    sets.truncate(CLUSTERS);
    let t = Instant::now();
    // Queue every registration, then mine them: anvil's automine does not wait for one transaction
    // to be mined before accepting the next, so nonces and gas estimates would race.
    let p = d.provider();
    let _: serde_json::Value = p
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let first_nonce = p.get_transaction_count(owner).await.unwrap();
    let mut hashes = Vec::with_capacity(sets.len());
    for (n, ids) in sets.iter().enumerate() {
        let mut pk = vec![0xa0u8; 48];
        pk[40..48].copy_from_slice(&(n as u64).to_be_bytes());
        let call = SSVNetwork::registerValidatorCall {
            publicKey: Bytes::from(pk),
            operatorIds: ids.clone(),
            // The contract does not read sharesData; only its length matters to nodes.
            sharesData: Bytes::from(vec![0u8; 96 + 304 * ids.len()]),
            cluster: Cluster::empty(),
        };
        let tx = TransactionRequest::default()
            .with_from(owner)
            .with_to(d.profile().ssv_network)
            .with_input(call.abi_encode())
            .with_value(U256::from(10u64).pow(U256::from(16)))
            .with_nonce(first_nonce + n as u64)
            .with_gas_limit(1_500_000)
            .with_max_fee_per_gas(100_000_000_000)
            .with_max_priority_fee_per_gas(1_000_000_000);
        let pending = p
            .send_transaction(tx)
            .await
            .unwrap_or_else(|e| panic!("queueing cluster {ids:?}: {e}"));
        hashes.push(*pending.tx_hash());
    }
    let target_nonce = first_nonce + sets.len() as u64;
    while p.get_transaction_count(owner).await.unwrap() < target_nonce {
        d.mine(1).await.unwrap();
    }
    let _: serde_json::Value = p
        .raw_request("evm_setAutomine".into(), (true,))
        .await
        .unwrap();
    for (h, ids) in hashes.iter().zip(&sets) {
        let r = p.get_transaction_receipt(*h).await.unwrap().expect("mined");
        assert!(r.status(), "registration of {ids:?} reverted: {h}");
    }
    eprintln!(
        "setup: {} clusters registered in {:.1} s (head {})",
        sets.len(),
        t.elapsed().as_secs_f64(),
        p.get_block_number().await.unwrap()
    );

    let anvil: SocketAddr = d.rpc_url().trim_start_matches("http://").parse().unwrap();
    let requests = Arc::new(AtomicU64::new(0));
    let proxy = counting_proxy(anvil, requests.clone()).await;
    let chain = Chain::connect(
        &format!("http://{proxy}"),
        d.profile(),
        Some(dev_account(WHITELISTED_ACCOUNT)),
    )
    .await
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let policy = WatchPolicy {
        floor_days: 1,
        target_days: 2,
        max_per_tx: U256::ZERO,
        max_per_day: U256::ZERO,
        reactivate: false,
    };
    let mut w = Watcher::new(
        chain.clone(),
        policy,
        sets.iter().map(|ids| (owner, ids.clone())).collect(),
        Ledger::open(state.path()).unwrap(),
        Metrics::shared(),
    );

    println!(
        "| read | clusters | JSON-RPC round trips (proxy) | watcher's own count | wall time |"
    );
    println!("|---|---|---|---|---|");
    let mut rows = Vec::new();
    for label in [
        "watch tick, cold (scans all events from the registry offset)",
        "watch tick, warm (incremental scan)",
    ] {
        let before = requests.load(Ordering::Relaxed);
        let t = Instant::now();
        let r = w.tick().await.expect("tick");
        let wall = t.elapsed();
        let trips = requests.load(Ordering::Relaxed) - before;
        assert_eq!(
            r.clusters.len(),
            CLUSTERS,
            "every cluster read ({} without events, {} errors, first: {:?})",
            r.missing.len(),
            r.errors.len(),
            r.errors.first()
        );
        assert!(r.errors.is_empty(), "{:?}", r.errors.first());
        assert!(r.clusters.iter().all(|c| c.active && c.validators == 1));
        println!(
            "| {label} | {} | {trips} | {} | {:.0} ms |",
            r.clusters.len(),
            r.round_trips,
            wall.as_secs_f64() * 1e3
        );
        rows.push((trips, wall));
    }

    // Baseline: the same values with one eth_call each (snapshots taken as known, which favours it).
    let views = SSVNetworkViews::new(d.profile().ssv_views, chain.provider());
    let snaps: Vec<Cluster> = {
        let mut out = Vec::with_capacity(sets.len());
        for ids in &sets {
            out.push(
                chain
                    .cluster_snapshot(owner, ids)
                    .await
                    .unwrap()
                    .expect("cluster exists"),
            );
        }
        out
    };
    let before = requests.load(Ordering::Relaxed);
    let t = Instant::now();
    let head = chain.head().await.unwrap();
    views
        .getNetworkFee()
        .block(head.into())
        .call()
        .await
        .unwrap();
    views
        .getLiquidationThresholdPeriod()
        .block(head.into())
        .call()
        .await
        .unwrap();
    views
        .getMinimumLiquidationCollateral()
        .block(head.into())
        .call()
        .await
        .unwrap();
    for (ids, snap) in sets.iter().zip(&snaps) {
        views
            .getBalance(owner, ids.clone(), snap.clone())
            .block(head.into())
            .call()
            .await
            .unwrap();
        views
            .getBurnRate(owner, ids.clone(), snap.clone())
            .block(head.into())
            .call()
            .await
            .unwrap();
    }
    let wall = t.elapsed();
    let trips = requests.load(Ordering::Relaxed) - before;
    println!(
        "| one call per value (head, 3 parameters, balance + burn rate per cluster; snapshots given) | {} | {trips} | - | {:.0} ms |",
        sets.len(),
        wall.as_secs_f64() * 1e3
    );
    let (warm_trips, warm_wall) = rows[1];
    let (cold_trips, cold_wall) = rows[0];
    println!(
        "\ntarget (< 2 s and < 20 round trips): cold {} ({cold_trips} trips, {:.2} s), warm {} ({warm_trips} trips, {:.2} s)",
        if cold_trips < 20 && cold_wall.as_secs_f64() < 2.0 {
            "met"
        } else {
            "MISSED"
        },
        cold_wall.as_secs_f64(),
        if warm_trips < 20 && warm_wall.as_secs_f64() < 2.0 {
            "met"
        } else {
            "MISSED"
        },
        warm_wall.as_secs_f64(),
    );
}
