//! Reshare (new operator set, same validator key) between the Rust initiator and Rust operators:
//! 4 -> 4 with two operators replaced and 4 -> 7, each checked by `dkg verify`, the binary's
//! `dkg verify` and the py_ecc checker, and the new share keys interpolating to the old validator
//! key; one old operator down still succeeds at the old threshold, two down is refused naming
//! them.

use std::time::Instant;

use ssv_agent::dkg::initiator::{Initiator, OperatorInfo};
use ssv_agent::dkg::owner_sig::OwnerSignature;
use ssv_agent::dkg::reshare::{ReshareError, ReshareOutput, ReshareRequest, reshare};
use ssv_agent::dkg::resign::parse_proofs;
use ssv_agent::dkg::verify::verify_ceremony_dir;

use crate::dkg_resign::{init_proofs, insecure, owner_key, params, start_cluster};
use crate::support::dkg::{AMOUNT_GWEI, OWNER, expectations};

fn pick(all: &[OperatorInfo], ids: &[u64]) -> Vec<OperatorInfo> {
    ids.iter()
        .map(|id| all.iter().find(|o| o.id == *id).expect("operator").clone())
        .collect()
}

/// The new folder verifies three ways and keeps the validator keys of `old`.
fn check(
    out: &[ReshareOutput],
    old: &[Vec<ssv_agent::dkg::outputs::SignedProofJson>],
    nonce: u64,
    new_ids: &[u64],
) {
    assert_eq!(out.len(), old.len());
    for (o, p) in out.iter().zip(old) {
        assert_eq!(
            o.validator_pubkey.to_vec(),
            p[0].proof.validator,
            "same validator key"
        );
        let new = parse_proofs(&std::fs::read_to_string(&o.proofs).unwrap()).unwrap();
        assert_eq!(new[0].len(), new_ids.len());
    }
    let dir = out[0].dir.parent().unwrap();
    let v = verify_ceremony_dir(
        dir,
        &expectations(nonce, out.len(), new_ids, "mainnet", AMOUNT_GWEI),
    )
    .expect("reshared ceremony verifies");
    assert_eq!(v.validators.len(), out.len());
    crate::support::dkg::python_check(dir, nonce, out.len(), "mainnet");
    crate::support::dkg::cli_verify(dir, nonce, out.len(), "mainnet", AMOUNT_GWEI);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reshare_four_to_four_replacing_two_and_four_to_seven() {
    let all_ids = [11, 22, 33, 44, 55, 66, 77];
    let c = start_cluster(&all_ids).await;
    let old = pick(&c.infos, &[11, 22, 33, 44]);
    let tmp = tempfile::tempdir().expect("tmp");
    let proofs = init_proofs(&old, OWNER, 0, 1, &tmp.path().join("init")).await;
    let init = Initiator::new(old.clone(), &insecure()).expect("client");
    let new_ids = [11, 22, 55, 66];
    let t = Instant::now();
    let out = reshare(
        &init,
        ReshareRequest {
            proofs: proofs.clone(),
            old_operators: old.clone(),
            new_operators: pick(&c.infos, &new_ids),
            params: params(1),
            signature: OwnerSignature::Signer(owner_key()),
        },
        &tmp.path().join("to4"),
    )
    .await
    .expect("reshare 4 -> 4");
    eprintln!("RESHARE_WALL rust-only 4->4: {:?}", t.elapsed());
    check(&out, &proofs, 1, &new_ids);

    // And on from there to seven operators, with the proofs the reshare just wrote.
    let p2 = parse_proofs(&std::fs::read_to_string(&out[0].proofs).unwrap()).unwrap();
    let seven = [11, 22, 33, 44, 55, 66, 77];
    let t = Instant::now();
    let out7 = reshare(
        &init,
        ReshareRequest {
            proofs: p2.clone(),
            old_operators: pick(&c.infos, &new_ids),
            new_operators: pick(&c.infos, &seven),
            params: params(2),
            signature: OwnerSignature::Signer(owner_key()),
        },
        &tmp.path().join("to7"),
    )
    .await
    .expect("reshare 4 -> 7");
    eprintln!("rust-only 4->7: {:?}", t.elapsed());
    check(&out7, &p2, 2, &seven);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_old_operator_down_succeeds_two_down_is_refused_by_name() {
    let c = start_cluster(&[11, 22, 33, 44, 55, 66]).await;
    let old = pick(&c.infos, &[11, 22, 33, 44]);
    let tmp = tempfile::tempdir().expect("tmp");
    let proofs = init_proofs(&old, OWNER, 0, 2, &tmp.path().join("init")).await;
    let init = Initiator::new(old.clone(), &insecure()).expect("client");
    let new_ids = [22, 33, 55, 66];
    let req = |nonce| ReshareRequest {
        proofs: proofs.clone(),
        old_operators: old.clone(),
        new_operators: pick(&c.infos, &new_ids),
        params: params(nonce),
        signature: OwnerSignature::Signer(owner_key()),
    };
    c.servers[0].stop(); // operator 11, old only
    let out = reshare(&init, req(3), &tmp.path().join("one-down"))
        .await
        .expect("3 of 4 old operators are the old threshold");
    check(&out, &proofs, 3, &new_ids);
    c.servers[3].stop(); // operator 44 too
    let e = reshare(&init, req(5), &tmp.path().join("two-down"))
        .await
        .expect_err("2 of 4 old operators are below the threshold");
    let text = e.to_string();
    assert!(matches!(e, ReshareError::NotEnough { .. }), "{text}");
    assert!(
        text.contains("operator 11") && text.contains("operator 44"),
        "{text}"
    );
    assert!(!tmp.path().join("two-down").exists(), "nothing written");
}

/// The binary: `generate-reshare-msg` writes the hash the library signs, `reshare` signs with
/// the configured signer (`SSV_AGENT_PRIVATE_KEY`), `resign --signatures` takes a signature made
/// elsewhere; the written folders verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_generates_the_message_reshares_and_resigns() {
    use std::process::Command;
    let c = start_cluster(&[11, 22, 33, 44, 55, 66]).await;
    let old = pick(&c.infos, &[11, 22, 33, 44]);
    let tmp = tempfile::tempdir().expect("tmp");
    let proofs = init_proofs(&old, OWNER, 0, 1, &tmp.path().join("init")).await;
    let info: Vec<serde_json::Value> = c
        .infos
        .iter()
        .map(|o| serde_json::json!({"id": o.id, "public_key": o.key.to_base64_pem(), "ip": o.url}))
        .collect();
    let info_path = tmp.path().join("operators_info.json");
    std::fs::write(&info_path, serde_json::to_vec(&info).unwrap()).unwrap();
    let proofs_path = tmp.path().join("proofs.json");
    std::fs::write(&proofs_path, serde_json::to_vec(&proofs).unwrap()).unwrap();
    let key_hex = hex::encode(owner_key().to_bytes());
    let run = |args: Vec<String>| {
        let bin = env!("CARGO_BIN_EXE_ssv-agent");
        let key_hex = key_hex.clone();
        async move {
            let out = tokio::task::spawn_blocking(move || {
                Command::new(bin)
                    .args(&args)
                    .env("SSV_AGENT_PRIVATE_KEY", &key_hex)
                    .env_remove("SSV_AGENT_CONFIG")
                    .output()
                    .expect("run ssv-agent")
            })
            .await
            .unwrap();
            assert!(
                out.status.success(),
                "ssv-agent failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let common = |out: &std::path::Path, nonce: u64| -> Vec<String> {
        vec![
            "--operatorsInfoPath".into(),
            info_path.display().to_string(),
            "--operatorIDs".into(),
            "11,22,33,44".into(),
            "--owner".into(),
            OWNER.to_string(),
            "--withdrawAddress".into(),
            crate::support::dkg::WITHDRAW.to_string(),
            "--nonce".into(),
            nonce.to_string(),
            "--proofsFilePath".into(),
            proofs_path.display().to_string(),
            "--outputPath".into(),
            out.display().to_string(),
        ]
    };
    let gen_dir = tmp.path().join("gen");
    let mut a = vec![
        "dkg".into(),
        "generate-reshare-msg".into(),
        "--newOperatorIDs".into(),
        "22,33,55,66".into(),
    ];
    a.extend(common(&gen_dir, 1));
    run(a).await;
    let text = std::fs::read_to_string(gen_dir.join("reshare.txt")).unwrap();
    let msgs = ssv_agent::dkg::reshare::reshare_messages(
        &old,
        &pick(&c.infos, &[22, 33, 55, 66]),
        &params(1),
        &proofs,
    )
    .unwrap();
    assert_eq!(text, ssv_agent::dkg::reshare::reshare_message_hex(&msgs));
    let out_dir = tmp.path().join("reshared");
    let mut a = vec![
        "dkg".into(),
        "reshare".into(),
        "--new-operator-ids".into(),
        "22,33,55,66".into(),
        "--tls-insecure".into(),
    ];
    a.extend(common(&out_dir, 1));
    run(a).await;
    let dir = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    verify_ceremony_dir(
        &dir,
        &expectations(1, 1, &[22, 33, 55, 66], "mainnet", AMOUNT_GWEI),
    )
    .expect("CLI reshare output verifies");

    // The same reshare from ssv-dkg's YAML config (relative paths, as ssv-dkg requires), with
    // `--nonce` on the command line winning over the file's.
    let yaml = format!(
        "operatorIDs: [11, 22, 33, 44]\nnewOperatorIDs: \"22,33,55,66\"\nowner: \"{OWNER}\"\n\
         withdrawAddress: \"{}\"\nnonce: 1\nproofsFilePath: proofs.json\n\
         operatorsInfoPath: operators_info.json\noutputPath: reshared-yaml\ntlsInsecure: true\n\
         logLevel: info\n",
        crate::support::dkg::WITHDRAW
    );
    std::fs::write(tmp.path().join("reshare.yaml"), yaml).unwrap();
    let (bin, cwd, key) = (
        env!("CARGO_BIN_EXE_ssv-agent"),
        tmp.path().to_owned(),
        key_hex.clone(),
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args([
                "dkg",
                "reshare",
                "--configPath",
                "reshare.yaml",
                "--nonce",
                "2",
            ])
            .current_dir(cwd)
            .env("SSV_AGENT_PRIVATE_KEY", key)
            .env_remove("SSV_AGENT_CONFIG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "reshare from YAML:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = std::fs::read_dir(tmp.path().join("reshared-yaml"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    verify_ceremony_dir(
        &dir,
        &expectations(2, 1, &[22, 33, 55, 66], "mainnet", AMOUNT_GWEI),
    )
    .expect("the reshare from the YAML config verifies, with the flag's nonce");

    // Resign on the old set with a signature made outside the agent.
    let msgs = ssv_agent::dkg::resign::resign_messages(&old, &params(3), &proofs).unwrap();
    let sig = OwnerSignature::Signer(owner_key())
        .sign(&ssv_agent::dkg::resign::resign_message_hex(&msgs))
        .unwrap();
    let out_dir = tmp.path().join("resigned");
    let mut a = vec![
        "dkg".into(),
        "resign".into(),
        "--signatures".into(),
        format!("0x{}", hex::encode(sig)),
        "--tlsInsecure".into(),
    ];
    a.extend(common(&out_dir, 3));
    run(a).await;
    let dir = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    verify_ceremony_dir(
        &dir,
        &expectations(3, 1, &[11, 22, 33, 44], "mainnet", AMOUNT_GWEI),
    )
    .expect("CLI resign output verifies");
}

/// A bulk reshare of 10 validators under one owner signature, 4 -> 4 with two replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_reshare_of_ten_proofs() {
    let c = start_cluster(&[11, 22, 33, 44, 55, 66]).await;
    let old = pick(&c.infos, &[11, 22, 33, 44]);
    let tmp = tempfile::tempdir().expect("tmp");
    let proofs = init_proofs(&old, OWNER, 0, 10, &tmp.path().join("init")).await;
    assert_eq!(proofs.len(), 10);
    let init = Initiator::new(old.clone(), &insecure()).expect("client");
    let new_ids = [33, 44, 55, 66];
    let t = Instant::now();
    let out = reshare(
        &init,
        ReshareRequest {
            proofs: proofs.clone(),
            old_operators: old,
            new_operators: pick(&c.infos, &new_ids),
            params: params(20),
            signature: OwnerSignature::Signer(owner_key()),
        },
        &tmp.path().join("bulk"),
    )
    .await
    .expect("bulk reshare");
    eprintln!("rust-only bulk reshare of 10: {:?}", t.elapsed());
    check(&out, &proofs, 20, &new_ids);
}

/// A `/reshare` batch holding another owner's message is refused before any ceremony runs, and
/// an old operator listed with a caller-supplied key is refused (its proof is checked with its
/// own key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reshare_batch_with_another_owners_message_is_refused_before_any_ceremony() {
    use alloy::signers::local::PrivateKeySigner;
    use ssv_agent::dkg::reshare::{reshare_message_hex, reshare_messages};
    use ssv_agent::dkg::rsa_signer::FastSigner;
    use ssv_agent::dkg::transport::sign_transport;
    use ssv_agent::dkg::wire::{SignedReshare, Ssz, Transport, TransportType, ids::new_request_id};
    let c = start_cluster(&[11, 22, 33, 44, 55, 66]).await;
    let old = pick(&c.infos, &[11, 22, 33, 44]);
    let new = pick(&c.infos, &[11, 22, 55, 66]);
    let tmp = tempfile::tempdir().expect("tmp");
    let other = PrivateKeySigner::random();
    let mine = init_proofs(&old, OWNER, 0, 1, &tmp.path().join("a")).await;
    let theirs = init_proofs(&old, other.address(), 0, 1, &tmp.path().join("b")).await;
    let mut p2 = params(2);
    p2.owner = other.address();
    let body = |msgs: Vec<_>| {
        let sig = OwnerSignature::Signer(owner_key())
            .sign(&reshare_message_hex(&msgs))
            .unwrap();
        let signed = SignedReshare {
            messages: msgs,
            signature: sig,
        };
        let t = Transport {
            kind: TransportType::SignedReshare,
            identifier: new_request_id().unwrap(),
            data: signed.to_ssz(),
            version: b"v3.1.0".to_vec(),
        };
        sign_transport(&FastSigner::generate().unwrap(), t)
            .unwrap()
            .to_ssz()
    };
    let mut msgs = reshare_messages(&old, &new, &params(1), &mine).unwrap();
    msgs.extend(reshare_messages(&old, &new, &p2, &theirs).unwrap());
    for st in &c.states {
        let e = st
            .handle_reshare_from(body(msgs.clone()), None)
            .await
            .expect_err("foreign owner in the batch");
        assert!(e.to_string().contains("message 1 is for owner"), "{e}");
        assert_eq!(st.live_instances(), 0);
    }
    let mut msgs = reshare_messages(&old, &new, &params(1), &mine).unwrap();
    let foreign = msgs[0].reshare.old_operators[2].pubkey.clone();
    msgs[0].reshare.old_operators[0].pubkey = foreign.clone();
    msgs[0].reshare.new_operators[0].pubkey = foreign;
    let e = c.states[0]
        .handle_reshare_from(body(msgs), None)
        .await
        .expect_err("caller-supplied key");
    assert!(e.to_string().contains("another key than mine"), "{e}");
    // The honest message is taken (one instance).
    let msgs = reshare_messages(&old, &new, &params(1), &mine).unwrap();
    c.states[4]
        .handle_reshare_from(body(msgs), None)
        .await
        .expect("honest reshare message");
    assert_eq!(c.states[4].live_instances(), 1);
}
