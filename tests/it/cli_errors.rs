//! What a person sees when something fails, through the binary: the whole cause chain, and never a
//! secret from an endpoint URL (API keys live in paths and queries).

use std::process::{Command, Output};

fn agent(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssv-agent"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("SSV_AGENT_RPC_URL")
        .env_remove("SSV_AGENT_BEACON_URL")
        .env(
            "SSV_AGENT_PRIVATE_KEY",
            // anvil's public dev key #5; never real money.
            "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
        )
        .output()
        .unwrap()
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config_with(dir: &std::path::Path, rpc: &str, beacon: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "network = \"hoodi\"\n[rpc]\nurl = \"{rpc}\"\n[beacon]\nurl = \"{beacon}\"\n[validators]\nwithdrawal_address = \"0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc\"\noutput_dir = \"{}\"\n",
            dir.join("out").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_failed_deposit_prints_its_cause_chain_and_no_url_secret() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let rpc = format!("http://user:hunter22@127.0.0.1:{port}/v3/RPCKEY1234567?apikey=QUERYKEY99");
    let config = config_with(dir.path(), &rpc, "http://127.0.0.1:1/");
    // Any file will do: the chain is reached before the file is checked.
    let file = dir.path().join("deposit_data.json");
    std::fs::write(&file, "[]").unwrap();
    let o = agent(&config, &["deposit", "--no-beacon", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.matches("caused by:").count() >= 2,
        "the whole chain is printed:\n{err}"
    );
    assert!(
        err.contains("Connection refused") || err.contains("connection refused"),
        "{err}"
    );
    for secret in ["hunter22", "RPCKEY1234567", "QUERYKEY99"] {
        assert!(!err.contains(secret), "{secret} leaked:\n{err}");
    }
}

#[test]
fn a_beacon_url_secret_never_reaches_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let beacon = format!("http://127.0.0.1:{}/BEACONKEY7777/", closed_port());
    let config = config_with(dir.path(), "http://127.0.0.1:1", &beacon);
    let pubkey = format!("0x{}", "a1".repeat(48));
    let o = agent(
        &config,
        &[
            "activation",
            "--outage-secs",
            "2",
            "--poll-secs",
            "1",
            &pubkey,
        ],
    );
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("unreachable"), "{out}");
    assert!(
        !out.contains("BEACONKEY7777"),
        "the beacon key leaked:\n{out}"
    );
}
