//! Log scanning against a provider that refuses wide ranges and fails now and then, like hosted RPCs:
//! a loopback proxy in front of the devnet's anvil rejects `eth_getLogs` over more than 200 blocks
//! and answers every 7th request with a transient error. Results must equal the unrestricted scan.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use alloy::{
    network::TransactionBuilder,
    primitives::{Bytes, U256},
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use serde_json::{Value, json};
use ssv_agent::{
    chain::{
        Chain,
        contracts::{Cluster, SSVNetwork},
        reads::decode_cluster_log,
        send::send,
    },
    devnet::{Devnet, DevnetOptions, STAKER_ACCOUNT, dev_account},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

const MAX_RANGE: u64 = 200;

fn block_arg(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

/// Answers one JSON-RPC request: refuse wide log ranges, fail every 7th call, forward the rest.
async fn answer(body: Value, upstream: &str, n: u64) -> Value {
    let id = body["id"].clone();
    if body["method"] == "eth_getLogs" {
        let f = &body["params"][0];
        if let (Some(a), Some(b)) = (block_arg(&f["fromBlock"]), block_arg(&f["toBlock"]))
            && b - a + 1 > MAX_RANGE
        {
            return json!({"jsonrpc":"2.0","id":id,"error":{"code":-32005,"message":format!("query exceeds max block range {MAX_RANGE}")}});
        }
        if n % 7 == 3 {
            return json!({"jsonrpc":"2.0","id":id,"error":{"code":-32603,"message":"upstream timeout"}});
        }
    }
    reqwest::Client::new()
        .post(upstream)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn proxy(upstream: String) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let upstream = upstream.clone();
            let c = c.clone();
            tokio::spawn(async move {
                loop {
                    // Minimal HTTP/1.1: headers, then Content-Length bytes of JSON.
                    let mut buf = Vec::new();
                    let mut byte = [0u8; 1];
                    while !buf.ends_with(b"\r\n\r\n") {
                        if sock.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        buf.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0u8; len];
                    sock.read_exact(&mut body).await.unwrap();
                    let req: Value = serde_json::from_slice(&body).unwrap();
                    let n = c.fetch_add(1, Ordering::Relaxed);
                    let resp = answer(req, &upstream, n).await.to_string();
                    let msg = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{resp}",
                        resp.len()
                    );
                    if sock.write_all(msg.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread")]
async fn scans_survive_range_limits_and_transient_errors() {
    let d = Devnet::start(DevnetOptions {
        operators: 4,
        ..Default::default()
    })
    .await
    .unwrap();
    let direct = Chain::connect(d.rpc_url(), d.profile(), Some(dev_account(STAKER_ACCOUNT)))
        .await
        .unwrap();
    let owner = direct.signer_address().unwrap();
    let ids = vec![1u64, 2, 3, 4];
    let mut cluster = Cluster::empty();
    for i in 0..6u8 {
        let call = SSVNetwork::registerValidatorCall {
            publicKey: Bytes::from(vec![0x90 | i; 48]),
            operatorIds: ids.clone(),
            sharesData: Bytes::from(vec![0u8; 96 + 304 * 4]),
            cluster,
        };
        let tx = TransactionRequest::default()
            .with_to(d.profile().ssv_network)
            .with_input(call.abi_encode())
            .with_value(U256::from(10u64).pow(U256::from(17)));
        let (_, r) = send(&direct, "register", tx, |_| Ok(())).await.unwrap();
        cluster = r
            .inner
            .logs()
            .iter()
            .filter_map(decode_cluster_log)
            .last()
            .unwrap()
            .1;
        d.mine(300).await.unwrap();
    }
    let (url, requests) = proxy(d.rpc_url().to_string()).await;
    // The configured chunk is 50 000 blocks; the proxy forces it down to 200.
    let limited = Chain::connect(&url, d.profile(), None)
        .await
        .unwrap()
        .with_log_chunk(50_000);
    assert_eq!(limited.owner_nonce(owner).await.unwrap(), 6);
    assert_eq!(
        limited.cluster_snapshot(owner, &ids).await.unwrap(),
        Some(cluster)
    );
    assert!(
        limited.log_calls() > 8,
        "range refusals and retries were exercised ({} calls)",
        limited.log_calls()
    );
    assert!(requests.load(Ordering::Relaxed) > 8);
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_endpoints_work_like_http() {
    let d = Devnet::start(DevnetOptions {
        operators: 4,
        ..Default::default()
    })
    .await
    .unwrap();
    let ws = d.rpc_url().replace("http://", "ws://");
    let chain = Chain::connect(&ws, d.profile(), Some(dev_account(STAKER_ACCOUNT)))
        .await
        .unwrap();
    assert_eq!(chain.ssv_version_string().await.unwrap(), "v2.0.0");
    assert_eq!(
        ssv_agent::ssv::views::read_operator(&chain, 1)
            .await
            .unwrap()
            .fee,
        d.operators()[0].fee
    );
    // The signer's key never shows in Debug output.
    let shown = format!("{chain:?}");
    let key = alloy::hex::encode(dev_account(STAKER_ACCOUNT).credential().to_bytes());
    assert!(!shown.contains(&key), "Debug of Chain leaks the key");
}
