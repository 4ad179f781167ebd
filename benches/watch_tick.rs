//! Benchmark: one watch tick over 1 000 clusters of one owner, and over 10 000 clusters of 100
//! owners, on the devnet (anvil + the SSVNetwork double + the Multicall3 double). Each is read
//! three ways in the same run: Multicall3 with carried readings (the default: a cluster with no
//! event and unchanged fees is not read again), Multicall3 reading every cluster each tick
//! (`Watcher::with_carried_readings(false)`), and plain JSON-RPC batches
//! (`Chain::with_multicall(false)`, the read path before Multicall3); the 1 000-cluster case
//! also against reading the same values with one call each. Round trips are counted by a loopback HTTP proxy in front of
//! anvil (every request that crosses it), independently of the watcher's own count; the peak RSS
//! of a tick is the process's VmHWM after resetting it (`/proc/self/clear_refs` = 5) before the tick.
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
    primitives::{Address, B256, Bytes, U256, keccak256},
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

/// Clusters of the one-owner case (all 13 operators: the 715 four-operator sets, then seven).
const ONE_OWNER_CLUSTERS: usize = 1_000;
/// Owners of the many-owner case, each with this many clusters of the 11 public operators.
const OWNERS: usize = 100;
const CLUSTERS_PER_OWNER: usize = 100;
/// JSON-RPC requests per batch during setup (anvil refuses request bodies above a few MB).
const SETUP_BATCH: usize = 200;
/// Registrations queued before mining them (a block holds all of them: the setup raises the
/// block gas limit).
const MINE_ROUND: usize = 400;

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

/// Sends `(method, params)` requests to `url` in JSON-RPC batches of [`SETUP_BATCH`] (plain HTTP,
/// so a missing or failed answer is shown as anvil sent it); the results in order.
async fn batch_raw(
    url: &str,
    method: &'static str,
    params: Vec<serde_json::Value>,
) -> Vec<serde_json::Value> {
    let http = reqwest::Client::new();
    let mut out = Vec::with_capacity(params.len());
    for chunk in params.chunks(SETUP_BATCH) {
        let body: Vec<serde_json::Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, p)| serde_json::json!({"jsonrpc": "2.0", "id": i, "method": method, "params": p}))
            .collect();
        let answer: serde_json::Value = http
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("setup batch sent")
            .json()
            .await
            .expect("setup batch answered with JSON");
        let serde_json::Value::Array(answers) = answer else {
            panic!(
                "{method}: anvil answered the batch with {answer} (first request: {})",
                body[0]
            );
        };
        let mut results = vec![serde_json::Value::Null; chunk.len()];
        for a in answers {
            let i = a["id"].as_u64().expect("an id") as usize;
            assert!(
                a.get("error").is_none(),
                "{method} {}: {}",
                chunk[i],
                a["error"]
            );
            results[i] = a["result"].clone();
        }
        out.extend(results);
    }
    out
}

/// One cluster to register: owner, operators, and a unique public key index.
struct Registration {
    owner: Address,
    ids: Vec<u64>,
    key: u64,
}

/// Registers every cluster (one validator each, 0.01 ETH) with automine off: in rounds of
/// [`MINE_ROUND`], the transactions are queued with their nonces (sent by anvil for the unlocked
/// or impersonated owner, in JSON-RPC batches), then mined until the pool is empty; every receipt
/// must succeed. The block gas limit is raised for the setup only, so one block holds a round.
async fn register_all(d: &Devnet, regs: &[Registration]) {
    let p = d.provider();
    let t = Instant::now();
    let _: serde_json::Value = p
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let _: serde_json::Value = p
        .raw_request(
            "evm_setBlockGasLimit".into(),
            (U256::from(1_000_000_000u64),),
        )
        .await
        .unwrap();
    let mut nonces: std::collections::HashMap<Address, u64> = Default::default();
    let mut txs = Vec::with_capacity(regs.len());
    for r in regs {
        let nonce = match nonces.get_mut(&r.owner) {
            Some(n) => n,
            None => {
                let n = p.get_transaction_count(r.owner).await.unwrap();
                nonces.entry(r.owner).or_insert(n)
            }
        };
        let mut pk = vec![0xa0u8; 48];
        pk[40..48].copy_from_slice(&r.key.to_be_bytes());
        let call = SSVNetwork::registerValidatorCall {
            publicKey: Bytes::from(pk),
            operatorIds: r.ids.clone(),
            // The contract does not read sharesData; only its length matters to nodes.
            sharesData: Bytes::from(vec![0u8; 96 + 304 * r.ids.len()]),
            cluster: Cluster::empty(),
        };
        let tx = TransactionRequest::default()
            .with_from(r.owner)
            .with_to(d.profile().ssv_network)
            .with_input(call.abi_encode())
            .with_value(U256::from(10u64).pow(U256::from(16)))
            .with_nonce(*nonce)
            .with_gas_limit(1_500_000)
            .with_max_fee_per_gas(100_000_000_000)
            .with_max_priority_fee_per_gas(1_000_000_000);
        *nonce += 1;
        txs.push(serde_json::json!([tx]));
    }
    // In rounds: anvil's pool slows down sharply with thousands of pending transactions.
    let mut hashes: Vec<B256> = Vec::with_capacity(txs.len());
    let mut blocks = 0u64;
    let mut queueing = std::time::Duration::ZERO;
    for round in txs.chunks(MINE_ROUND) {
        let q = Instant::now();
        hashes.extend(
            batch_raw(d.rpc_url(), "eth_sendTransaction", round.to_vec())
                .await
                .into_iter()
                .map(|v| serde_json::from_value::<B256>(v).expect("a transaction hash")),
        );
        queueing += q.elapsed();
        loop {
            let status: serde_json::Value =
                p.raw_request("txpool_status".into(), ()).await.unwrap();
            let pending = u64::from_str_radix(
                status["pending"]
                    .as_str()
                    .unwrap_or("0x0")
                    .trim_start_matches("0x"),
                16,
            )
            .unwrap_or(0);
            if pending == 0 {
                break;
            }
            d.mine(1).await.unwrap();
            blocks += 1;
        }
    }
    let _: serde_json::Value = p
        .raw_request("evm_setBlockGasLimit".into(), (U256::from(30_000_000u64),))
        .await
        .unwrap();
    let _: serde_json::Value = p
        .raw_request("evm_setAutomine".into(), (true,))
        .await
        .unwrap();
    // Receipts by block (`eth_getBlockReceipts`): anvil rebuilds a block's receipts for each
    // `eth_getTransactionReceipt`, which is quadratic in blocks of hundreds of transactions.
    let mined = p.get_block_number().await.unwrap();
    let receipts: Vec<serde_json::Value> = batch_raw(
        d.rpc_url(),
        "eth_getBlockReceipts",
        (mined + 1 - blocks..=mined)
            .map(|b| serde_json::json!([format!("{b:#x}")]))
            .collect(),
    )
    .await
    .into_iter()
    .flat_map(|v| v.as_array().cloned().unwrap_or_default())
    .collect();
    let by_hash: std::collections::HashMap<String, String> = receipts
        .iter()
        .map(|r| {
            (
                r["transactionHash"]
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase(),
                r["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (r, h) in regs.iter().zip(&hashes) {
        assert_eq!(
            by_hash.get(&format!("{h:#x}")).map(String::as_str),
            Some("0x1"),
            "registration of {:?} by {} not mined or failed: {h}",
            r.ids,
            r.owner
        );
    }
    eprintln!(
        "setup: {} clusters of {} owner(s) registered in {:.1} s ({:.1} s queueing, {blocks} blocks; head {})",
        regs.len(),
        nonces.len(),
        t.elapsed().as_secs_f64(),
        queueing.as_secs_f64(),
        p.get_block_number().await.unwrap()
    );
}

/// The many-owner case's owners: fresh addresses, funded and impersonated on anvil.
async fn fund_owners(d: &Devnet, n: usize) -> Vec<Address> {
    let p = d.provider();
    let owners: Vec<Address> = (0..n as u64)
        .map(|i| Address::from_word(keccak256(format!("watch_tick owner {i}"))))
        .collect();
    let _: serde_json::Value = p
        .raw_request("anvil_autoImpersonateAccount".into(), (true,))
        .await
        .unwrap();
    let ten_eth = U256::from(10u64).pow(U256::from(19));
    batch_raw(
        d.rpc_url(),
        "anvil_setBalance",
        owners
            .iter()
            .map(|o| serde_json::json!([o, ten_eth]))
            .collect(),
    )
    .await;
    owners
}

/// A `/proc/self/status` figure in kB (`VmHWM`, `VmRSS`).
fn status_kb(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) this process has used, from `/proc/self/stat`: against a tick's
/// wall time it tells the agent's share from the node's (anvil runs in another process).
fn cpu_time() -> std::time::Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    std::time::Duration::from_millis(ticks * 10)
}

/// Resets the peak RSS to the current RSS (Linux 4.0+), so VmHWM afterwards is a section's peak.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// One measured tick.
struct Measured {
    trips: u64,
    own_count: u64,
    wall: std::time::Duration,
    cpu: std::time::Duration,
    rss_before_kb: u64,
    peak_kb: u64,
}

async fn measured_tick(w: &mut Watcher, requests: &AtomicU64, clusters: usize) -> Measured {
    let rss_before_kb = status_kb("VmRSS");
    reset_peak_rss();
    let before = requests.load(Ordering::Relaxed);
    let cpu_before = cpu_time();
    let t = Instant::now();
    let r = w.tick().await.expect("tick");
    let wall = t.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    let peak_kb = status_kb("VmHWM");
    let trips = requests.load(Ordering::Relaxed) - before;
    assert_eq!(
        r.clusters.len(),
        clusters,
        "every cluster read ({} without events, {} errors, first: {:?})",
        r.missing.len(),
        r.errors.len(),
        r.errors.first()
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors.first());
    assert!(r.clusters.iter().all(|c| c.active && c.validators == 1));
    assert!(
        r.topups.is_empty(),
        "the benchmark sends nothing (caps are 0)"
    );
    Measured {
        trips,
        own_count: r.round_trips,
        wall,
        cpu,
        rss_before_kb,
        peak_kb,
    }
}

fn policy() -> WatchPolicy {
    // Caps 0: a short cluster would be reported as capped, nothing is ever sent.
    WatchPolicy {
        floor_days: 1,
        target_days: 2,
        max_per_tx: U256::ZERO,
        max_per_day: U256::ZERO,
        reactivate: false,
    }
}

/// A read path: the chain connection (Multicall3 or plain batches) and whether the watcher
/// carries exact readings forward.
struct ReadPath<'a> {
    name: &'a str,
    chain: &'a Chain,
    carry: bool,
}

/// Cold, warm, then three more warm ticks (RSS after each: growth per tick) of one read path;
/// 5 blocks are mined before each warm tick, as a 60 s tick interval sees on mainnet.
async fn scenario(
    name: &str,
    path: &ReadPath<'_>,
    d: &Devnet,
    watched: &[(Address, Vec<u64>)],
    requests: &AtomicU64,
    rows: &mut Vec<(String, Measured)>,
) {
    let state = tempfile::tempdir().unwrap();
    let mut w = Watcher::new(
        path.chain.clone(),
        policy(),
        watched.to_vec(),
        Ledger::open(state.path()).unwrap(),
        Metrics::shared(),
    )
    .with_carried_readings(path.carry);
    let path = path.name;
    for tick in ["cold", "warm"] {
        if tick == "warm" {
            d.mine(5).await.expect("mine");
        }
        let m = measured_tick(&mut w, requests, watched.len()).await;
        println!(
            "| {name} | {path} | {tick} | {} | {} | {:.0} ms | {:.0} ms | {:.1} MB | {:.1} MB |",
            m.trips,
            m.own_count,
            m.wall.as_secs_f64() * 1e3,
            m.cpu.as_secs_f64() * 1e3,
            m.peak_kb as f64 / 1024.0,
            m.rss_before_kb as f64 / 1024.0,
        );
        rows.push((format!("{name}, {path}, {tick}"), m));
    }
    let mut rss = Vec::new();
    for _ in 0..3 {
        d.mine(5).await.expect("mine");
        measured_tick(&mut w, requests, watched.len()).await;
        rss.push(status_kb("VmRSS"));
    }
    eprintln!(
        "{name}, {path}: VmRSS after three more warm ticks (MB): {}",
        rss.iter()
            .map(|k| format!("{:.1}", *k as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// Baseline: the same values with one eth_call each (snapshots taken as known, which favours it).
async fn one_call_per_value(
    d: &Devnet,
    chain: &Chain,
    owner: Address,
    sets: &[Vec<u64>],
    requests: &AtomicU64,
) {
    let views = SSVNetworkViews::new(d.profile().ssv_views, chain.provider());
    let mut snaps = Vec::with_capacity(sets.len());
    for ids in sets {
        snaps.push(
            chain
                .cluster_snapshot(owner, ids)
                .await
                .unwrap()
                .expect("cluster exists"),
        );
    }
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
        "| 1 000 clusters, 1 owner | one call per value (head, 3 parameters, balance + burn rate per cluster; snapshots given) | - | {trips} | - | {:.0} ms | - | - | - |",
        wall.as_secs_f64() * 1e3
    );
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

    // One owner: the whitelisted account may use the private operators too, so all 13 are
    // available: the 715 four-operator clusters, then seven-operator ones up to 1 000.
    let owner: Address = dev_account(WHITELISTED_ACCOUNT).address();
    let mut sets = combinations(13, 4);
    sets.extend(combinations(13, 7));
    sets.truncate(ONE_OWNER_CLUSTERS);
    let mut regs: Vec<Registration> = sets
        .iter()
        .enumerate()
        .map(|(n, ids)| Registration {
            owner,
            ids: ids.clone(),
            key: n as u64,
        })
        .collect();
    // Many owners: each takes 100 of the 330 four-operator sets of the public operators 1..=11,
    // starting at a different offset so the load spreads over the operators.
    let owners = fund_owners(&d, OWNERS).await;
    let public = combinations(11, 4);
    for (k, o) in owners.iter().enumerate() {
        for j in 0..CLUSTERS_PER_OWNER {
            regs.push(Registration {
                owner: *o,
                ids: public[(k * CLUSTERS_PER_OWNER + j) % public.len()].clone(),
                key: regs.len() as u64,
            });
        }
    }
    register_all(&d, &regs).await;
    let one_owner: Vec<(Address, Vec<u64>)> = regs[..ONE_OWNER_CLUSTERS]
        .iter()
        .map(|r| (r.owner, r.ids.clone()))
        .collect();
    let many_owners: Vec<(Address, Vec<u64>)> = regs[ONE_OWNER_CLUSTERS..]
        .iter()
        .map(|r| (r.owner, r.ids.clone()))
        .collect();

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
    let plain = chain.clone().with_multicall(false);

    println!(
        "| clusters | read path | tick | JSON-RPC round trips (proxy) | watcher's own count | wall time | agent CPU in the tick | peak RSS in the tick (VmHWM) | RSS before |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for (name, watched) in [
        ("1 000 clusters, 1 owner", &one_owner),
        ("10 000 clusters, 100 owners", &many_owners),
    ] {
        for path in [
            ReadPath {
                name: "Multicall3, carried readings (new)",
                chain: &chain,
                carry: true,
            },
            ReadPath {
                name: "Multicall3, every cluster read each tick (before)",
                chain: &chain,
                carry: false,
            },
            ReadPath {
                name: "plain JSON-RPC batches, every cluster read (old)",
                chain: &plain,
                carry: false,
            },
        ] {
            scenario(name, &path, &d, watched, &requests, &mut rows).await;
        }
    }
    one_call_per_value(&d, &chain, owner, &sets, &requests).await;

    println!();
    for (label, m) in &rows {
        println!(
            "target (< 2 s and < 20 round trips) {label}: {} ({} trips, {:.2} s)",
            if m.trips < 20 && m.wall.as_secs_f64() < 2.0 {
                "met"
            } else {
                "MISSED"
            },
            m.trips,
            m.wall.as_secs_f64()
        );
    }
}
