//! Benchmark: owner nonce + cluster snapshot over mainnet-sized history (the registry starts at
//! block 17 507 487; ~7.4 M blocks to scan) through a simulated provider of the project's own:
//! a loopback JSON-RPC server answering the agent's real requests (`eth_chainId`,
//! `eth_blockNumber`, `eth_getLogs`) with a fixed latency, a range limit worded like Alchemy's,
//! and an optional rate limit answered with HTTP 429. Each setting runs cold (empty scan cache),
//! then warm (the same cache), and is checked against a sequential scan's exact answers.
//!
//! Run: `cargo bench --bench mainnet_scan` (release; about two minutes).

#[path = "../tests/it/support/sim_rpc.rs"]
mod sim_rpc;

use std::time::{Duration, Instant};

use alloy::primitives::{Address, address};
use sim_rpc::{Faults, HistoryBuilder, SimRpc};
use ssv_agent::{
    chain::{Chain, ChainConfig, Sender, contracts::Cluster, logs::ScanLimits},
    network::NetworkProfile,
};

const HEAD: u64 = 17_507_487 + 7_400_000;
const OWNER: Address = address!("9965507D1a55bcC2695C58ba16FB37d819B0A4dc");
const IDS: [u64; 4] = [11, 22, 33, 44];

/// 60 registrations and 25 deposits for the owner spread over the history, the last cluster
/// event two million blocks before the head (a sparse owner: the snapshot search is long).
fn history(profile: &NetworkProfile) -> HistoryBuilder {
    let mut h = HistoryBuilder::new(profile.ssv_network, OWNER);
    for i in 0..85u64 {
        let block = profile.registry_sync_offset + 200_000 + i * 60_000;
        if i % 7 == 3 {
            h.deposited(block, &IDS, 10u64.pow(16));
        } else {
            h.added(block, &IDS);
        }
    }
    h
}

struct Measured {
    secs: f64,
    nonce: u64,
    snapshot: Option<Cluster>,
    calls: u64,
}

async fn measure(
    rpc: &SimRpc,
    profile: &NetworkProfile,
    limits: ScanLimits,
    cache: &std::path::Path,
) -> Measured {
    let mut cc = ChainConfig::new(&rpc.url);
    cc.log_chunk = 50_000;
    cc.scan = limits;
    cc.scan_cache = Some(cache.to_owned());
    let chain = Chain::open(cc, profile, Sender::ReadOnly).await.unwrap();
    let before = rpc.requests();
    let started = Instant::now();
    let nonce = chain.owner_nonce(OWNER).await.unwrap();
    let snapshot = chain.cluster_snapshot(OWNER, &IDS).await.unwrap();
    Measured {
        secs: started.elapsed().as_secs_f64(),
        nonce,
        snapshot,
        calls: rpc.requests() - before,
    }
}

#[tokio::main]
async fn main() {
    let profile = NetworkProfile::mainnet();
    let built = history(&profile);
    let expected = (built.nonce(), built.build(1, HEAD).logs.len());
    println!(
        "history: {} blocks from {} to {HEAD}, {} owner events ({} registrations), latency 100 ms",
        HEAD - profile.registry_sync_offset,
        profile.registry_sync_offset,
        expected.1,
        expected.0
    );
    println!(
        "| range limit | rate limit | in flight | cold | warm | getLogs+calls cold/warm | nonce | exact |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let settings = [
        (10_000, None, 8),
        (2_000, None, 8),
        (10_000, Some(25), 8),
        (10_000, None, 1),
    ];
    let mut reference: Option<(u64, Option<Cluster>)> = None;
    for (range_limit, per_second, in_flight) in settings {
        let faults = Faults {
            latency: Duration::from_millis(100),
            range_limit,
            per_second,
            ..Faults::default()
        };
        let rpc = sim_rpc::serve(built.build(1, HEAD), faults).await;
        let cache = tempfile::tempdir().unwrap();
        let limits = ScanLimits {
            in_flight,
            per_second: per_second.map(|r| r as u32),
        };
        let cold = measure(&rpc, &profile, limits, cache.path()).await;
        let warm = measure(&rpc, &profile, limits, cache.path()).await;
        let answer = (cold.nonce, cold.snapshot.clone());
        let exact = cold.nonce == expected.0
            && cold.snapshot == built.snapshot(&IDS)
            && warm.nonce == cold.nonce
            && warm.snapshot == cold.snapshot
            && reference.as_ref().is_none_or(|r| *r == answer);
        reference.get_or_insert(answer);
        println!(
            "| {range_limit} | {} | {in_flight} | {:.1} s | {:.2} s | {}/{} | {} | {} |",
            per_second.map_or("none".to_string(), |r| format!("{r}/s")),
            cold.secs,
            warm.secs,
            cold.calls,
            warm.calls,
            cold.nonce,
            if exact { "yes" } else { "NO" }
        );
        assert!(exact, "answers differ");
    }
}
