//! Wall time and peak memory of Rust-only ceremonies (initiator + operators in this process) for
//! 4/7/10/13 operators x 1 and 100 validators. Run: `cargo run --release --example dkg_bench`.
//! Arguments `<operators> <validators>` run one configuration (peak memory is per process, so run
//! one configuration per process for clean numbers). `dkg_bench_go` runs the same table on a
//! Go-only ssv-dkg cluster. The timer covers the ceremony only (ping to written files), not the
//! operators' key generation and server start.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::address;
use ssv_agent::crypto::rsa_keys::OperatorPrivateKey;
use ssv_agent::dkg::initiator::{CeremonyRequest, ClientTls, Initiator, OperatorInfo};
use ssv_agent::dkg::operator::{OperatorState, TlsMaterial, serve};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn run(n: usize, validators: usize) -> Result<(), Box<dyn std::error::Error>> {
    let tls = TlsMaterial::self_signed(&[])?;
    let mut servers = Vec::new();
    let mut infos = Vec::new();
    for i in 0..n {
        let id = (i as u64 + 1) * 11;
        let key = tokio::task::spawn_blocking(|| OperatorPrivateKey::generate(2048)).await??;
        let public = key.public_key().clone();
        let state = Arc::new(OperatorState::new(id, key, "v3.1.0".into()));
        let addr: SocketAddr = "127.0.0.1:0".parse()?;
        let s = serve(state, addr, &tls).await?;
        infos.push(OperatorInfo {
            id,
            key: public,
            url: s.url(),
        });
        servers.push(s);
    }
    let init = Arc::new(Initiator::new(
        infos,
        &ClientTls {
            ca_certs_pem: vec![],
            insecure: true,
        },
    )?);
    let req = CeremonyRequest {
        owner: address!("DCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9"),
        nonce: 0,
        withdraw_address: address!("81592c3de184a3e2c0dcb5a261bc107bfa91f494"),
        compounding: false,
        amount_gwei: 32_000_000_000,
        network_name: "mainnet".into(),
        fork_version: [0; 4],
        validators,
    };
    let out = tempfile::tempdir()?;
    let t = Instant::now();
    init.run_and_write(&req, out.path()).await?;
    println!(
        "rust cluster: {n:>2} operators x {validators:>3} validators: {:>8.3} s, peak RSS {:.1} MiB",
        t.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let configs: Vec<(usize, usize)> = if args.len() == 2 {
        vec![(args[0], args[1])]
    } else {
        [4, 7, 10, 13]
            .iter()
            .flat_map(|n| [(*n, 1), (*n, 100)])
            .collect()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    for (n, v) in configs {
        rt.block_on(run(n, v))?;
    }
    Ok(())
}
