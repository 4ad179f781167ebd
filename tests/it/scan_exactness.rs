//! The owner nonce and cluster snapshots stay exact when the provider misbehaves the ways hosted
//! providers do: range refusals, 429s, requests hanging past the client's timeout, answers
//! overtaking each other, batches answered in reverse, and all of them at once. The provider is the
//! project's simulated one (`support::sim_rpc`) serving a dense history (an owner event every 23
//! blocks, some blocks with two), so a skipped or repeated range changes the counts; the ranges it
//! answered must also cover the whole history with no gap. A second run from the scan cache gives
//! the same answers with a fraction of the requests.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, address};
use ssv_agent::{
    chain::{Chain, ChainConfig, Sender, logs::ScanLimits},
    network::NetworkProfile,
};

use crate::support::sim_rpc::{self, Faults, HistoryBuilder, covers};

const OWNER: Address = address!("9965507D1a55bcC2695C58ba16FB37d819B0A4dc");
const A: [u64; 4] = [1, 2, 3, 4];
const B: [u64; 4] = [5, 6, 7, 8];
const SPAN: u64 = 24_000;
const RANGE_LIMIT: u64 = 1_000;

/// Two clusters' events every 23 blocks from the registry start to the head, some blocks with
/// two events, one at the very first and one at the head's block.
fn history(profile: &NetworkProfile) -> HistoryBuilder {
    let start = profile.registry_sync_offset;
    let mut h = HistoryBuilder::new(profile.ssv_network, OWNER);
    h.added(start, &A);
    for (k, block) in (start + 1..start + SPAN).step_by(23).enumerate() {
        let ids = if k % 2 == 0 { &A } else { &B };
        if k % 5 == 0 {
            h.deposited(block, ids, 1_000 + k as u64);
        } else {
            h.added(block, ids);
        }
        if k % 17 == 0 {
            h.added(block, &B);
        }
    }
    h.added(start + SPAN, &B);
    h
}

struct Answers {
    nonce: u64,
    a: Option<ssv_agent::chain::contracts::Cluster>,
    b: Option<ssv_agent::chain::contracts::Cluster>,
}

async fn read(url: &str, profile: &NetworkProfile, cache: &std::path::Path) -> Answers {
    let mut cc = ChainConfig::new(url);
    cc.scan = ScanLimits {
        in_flight: 8,
        per_second: None,
    };
    cc.scan_cache = Some(cache.to_owned());
    cc.request_timeout = Duration::from_secs(2);
    let chain = Chain::open(cc, profile, Sender::ReadOnly).await.unwrap();
    Answers {
        nonce: chain.owner_nonce(OWNER).await.unwrap(),
        a: chain.cluster_snapshot(OWNER, &A).await.unwrap(),
        b: chain.cluster_snapshot(OWNER, &B).await.unwrap(),
    }
}

async fn exact_under(name: &str, faults: Faults) {
    let profile = NetworkProfile::mainnet();
    let built = history(&profile);
    let head = profile.registry_sync_offset + SPAN;
    let rpc = sim_rpc::serve(built.build(1, head), faults).await;
    let cache = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let cold = read(&rpc.url, &profile, cache.path()).await;
    let cold_secs = started.elapsed();
    let cold_requests = rpc.requests();
    assert_eq!(cold.nonce, built.nonce(), "{name}: nonce");
    assert_eq!(cold.a, built.snapshot(&A), "{name}: snapshot of A");
    assert_eq!(cold.b, built.snapshot(&B), "{name}: snapshot of B");
    let answered = rpc.answered_ranges();
    assert!(
        covers(&answered, profile.registry_sync_offset, head),
        "{name}: the answered ranges leave a gap: {answered:?}"
    );
    // A hanging request is abandoned after the 2 s timeout, never waited out.
    if faults.hang_every.is_some() {
        assert!(
            cold_secs < faults.hang,
            "{name}: {cold_secs:?}: a hung request was waited out"
        );
    }

    rpc.clear_answered();
    let warm = read(&rpc.url, &profile, cache.path()).await;
    let warm_requests = rpc.requests() - cold_requests;
    assert_eq!(
        (warm.nonce, &warm.a, &warm.b),
        (cold.nonce, &cold.a, &cold.b),
        "{name}: the cached run differs"
    );
    assert!(
        warm_requests * 4 < cold_requests,
        "{name}: the cached run made {warm_requests} requests, the cold one {cold_requests}"
    );
    println!(
        "{name}: nonce {} exact, cold {cold_secs:?} {cold_requests} requests, warm {warm_requests}",
        cold.nonce
    );
}

fn refusing() -> Faults {
    Faults {
        range_limit: RANGE_LIMIT,
        ..Faults::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_under_range_refusals() {
    exact_under("range refusals", refusing()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_under_429s() {
    let faults = Faults {
        too_many_every: Some(4),
        ..refusing()
    };
    exact_under("every 4th request 429", faults).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_under_timeouts() {
    let faults = Faults {
        hang_every: Some(6),
        hang: Duration::from_secs(120),
        ..refusing()
    };
    exact_under("every 6th getLogs hangs", faults).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_under_out_of_order_replies() {
    let faults = Faults {
        latency: Duration::from_millis(5),
        jitter: Duration::from_millis(60),
        reverse_batches: true,
        ..refusing()
    };
    exact_under("answers out of order", faults).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_under_every_fault_at_once() {
    let faults = Faults {
        latency: Duration::from_millis(5),
        jitter: Duration::from_millis(60),
        too_many_every: Some(6),
        hang_every: Some(9),
        hang: Duration::from_secs(120),
        reverse_batches: true,
        ..refusing()
    };
    exact_under("every fault at once", faults).await;
}
