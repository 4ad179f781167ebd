//! Benchmark: owner-nonce and cluster-snapshot reconstruction over 100 000 blocks holding 10 000
//! `ValidatorAdded` events, on the devnet. Prints `eth_getLogs` calls and wall time per setting.
//! Run: `cargo bench --bench chain_scan` (needs `cd anvil && npm ci`).

use std::time::Instant;

use alloy::{
    network::TransactionBuilder,
    primitives::{Bytes, U256},
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use ssv_agent::{
    chain::{
        Chain,
        contracts::{Cluster, SSVNetwork},
        reads::decode_cluster_log,
        send::send,
    },
    devnet::{Devnet, DevnetOptions, DevnetSSVNetwork, STAKER_ACCOUNT, dev_account},
};

const OPS: [u64; 4] = [1, 2, 3, 4];
const BATCHES: u64 = 125;
const PER_BATCH: u64 = 80;
const BLOCKS: u64 = 100_000;

#[tokio::main]
async fn main() {
    let d = Devnet::start(DevnetOptions {
        operators: 4,
        ..Default::default()
    })
    .await
    .expect("devnet");
    let dao = dev_account(0).address();
    DevnetSSVNetwork::new(d.profile().ssv_network, d.provider())
        .devnetSetValidatorsPerOperatorLimit(100_000)
        .from(dao)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let chain = Chain::connect(d.rpc_url(), d.profile(), Some(dev_account(STAKER_ACCOUNT)))
        .await
        .unwrap();
    let owner = chain.signer_address().unwrap();
    let start_block = chain.head().await.unwrap();
    let t = Instant::now();
    let mut cluster = Cluster::empty();
    for b in 0..BATCHES {
        let keys: Vec<Bytes> = (0..PER_BATCH)
            .map(|i| {
                let n = b * PER_BATCH + i;
                let mut k = vec![0x80u8; 48];
                k[40..48].copy_from_slice(&n.to_be_bytes());
                Bytes::from(k)
            })
            .collect();
        let shares = vec![Bytes::from(vec![0u8; 96 + 304 * 4]); PER_BATCH as usize];
        let call = SSVNetwork::bulkRegisterValidatorCall {
            publicKeys: keys,
            operatorIds: OPS.to_vec(),
            sharesData: shares,
            cluster,
        };
        let value = if b == 0 {
            U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18))
        } else {
            U256::ZERO
        };
        let tx = TransactionRequest::default()
            .with_to(d.profile().ssv_network)
            .with_input(call.abi_encode())
            .with_value(value);
        let (_, receipt) = send(&chain, "bulk", tx, |_| Ok(())).await.unwrap();
        cluster = receipt
            .inner
            .logs()
            .iter()
            .filter_map(decode_cluster_log)
            .last()
            .unwrap()
            .1;
        d.mine(BLOCKS / BATCHES - 1).await.unwrap();
    }
    let head = chain.head().await.unwrap();
    eprintln!(
        "setup: {} events over {} blocks ({}..={head}) in {:.1} s",
        BATCHES * PER_BATCH,
        head - start_block,
        start_block,
        t.elapsed().as_secs_f64()
    );
    println!("| eth_getLogs range | query | result | eth_getLogs calls | wall time |");
    println!("|---|---|---|---|---|");
    for chunk in [50_000u64, 10_000, 2_000] {
        let c = chain.clone().with_log_chunk(chunk);
        let before = c.log_calls();
        let t = Instant::now();
        let nonce = c.owner_nonce(owner).await.unwrap();
        println!(
            "| {chunk} | owner nonce | {nonce} | {} | {:.0} ms |",
            c.log_calls() - before,
            t.elapsed().as_secs_f64() * 1e3
        );
        assert_eq!(nonce, BATCHES * PER_BATCH);
        let before = c.log_calls();
        let t = Instant::now();
        let snap = c.cluster_snapshot(owner, &OPS).await.unwrap();
        println!(
            "| {chunk} | cluster snapshot | {} validators | {} | {:.0} ms |",
            snap.as_ref().map(|s| s.validatorCount).unwrap_or(0),
            c.log_calls() - before,
            t.elapsed().as_secs_f64() * 1e3
        );
        assert_eq!(snap, Some(cluster.clone()));
    }
    let cache = tempfile::tempdir().unwrap();
    let c = chain
        .clone()
        .with_log_chunk(10_000)
        .with_scan_cache(Some(cache.path().to_owned()));
    c.owner_nonce(owner).await.unwrap();
    c.cluster_snapshot(owner, &OPS).await.unwrap();
    d.mine(100).await.unwrap();
    let before = c.log_calls();
    let t = Instant::now();
    let nonce = c.owner_nonce(owner).await.unwrap();
    let snap = c.cluster_snapshot(owner, &OPS).await.unwrap();
    println!(
        "| 10000, cache warm, +100 blocks | nonce + snapshot | {nonce}, {} | {} | {:.0} ms |",
        snap.map(|s| s.validatorCount).unwrap_or(0),
        c.log_calls() - before,
        t.elapsed().as_secs_f64() * 1e3
    );
}
