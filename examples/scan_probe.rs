//! Measures owner-nonce and cluster-snapshot reconstruction against any hoodi-profile RPC (e.g. a
//! devnet filled by `benches/chain_scan.rs`): `SCAN_RPC=http://127.0.0.1:PORT cargo run --example scan_probe`.

use std::time::Instant;

use ssv_agent::{
    chain::Chain,
    devnet::{STAKER_ACCOUNT, dev_account},
    network::NetworkProfile,
};

#[tokio::main]
async fn main() {
    let url = std::env::var("SCAN_RPC").expect("set SCAN_RPC to the RPC URL");
    let owner = dev_account(STAKER_ACCOUNT).address();
    let base = Chain::connect(&url, &NetworkProfile::hoodi(), None)
        .await
        .expect("connect");
    let head = base.head().await.unwrap();
    println!(
        "head {head}, scanning from {}",
        NetworkProfile::hoodi().registry_sync_offset
    );
    println!("| eth_getLogs range | query | result | eth_getLogs calls | wall time |");
    println!("|---|---|---|---|---|");
    for chunk in [50_000u64, 10_000, 2_000] {
        let c = base.clone().with_log_chunk(chunk);
        let (b, t) = (c.log_calls(), Instant::now());
        let nonce = c.owner_nonce(owner).await.unwrap();
        println!(
            "| {chunk} | owner nonce | {nonce} | {} | {:.0} ms |",
            c.log_calls() - b,
            t.elapsed().as_secs_f64() * 1e3
        );
        let (b, t) = (c.log_calls(), Instant::now());
        let snap = c.cluster_snapshot(owner, &[1, 2, 3, 4]).await.unwrap();
        println!(
            "| {chunk} | cluster snapshot | {} validators | {} | {:.0} ms |",
            snap.map(|s| s.validatorCount).unwrap_or(0),
            c.log_calls() - b,
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}
