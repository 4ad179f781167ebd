//! The operator server's limits in process (issue 10 items 5, 6, 8, 9): bodies refused before they
//! are read, a real ceremony while throwaway initiator keys flood `/init`, `/results` accepted once
//! and only with the ceremony's operator keys, and the initiator's client bounding what operators
//! send back. The tests before `// ---- new API` use only what existed before the limits.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, address};
use ssv_agent::crypto::rsa_keys::OperatorPrivateKey;
use ssv_agent::deposit::data::withdrawal_credentials;
use ssv_agent::dkg::initiator::{CeremonyRequest, ClientTls, Initiator, OperatorInfo};
use ssv_agent::dkg::operator::saved_results::save_results;
use ssv_agent::dkg::operator::{OperatorState, RunningOperator, TlsMaterial, serve};
use ssv_agent::dkg::outputs::ValidatorFiles;
use ssv_agent::dkg::results::{KnownOperator, validate_results};
use ssv_agent::dkg::rsa_signer::{FastSigner, PssSigner};
use ssv_agent::dkg::transport::{sign_bundle, sign_transport};
use ssv_agent::dkg::wire::ids::{instance_id, new_request_id};
use ssv_agent::dkg::wire::{
    DkgResult, Init, Operator, ResultData, SignedTransport, Ssz, Transport, TransportType,
};
use tokio::io::AsyncReadExt;

use crate::support::operator_proc::{read_head, tls_connector, tls_from, write_head};

const OWNER: Address = address!("DCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9");
const WITHDRAW: Address = address!("81592c3de184a3e2c0dcb5a261bc107bfa91f494");
const VERSION: &str = "v3.1.0";

fn loopback(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

async fn rsa_key() -> OperatorPrivateKey {
    tokio::task::spawn_blocking(|| OperatorPrivateKey::generate(2048))
        .await
        .expect("join")
        .expect("rsa")
}

struct Cluster {
    servers: Vec<RunningOperator>,
    infos: Vec<OperatorInfo>,
    states: Vec<Arc<OperatorState>>,
    tls: TlsMaterial,
}

async fn cluster_with(ids: &[u64], make: impl Fn(OperatorState) -> OperatorState) -> Cluster {
    let tls = TlsMaterial::self_signed(&[]).expect("cert");
    let mut c = Cluster {
        servers: Vec::new(),
        infos: Vec::new(),
        states: Vec::new(),
        tls,
    };
    for id in ids {
        let key = rsa_key().await;
        let public = key.public_key().clone();
        let state = Arc::new(make(OperatorState::new(*id, key, VERSION.into())));
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let s = serve(state.clone(), addr, &c.tls).await.expect("serve");
        c.infos.push(OperatorInfo {
            id: *id,
            key: public,
            url: s.url(),
        });
        c.servers.push(s);
        c.states.push(state);
    }
    c
}

async fn cluster(ids: &[u64]) -> Cluster {
    cluster_with(ids, |s| s).await
}

fn insecure() -> ClientTls {
    ClientTls {
        ca_certs_pem: vec![],
        insecure: true,
    }
}

fn request(nonce: u64) -> CeremonyRequest {
    CeremonyRequest {
        owner: OWNER,
        nonce,
        withdraw_address: WITHDRAW,
        compounding: false,
        amount_gwei: 32_000_000_000,
        network_name: "mainnet".into(),
        fork_version: [0; 4],
        validators: 1,
    }
}

fn init_for(infos: &[OperatorInfo], nonce: u64) -> Init {
    Init {
        operators: infos
            .iter()
            .map(|o| Operator {
                id: o.id,
                pubkey: o.key.to_base64_pem().as_bytes().to_vec(),
            })
            .collect(),
        t: 3,
        withdrawal_credentials: withdrawal_credentials(WITHDRAW, false).to_vec(),
        fork: [0; 4],
        owner: OWNER.into_array(),
        nonce,
        amount: 32_000_000_000,
    }
}

/// Sends `head` on a fresh TLS connection from `from` and returns the response head, if one comes
/// within `within` (nothing else is sent: a server waiting for the body times out here).
async fn reply_to_head(c: &Cluster, from: IpAddr, head: &str, within: Duration) -> Option<String> {
    let connector = tls_connector(&c.tls.cert_pem);
    let addr = c.servers[0].addr;
    let mut s = tls_from(&connector, from, addr).await.ok()?;
    write_head(&mut s, head).await.ok()?;
    read_head(&mut s, within).await
}

/// Item 5: a body larger than its route allows is refused by `Content-Length` at once, without
/// waiting for (or reading) it; GET and unknown routes read no body at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused_before_they_are_read() {
    let c = cluster(&[1]).await;
    for (head, want) in [
        (
            "POST /dkg HTTP/1.1\r\nhost: x\r\ncontent-length: 110100480\r\n\r\n",
            "413",
        ),
        (
            "POST /init HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\n",
            "413",
        ),
        (
            "GET /health_check HTTP/1.1\r\nhost: x\r\ncontent-length: 5000000\r\n\r\n",
            "413",
        ),
        (
            "POST /anything HTTP/1.1\r\nhost: x\r\ncontent-length: 50000000\r\n\r\n",
            "404",
        ),
    ] {
        let t = Instant::now();
        let reply = reply_to_head(&c, loopback(1), head, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no answer within 5 s to {head:?}: the body was awaited"));
        let status = reply.split_whitespace().nth(1).unwrap_or("");
        assert_eq!(status, want, "{head:?} -> {reply}");
        eprintln!(
            "{} -> {status} in {:?}",
            head.lines().next().unwrap_or(""),
            t.elapsed()
        );
    }
    // A chunked body (no Content-Length) is read only up to the limit, then refused.
    let connector = tls_connector(&c.tls.cert_pem);
    let mut s = tls_from(&connector, loopback(1), c.servers[0].addr)
        .await
        .expect("connect");
    write_head(
        &mut s,
        "POST /results HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n",
    )
    .await
    .expect("head");
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "a".repeat(64 * 1024));
    let mut sent = 0usize;
    let reply = loop {
        use tokio::io::AsyncWriteExt;
        if s.write_all(chunk.as_bytes()).await.is_err() {
            break read_head(&mut s, Duration::from_secs(2)).await;
        }
        sent += 64 * 1024;
        if sent > 1024 * 1024 {
            break read_head(&mut s, Duration::from_secs(2)).await;
        }
    };
    let reply = reply.unwrap_or_default();
    assert!(
        reply.starts_with("HTTP/1.1 413"),
        "chunked /results of {sent} bytes: {reply:?}"
    );
}

/// Item 6: throwaway initiator keys flooding `/init` from one address fill neither the instance
/// table nor the operators' time: a real ceremony from a new key on another address succeeds
/// within 5 s while 1 100 `/init` from 11 keys keep coming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_ceremony_succeeds_while_eleven_keys_flood_init() {
    let c = cluster(&[11, 22, 33, 44]).await;
    let init = init_for(&c.infos, 9);
    let init_ssz = init.to_ssz();
    // 11 throwaway keys x 100 requests, the same bodies for every operator.
    let bodies: Vec<Vec<u8>> = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for _ in 0..11 {
            let key = FastSigner::generate().expect("key");
            for _ in 0..100 {
                let t = Transport {
                    kind: TransportType::Init,
                    identifier: new_request_id().expect("id"),
                    data: init_ssz.clone(),
                    version: VERSION.as_bytes().to_vec(),
                };
                out.push(sign_transport(&key, t).expect("sign").to_ssz());
            }
        }
        out
    })
    .await
    .expect("join");
    let bodies = Arc::new(bodies);
    let attacker = reqwest::Client::builder()
        .local_address(loopback(2))
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let accepted = Arc::new(AtomicU32::new(0));
    let refused = Arc::new(AtomicU32::new(0));
    let flood = |wave: &'static str| {
        let mut tasks = Vec::new();
        for o in &c.infos {
            for lane in 0..8usize {
                let (client, bodies, url) = (attacker.clone(), bodies.clone(), o.url.clone());
                let (accepted, refused) = (accepted.clone(), refused.clone());
                tasks.push(tokio::spawn(async move {
                    for b in bodies.iter().skip(lane).step_by(8) {
                        let r = client
                            .post(format!("{url}/init"))
                            .body(b.clone())
                            .send()
                            .await;
                        match r.map(|r| r.status()) {
                            Ok(s) if s.is_success() => accepted.fetch_add(1, Ordering::Relaxed),
                            _ => refused.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                    wave
                }));
            }
        }
        tasks
    };
    let flood_started = Instant::now();
    let t = Instant::now();
    for task in flood("first") {
        task.await.expect("flood task");
    }
    eprintln!(
        "first wave: 4 x 1100 /init in {:?}: {} accepted, {} refused",
        t.elapsed(),
        accepted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed)
    );
    // The second wave floods while the real ceremony runs.
    let second = flood("second");
    let initiator = Arc::new(Initiator::new(c.infos.clone(), &insecure()).expect("initiator"));
    let t = Instant::now();
    let files = initiator.run(&request(9)).await;
    let took = t.elapsed();
    for task in second {
        task.await.expect("flood task");
    }
    let files = files.expect("the real ceremony succeeds during the flood");
    eprintln!(
        "real ceremony during the flood: {took:?}; flood totals {} accepted, {} refused",
        accepted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed)
    );
    assert_eq!(files.len(), 1);
    assert!(took < Duration::from_secs(5), "ceremony took {took:?}");
    // One address holds at most 64 unfinished ceremonies per operator at once (ssv-dkg: 1024 for
    // anyone). A full table drops instances that waited `exchange_grace_when_full` (5 s) for their
    // exchange, so a flood that lasts longer (a loaded machine) gets 64 more per operator for each
    // 5 s it lasts, never one per request.
    let windows = 1 + flood_started.elapsed().as_secs() / 5;
    let accepted = accepted.load(Ordering::Relaxed);
    assert!(
        u64::from(accepted) <= 4 * 64 * windows,
        "{accepted} flood instances accepted over {windows} grace window(s)"
    );
}

/// A ceremony run by hand against the operators' request logic (no HTTP), up to the signed
/// `/results` body, so the test can post it as often and as altered as it likes.
struct ManualCeremony {
    init: Init,
    iid: [u8; 24],
    key: FastSigner,
    files: ValidatorFiles,
    rd: ResultData,
}

impl ManualCeremony {
    async fn run(states: &[Arc<OperatorState>], infos: &[OperatorInfo]) -> Self {
        let states = states.to_vec();
        let infos = infos.to_vec();
        tokio::task::spawn_blocking(move || {
            let key = FastSigner::generate().expect("initiator key");
            let init = init_for(&infos, 3);
            let init_ssz = init.to_ssz();
            let rid = new_request_id().expect("id");
            let iid = instance_id(key.public_key().to_base64_pem().as_bytes(), &init_ssz, &rid);
            let t = Transport {
                kind: TransportType::Init,
                identifier: rid,
                data: init_ssz,
                version: VERSION.as_bytes().to_vec(),
            };
            let body = sign_transport(&key, t).expect("sign").to_ssz();
            let round = |f: &dyn Fn(&OperatorState) -> Vec<u8>| -> Vec<SignedTransport> {
                states
                    .iter()
                    .map(|s| SignedTransport::from_ssz(&f(s)).expect("reply"))
                    .collect()
            };
            let ex = round(&|s| s.handle_init(&body).expect("init"));
            let b1 = sign_bundle(&key, iid, ex).expect("bundle").to_ssz();
            let deals = round(&|s| s.handle_dkg(&b1).expect("exchange round"));
            let b2 = sign_bundle(&key, iid, deals).expect("bundle").to_ssz();
            let outs = round(&|s| s.handle_dkg(&b2).expect("deal round"));
            let results: Vec<DkgResult> = outs
                .iter()
                .map(|st| DkgResult::from_ssz(&st.message.data).expect("result"))
                .collect();
            let known: Vec<KnownOperator> = infos
                .iter()
                .map(|o| KnownOperator {
                    id: o.id,
                    key: o.key.clone(),
                })
                .collect();
            let files = validate_results(&init, &known, iid, &results, "mainnet")
                .expect("valid results")
                .files;
            let rd = ResultData {
                operators: init.operators.clone(),
                identifier: iid,
                deposit_data: serde_json::to_vec(&files.deposit[0]).expect("json"),
                keyshares_data: serde_json::to_vec(&files.keyshares).expect("json"),
                proofs: serde_json::to_vec(&files.proofs).expect("json"),
            };
            Self {
                init,
                iid,
                key,
                files,
                rd,
            }
        })
        .await
        .expect("join")
    }

    fn results_body(&self, rd: &ResultData) -> Vec<u8> {
        let t = Transport {
            kind: TransportType::Result,
            identifier: self.iid,
            data: rd.to_ssz(),
            version: VERSION.as_bytes().to_vec(),
        };
        sign_transport(&self.key, t).expect("sign").to_ssz()
    }
}

fn entries(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Item 8: `/results` is accepted once per ceremony. Before, every post saved another folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_saved_once_per_ceremony() {
    let outs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().expect("tmp")).collect();
    let mut states = Vec::new();
    let mut infos = Vec::new();
    for (i, out) in outs.iter().enumerate() {
        let id = i as u64 + 1;
        let key = rsa_key().await;
        infos.push(OperatorInfo {
            id,
            key: key.public_key().clone(),
            url: format!("https://127.0.0.1:{}", 1000 + id),
        });
        states.push(Arc::new(
            OperatorState::new(id, key, VERSION.into()).with_output_path(out.path()),
        ));
    }
    let m = ManualCeremony::run(&states, &infos).await;
    let body = m.results_body(&m.rd);
    for (s, out) in states.iter().zip(&outs) {
        s.handle_results(&body).expect("first /results");
        for _ in 0..3 {
            let e = s
                .handle_results(&body)
                .expect_err("the same /results again");
            assert!(e.to_string().contains("already accepted"), "{e}");
        }
        assert_eq!(entries(out.path()), 1, "one saved ceremony folder");
    }
}

/// Item 8: the keyshares must list the ceremony's operator keys. An initiator that swaps in a key
/// of its own (and signs that operator's proof with it) makes a file that is consistent in
/// itself, which the operator must still refuse: it would store a share nobody can decrypt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_naming_other_operator_keys_are_refused() {
    let mut states = Vec::new();
    let mut infos = Vec::new();
    for id in 1..=4u64 {
        let key = rsa_key().await;
        infos.push(OperatorInfo {
            id,
            key: key.public_key().clone(),
            url: format!("https://127.0.0.1:{}", 1000 + id),
        });
        states.push(Arc::new(OperatorState::new(id, key, VERSION.into())));
    }
    let m = ManualCeremony::run(&states, &infos).await;
    let fresh = tempfile::tempdir().expect("tmp");
    save_results(fresh.path(), &m.init, m.files.pubkey, &m.rd).expect("untampered saves");

    let rogue = rsa_key().await;
    let mut ks = m.files.keyshares.clone();
    ks.shares[0].data.operators[1].operator_key = rogue.public_key().to_base64_pem().to_string();
    let mut proofs = m.files.proofs.clone();
    proofs[1].signature = rogue
        .sign_pss(&proofs[1].proof.hash_tree_root())
        .expect("sign");
    let swapped = ResultData {
        keyshares_data: serde_json::to_vec(&ks).expect("json"),
        proofs: serde_json::to_vec(&proofs).expect("json"),
        ..m.rd.clone()
    };
    let mut other_ops = m.rd.clone();
    other_ops.operators[2].pubkey = rogue.public_key().to_base64_pem().as_bytes().to_vec();
    for (what, rd) in [
        ("keyshares with a swapped operator key", swapped),
        ("result message naming another key", other_ops),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let e = save_results(dir.path(), &m.init, m.files.pubkey, &rd)
            .err()
            .unwrap_or_else(|| panic!("{what} accepted"));
        assert!(e.to_string().contains("operator"), "{what}: {e}");
        assert_eq!(entries(dir.path()), 0, "{what}: something was written");
        // Through the operator's handler too (it checks even when it saves nothing).
        let e = states[0]
            .handle_results(&m.results_body(&rd))
            .expect_err(what);
        assert!(e.to_string().contains("operator"), "{what}: {e}");
    }
    states[0]
        .handle_results(&m.results_body(&m.rd))
        .expect("the real results are still accepted after refused ones");
}

/// A loopback HTTPS server that answers every request with `reply` (status line, headers, body).
async fn canned_server(tls: &TlsMaterial, reply: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    use pki_types::pem::PemObject;
    use tokio_rustls::rustls::{self, pki_types};
    let certs = pki_types::CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("cert");
    let key = pki_types::PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes()).expect("key");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let reply = Arc::new(reply);
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, reply) = (acceptor.clone(), reply.clone());
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(&reply).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (url, task)
}

/// Item 9: what an operator sends back is bounded, and a redirect is not followed (it could point
/// the initiator anywhere, including at another operator that would then be trusted for this one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_replies_are_capped_and_redirects_are_not_followed() {
    let c = cluster(&[5]).await;
    let real = c.infos[0].clone();
    let big = 50 * 1024 * 1024;
    let mut huge = format!("HTTP/1.1 200 OK\r\ncontent-length: {big}\r\n\r\n").into_bytes();
    huge.resize(huge.len() + big, b'x');
    let (huge_url, huge_task) = canned_server(&c.tls, huge).await;
    let chunked = {
        let mut r = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..64 {
            r.extend_from_slice(format!("{:x}\r\n", 16 * 1024).as_bytes());
            r.extend(std::iter::repeat_n(b'y', 16 * 1024));
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(b"0\r\n\r\n");
        r
    };
    let (chunked_url, chunked_task) = canned_server(&c.tls, chunked).await;
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {}/health_check\r\ncontent-length: 0\r\n\r\n",
        real.url
    )
    .into_bytes();
    let (redirect_url, redirect_task) = canned_server(&c.tls, redirect).await;
    for (what, url, want) in [
        ("a 50 MB reply", huge_url, "larger than"),
        ("a 1 MB chunked reply", chunked_url, "larger than"),
        ("a redirect to the real operator", redirect_url, "redirect"),
    ] {
        let op = OperatorInfo {
            url,
            ..real.clone()
        };
        let pinger = Initiator::ping_only(op.clone(), &insecure()).expect("pinger");
        let t = Instant::now();
        let e = pinger
            .ping_one(&op)
            .await
            .err()
            .unwrap_or_else(|| panic!("{what} was accepted"));
        assert!(e.to_string().contains(want), "{what}: {e}");
        assert!(
            e.to_string().contains("operator 5"),
            "{what}: names it: {e}"
        );
        eprintln!("{what}: refused in {:?}: {e}", t.elapsed());
    }
    // The real operator answers the same ping.
    let pinger = Initiator::ping_only(real.clone(), &insecure()).expect("pinger");
    pinger.ping_one(&real).await.expect("real operator");
    for t in [huge_task, chunked_task, redirect_task] {
        t.abort();
    }
}

// ---- new API: limits configured per test --------------------------------------------------

use ssv_agent::dkg::operator::limits::{MIN_DKG_BODY, MIN_INIT_BODY, MIN_RESULTS_BODY};
use ssv_agent::dkg::operator::{OperatorError, ServerLimits};

/// The smallest route limits a configuration may set still carry a real 13-operator ceremony
/// (the defaults, the schema maxima, are checked against the Go initiator in dkg_interop_go).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_minimum_route_limits_carry_a_thirteen_operator_ceremony() {
    let ids: Vec<u64> = (1..=13).map(|i| i * 3 + 1).collect();
    let c = cluster_with(&ids, |s| {
        s.with_limits(ServerLimits {
            init_body: MIN_INIT_BODY,
            dkg_body: MIN_DKG_BODY,
            results_body: MIN_RESULTS_BODY,
            ..ServerLimits::default()
        })
    })
    .await;
    let init = Arc::new(Initiator::new(c.infos.clone(), &insecure()).expect("initiator"));
    let files = init
        .run(&request(2))
        .await
        .expect("13 operators at the minimum limits");
    assert_eq!(files.len(), 1);
}

/// Item 5: a body that does not arrive within the body timeout is answered 408 and dropped
/// (ssv-dkg: 90 s, shortened here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_times_out() {
    let c = cluster_with(&[1], |s| {
        s.with_limits(ServerLimits {
            body_read_timeout: Duration::from_secs(2),
            ..ServerLimits::default()
        })
    })
    .await;
    let t = Instant::now();
    let reply = reply_to_head(
        &c,
        loopback(1),
        "POST /init HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n",
        Duration::from_secs(10),
    )
    .await
    .unwrap_or_default();
    let took = t.elapsed();
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply:?}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

/// Items 5 and 7: connections per address are capped; other addresses are still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_capped() {
    let c = cluster_with(&[1], |s| {
        s.with_limits(ServerLimits {
            max_connections_per_ip: 4,
            ..ServerLimits::default()
        })
    })
    .await;
    let connector = tls_connector(&c.tls.cert_pem);
    let addr = c.servers[0].addr;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(
            tls_from(&connector, loopback(3), addr)
                .await
                .expect("within the cap"),
        );
    }
    let fifth = tokio::time::timeout(
        Duration::from_secs(5),
        tls_from(&connector, loopback(3), addr),
    )
    .await
    .expect("answered");
    assert!(
        fifth.is_err(),
        "a fifth connection from one address was served"
    );
    let reply = reply_to_head(
        &c,
        loopback(4),
        "GET /health_check HTTP/1.1\r\nhost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await
    .unwrap_or_default();
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "another address: {reply:?}"
    );
    drop(held);
}

/// Item 6: caps per initiator key and per address, instances that never get their exchange round
/// dropped early, and a full table making room from such instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_are_capped_per_key_and_address_and_stale_ones_dropped() {
    let limits = ServerLimits {
        max_instances: 6,
        max_instances_per_ip: 3,
        max_instances_per_initiator: 2,
        exchange_ttl: Duration::from_secs(2),
        exchange_grace_when_full: Duration::from_secs(1),
        ..ServerLimits::default()
    };
    let mut infos = Vec::new();
    let mut me = None;
    for id in 1..=4u64 {
        let key = rsa_key().await;
        infos.push(OperatorInfo {
            id,
            key: key.public_key().clone(),
            url: String::new(),
        });
        if id == 1 {
            me = Some(OperatorState::new(1, key, VERSION.into()).with_limits(limits.clone()));
        }
    }
    let state = me.expect("operator 1");
    let init_ssz = init_for(&infos, 1).to_ssz();
    let keys: Vec<FastSigner> = tokio::task::spawn_blocking(|| {
        (0..6)
            .map(|_| FastSigner::generate().expect("key"))
            .collect()
    })
    .await
    .expect("join");
    let body = |k: &FastSigner| {
        let t = Transport {
            kind: TransportType::Init,
            identifier: new_request_id().expect("id"),
            data: init_ssz.clone(),
            version: VERSION.as_bytes().to_vec(),
        };
        sign_transport(k, t).expect("sign").to_ssz()
    };
    let busy = |r: Result<Vec<u8>, OperatorError>| matches!(r, Err(OperatorError::Busy(_)));
    // Per key: 2, from any addresses.
    state
        .handle_init_from(&body(&keys[0]), Some(loopback(10)))
        .expect("1st");
    state
        .handle_init_from(&body(&keys[0]), Some(loopback(11)))
        .expect("2nd");
    assert!(busy(
        state.handle_init_from(&body(&keys[0]), Some(loopback(12)))
    ));
    // Per address: 3, whatever the keys.
    state
        .handle_init_from(&body(&keys[1]), Some(loopback(20)))
        .expect("a");
    state
        .handle_init_from(&body(&keys[2]), Some(loopback(20)))
        .expect("b");
    state
        .handle_init_from(&body(&keys[3]), Some(loopback(20)))
        .expect("c");
    assert!(busy(
        state.handle_init_from(&body(&keys[4]), Some(loopback(20)))
    ));
    assert_eq!(state.live_instances(), 5);
    // Table full (6): after the grace, the oldest instance still waiting for its exchange round
    // makes room.
    state
        .handle_init_from(&body(&keys[4]), Some(loopback(30)))
        .expect("6th");
    assert!(matches!(
        state.handle_init_from(&body(&keys[5]), Some(loopback(31))),
        Err(OperatorError::Overloaded(6))
    ));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    state
        .handle_init_from(&body(&keys[5]), Some(loopback(31)))
        .expect("room made from a stale instance");
    assert_eq!(state.live_instances(), 6);
    // Past the exchange TTL, none of them is held any more.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(state.live_instances(), 0);
}
