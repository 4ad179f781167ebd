//! Resign and reshare interop with the real Go ssv-dkg v3.1.0 on loopback (its operators check
//! owner signatures through an execution RPC: an anvil node here): the Rust initiator with Go
//! operators (reshare 4 -> 4 with two replaced, and 4 -> 7; resign) and the Go initiator
//! (`ssv-dkg generate-*-msg`, `resign`, `reshare`) with Rust operators (reshare 4 -> 7; resign).
//! Every output passes `dkg verify`, the Go `ssv-dkg verify` and the py_ecc checker, and keeps the
//! validator key. Also the wall time of a 4 -> 4 reshare (two replaced), Rust-only against
//! Go-only, in the same run (`RESHARE_WALL` lines).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ssv_agent::dkg::initiator::{Initiator, OperatorInfo};
use ssv_agent::dkg::outputs::SignedProofJson;
use ssv_agent::dkg::owner_sig::OwnerSignature;
use ssv_agent::dkg::reshare::{ReshareRequest, reshare, reshare_message_hex, reshare_messages};
use ssv_agent::dkg::resign::{
    ResignRequest, parse_proofs, resign, resign_message_hex, resign_messages,
};

use crate::dkg_interop_go::{Cluster, Impl, Params, check_all, start_cluster_eth, tail};
use crate::dkg_resign::{init_proofs, insecure, owner_key, params};
use crate::support::dkg::{AMOUNT_GWEI, OWNER, WITHDRAW};

/// anvil (the repository's pinned binary), killed on drop: the operators' `ethEndpointURL`.
pub(crate) struct AnvilNode {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl AnvilNode {
    pub(crate) fn endpoint(&self) -> String {
        self.url.clone()
    }
}

impl Drop for AnvilNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn anvil() -> AnvilNode {
    use ssv_agent::devnet::anvil::{AnvilSpec, free_port, spawn};
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port().expect("port");
    let spec = AnvilSpec {
        chain_id: 31337,
        port,
        genesis_number: 0,
        block_time: None,
        state_file: None,
        log_file: dir.path().join("anvil.log"),
        cache_dir: dir.path().join("anvil-cache"),
    };
    let child = spawn(&spec, false)
        .await
        .expect("anvil (run `cd anvil && npm ci` for the pinned @foundry-rs/anvil 1.7.1)");
    AnvilNode {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

fn pick(all: &[OperatorInfo], ids: &[u64]) -> Vec<OperatorInfo> {
    ids.iter()
        .map(|id| all.iter().find(|o| o.id == *id).expect("operator").clone())
        .collect()
}

fn csv(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// Writes the operators info and the proofs into the cluster's folder (Go takes local paths).
fn go_inputs(c: &Cluster, proofs: &[Vec<SignedProofJson>]) {
    let info: Vec<serde_json::Value> = c
        .infos
        .iter()
        .map(|o| serde_json::json!({"id": o.id, "public_key": o.key.to_base64_pem(), "ip": o.url}))
        .collect();
    std::fs::write(
        c.work.path().join("operators_info.json"),
        serde_json::to_vec(&info).unwrap(),
    )
    .unwrap();
    std::fs::write(
        c.work.path().join("proofs.json"),
        serde_json::to_vec(proofs).unwrap(),
    )
    .unwrap();
}

/// Runs the Go initiator `cmd` (resign, reshare, generate-*-msg) with the shared flags.
async fn go_initiator(c: &Cluster, cmd: &'static str, extra: Vec<String>, out: &str) -> PathBuf {
    let bin = c.bin.clone();
    let cwd = c.work.path().to_path_buf();
    let log = format!("./{out}.log");
    let out_dir = format!("./{out}");
    let output = tokio::task::spawn_blocking({
        let log = log.clone();
        move || {
            Command::new(bin)
                .current_dir(cwd)
                .arg(cmd)
                .args(["--operatorsInfoPath", "./operators_info.json"])
                .args(["--owner", &OWNER.to_string()])
                .args(["--withdrawAddress", &WITHDRAW.to_string()])
                .args(["--network", "mainnet"])
                .args(["--amount", &AMOUNT_GWEI.to_string()])
                .args(["--proofsFilePath", "./proofs.json"])
                .args(["--outputPath", &out_dir])
                .args(["--logFilePath", &log])
                .args(extra)
                .output()
        }
    })
    .await
    .expect("join")
    .expect("run Go initiator");
    assert!(
        output.status.success(),
        "Go {cmd} failed:\n{}\n{}",
        tail(&c.work.path().join(&log), 15),
        c.go_logs()
    );
    c.work.path().join(out)
}

fn ceremony_in(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .expect("output dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ceremony-"))
        })
        .expect("a ceremony-* folder")
}

fn check_keys_kept(dir: &Path, old: &[Vec<SignedProofJson>]) {
    let file = if old.len() == 1 {
        crate::dkg_interop_go::first_validator_dir(dir).join("proofs.json")
    } else {
        dir.join("proofs.json")
    };
    let new = parse_proofs(&std::fs::read_to_string(file).unwrap()).unwrap();
    for (n, o) in new.iter().zip(old) {
        assert_eq!(
            n[0].proof.validator, o[0].proof.validator,
            "same validator key"
        );
    }
}

/// A cluster of `kinds` over ids 11..77 with an init ceremony on the first four (Rust initiator).
async fn setup(kinds: Impl, n: usize, eth: &AnvilNode) -> (Cluster, Vec<Vec<SignedProofJson>>) {
    let ids: Vec<u64> = [11, 22, 33, 44, 55, 66, 77][..n].to_vec();
    let c = start_cluster_eth(&ids, &vec![kinds; n], Some(&eth.endpoint())).await;
    let old = pick(&c.infos, &[11, 22, 33, 44]);
    let proofs = init_proofs(&old, OWNER, 0, 1, &c.work.path().join("init")).await;
    (c, proofs)
}

fn p(nonce: u64, validators: usize) -> Params {
    Params::new(nonce, validators, "mainnet")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_initiator_reshares_four_to_four_and_resigns_with_go_operators() {
    let eth = anvil().await;
    let (c, proofs) = setup(Impl::Go, 6, &eth).await;
    let init = Initiator::new(pick(&c.infos, &[11, 22, 33, 44]), &insecure()).unwrap();
    let new_ids = [11, 22, 55, 66];
    let t = Instant::now();
    let out = reshare(
        &init,
        ReshareRequest {
            proofs: proofs.clone(),
            old_operators: pick(&c.infos, &[11, 22, 33, 44]),
            new_operators: pick(&c.infos, &new_ids),
            params: params(1),
            signature: OwnerSignature::Signer(owner_key()),
        },
        &c.work.path().join("rust-reshare"),
    )
    .await
    .unwrap_or_else(|e| panic!("Rust reshare with Go operators: {e}\n{}", c.go_logs()));
    eprintln!(
        "RESHARE_WALL rust-initiator/go-operators 4->4: {:?}",
        t.elapsed()
    );
    let dir = out[0].dir.parent().unwrap().to_path_buf();
    let mut cc = c;
    cc.infos = pick(&cc.infos, &new_ids);
    check_all(&cc, &dir, p(1, 1));
    check_keys_kept(&dir, &proofs);

    // Resign the reshared validator for a new nonce with the Go operators that now hold it.
    let p2 = parse_proofs(&std::fs::read_to_string(&out[0].proofs).unwrap()).unwrap();
    let init = Initiator::new(cc.infos.clone(), &insecure()).unwrap();
    let out = resign(
        &init,
        ResignRequest {
            proofs: p2.clone(),
            params: params(9),
            signature: OwnerSignature::Signer(owner_key()),
        },
        &cc.work.path().join("rust-resign"),
    )
    .await
    .unwrap_or_else(|e| panic!("Rust resign with Go operators: {e}\n{}", cc.go_logs()));
    let dir = out[0].dir.parent().unwrap().to_path_buf();
    check_all(&cc, &dir, p(9, 1));
    check_keys_kept(&dir, &p2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_initiator_reshares_four_to_seven_with_go_operators() {
    let eth = anvil().await;
    let (c, proofs) = setup(Impl::Go, 7, &eth).await;
    let all = [11, 22, 33, 44, 55, 66, 77];
    let init = Initiator::new(pick(&c.infos, &all), &insecure()).unwrap();
    let out = reshare(
        &init,
        ReshareRequest {
            proofs: proofs.clone(),
            old_operators: pick(&c.infos, &[11, 22, 33, 44]),
            new_operators: pick(&c.infos, &all),
            params: params(1),
            signature: OwnerSignature::Signer(owner_key()),
        },
        &c.work.path().join("rust-reshare-7"),
    )
    .await
    .unwrap_or_else(|e| panic!("Rust reshare 4->7 with Go operators: {e}\n{}", c.go_logs()));
    let dir = out[0].dir.parent().unwrap().to_path_buf();
    check_all(&c, &dir, p(1, 1));
    check_keys_kept(&dir, &proofs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_initiator_reshares_four_to_seven_and_resigns_with_rust_operators() {
    let eth = anvil().await;
    let (c, proofs) = setup(Impl::Rust, 7, &eth).await;
    go_inputs(&c, &proofs);
    let old = pick(&c.infos, &[11, 22, 33, 44]);
    let seven = [11, 22, 33, 44, 55, 66, 77];
    let new = pick(&c.infos, &seven);
    // Go's message hash is ours.
    let msgs = reshare_messages(&old, &new, &params(1), &proofs).unwrap();
    let ours = reshare_message_hex(&msgs);
    let flags = || {
        vec![
            "--operatorIDs".to_string(),
            csv(&[11, 22, 33, 44]),
            "--newOperatorIDs".into(),
            csv(&seven),
            "--nonce".into(),
            "1".into(),
        ]
    };
    let gen_dir = go_initiator(&c, "generate-reshare-msg", flags(), "gen-reshare").await;
    let theirs = std::fs::read_to_string(gen_dir.join("reshare.txt")).expect("reshare.txt");
    assert_eq!(theirs.trim(), ours, "Go and Rust reshare message hashes");
    let sig = OwnerSignature::Signer(owner_key()).sign(&ours).unwrap();
    let mut f = flags();
    f.extend([
        "--signatures".into(),
        hex::encode(&sig),
        "--tlsInsecure".into(),
    ]);
    let out = go_initiator(&c, "reshare", f, "go-reshare").await;
    let dir = ceremony_in(&out);
    let mut cc = c;
    cc.infos = new.clone();
    check_all(&cc, &dir, p(1, 1));
    check_keys_kept(&dir, &proofs);

    // Resign with the seven Rust operators, driven by Go.
    let p2 = parse_proofs(
        &std::fs::read_to_string(
            crate::dkg_interop_go::first_validator_dir(&dir).join("proofs.json"),
        )
        .unwrap(),
    )
    .unwrap();
    go_inputs(&cc, &p2);
    let msgs = resign_messages(&new, &params(4), &p2).unwrap();
    let ours = resign_message_hex(&msgs);
    let flags = vec![
        "--operatorIDs".to_string(),
        csv(&seven),
        "--nonce".into(),
        "4".into(),
    ];
    let gen_dir = go_initiator(&cc, "generate-resign-msg", flags.clone(), "gen-resign").await;
    let theirs = std::fs::read_to_string(gen_dir.join("resign.txt")).expect("resign.txt");
    assert_eq!(theirs.trim(), ours, "Go and Rust resign message hashes");
    let sig = OwnerSignature::Signer(owner_key()).sign(&ours).unwrap();
    let mut f = flags;
    f.extend([
        "--signatures".into(),
        hex::encode(&sig),
        "--tlsInsecure".into(),
    ]);
    let out = go_initiator(&cc, "resign", f, "go-resign").await;
    let dir = ceremony_in(&out);
    check_all(&cc, &dir, p(4, 1));
    check_keys_kept(&dir, &p2);
}

/// The same 4 -> 4 reshare (two replaced), Rust-only and Go-only, timed in one run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reshare_wall_time_rust_only_against_go_only() {
    let eth = anvil().await;
    let new_ids = [11, 22, 55, 66];
    // Rust initiator, Rust operators.
    let (r, rproofs) = setup(Impl::Rust, 6, &eth).await;
    let init = Initiator::new(pick(&r.infos, &[11, 22, 33, 44]), &insecure()).unwrap();
    let t = Instant::now();
    reshare(
        &init,
        ReshareRequest {
            proofs: rproofs,
            old_operators: pick(&r.infos, &[11, 22, 33, 44]),
            new_operators: pick(&r.infos, &new_ids),
            params: params(1),
            signature: OwnerSignature::Signer(owner_key()),
        },
        &r.work.path().join("rust-reshare"),
    )
    .await
    .expect("Rust-only reshare");
    let rust = t.elapsed();
    drop(r);
    // Go initiator, Go operators.
    let (g, gproofs) = setup(Impl::Go, 6, &eth).await;
    go_inputs(&g, &gproofs);
    let old = pick(&g.infos, &[11, 22, 33, 44]);
    let msgs = reshare_messages(&old, &pick(&g.infos, &new_ids), &params(1), &gproofs).unwrap();
    let sig = OwnerSignature::Signer(owner_key())
        .sign(&reshare_message_hex(&msgs))
        .unwrap();
    let t = Instant::now();
    let out = go_initiator(
        &g,
        "reshare",
        vec![
            "--operatorIDs".into(),
            csv(&[11, 22, 33, 44]),
            "--newOperatorIDs".into(),
            csv(&new_ids),
            "--nonce".into(),
            "1".into(),
            "--signatures".into(),
            hex::encode(&sig),
            "--tlsInsecure".into(),
        ],
        "go-reshare",
    )
    .await;
    let go = t.elapsed();
    assert!(ceremony_in(&out).is_dir());
    eprintln!("RESHARE_WALL 4->4 two replaced: rust-only {rust:?}, go-only {go:?}");
}

/// Mixed old and new sets: Go and Rust operators on both sides of a 4 -> 4 reshare (two
/// replaced), driven by the Rust initiator; checked by all three verifiers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_initiator_reshares_across_a_mixed_go_and_rust_cluster() {
    let eth = anvil().await;
    let ids = [11, 22, 33, 44, 55, 66];
    let kinds = [
        Impl::Go,
        Impl::Rust,
        Impl::Go,
        Impl::Rust,
        Impl::Go,
        Impl::Rust,
    ];
    let c = start_cluster_eth(&ids, &kinds, Some(&eth.endpoint())).await;
    let old = pick(&c.infos, &[11, 22, 33, 44]);
    let proofs = init_proofs(&old, OWNER, 0, 1, &c.work.path().join("init")).await;
    let new_ids = [22, 33, 55, 66];
    let init = Initiator::new(old.clone(), &insecure()).unwrap();
    let out = reshare(
        &init,
        ReshareRequest {
            proofs: proofs.clone(),
            old_operators: old,
            new_operators: pick(&c.infos, &new_ids),
            params: params(1),
            signature: OwnerSignature::Signer(owner_key()),
        },
        &c.work.path().join("mixed"),
    )
    .await
    .unwrap_or_else(|e| panic!("mixed reshare: {e}\n{}", c.go_logs()));
    let dir = out[0].dir.parent().unwrap().to_path_buf();
    let mut cc = c;
    cc.infos = pick(&cc.infos, &new_ids);
    check_all(&cc, &dir, p(1, 1));
    check_keys_kept(&dir, &proofs);
}
