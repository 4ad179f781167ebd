//! A JSON-RPC provider of the project's own on loopback, serving a synthetic SSVNetwork log
//! history with the faults hosted providers show: latency and jitter (answers come back out of
//! order), a range limit worded like Alchemy's, 429s (a per-second limit or every n-th request),
//! requests that hang past the client's timeout, and batch answers in reverse order. It answers
//! the agent's real requests (`eth_chainId`, `eth_blockNumber`, `eth_getLogs`). Shared by the
//! scan exactness tests and `benches/mainnet_scan.rs` (included there by path).

#![allow(dead_code)] // each includer uses its own part

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
    primitives::{Address, B256, Bytes, U256},
    rpc::types::Log,
    sol_types::SolEvent,
};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use ssv_agent::chain::contracts::{Cluster, SSVNetwork};

/// How the provider misbehaves.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Faults {
    /// Added to every answer.
    pub(crate) latency: Duration,
    /// Up to this much more, pseudo-random per request: concurrent answers overtake each other.
    pub(crate) jitter: Duration,
    /// Widest `eth_getLogs` range served (0: no limit).
    pub(crate) range_limit: u64,
    /// Requests per one-second window before HTTP 429.
    pub(crate) per_second: Option<u64>,
    /// Every n-th request is answered HTTP 429.
    pub(crate) too_many_every: Option<u64>,
    /// Every n-th `eth_getLogs` is answered only after `hang`.
    pub(crate) hang_every: Option<u64>,
    /// How long a hanging request waits.
    pub(crate) hang: Duration,
    /// Batch answers in reverse order (JSON-RPC matches them by id).
    pub(crate) reverse_batches: bool,
}

/// The chain's logs, oldest first, and its head.
#[derive(Debug, Clone)]
pub(crate) struct History {
    pub(crate) chain_id: u64,
    pub(crate) head: u64,
    pub(crate) logs: Vec<Log>,
}

/// Builds an owner's cluster history event by event, as SSVNetwork would emit it.
pub(crate) struct HistoryBuilder {
    network: Address,
    owner: Address,
    clusters: std::collections::BTreeMap<Vec<u64>, Cluster>,
    logs: Vec<Log>,
}

impl HistoryBuilder {
    pub(crate) fn new(network: Address, owner: Address) -> Self {
        Self {
            network,
            owner,
            clusters: Default::default(),
            logs: Vec::new(),
        }
    }

    fn cluster(&mut self, ids: &[u64]) -> &mut Cluster {
        self.clusters
            .entry(ids.to_vec())
            .or_insert_with(Cluster::empty)
    }

    /// A `ValidatorAdded` for `ids` at `block` (log index: the events already in that block).
    pub(crate) fn added(&mut self, block: u64, ids: &[u64]) {
        let n = self.logs.len() as u64;
        let cluster = {
            let c = self.cluster(ids);
            c.validatorCount += 1;
            c.clone()
        };
        let data = SSVNetwork::ValidatorAdded {
            owner: self.owner,
            operatorIds: ids.to_vec(),
            publicKey: Bytes::from(n.to_be_bytes().repeat(6)),
            shares: Bytes::from(vec![0u8; 96 + 304 * ids.len()]),
            cluster,
        }
        .encode_log_data();
        self.push(block, data);
    }

    /// A `ClusterDeposited` of `wei` for `ids` at `block`.
    pub(crate) fn deposited(&mut self, block: u64, ids: &[u64], wei: u64) {
        let cluster = {
            let c = self.cluster(ids);
            c.balance += U256::from(wei);
            c.clone()
        };
        let data = SSVNetwork::ClusterDeposited {
            owner: self.owner,
            operatorIds: ids.to_vec(),
            value: U256::from(wei),
            cluster,
        }
        .encode_log_data();
        self.push(block, data);
    }

    fn push(&mut self, block: u64, data: alloy::primitives::LogData) {
        let in_block = self
            .logs
            .iter()
            .rev()
            .take_while(|l| l.block_number == Some(block))
            .count() as u64;
        assert!(
            self.logs
                .last()
                .is_none_or(|l| l.block_number <= Some(block)),
            "events are added oldest first"
        );
        self.logs.push(Log {
            inner: alloy::primitives::Log {
                address: self.network,
                data,
            },
            block_number: Some(block),
            block_hash: Some(B256::from(U256::from(block))),
            transaction_hash: Some(B256::from(U256::from(block * 16 + in_block))),
            transaction_index: Some(in_block),
            log_index: Some(in_block),
            ..Default::default()
        });
    }

    /// The owner nonce the chain would report: every `ValidatorAdded`.
    pub(crate) fn nonce(&self) -> u64 {
        self.logs
            .iter()
            .filter(|l| l.topic0() == Some(&SSVNetwork::ValidatorAdded::SIGNATURE_HASH))
            .count() as u64
    }

    /// The snapshot of `ids` after the last event.
    pub(crate) fn snapshot(&self, ids: &[u64]) -> Option<Cluster> {
        self.clusters.get(ids).cloned()
    }

    pub(crate) fn build(&self, chain_id: u64, head: u64) -> History {
        History {
            chain_id,
            head,
            logs: self.logs.clone(),
        }
    }
}

struct State {
    history: History,
    /// Each log as JSON, encoded once (the answers are built from these).
    encoded: Vec<Value>,
    faults: Faults,
    requests: AtomicU64,
    get_logs: AtomicU64,
    window: Mutex<(Instant, u64)>,
    seed: Mutex<u64>,
    answered: Mutex<Vec<(u64, u64)>>,
}

/// A running simulated provider.
pub(crate) struct SimRpc {
    pub(crate) url: String,
    state: Arc<State>,
}

impl SimRpc {
    /// HTTP requests received (a batch counts once).
    pub(crate) fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// The `eth_getLogs` ranges answered with logs (not refused, not hung), in answer order.
    pub(crate) fn answered_ranges(&self) -> Vec<(u64, u64)> {
        self.state.answered.lock().unwrap().clone()
    }

    /// Forgets the answered ranges.
    pub(crate) fn clear_answered(&self) {
        self.state.answered.lock().unwrap().clear();
    }
}

/// Whether `ranges` cover `[from, to]` with no gap.
pub(crate) fn covers(ranges: &[(u64, u64)], from: u64, to: u64) -> bool {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut next = from;
    for (a, b) in sorted {
        if a > next {
            return false;
        }
        next = next.max(b.saturating_add(1));
    }
    next > to
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

fn topics(v: &Value) -> Vec<B256> {
    match v {
        Value::Array(a) => a.iter().filter_map(|t| t.as_str()?.parse().ok()).collect(),
        Value::String(t) => t.parse().into_iter().collect(),
        _ => Vec::new(),
    }
}

fn get_logs(s: &State, id: &Value, filter: &Value) -> Value {
    let (from, to) = (hex_u64(&filter["fromBlock"]), hex_u64(&filter["toBlock"]));
    let limit = s.faults.range_limit;
    if limit > 0 && to >= from && to - from + 1 > limit {
        let msg = format!(
            "Log response size exceeded. You can make eth_getLogs requests with up to a {limit} block range"
        );
        return rpc_error(id, -32602, &msg);
    }
    let (topic0, topic1) = (topics(&filter["topics"][0]), topics(&filter["topics"][1]));
    let logs: Vec<Value> = s
        .history
        .logs
        .iter()
        .zip(&s.encoded)
        .filter(|(l, _)| {
            let b = l.block_number.unwrap_or(0);
            let t = l.topics();
            b >= from
                && b <= to
                && (topic0.is_empty() || t.first().is_some_and(|x| topic0.contains(x)))
                && (topic1.is_empty() || t.get(1).is_some_and(|x| topic1.contains(x)))
        })
        .map(|(_, json)| json.clone())
        .collect();
    rpc_result(id, Value::Array(logs))
}

fn answer(s: &State, req: &Value) -> Value {
    let id = &req["id"];
    match req["method"].as_str().unwrap_or("") {
        "eth_chainId" => rpc_result(id, json!(format!("0x{:x}", s.history.chain_id))),
        "eth_blockNumber" => rpc_result(id, json!(format!("0x{:x}", s.history.head))),
        "eth_getLogs" => get_logs(s, id, &req["params"][0]),
        other => rpc_error(id, -32601, &format!("method {other} not served")),
    }
}

/// Whether this request is refused with 429.
fn too_many(s: &State, n: u64) -> bool {
    if s.faults.too_many_every.is_some_and(|k| n % k == k - 1) {
        return true;
    }
    let Some(limit) = s.faults.per_second else {
        return false;
    };
    let mut w = s.window.lock().unwrap();
    if w.0.elapsed() >= Duration::from_secs(1) {
        *w = (Instant::now(), 0);
    }
    w.1 += 1;
    w.1 > limit
}

/// The next pseudo-random number (xorshift; reproducible from the fixed seed).
fn next_random(s: &State) -> u64 {
    let mut x = s.seed.lock().unwrap();
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// How long to wait before answering `parsed`, and whether its log ranges count as answered.
fn delay(s: &State, parsed: &Value) -> (Duration, bool) {
    let mut wait = s.faults.latency;
    let jitter = s.faults.jitter.as_micros() as u64;
    if jitter > 0 {
        wait += Duration::from_micros(next_random(s) % jitter);
    }
    let is_logs = |r: &Value| r["method"] == "eth_getLogs";
    let logs_calls = match parsed {
        Value::Array(rs) => rs.iter().filter(|r| is_logs(r)).count() as u64,
        r => u64::from(is_logs(r)),
    };
    let mut hangs = false;
    for _ in 0..logs_calls {
        let n = s.get_logs.fetch_add(1, Ordering::Relaxed);
        hangs |= s.faults.hang_every.is_some_and(|k| n % k == k - 1);
    }
    if hangs {
        wait += s.faults.hang;
    }
    (wait, hangs)
}

fn record_answered(s: &State, parsed: &Value, out: &Value) {
    let pairs: Vec<(&Value, &Value)> = match (parsed, out) {
        (Value::Array(rs), Value::Array(os)) => rs.iter().zip(os).collect(),
        (r, o) => vec![(r, o)],
    };
    let mut answered = s.answered.lock().unwrap();
    for (r, o) in pairs {
        if r["method"] == "eth_getLogs" && o.get("result").is_some() {
            let f = &r["params"][0];
            answered.push((hex_u64(&f["fromBlock"]), hex_u64(&f["toBlock"])));
        }
    }
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
    let n = s.requests.fetch_add(1, Ordering::Relaxed);
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (wait, hangs) = delay(&s, &parsed);
    tokio::time::sleep(wait).await;
    if too_many(&s, n) {
        let r = Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header("retry-after", "1")
            .body(Full::new("Too Many Requests".into()))
            .unwrap();
        return Ok(r);
    }
    let out = match &parsed {
        Value::Array(reqs) => {
            let mut outs: Vec<Value> = reqs.iter().map(|r| answer(&s, r)).collect();
            if !hangs {
                record_answered(&s, &parsed, &Value::Array(outs.clone()));
            }
            if s.faults.reverse_batches {
                outs.reverse();
            }
            Value::Array(outs)
        }
        r => {
            let out = answer(&s, r);
            if !hangs {
                record_answered(&s, r, &out);
            }
            out
        }
    };
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(serde_json::to_vec(&out).unwrap().into()))
        .unwrap())
}

/// Serves `history` with `faults` on a loopback port until the runtime ends.
pub(crate) async fn serve(history: History, faults: Faults) -> SimRpc {
    let state = Arc::new(State {
        encoded: history
            .logs
            .iter()
            .map(|l| serde_json::to_value(l).unwrap())
            .collect(),
        history,
        faults,
        requests: AtomicU64::new(0),
        get_logs: AtomicU64::new(0),
        window: Mutex::new((Instant::now(), 0)),
        seed: Mutex::new(0x9E37_79B9_7F4A_7C15),
        answered: Mutex::new(Vec::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
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
    SimRpc {
        url: format!("http://{addr}"),
        state,
    }
}
