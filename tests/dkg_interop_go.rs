//! Interop with the real Go ssv-dkg v3.1.0 on loopback: the Rust initiator with 4 Go operators,
//! and the Go initiator with 4 Rust operators. Needs `.cache/bin/ssv-dkg`
//! (`scripts/install-ssv-dkg.sh`); the tests FAIL when it is missing.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::address;
use ssv_agent::crypto::rsa_keys::OperatorPrivateKey;
use ssv_agent::dkg::initiator::{CeremonyRequest, ClientTls, Initiator, OperatorInfo};
use ssv_agent::dkg::operator::{OperatorState, TlsMaterial, serve};
use ssv_agent::dkg::verify::{VerifyExpectations, verify_ceremony_dir};

const IDS: [u64; 4] = [11, 22, 33, 44];

fn go_binary() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/bin/ssv-dkg");
    assert!(
        p.exists(),
        "Go ssv-dkg not found at {}: run scripts/install-ssv-dkg.sh (needs Go >= 1.25.9, gcc and the Go module proxy)",
        p.display()
    );
    p
}

fn example(op: usize, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../shared/vectors/ssv-dkg/examples/operator{op}/{file}"
    ))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn operator_keys() -> Vec<OperatorPrivateKey> {
    (1..=4)
        .map(|i| {
            OperatorPrivateKey::read_keystore_files(
                &example(i, "encrypted_private_key.json"),
                &example(i, "password"),
            )
            .expect("example operator keystore decrypts")
        })
        .collect()
}

fn expectations(validators: usize) -> VerifyExpectations {
    VerifyExpectations {
        validators: Some(validators),
        owner: Some(address!("DCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9")),
        nonce: Some(1),
        withdraw_address: Some(address!("81592c3de184a3e2c0dcb5a261bc107bfa91f494")),
        amount_gwei: Some(32_000_000_000),
        network: Some("mainnet".into()),
        operator_ids: Some(IDS.to_vec()),
    }
}

fn go_verify(bin: &Path, dir: &Path, validators: usize) {
    let st = Command::new(bin)
        .args(["verify", "--ceremonyDir"])
        .arg(dir)
        .args([
            "--validators",
            &validators.to_string(),
            "--owner",
            "0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9",
        ])
        .args([
            "--nonce",
            "1",
            "--withdrawAddress",
            "0x81592c3de184a3e2c0dcb5a261bc107bfa91f494",
        ])
        .status()
        .expect("run ssv-dkg verify");
    assert!(st.success(), "Go ssv-dkg verify rejected {}", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_initiator_with_four_go_operators() {
    let bin = go_binary();
    let work = tempfile::tempdir().expect("tmp");
    let tls = TlsMaterial::self_signed(&[]).expect("cert");
    std::fs::write(work.path().join("tls.crt"), &tls.cert_pem).expect("cert file");
    std::fs::write(work.path().join("tls.key"), tls.key_pem.as_bytes()).expect("key file");
    let keys = operator_keys();
    let mut procs = Vec::new();
    let mut infos = Vec::new();
    for (i, id) in IDS.iter().enumerate() {
        let port = free_port();
        std::fs::copy(
            example(i + 1, "encrypted_private_key.json"),
            work.path().join(format!("k{i}.json")),
        )
        .expect("copy");
        std::fs::copy(
            example(i + 1, "password"),
            work.path().join(format!("p{i}")),
        )
        .expect("copy");
        // ssv-dkg v3 accepts only relative, non-escaping paths: run inside the work dir.
        let child = Command::new(&bin)
            .current_dir(work.path())
            .args([
                "start-operator",
                "--privKey",
                &format!("./k{i}.json"),
                "--privKeyPassword",
                &format!("./p{i}"),
            ])
            .args(["--port", &port.to_string(), "--operatorID", &id.to_string()])
            .args([
                "--serverTLSCertPath",
                "./tls.crt",
                "--serverTLSKeyPath",
                "./tls.key",
            ])
            .args([
                "--outputPath",
                &format!("./out{i}"),
                "--logFilePath",
                &format!("./op{i}.log"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Go operator");
        procs.push(Kill(child));
        infos.push(OperatorInfo {
            id: *id,
            key: keys[i].public_key().clone(),
            url: format!("https://127.0.0.1:{port}"),
        });
    }
    let init = Arc::new(
        Initiator::new(
            infos,
            &ClientTls {
                ca_certs_pem: vec![],
                insecure: true,
            },
        )
        .expect("init"),
    );
    // Wait for the Go operators to listen.
    for _ in 0..50 {
        if init.ping().await.iter().all(|(_, r)| r.is_ok()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let req = CeremonyRequest {
        owner: address!("DCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9"),
        nonce: 1,
        withdraw_address: address!("81592c3de184a3e2c0dcb5a261bc107bfa91f494"),
        compounding: false,
        amount_gwei: 32_000_000_000,
        network_name: "mainnet".into(),
        fork_version: [0; 4],
        validators: 1,
    };
    let out = work.path().join("initiator-out");
    let dir = init
        .run_and_write(&req, &out)
        .await
        .expect("ceremony with Go operators");
    verify_ceremony_dir(&dir, &expectations(1)).expect("Rust verify");
    go_verify(&bin, &dir, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_initiator_with_four_rust_operators() {
    let bin = go_binary();
    let work = tempfile::tempdir().expect("tmp");
    let tls = TlsMaterial::self_signed(&[]).expect("cert");
    let mut servers = Vec::new();
    let mut info = Vec::new();
    for (i, key) in operator_keys().into_iter().enumerate() {
        let public = key.public_key().to_base64_pem().to_string();
        let state = Arc::new(OperatorState::new(IDS[i], key, "v3.1.0".into()));
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let s = serve(state, addr, &tls).await.expect("serve");
        info.push(serde_json::json!({"id": IDS[i], "public_key": public, "ip": s.url()}));
        servers.push(s);
    }
    std::fs::write(
        work.path().join("operators_info.json"),
        serde_json::to_vec(&info).expect("json"),
    )
    .expect("write");
    let status = tokio::task::spawn_blocking({
        let bin = bin.clone();
        let cwd = work.path().to_path_buf();
        move || {
            Command::new(bin)
                .current_dir(cwd)
                .args([
                    "init",
                    "--operatorIDs",
                    "11,22,33,44",
                    "--operatorsInfoPath",
                    "./operators_info.json",
                ])
                .args([
                    "--owner",
                    "0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9",
                    "--nonce",
                    "1",
                ])
                .args([
                    "--withdrawAddress",
                    "0x81592c3de184a3e2c0dcb5a261bc107bfa91f494",
                    "--network",
                    "mainnet",
                ])
                .args([
                    "--outputPath",
                    "./out",
                    "--tlsInsecure",
                    "--logFilePath",
                    "./init.log",
                ])
                .status()
        }
    })
    .await
    .expect("join")
    .expect("run Go initiator");
    assert!(
        status.success(),
        "Go initiator failed with Rust operators (see init.log)"
    );
    let ceremony = std::fs::read_dir(work.path().join("out"))
        .expect("out dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ceremony-"))
        })
        .expect("ceremony folder");
    verify_ceremony_dir(&ceremony, &expectations(1)).expect("Rust verify of Go initiator output");
    go_verify(&bin, &ceremony, 1);
    drop(servers);
}
