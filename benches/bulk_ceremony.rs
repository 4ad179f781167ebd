//! Benchmark: a bulk init ceremony of 13 operators x 100 validators (issue 15 item 3: <= 12 s on
//! 2 cores with every check kept; one operator < 100 MB peak RSS with 100 concurrent ceremonies).
//! Run: `cargo bench --bench bulk_ceremony` (release; about a minute and a half).
//!
//! 1. Per phase: one validator's ceremony driven through the operators' request handlers on one
//!    thread (no HTTP), CPU per round summed over the 13 operators, plus the initiator's checks.
//! 2. Old against new, in this run: the steps whose old path is kept as a reference function.
//! 3. End to end: the Rust initiator and 13 in-process operator servers over loopback HTTPS
//!    (as `examples/dkg_bench`), wall and process CPU time; the output is verified afterwards.
//! 4. Memory: one operator as its own `ssv-agent dkg operator` process (12 others in process),
//!    100 ceremonies at once (5 initiators x 20); its VmHWM and CPU time from /proc.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, address};
use rsa::pkcs1::EncodeRsaPublicKey;
use ssv_agent::crypto::bls::{self, Dst, G1, G2, Scalar, lagrange_at_zero};
use ssv_agent::crypto::keystore::Kdf;
use ssv_agent::crypto::rsa_keys::{OperatorPrivateKey, OperatorPublicKey};
use ssv_agent::deposit::data::withdrawal_credentials;
use ssv_agent::dkg::bls_batch;
use ssv_agent::dkg::initiator::{CeremonyRequest, ClientTls, Initiator, OperatorInfo};
use ssv_agent::dkg::kyber::poly;
use ssv_agent::dkg::operator::{OperatorState, RunningOperator, ServerLimits, TlsMaterial, serve};
use ssv_agent::dkg::results::{KnownOperator, validate_results};
use ssv_agent::dkg::rsa_signer::{self, FastSigner, PssSigner};
use ssv_agent::dkg::transport::{sign_bundle, sign_transport, threshold_for, verify_transport};
use ssv_agent::dkg::verify::{VerifyExpectations, verify_ceremony_dir};
use ssv_agent::dkg::wire::ids::{instance_id, new_request_id};
use ssv_agent::dkg::wire::{
    DkgResult, Init, Operator, ResultData, SignedTransport, Ssz, Transport, TransportType,
};

const OWNER: Address = address!("DCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9");
const WITHDRAW: Address = address!("81592c3de184a3e2c0dcb5a261bc107bfa91f494");
const OPERATORS: usize = 13;
const VALIDATORS: usize = 100;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Process CPU time (user + system) so far, seconds.
fn cpu_seconds() -> f64 {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) };
    // SAFETY: initialised by getrusage (or zeroed).
    let ru = unsafe { ru.assume_init() };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// CPU time of this process (all its threads: blst's own batch verification fans out to a
/// thread pool, which a per-thread clock would not see), as a Duration.
fn thread_cpu() -> Duration {
    Duration::from_secs_f64(cpu_seconds())
}

/// A field of /proc/<pid>/status in MiB (VmHWM, VmRSS).
fn proc_status_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// utime + stime of a process from /proc/<pid>/stat, seconds.
fn proc_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // utime and stime are fields 14 and 15 of stat; `rest` starts at field 3.
    (ticks(11) + ticks(12)) / hz
}

fn request(nonce: u64, validators: usize) -> CeremonyRequest {
    CeremonyRequest {
        owner: OWNER,
        nonce,
        withdraw_address: WITHDRAW,
        compounding: false,
        amount_gwei: 32_000_000_000,
        network_name: "mainnet".into(),
        fork_version: [0; 4],
        validators,
    }
}

fn insecure() -> ClientTls {
    ClientTls {
        ca_certs_pem: vec![],
        insecure: true,
    }
}

/// ssv-dkg's defaults, with the per-address caps raised: every ceremony here comes from 127.0.0.1.
fn bench_limits() -> ServerLimits {
    ServerLimits {
        max_instances_per_ip: 256,
        max_instances_per_initiator: 64,
        max_connections_per_ip: 512,
        // A loaded 2-core machine takes longer than ssv-dkg's minute for 100 ceremonies.
        instance_ttl: Duration::from_secs(600),
        exchange_ttl: Duration::from_secs(600),
        ..ServerLimits::default()
    }
}

fn ids() -> Vec<u64> {
    (1..=OPERATORS as u64).map(|i| i * 7 + 1).collect()
}

fn keys(n: usize) -> Vec<OperatorPrivateKey> {
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..n)
            .map(|_| s.spawn(|| OperatorPrivateKey::generate(2048).expect("rsa key")))
            .collect();
        hs.into_iter().map(|h| h.join().expect("keygen")).collect()
    })
}

// ---------------------------------------------------------------------------------------------
// 1. Per phase, through the handlers

#[derive(Default)]
struct Phases {
    init: Duration,
    exchange: Duration,
    deals: Duration,
    validate: Duration,
    results: Duration,
}

fn reply(op: &OperatorInfo, bytes: &[u8], iid: &[u8; 24], kind: TransportType) -> SignedTransport {
    let st = SignedTransport::from_ssz(bytes).expect("reply SSZ");
    verify_transport(&st, &op.key, "operator").expect("reply signature");
    assert_eq!(&st.message.identifier, iid, "reply instance");
    assert_eq!(st.message.kind, kind, "reply type");
    st
}

/// One ceremony as the initiator runs it, each round timed (operators and initiator checks).
fn one_ceremony(
    states: &[OperatorState],
    infos: &[OperatorInfo],
    key: &FastSigner,
    nonce: u64,
    ph: &mut Phases,
) {
    let init = Init {
        operators: infos
            .iter()
            .map(|o| Operator {
                id: o.id,
                pubkey: o.key.to_base64_pem().as_bytes().to_vec(),
            })
            .collect(),
        t: threshold_for(infos.len()).expect("cluster size"),
        withdrawal_credentials: withdrawal_credentials(WITHDRAW, false).to_vec(),
        fork: [0; 4],
        owner: OWNER.into_array(),
        nonce,
        amount: 32_000_000_000,
    };
    let init_ssz = init.to_ssz();
    let request_id = new_request_id().expect("rng");
    let iid = instance_id(
        key.public_key().to_base64_pem().as_bytes(),
        &init_ssz,
        &request_id,
    );
    let t = thread_cpu();
    let body = sign_transport(
        key,
        Transport {
            kind: TransportType::Init,
            identifier: request_id,
            data: init_ssz,
            version: b"v3.1.0".to_vec(),
        },
    )
    .expect("sign init")
    .to_ssz();
    let exchanges: Vec<SignedTransport> = states
        .iter()
        .zip(infos)
        .map(|(s, o)| {
            let r = s.handle_init(&body).expect("/init");
            reply(o, &r, &iid, TransportType::Exchange)
        })
        .collect();
    ph.init += thread_cpu() - t;

    let t = thread_cpu();
    let round = |msgs: Vec<SignedTransport>, kind| -> Vec<SignedTransport> {
        let body = sign_bundle(key, iid, msgs).expect("sign bundle").to_ssz();
        states
            .iter()
            .zip(infos)
            .map(|(s, o)| reply(o, &s.handle_dkg(&body).expect("/dkg"), &iid, kind))
            .collect()
    };
    let deals = round(exchanges, TransportType::Kyber);
    ph.exchange += thread_cpu() - t;
    let t = thread_cpu();
    let outputs = round(deals, TransportType::Output);
    ph.deals += thread_cpu() - t;

    let t = thread_cpu();
    let results: Vec<DkgResult> = outputs
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
        .expect("results validate")
        .files;
    ph.validate += thread_cpu() - t;

    let t = thread_cpu();
    let rd = ResultData {
        operators: init.operators,
        identifier: iid,
        deposit_data: serde_json::to_vec(&files.deposit[0]).expect("json"),
        keyshares_data: serde_json::to_vec(&files.keyshares).expect("json"),
        proofs: serde_json::to_vec(&files.proofs).expect("json"),
    };
    let body = sign_transport(
        key,
        Transport {
            kind: TransportType::Result,
            identifier: iid,
            data: rd.to_ssz(),
            version: b"v3.1.0".to_vec(),
        },
    )
    .expect("sign results")
    .to_ssz();
    for s in states {
        s.handle_results(&body).expect("/results");
    }
    ph.results += thread_cpu() - t;
}

fn per_phase() {
    const N: u32 = 10;
    let ids = ids();
    let keys = keys(OPERATORS);
    let mut infos = Vec::new();
    let mut states = Vec::new();
    for (id, key) in ids.iter().zip(keys) {
        infos.push(OperatorInfo {
            id: *id,
            key: key.public_key().clone(),
            url: String::new(),
        });
        states.push(OperatorState::new(*id, key, "v3.1.0".into()).with_limits(bench_limits()));
    }
    let key = FastSigner::generate().expect("initiator key");
    let mut ph = Phases::default();
    // One ceremony to warm up (lazy statics, allocator), then N timed.
    one_ceremony(&states, &infos, &key, 0, &mut ph);
    let mut ph = Phases::default();
    for i in 0..N {
        one_ceremony(&states, &infos, &key, 1 + u64::from(i), &mut ph);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3 / f64::from(N);
    let total = ph.init + ph.exchange + ph.deals + ph.validate + ph.results;
    println!(
        "\n1. per phase, one validator, {OPERATORS} operators, process CPU time (mean of {N}):"
    );
    println!(
        "   /init (13 operators + reply checks)        {:>7.2} ms",
        ms(ph.init)
    );
    println!(
        "   /dkg exchange round (13: deal)              {:>7.2} ms",
        ms(ph.exchange)
    );
    println!(
        "   /dkg deal round (13: verify, finish, sign)  {:>7.2} ms",
        ms(ph.deals)
    );
    println!(
        "   initiator validation + recombination        {:>7.2} ms",
        ms(ph.validate)
    );
    println!(
        "   /results (13 operators check the files)     {:>7.2} ms",
        ms(ph.results)
    );
    println!(
        "   total CPU per validator                     {:>7.2} ms  (x {VALIDATORS} = {:.2} CPU-s)",
        ms(total),
        ms(total) * VALIDATORS as f64 / 1e3
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Old against new

/// Mean process CPU time of `f` over `n` runs (nothing else runs meanwhile), microseconds.
fn time_us(n: u32, mut f: impl FnMut()) -> f64 {
    f();
    let t = thread_cpu();
    for _ in 0..n {
        f();
    }
    (thread_cpu() - t).as_secs_f64() * 1e6 / f64::from(n)
}

fn pair(what: &str, old: f64, new: f64) {
    println!(
        "   {what:<52} old {old:>9.1} us   new {new:>9.1} us   x{:.2}",
        old / new
    );
}

fn old_vs_new() {
    println!(
        "\n2. old path against new, same run (mean per call; the old path kept here or as a reference):"
    );
    let t = threshold_for(OPERATORS).expect("t") as usize;
    let ids = ids();

    // Feldman: the dealers' summed commitments at our x.
    let commits: Vec<G1> = (0..t)
        .map(|_| G1::generator().mul(&Scalar::random().expect("rng")))
        .collect();
    let x = ids[OPERATORS - 1];
    assert_eq!(
        poly::eval_public_naive(&commits, x),
        poly::eval_public(&commits, x)
    );
    pair(
        "Feldman check: commitments at x (t = 9; naive / Horner)",
        time_us(200, || {
            std::hint::black_box(poly::eval_public_naive(&commits, x));
        }),
        time_us(200, || {
            std::hint::black_box(poly::eval_public(&commits, x));
        }),
    );

    // Recombination: 13 share keys and 13 partial signatures interpolated at 0.
    let sks: Vec<Scalar> = (0..OPERATORS)
        .map(|_| Scalar::random().expect("rng"))
        .collect();
    let g1_points: Vec<(u64, [u8; 48])> = ids
        .iter()
        .zip(&sks)
        .map(|(id, s)| (*id, G1::generator().mul(s).compress()))
        .collect();
    let msg = [7u8; 32];
    let g2_points: Vec<(u64, [u8; 96])> = ids
        .iter()
        .zip(&sks)
        .map(|(id, s)| {
            (
                *id,
                bls::sign(&s.to_secret_key().expect("sk"), &msg, Dst::Pop),
            )
        })
        .collect();
    let naive_g1 = |pts: &[(u64, [u8; 48])]| {
        let l = lagrange_at_zero(&pts.iter().map(|p| p.0).collect::<Vec<_>>()).expect("ids");
        pts.iter().zip(&l).fold(G1::identity(), |a, ((_, b), c)| {
            a.add(&G1::from_compressed(b).expect("point").mul(c))
        })
    };
    let naive_g2 = |pts: &[(u64, [u8; 96])]| {
        let l = lagrange_at_zero(&pts.iter().map(|p| p.0).collect::<Vec<_>>()).expect("ids");
        pts.iter().zip(&l).fold(G2::identity(), |a, ((_, b), c)| {
            a.add(&G2::from_compressed(b).expect("point").mul(c))
        })
    };
    assert_eq!(
        naive_g1(&g1_points).compress(),
        bls::interpolate_g1(&g1_points).expect("g1")
    );
    assert_eq!(
        naive_g2(&g2_points).compress(),
        bls::interpolate_g2(&g2_points).expect("g2")
    );
    pair(
        "interpolation of 13 share keys, G1 (term by term / MSM)",
        time_us(50, || {
            std::hint::black_box(naive_g1(&g1_points));
        }),
        time_us(50, || {
            std::hint::black_box(bls::interpolate_g1(&g1_points).expect("g1"));
        }),
    );
    pair(
        "interpolation of 13 partial signatures, G2",
        time_us(20, || {
            std::hint::black_box(naive_g2(&g2_points));
        }),
        time_us(20, || {
            std::hint::black_box(bls::interpolate_g2(&g2_points).expect("g2"));
        }),
    );

    // Batches: blst's per-signature random linear combination (the old bls_batch) against the
    // message- or key-grouped one.
    let signed = |keys: &[Scalar], msgs: usize, dst: Dst| -> Vec<Signed> {
        let mut v = Vec::new();
        for (k, s) in keys.iter().enumerate() {
            let sk = s.to_secret_key().expect("sk");
            for m in 0..msgs {
                let msg = if msgs == 1 {
                    vec![k as u8; 32]
                } else {
                    vec![0xa0 + m as u8; 32]
                };
                v.push((bls::public_key(&sk), msg.clone(), bls::sign(&sk, &msg, dst)));
            }
        }
        v
    };
    let partials = signed(&sks, 2, Dst::Pop);
    let bundles = signed(&sks[..OPERATORS - 1], 1, Dst::Nul);
    let validator = signed(&sks[..1], 2, Dst::Pop);
    for (what, v, dst, n) in [
        (
            "initiator: 26 partial signatures (13 keys x 2 messages)",
            &partials,
            Dst::Pop,
            20,
        ),
        (
            "operator: 12 deal-bundle signatures (12 keys, 12 messages)",
            &bundles,
            Dst::Nul,
            20,
        ),
        (
            "/results, dkg verify: deposit + owner-nonce (1 key)",
            &validator,
            Dst::Pop,
            50,
        ),
    ] {
        let items = as_items(v);
        assert!(blst_batch(&items, dst) && bls_batch::verify_all(&items, dst));
        pair(
            what,
            time_us(n, || assert!(blst_batch(&items, dst))),
            time_us(n, || assert!(bls_batch::verify_all(&items, dst))),
        );
    }
    let validator_items = as_items(&validator);
    pair(
        "  (the same 2 as two bls::verify calls, before batching)",
        time_us(50, || {
            for it in &validator_items {
                bls::verify(it.public, it.msg, it.signature, Dst::Pop).expect("verify");
            }
        }),
        time_us(50, || {
            assert!(bls_batch::verify_all(&validator_items, Dst::Pop));
        }),
    );

    // RSA: parse per use against the cached parse.
    let key = OperatorPrivateKey::generate(2048).expect("rsa key");
    let signer = FastSigner::new(key);
    let public = signer.public_key().clone();
    let text = public.to_base64_pem().to_string();
    let pem = public.to_pem();
    let payload = [5u8; 600];
    let sig = signer.sign_pss(&payload).expect("sign");
    let der = public.as_rsa().to_pkcs1_der().expect("der");
    let verify_old = || {
        aws_lc_rs::signature::UnparsedPublicKey::new(&PSS_MAX_SALT_VERIFY, der.as_bytes())
            .verify(&payload, &sig)
            .is_ok()
    };
    assert!(verify_old() && rsa_signer::verify_pss(&public, &payload, &sig));
    pair(
        "RSA-PSS verify (aws-lc parse per call / parsed once)",
        time_us(500, || assert!(verify_old())),
        time_us(500, || {
            assert!(rsa_signer::verify_pss(&public, &payload, &sig));
        }),
    );
    pair(
        "operator key from its base64-PEM text (parse / cache)",
        time_us(200, || {
            std::hint::black_box(OperatorPublicKey::from_pem(&pem).expect("parse"));
        }),
        time_us(200, || {
            std::hint::black_box(OperatorPublicKey::from_base64_pem(&text).expect("parse"));
        }),
    );
}

type Signed = ([u8; 48], Vec<u8>, [u8; 96]);

fn as_items(v: &[Signed]) -> Vec<bls_batch::Item<'_>> {
    v.iter()
        .map(|(p, m, s)| bls_batch::Item {
            public: p,
            msg: m,
            signature: s,
        })
        .collect()
}

static PSS_MAX_SALT_VERIFY: aws_lc_rs::signature::RsaParameters =
    aws_lc_rs::signature::RSA_PSS_2048_8192_SHA256
        .with_pss_salt_length(aws_lc_rs::signature::RsaPssSaltLength::Max);

/// The old `bls_batch::verify_all`: blst's own batch, one pairing and one hash per signature.
fn blst_batch(items: &[bls_batch::Item<'_>], dst: Dst) -> bool {
    use blst::min_pk::{PublicKey, Signature};
    let mut pks = Vec::new();
    let mut sigs = Vec::new();
    for it in items {
        let (Ok(pk), Ok(sig)) = (
            PublicKey::from_bytes(it.public),
            Signature::from_bytes(it.signature),
        ) else {
            return false;
        };
        pks.push(pk);
        sigs.push(sig);
    }
    let rands: Vec<blst::blst_scalar> = items
        .iter()
        .map(|_| {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).expect("rng");
            b[0] |= 1;
            let mut sc = blst::blst_scalar::default();
            sc.b[..8].copy_from_slice(&b);
            sc
        })
        .collect();
    let msgs: Vec<&[u8]> = items.iter().map(|i| i.msg).collect();
    let pk_refs: Vec<&PublicKey> = pks.iter().collect();
    let sig_refs: Vec<&Signature> = sigs.iter().collect();
    Signature::verify_multiple_aggregate_signatures(
        &msgs,
        dst.as_bytes(),
        &pk_refs,
        true,
        &sig_refs,
        true,
        &rands,
        64,
    ) == blst::BLST_ERROR::BLST_SUCCESS
}

// ---------------------------------------------------------------------------------------------
// 3. End to end over HTTPS

struct Cluster {
    _servers: Vec<RunningOperator>,
    infos: Vec<OperatorInfo>,
}

async fn in_process_cluster(ids: &[u64], tls: &TlsMaterial) -> Res<Cluster> {
    let keys = tokio::task::spawn_blocking({
        let n = ids.len();
        move || keys(n)
    })
    .await?;
    let mut servers = Vec::new();
    let mut infos = Vec::new();
    for (id, key) in ids.iter().zip(keys) {
        let public = key.public_key().clone();
        let state =
            Arc::new(OperatorState::new(*id, key, "v3.1.0".into()).with_limits(bench_limits()));
        let addr: SocketAddr = "127.0.0.1:0".parse()?;
        let s = serve(state, addr, tls).await?;
        infos.push(OperatorInfo {
            id: *id,
            key: public,
            url: s.url(),
        });
        servers.push(s);
    }
    Ok(Cluster {
        _servers: servers,
        infos,
    })
}

async fn end_to_end() -> Res<()> {
    let tls = TlsMaterial::self_signed(&[])?;
    let ids = ids();
    let cluster = in_process_cluster(&ids, &tls).await?;
    let init = Arc::new(Initiator::new(cluster.infos.clone(), &insecure())?);
    let out = tempfile::tempdir()?;
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let dir = init
        .run_and_write(&request(0, VALIDATORS), out.path())
        .await?;
    let wall = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let verified = verify_ceremony_dir(
        &dir,
        &VerifyExpectations {
            validators: Some(VALIDATORS),
            owner: Some(OWNER),
            nonce: Some(0),
            withdraw_address: Some(WITHDRAW),
            amount_gwei: Some(32_000_000_000),
            network: Some("mainnet".into()),
            operator_ids: Some(ids.clone()),
        },
    )?;
    assert_eq!(verified.validators.len(), VALIDATORS);
    println!(
        "\n3. end to end, {OPERATORS} operators x {VALIDATORS} validators over loopback HTTPS \
         (initiator + operators in this process, 20 ceremonies at once):"
    );
    println!(
        "   wall {wall:.2} s, CPU {cpu:.2} s ({:.2} cores busy), {:.1} ms CPU per validator; \
         output verified",
        cpu / wall,
        cpu * 1e3 / VALIDATORS as f64
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 4. One operator process under 100 concurrent ceremonies

struct OperatorProcess {
    child: Child,
    info: OperatorInfo,
    _dir: tempfile::TempDir,
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn operator_files(dir: &Path, key: &OperatorPrivateKey, tls: &TlsMaterial) -> Res<()> {
    key.write_keystore_file(&dir.join("key.json"), "pw", Kdf::Pbkdf2 { c: 1024 })?;
    std::fs::write(dir.join("pw"), "pw")?;
    std::fs::write(dir.join("tls.crt"), &tls.cert_pem)?;
    std::fs::write(dir.join("tls.key"), tls.key_pem.as_bytes())?;
    Ok(())
}

async fn start_operator_process(id: u64, tls: &TlsMaterial) -> Res<OperatorProcess> {
    let key = tokio::task::spawn_blocking(|| OperatorPrivateKey::generate(2048)).await??;
    let dir = tempfile::tempdir()?;
    operator_files(dir.path(), &key, tls)?;
    let port = free_port()?;
    // SSV_AGENT_BIN: another build of the operator (the baseline binary, for a before/after).
    let bin =
        std::env::var_os("SSV_AGENT_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_ssv-agent").into());
    let child = Command::new(bin)
        .current_dir(dir.path())
        .args(["--log", "warn"])
        .args(["dkg", "operator", "--operator-id", &id.to_string()])
        .args(["--priv-key", "key.json", "--priv-key-password", "pw"])
        .args(["--listen", "127.0.0.1", "--port", &port.to_string()])
        .args(["--server-tls-cert-path", "tls.crt"])
        .args(["--server-tls-key-path", "tls.key"])
        .args(["--max-instances-per-ip", "256"])
        .args(["--max-instances-per-initiator", "64"])
        .args(["--max-connections-per-ip", "512"])
        .args(["--instance-ttl-secs", "600", "--exchange-ttl-secs", "600"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr.log"))?)
        .spawn()?;
    let info = OperatorInfo {
        id,
        key: key.public_key().clone(),
        url: format!("https://127.0.0.1:{port}"),
    };
    let proc = OperatorProcess {
        child,
        info: info.clone(),
        _dir: dir,
    };
    let probe = Initiator::ping_only(info.clone(), &insecure())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while probe.ping_one(&info).await.is_err() {
        if Instant::now() > deadline {
            return Err("operator process did not answer its health check in 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(proc)
}

async fn memory() -> Res<()> {
    const INITIATORS: usize = 5;
    const EACH: usize = 20;
    let tls = TlsMaterial::self_signed(&[])?;
    let ids = ids();
    let proc = start_operator_process(ids[0], &tls).await?;
    let pid = proc.child.id();
    let rest = in_process_cluster(&ids[1..], &tls).await?;
    let mut infos = vec![proc.info.clone()];
    infos.extend(rest.infos.iter().cloned());
    let idle = proc_status_mib(pid, "VmRSS:");
    let cpu0 = proc_cpu_seconds(pid);
    let t = Instant::now();
    let runs = (0..INITIATORS).map(|i| {
        let infos = infos.clone();
        async move {
            let init = Arc::new(Initiator::new(infos, &insecure())?);
            let files = init.run(&request((i * EACH) as u64, EACH)).await?;
            Ok::<usize, Box<dyn std::error::Error + Send + Sync>>(files.len())
        }
    });
    let done: usize = match futures::future::try_join_all(runs).await {
        Ok(v) => v.into_iter().sum(),
        Err(e) => {
            let log =
                std::fs::read_to_string(proc._dir.path().join("stderr.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            eprintln!(
                "operator process stderr (last lines, newest first):\n{}",
                tail.join("\n")
            );
            return Err(e);
        }
    };
    let wall = t.elapsed().as_secs_f64();
    assert_eq!(done, INITIATORS * EACH);
    let cpu = proc_cpu_seconds(pid) - cpu0;
    println!(
        "\n4. one operator process (`ssv-agent dkg operator`), {} ceremonies at once \
         ({INITIATORS} initiators x {EACH}, 13 operators):",
        INITIATORS * EACH
    );
    println!(
        "   peak RSS (VmHWM) {:.1} MiB (idle {idle:.1} MiB); its CPU {cpu:.2} s = {:.1} ms per \
         ceremony; all {done} ceremonies done in {wall:.2} s",
        proc_status_mib(pid, "VmHWM:"),
        cpu * 1e3 / done as f64
    );
    Ok(())
}

fn main() -> Res<()> {
    // `cargo bench` passes `--bench`; any other argument names the parts to run (1 2 3 4).
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |p: &str| parts.is_empty() || parts.iter().any(|a| a == p);
    println!(
        "bulk ceremony benchmark ({} cores; release build)",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    if run("1") {
        per_phase();
    }
    if run("2") {
        old_vs_new();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if run("3") {
        rt.block_on(end_to_end())?;
    }
    if run("4") {
        rt.block_on(memory())?;
    }
    Ok(())
}
