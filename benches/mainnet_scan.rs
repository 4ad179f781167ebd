//! Benchmark: owner nonce + cluster snapshot over mainnet-sized history (the registry starts at
//! block 17 507 487; ~7.4 M blocks to scan) through a simulated provider of the project's own:
//! a loopback JSON-RPC server answering the agent's real requests (`eth_chainId`,
//! `eth_blockNumber`, `eth_getLogs`) with a fixed latency, a range limit worded like Alchemy's,
//! and an optional rate limit answered with HTTP 429. Each setting runs cold (empty scan cache),
//! then warm (the same cache), and is checked against a sequential scan's exact answers.
//!
//! Run: `cargo bench --bench mainnet_scan` (release; about two minutes).

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, Bytes, U256, address},
    rpc::types::Log,
    sol_types::SolEvent,
};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use ssv_agent::{
    chain::{
        Chain, ChainConfig, Sender,
        contracts::{Cluster, SSVNetwork},
        logs::ScanLimits,
    },
    network::NetworkProfile,
};

const HEAD: u64 = 17_507_487 + 7_400_000;
const OWNER: Address = address!("9965507D1a55bcC2695C58ba16FB37d819B0A4dc");
const IDS: [u64; 4] = [11, 22, 33, 44];

/// The provider's behaviour.
#[derive(Clone, Copy)]
struct Provider {
    latency: Duration,
    range_limit: u64,
    per_second: Option<u64>,
}

struct History {
    logs: Vec<Log>,
}

/// 60 registrations and 25 deposits for the owner spread over the history, the last cluster
/// event two million blocks before the head (a sparse owner: the snapshot search is long).
fn history(profile: &NetworkProfile) -> History {
    let mut logs = Vec::new();
    let start = profile.registry_sync_offset;
    let mut cluster = Cluster::empty();
    for i in 0..85u64 {
        let block = start + 200_000 + i * 60_000;
        let data = if i % 7 == 3 {
            cluster.balance += U256::from(10u64).pow(U256::from(16u64));
            SSVNetwork::ClusterDeposited {
                owner: OWNER,
                operatorIds: IDS.to_vec(),
                value: U256::from(10u64).pow(U256::from(16u64)),
                cluster: cluster.clone(),
            }
            .encode_log_data()
        } else {
            cluster.validatorCount += 1;
            SSVNetwork::ValidatorAdded {
                owner: OWNER,
                operatorIds: IDS.to_vec(),
                publicKey: Bytes::from(vec![i as u8; 48]),
                shares: Bytes::from(vec![0u8; 96 + 304 * 4]),
                cluster: cluster.clone(),
            }
            .encode_log_data()
        };
        logs.push(Log {
            inner: alloy::primitives::Log {
                address: profile.ssv_network,
                data,
            },
            block_number: Some(block),
            block_hash: Some(B256::from(U256::from(block))),
            transaction_hash: Some(B256::from(U256::from(block * 7))),
            transaction_index: Some(0),
            log_index: Some(0),
            ..Default::default()
        });
    }
    History { logs }
}

struct State {
    history: History,
    provider: Provider,
    owner_word: B256,
    calls: AtomicU64,
    window: Mutex<(Instant, u64)>,
}

fn rpc_result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn rpc_error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16).unwrap_or(0)
}

fn answer(s: &State, req: &Value) -> Value {
    let id = &req["id"];
    match req["method"].as_str().unwrap_or("") {
        "eth_chainId" => rpc_result(id, json!("0x1")),
        "eth_blockNumber" => rpc_result(id, json!(format!("0x{HEAD:x}"))),
        "eth_getLogs" => {
            let f = &req["params"][0];
            let (from, to) = (hex_u64(&f["fromBlock"]), hex_u64(&f["toBlock"]));
            if to >= from && to - from + 1 > s.provider.range_limit {
                return rpc_error(
                    id,
                    -32602,
                    &format!(
                        "Log response size exceeded. You can make eth_getLogs requests with up to a {} block range",
                        s.provider.range_limit
                    ),
                );
            }
            let topic0: Vec<B256> = match &f["topics"][0] {
                Value::Array(a) => a.iter().filter_map(|t| t.as_str()?.parse().ok()).collect(),
                Value::String(t) => t.parse().into_iter().collect(),
                _ => Vec::new(),
            };
            let wants_owner = f["topics"][1]
                .as_str()
                .and_then(|t| t.parse::<B256>().ok())
                .is_none_or(|t| t == s.owner_word);
            let logs: Vec<&Log> = s
                .history
                .logs
                .iter()
                .filter(|l| {
                    let b = l.block_number.unwrap_or(0);
                    b >= from
                        && b <= to
                        && wants_owner
                        && (topic0.is_empty() || l.topic0().is_some_and(|t| topic0.contains(t)))
                })
                .collect();
            rpc_result(id, serde_json::to_value(logs).unwrap())
        }
        other => rpc_error(id, -32601, &format!("method {other} not served")),
    }
}

/// Whether this request exceeds the provider's rate limit (one-second windows).
fn over_limit(s: &State) -> bool {
    let Some(limit) = s.provider.per_second else {
        return false;
    };
    let mut w = s.window.lock().unwrap();
    if w.0.elapsed() >= Duration::from_secs(1) {
        *w = (Instant::now(), 0);
    }
    w.1 += 1;
    w.1 > limit
}

async fn handle(
    s: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<hyper::body::Bytes>>, Infallible> {
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    tokio::time::sleep(s.provider.latency).await;
    s.calls.fetch_add(1, Ordering::Relaxed);
    if over_limit(&s) {
        let r = Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header("retry-after", "1")
            .body(Full::new("Too Many Requests".into()))
            .unwrap();
        return Ok(r);
    }
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let out = match &parsed {
        Value::Array(reqs) => Value::Array(reqs.iter().map(|r| answer(&s, r)).collect()),
        r => answer(&s, r),
    };
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(serde_json::to_vec(&out).unwrap().into()))
        .unwrap())
}

async fn serve(provider: Provider, profile: &NetworkProfile) -> (SocketAddr, Arc<State>) {
    let state = Arc::new(State {
        history: history(profile),
        provider,
        owner_word: OWNER.into_word(),
        calls: AtomicU64::new(0),
        window: Mutex::new((Instant::now(), 0)),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let s = state.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let s = s.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |r| handle(s.clone(), r));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, state)
}

struct Measured {
    secs: f64,
    nonce: u64,
    snapshot: Option<Cluster>,
    calls: u64,
}

async fn measure(
    url: &str,
    profile: &NetworkProfile,
    limits: ScanLimits,
    cache: &std::path::Path,
    state: &State,
) -> Measured {
    let mut cc = ChainConfig::new(url);
    cc.log_chunk = 50_000;
    cc.scan = limits;
    cc.scan_cache = Some(cache.to_owned());
    let chain = Chain::open(cc, profile, Sender::ReadOnly).await.unwrap();
    let before = state.calls.load(Ordering::Relaxed);
    let started = Instant::now();
    let nonce = chain.owner_nonce(OWNER).await.unwrap();
    let snapshot = chain.cluster_snapshot(OWNER, &IDS).await.unwrap();
    Measured {
        secs: started.elapsed().as_secs_f64(),
        nonce,
        snapshot,
        calls: state.calls.load(Ordering::Relaxed) - before,
    }
}

#[tokio::main]
async fn main() {
    let profile = NetworkProfile::mainnet();
    let expected = {
        let h = history(&profile);
        let nonce = h
            .logs
            .iter()
            .filter(|l| l.topic0() == Some(&SSVNetwork::ValidatorAdded::SIGNATURE_HASH))
            .count() as u64;
        (nonce, h.logs.len())
    };
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
        let provider = Provider {
            latency: Duration::from_millis(100),
            range_limit,
            per_second,
        };
        let (addr, state) = serve(provider, &profile).await;
        let url = format!("http://{addr}");
        let cache = tempfile::tempdir().unwrap();
        let limits = ScanLimits {
            in_flight,
            per_second: per_second.map(|r| r as u32),
        };
        let cold = measure(&url, &profile, limits, cache.path(), &state).await;
        let warm = measure(&url, &profile, limits, cache.path(), &state).await;
        let answer = (cold.nonce, cold.snapshot.clone());
        let exact = cold.nonce == expected.0
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
