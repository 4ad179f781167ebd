//! Interop with the real Go ssv-dkg v3.1.0 on loopback, every run with fresh operator keys: the
//! Rust initiator with Go operators, the Go initiator with Rust operators, mixed clusters, 13
//! operators and a bulk ceremony of 10 validators. Each output must pass `dkg::verify`, the Go
//! `ssv-dkg verify` and tests/py/check_ceremony.py (py_ecc).
//!
//! The binary is built from ../shared/peers/ssv-dkg by scripts/test-all.sh (`build.sh`, which
//! exports `SSV_DKG_BIN`); without it every test here FAILS saying how to build it.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::dkg::{
    AMOUNT_GWEI, HOODI_FORK, OWNER, WITHDRAW, cli_verify, expectations, go_ssv_dkg, python_check,
};
use ssv_agent::crypto::keystore::Kdf;
use ssv_agent::crypto::rsa_keys::OperatorPrivateKey;
use ssv_agent::dkg::initiator::{CeremonyRequest, ClientTls, Initiator, OperatorInfo};
use ssv_agent::dkg::operator::{OperatorState, RunningOperator, TlsMaterial, serve};
use ssv_agent::dkg::verify::verify_ceremony_dir;

const VERSION: &str = "v3.1.0";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A Go child process, killed when the test ends (also on panic).
pub(crate) struct GoProcess {
    child: Child,
    log: PathBuf,
}

impl Drop for GoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Impl {
    Go,
    Rust,
}

pub(crate) struct Cluster {
    pub(crate) bin: PathBuf,
    pub(crate) work: tempfile::TempDir,
    pub(crate) infos: Vec<OperatorInfo>,
    pub(crate) go: Vec<GoProcess>,
    pub(crate) rust: Vec<RunningOperator>,
    /// Ids of the Rust operators; each saves accepted `/results` under `work/op<id>-out`.
    rust_ids: Vec<u64>,
}

impl Cluster {
    fn ids(&self) -> Vec<u64> {
        self.infos.iter().map(|o| o.id).collect()
    }

    pub(crate) fn go_logs(&self) -> String {
        self.go
            .iter()
            .map(|g| format!("--- {}\n{}", g.log.display(), tail(&g.log, 8)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Starts one operator per id, of the given implementations, each with a fresh RSA-2048 key.
async fn start_cluster(ids: &[u64], kinds: &[Impl]) -> Cluster {
    start_cluster_eth(ids, kinds, None).await
}

/// [`start_cluster`] with the operators' execution RPC (`ethEndpointURL`), which Go operators
/// need for resign/reshare owner checks.
pub(crate) async fn start_cluster_eth(ids: &[u64], kinds: &[Impl], eth: Option<&str>) -> Cluster {
    assert_eq!(ids.len(), kinds.len());
    let bin = go_ssv_dkg();
    let work = tempfile::tempdir().expect("tmp");
    let tls = TlsMaterial::self_signed(&[]).expect("cert");
    // ssv-dkg v3 accepts only relative, non-escaping paths: Go processes run inside `work`.
    std::fs::write(work.path().join("tls.crt"), &tls.cert_pem).expect("cert file");
    std::fs::write(work.path().join("tls.key"), tls.key_pem.as_bytes()).expect("key file");
    let mut cluster = Cluster {
        bin,
        work,
        infos: Vec::new(),
        go: Vec::new(),
        rust: Vec::new(),
        rust_ids: Vec::new(),
    };
    for (&id, &kind) in ids.iter().zip(kinds) {
        let key = tokio::task::spawn_blocking(|| OperatorPrivateKey::generate(2048))
            .await
            .expect("join")
            .expect("rsa key");
        let public = key.public_key().clone();
        let url = match kind {
            Impl::Rust => {
                let out = cluster.work.path().join(format!("op{id}-out"));
                let mut state = OperatorState::new(id, key, VERSION.into()).with_output_path(out);
                if let Some(url) = eth {
                    state = state.with_eth_rpc(url.parse().expect("eth url"));
                }
                let state = Arc::new(state);
                let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
                let s = serve(state, addr, &tls).await.expect("serve");
                let url = s.url();
                cluster.rust.push(s);
                cluster.rust_ids.push(id);
                url
            }
            Impl::Go => {
                let dir = cluster.work.path();
                let password = format!("pw-{id}");
                let key_file = dir.join(format!("key{id}.json"));
                // Written by our keystore code in the SSV operator key format, read by Go's.
                key.write_keystore_file(&key_file, &password, Kdf::PBKDF2_DEFAULT)
                    .expect("write operator keystore");
                std::fs::write(dir.join(format!("pw{id}")), &password).expect("password file");
                let port = free_port();
                let log = dir.join(format!("op{id}.log"));
                let child = Command::new(&cluster.bin)
                    .current_dir(dir)
                    .args(["start-operator", "--operatorID", &id.to_string()])
                    .args(["--privKey", &format!("./key{id}.json")])
                    .args(["--privKeyPassword", &format!("./pw{id}")])
                    .args(["--port", &port.to_string()])
                    .args(["--serverTLSCertPath", "./tls.crt"])
                    .args(["--serverTLSKeyPath", "./tls.key"])
                    .args(["--outputPath", &format!("./op{id}-out")])
                    .args(["--logFilePath", &format!("./op{id}.log")])
                    .args(["--ethEndpointURL", eth.unwrap_or("http://127.0.0.1:8545")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start Go operator");
                cluster.go.push(GoProcess { child, log });
                format!("https://127.0.0.1:{port}")
            }
        };
        cluster.infos.push(OperatorInfo {
            id,
            key: public,
            url,
        });
    }
    // Every operator, Go or Rust, must answer a signed Pong before the ceremony starts.
    // One pinger per operator: a cluster for a reshare (old and new sets) may have any size.
    let pingers: Vec<Initiator> = cluster
        .infos
        .iter()
        .map(|o| Initiator::ping_only(o.clone(), &insecure()).expect("pinger"))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut pings = Vec::new();
        for (p, o) in pingers.iter().zip(&cluster.infos) {
            pings.push((o.id, p.ping_one(o).await));
        }
        let down: Vec<String> = pings
            .iter()
            .filter_map(|(id, r)| r.as_ref().err().map(|e| format!("{id}: {e}")))
            .collect();
        if down.is_empty() {
            for (id, r) in &pings {
                let info = r.as_ref().expect("checked above");
                assert_eq!(info.version, VERSION, "operator {id} version");
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "operators not answering ping after 30 s: {down:?}\n{}",
            cluster.go_logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cluster
}

fn insecure() -> ClientTls {
    ClientTls {
        ca_certs_pem: vec![],
        insecure: true,
    }
}

/// What a ceremony is asked for (the `ssv-dkg init` flags that vary between tests).
#[derive(Clone, Copy)]
pub(crate) struct Params {
    pub(crate) nonce: u64,
    pub(crate) validators: usize,
    pub(crate) network: &'static str,
    pub(crate) compounding: bool,
    pub(crate) amount_gwei: u64,
}

impl Params {
    pub(crate) const fn new(nonce: u64, validators: usize, network: &'static str) -> Self {
        Self {
            nonce,
            validators,
            network,
            compounding: false,
            amount_gwei: AMOUNT_GWEI,
        }
    }

    fn fork_version(&self) -> [u8; 4] {
        match self.network {
            "mainnet" => [0; 4],
            "hoodi" => HOODI_FORK,
            other => panic!("no fork version for {other} in these tests"),
        }
    }
}

/// The Rust initiator drives the cluster; returns the ceremony folder.
pub(crate) async fn rust_ceremony(cluster: &Cluster, p: Params) -> PathBuf {
    let init = Arc::new(Initiator::new(cluster.infos.clone(), &insecure()).expect("initiator"));
    let req = CeremonyRequest {
        owner: OWNER,
        nonce: p.nonce,
        withdraw_address: WITHDRAW,
        compounding: p.compounding,
        amount_gwei: p.amount_gwei,
        network_name: p.network.into(),
        fork_version: p.fork_version(),
        validators: p.validators,
    };
    let t = Instant::now();
    let out = cluster.work.path().join("rust-initiator-out");
    let dir = match init.run_and_write(&req, &out).await {
        Ok(d) => d,
        Err(e) => panic!("Rust initiator ceremony failed: {e}\n{}", cluster.go_logs()),
    };
    eprintln!(
        "Rust initiator, {} operators x {}: {:?}",
        cluster.infos.len(),
        p.validators,
        t.elapsed()
    );
    dir
}

/// The Go initiator (`ssv-dkg init`) drives the cluster; returns the ceremony folder.
async fn go_ceremony(cluster: &Cluster, p: Params) -> PathBuf {
    let info: Vec<serde_json::Value> = cluster
        .infos
        .iter()
        .map(|o| serde_json::json!({"id": o.id, "public_key": o.key.to_base64_pem(), "ip": o.url}))
        .collect();
    let dir = cluster.work.path().to_path_buf();
    std::fs::write(
        dir.join("operators_info.json"),
        serde_json::to_vec(&info).expect("json"),
    )
    .expect("write operators info");
    let ids = cluster
        .ids()
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let t = Instant::now();
    let output = tokio::task::spawn_blocking({
        let bin = cluster.bin.clone();
        let cwd = dir.clone();
        move || {
            Command::new(bin)
                .current_dir(cwd)
                .args(["init", "--operatorIDs", &ids])
                .args(["--operatorsInfoPath", "./operators_info.json"])
                .args(["--owner", &OWNER.to_string()])
                .args(["--nonce", &p.nonce.to_string()])
                .args(["--withdrawAddress", &WITHDRAW.to_string()])
                .args(["--network", p.network])
                .args(["--validators", &p.validators.to_string()])
                .args(["--amount", &p.amount_gwei.to_string()])
                .arg(format!("--compounding={}", p.compounding))
                .args(["--outputPath", "./go-initiator-out", "--tlsInsecure"])
                .args(["--logFilePath", "./init.log"])
                .output()
        }
    })
    .await
    .expect("join")
    .expect("run Go initiator");
    assert!(
        output.status.success(),
        "Go initiator failed:\n{}\n{}",
        tail(&dir.join("init.log"), 15),
        cluster.go_logs()
    );
    eprintln!(
        "Go initiator, {} operators x {}: {:?}",
        cluster.infos.len(),
        p.validators,
        t.elapsed()
    );
    std::fs::read_dir(dir.join("go-initiator-out"))
        .expect("Go initiator output dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ceremony-"))
        })
        .expect("Go initiator wrote a ceremony-* folder")
}

/// `ssv-dkg verify`, run from the folder's parent because it accepts only local paths.
pub(crate) fn go_verify(bin: &Path, dir: &Path, p: Params) {
    let parent = dir.parent().expect("ceremony folder has a parent");
    let name = dir.file_name().expect("ceremony folder name");
    let out = Command::new(bin)
        .current_dir(parent)
        .arg("verify")
        .arg("--ceremonyDir")
        .arg(Path::new(".").join(name))
        .args(["--validators", &p.validators.to_string()])
        .args(["--owner", &OWNER.to_string()])
        .args(["--nonce", &p.nonce.to_string()])
        .args(["--withdrawAddress", &WITHDRAW.to_string()])
        .args(["--amount", &p.amount_gwei.to_string()])
        .output()
        .expect("run ssv-dkg verify");
    assert!(
        out.status.success(),
        "Go ssv-dkg verify rejected {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The three independent verifiers must all accept the folder.
pub(crate) fn check_all(cluster: &Cluster, dir: &Path, p: Params) {
    let expect = expectations(
        p.nonce,
        p.validators,
        &cluster.ids(),
        p.network,
        p.amount_gwei,
    );
    let verified = verify_ceremony_dir(dir, &expect)
        .unwrap_or_else(|e| panic!("Rust verify rejected {}: {e}", dir.display()));
    assert_eq!(verified.validators.len(), p.validators);
    // The credential prefix must be what was asked for (Go verify reads it from the file).
    let deposits: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("deposit_data.json"))
            .or_else(|_| std::fs::read(first_validator_dir(dir).join("deposit_data.json")))
            .expect("deposit_data.json"),
    )
    .expect("deposit json");
    let prefix = if p.compounding { "02" } else { "01" };
    for d in deposits.as_array().expect("deposit array") {
        let wc = d["withdrawal_credentials"].as_str().expect("credentials");
        assert!(
            wc.starts_with(prefix),
            "credentials {wc}, expected 0x{prefix}"
        );
    }
    cli_verify(dir, p.nonce, p.validators, p.network, p.amount_gwei);
    go_verify(&cluster.bin, dir, p);
    python_check(dir, p.nonce, p.validators, p.network);
}

pub(crate) fn first_validator_dir(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .expect("ceremony dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a validator folder")
}

async fn rust_initiator_case(ids: &[u64], kinds: &[Impl], p: Params) {
    let cluster = start_cluster(ids, kinds).await;
    let dir = rust_ceremony(&cluster, p).await;
    check_all(&cluster, &dir, p);
}

async fn go_initiator_case(ids: &[u64], kinds: &[Impl], p: Params) {
    let cluster = start_cluster(ids, kinds).await;
    let dir = go_ceremony(&cluster, p).await;
    check_all(&cluster, &dir, p);
    check_saved_by_rust_operators(&cluster, p);
}

/// The Go initiator posts its own JSON to `/results` (and fails the ceremony if any operator
/// refuses it): every Rust operator must have saved one verifiable folder per validator.
fn check_saved_by_rust_operators(cluster: &Cluster, p: Params) {
    for id in &cluster.rust_ids {
        let out = cluster.work.path().join(format!("op{id}-out"));
        let saved: Vec<PathBuf> = std::fs::read_dir(&out)
            .unwrap_or_else(|e| panic!("operator {id} saved nothing in {}: {e}", out.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(saved.len(), p.validators, "operator {id}: {saved:?}");
        let mut nonces = Vec::new();
        for ceremony in &saved {
            let v = verify_ceremony_dir(
                ceremony,
                &ssv_agent::dkg::verify::VerifyExpectations {
                    validators: Some(1),
                    owner: Some(OWNER),
                    withdraw_address: Some(WITHDRAW),
                    amount_gwei: Some(p.amount_gwei),
                    network: Some(p.network.into()),
                    operator_ids: Some(cluster.ids()),
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("operator {id}: saved {} fails: {e}", ceremony.display()));
            nonces.extend(v.validators.iter().map(|v| v.nonce));
        }
        nonces.sort_unstable();
        let want: Vec<u64> = (p.nonce..p.nonce + p.validators as u64).collect();
        assert_eq!(nonces, want, "operator {id} saved these nonces");
    }
}

const FOUR: [u64; 4] = [11, 22, 33, 44];
/// Ids that are not multiples of one another, so x = operator id differs from x = position + 1.
const THIRTEEN: [u64; 13] = [3, 8, 11, 22, 33, 44, 55, 66, 77, 88, 111, 112, 113];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_initiator_with_four_go_operators() {
    rust_initiator_case(&FOUR, &[Impl::Go; 4], Params::new(1, 1, "mainnet")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_initiator_with_four_rust_operators() {
    go_initiator_case(&FOUR, &[Impl::Rust; 4], Params::new(1, 1, "mainnet")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_initiator_with_mixed_cluster_on_hoodi() {
    use Impl::{Go, Rust};
    rust_initiator_case(&FOUR, &[Go, Rust, Go, Rust], Params::new(7, 1, "hoodi")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_initiator_with_mixed_cluster_on_hoodi() {
    use Impl::{Go, Rust};
    go_initiator_case(
        &FOUR,
        &[Rust, Go, Rust, Go],
        Params::new(70_000, 1, "hoodi"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_initiator_with_thirteen_go_operators() {
    rust_initiator_case(&THIRTEEN, &[Impl::Go; 13], Params::new(2, 1, "mainnet")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_initiator_with_thirteen_mixed_operators() {
    // 7 Rust and 6 Go operators, alternating.
    let kinds: Vec<Impl> = (0..13)
        .map(|i| if i % 2 == 0 { Impl::Rust } else { Impl::Go })
        .collect();
    go_initiator_case(&THIRTEEN, &kinds, Params::new(3, 1, "mainnet")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_initiator_bulk_ten_with_go_operators() {
    rust_initiator_case(&FOUR, &[Impl::Go; 4], Params::new(0, 10, "mainnet")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_initiator_bulk_ten_with_rust_operators() {
    go_initiator_case(&FOUR, &[Impl::Rust; 4], Params::new(5, 10, "mainnet")).await;
}

/// 0x02 credentials and the 2048 ETH maximum: both ends must put them in the deposit message.
const COMPOUNDING_MAX: Params = Params {
    compounding: true,
    amount_gwei: 2_048_000_000_000,
    ..Params::new(9, 1, "mainnet")
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_initiator_compounding_2048_eth_with_go_operators() {
    rust_initiator_case(&FOUR, &[Impl::Go; 4], COMPOUNDING_MAX).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_initiator_compounding_2048_eth_with_rust_operators() {
    go_initiator_case(&FOUR, &[Impl::Rust; 4], COMPOUNDING_MAX).await;
}
