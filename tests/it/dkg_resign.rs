//! Resign (same shares, new owner nonce) between the Rust initiator and Rust operators, checked by
//! `dkg verify`, the binary's `dkg verify` and the py_ecc checker; and the operator's hardening:
//! a batch holding another owner's message, a message whose set lacks the operator or lists it
//! with another key, a wrong owner signature and a missing operator are all refused before any
//! share signs.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use ssv_agent::crypto::rsa_keys::OperatorPrivateKey;
use ssv_agent::dkg::initiator::{CeremonyRequest, ClientTls, Initiator, OperatorInfo};
use ssv_agent::dkg::operator::{OperatorState, RunningOperator, TlsMaterial, serve};
use ssv_agent::dkg::outputs::SignedProofJson;
use ssv_agent::dkg::owner_sig::OwnerSignature;
use ssv_agent::dkg::resign::{
    ChangeError, ChangeParams, ResignRequest, parse_proofs, resign, resign_messages,
};
use ssv_agent::dkg::rsa_signer::FastSigner;
use ssv_agent::dkg::transport::sign_transport;
use ssv_agent::dkg::verify::verify_ceremony_dir;
use ssv_agent::dkg::wire::{
    SignedResign, Ssz, Transport, TransportType, bulk_message_hex, ids::new_request_id,
};

use crate::support::dkg::{AMOUNT_GWEI, OWNER, WITHDRAW, expectations, repo};

pub(crate) struct Cluster {
    pub(crate) servers: Vec<RunningOperator>,
    pub(crate) states: Vec<Arc<OperatorState>>,
    pub(crate) infos: Vec<OperatorInfo>,
}

/// Rust operators on loopback, one per id, speaking v3.1.0.
pub(crate) async fn start_cluster(ids: &[u64]) -> Cluster {
    start_cluster_eth(ids, None).await
}

/// [`start_cluster`] with an execution RPC for EIP-1271 owner checks.
pub(crate) async fn start_cluster_eth(ids: &[u64], eth: Option<&str>) -> Cluster {
    let tls = TlsMaterial::self_signed(&[]).expect("self-signed cert");
    let mut c = Cluster {
        servers: vec![],
        states: vec![],
        infos: vec![],
    };
    let keys = futures::future::join_all(ids.iter().map(|_| {
        tokio::task::spawn_blocking(|| OperatorPrivateKey::generate(2048).expect("rsa key"))
    }))
    .await;
    for (id, key) in ids.iter().zip(keys) {
        let key = key.expect("join");
        let public = key.public_key().clone();
        let mut state = OperatorState::new(*id, key, "v3.1.0".into());
        if let Some(url) = eth {
            state = state.with_eth_rpc(url.parse().expect("eth url"));
        }
        let state = Arc::new(state);
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let s = serve(state.clone(), addr, &tls).await.expect("serve");
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

pub(crate) fn insecure() -> ClientTls {
    ClientTls {
        ca_certs_pem: vec![],
        insecure: true,
    }
}

/// The owner key of ssv-dkg's examples (0xDCc8…C5E9), the owner every DKG test uses.
pub(crate) fn owner_key() -> PrivateKeySigner {
    let dir = repo().join("../shared/vectors/ssv-dkg/examples/initiator");
    let file = std::fs::read_dir(&dir)
        .expect("ssv-dkg example initiator dir")
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("UTC--"))
        .expect("owner keystore")
        .path();
    let k = PrivateKeySigner::decrypt_keystore(file, "12345678").expect("owner keystore");
    assert_eq!(k.address(), OWNER);
    k
}

pub(crate) fn params(nonce: u64) -> ChangeParams {
    ChangeParams {
        owner: OWNER,
        nonce,
        withdraw_address: WITHDRAW,
        compounding: false,
        amount_gwei: AMOUNT_GWEI,
        network_name: "mainnet".into(),
        fork_version: [0; 4],
    }
}

/// An init ceremony of `validators` validators for `owner`; returns each one's proofs.
pub(crate) async fn init_proofs(
    infos: &[OperatorInfo],
    owner: Address,
    nonce: u64,
    validators: usize,
    out: &Path,
) -> Vec<Vec<SignedProofJson>> {
    let init = Arc::new(Initiator::new(infos.to_vec(), &insecure()).expect("initiator"));
    let req = CeremonyRequest {
        owner,
        nonce,
        withdraw_address: WITHDRAW,
        compounding: false,
        amount_gwei: AMOUNT_GWEI,
        network_name: "mainnet".into(),
        fork_version: [0; 4],
        validators,
    };
    let dir = init.run_and_write(&req, out).await.expect("init ceremony");
    let file = if validators == 1 {
        let sub = std::fs::read_dir(&dir)
            .expect("ceremony dir")
            .filter_map(Result::ok)
            .find(|e| e.path().is_dir())
            .expect("validator folder")
            .path();
        sub.join("proofs.json")
    } else {
        dir.join("proofs.json")
    };
    parse_proofs(&std::fs::read_to_string(file).expect("proofs.json")).expect("proofs parse")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resign_with_a_new_nonce_keeps_the_shares_and_verifies_everywhere() {
    let ids = [11, 22, 33, 44];
    let c = start_cluster(&ids).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let proofs = init_proofs(&c.infos, OWNER, 1, 2, &tmp.path().join("init")).await;
    let init = Initiator::new(c.infos.clone(), &insecure()).expect("initiator");
    let t = Instant::now();
    let out = resign(
        &init,
        ResignRequest {
            proofs: proofs.clone(),
            params: params(7),
            signature: OwnerSignature::Signer(owner_key()),
        },
        &tmp.path().join("resign"),
    )
    .await
    .expect("resign succeeds");
    eprintln!(
        "resign of 2 validators with 4 Rust operators: {:?}",
        t.elapsed()
    );
    assert_eq!(out.len(), 2);
    for (o, old) in out.iter().zip(&proofs) {
        assert_eq!(o.validator_pubkey.to_vec(), old[0].proof.validator);
        let new = parse_proofs(&std::fs::read_to_string(&o.proofs).unwrap()).unwrap();
        // Same shares: every operator's share key is the old one.
        for (n, p) in new[0].iter().zip(old) {
            assert_eq!(n.proof.share_pub, p.proof.share_pub);
        }
    }
    assert_eq!((out[0].nonce, out[1].nonce), (7, 8));
    let dir = out[0].dir.parent().unwrap();
    let v = verify_ceremony_dir(dir, &expectations(7, 2, &ids, "mainnet", AMOUNT_GWEI))
        .expect("resigned ceremony verifies");
    assert_eq!(v.validators.len(), 2);
    crate::support::dkg::python_check(dir, 7, 2, "mainnet");
    crate::support::dkg::cli_verify(dir, 7, 2, "mainnet", AMOUNT_GWEI);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resign_needs_every_operator_and_names_the_missing_one() {
    let ids = [1, 2, 3, 4];
    let c = start_cluster(&ids).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let proofs = init_proofs(&c.infos, OWNER, 0, 1, tmp.path()).await;
    c.servers[2].stop();
    let init = Initiator::new(c.infos.clone(), &insecure()).expect("initiator");
    let e = resign(
        &init,
        ResignRequest {
            proofs,
            params: params(1),
            signature: OwnerSignature::Signer(owner_key()),
        },
        &tmp.path().join("resign"),
    )
    .await
    .expect_err("an operator is down");
    let text = e.to_string();
    assert!(
        matches!(
            e,
            ChangeError::NotEnough {
                answered: 3,
                needed: 4,
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains("operator 3"), "{text}");
    assert!(!tmp.path().join("resign").exists(), "nothing written");
}

/// The `/resign` body of `signed` from a fresh initiator key.
fn resign_body(signed: &SignedResign) -> Vec<u8> {
    let key = FastSigner::generate().expect("key");
    let t = Transport {
        kind: TransportType::SignedResign,
        identifier: new_request_id().unwrap(),
        data: signed.to_ssz(),
        version: b"v3.1.0".to_vec(),
    };
    sign_transport(&key, t).expect("sign").to_ssz()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_refuses_foreign_owners_foreign_keys_and_bad_signatures_before_signing() {
    let ids = [1, 2, 3, 4];
    let c = start_cluster(&ids).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let other = PrivateKeySigner::random();
    let mine = init_proofs(&c.infos, OWNER, 0, 1, &tmp.path().join("a")).await;
    let theirs = init_proofs(&c.infos, other.address(), 0, 1, &tmp.path().join("b")).await;
    let owner = OwnerSignature::Signer(owner_key());
    let op = c.states[0].clone();
    let refuse = |signed: SignedResign, want: &'static str| {
        let op = op.clone();
        async move {
            let e = op
                .handle_resign_from(resign_body(&signed), None)
                .await
                .expect_err(want);
            assert!(e.to_string().contains(want), "{e} (wanted {want:?})");
            assert_eq!(op.live_instances(), 0, "no instance was created");
        }
    };
    let sign = |msgs: Vec<_>, by: &OwnerSignature| {
        let sig = by.sign(&bulk_message_hex(&msgs)).unwrap();
        SignedResign {
            messages: msgs,
            signature: sig,
        }
    };

    // A batch holding another owner's message, signed by OWNER: refused as a whole.
    let mut msgs = resign_messages(&c.infos, &params(5), &mine).unwrap();
    let mut p2 = params(6);
    p2.owner = other.address();
    msgs.extend(resign_messages(&c.infos, &p2, &theirs).unwrap());
    refuse(sign(msgs, &owner), "message 1 is for owner").await;

    // The same batch signed by the other owner: the first message is not theirs either.
    let mut msgs = resign_messages(&c.infos, &p2, &theirs).unwrap();
    msgs.extend(resign_messages(&c.infos, &params(5), &mine).unwrap());
    refuse(
        sign(msgs, &OwnerSignature::Signer(other.clone())),
        "message 1 is for owner",
    )
    .await;

    // A message whose proofs are OWNER's but whose resign names the other owner.
    let mut msgs = resign_messages(&c.infos, &params(5), &mine).unwrap();
    msgs[0].resign.owner = other.address().into_array();
    refuse(
        sign(msgs, &OwnerSignature::Signer(other.clone())),
        "holds a proof of owner",
    )
    .await;

    // This operator listed with a caller-supplied key (and that key's "proof"): refused.
    let mut msgs = resign_messages(&c.infos, &params(5), &mine).unwrap();
    msgs[0].operators[0].pubkey = msgs[0].operators[1].pubkey.clone();
    refuse(sign(msgs, &owner), "with another key than mine").await;

    // A message whose operator set lacks this operator.
    let mut msgs = resign_messages(&c.infos, &params(5), &mine).unwrap();
    msgs[0].operators[0].id = 9;
    refuse(sign(msgs, &owner), "is not in its operator set").await;

    // Another operator's proof in this operator's place: not signed by my key.
    let mut msgs = resign_messages(&c.infos, &params(5), &mine).unwrap();
    msgs[0].proofs.swap(0, 1);
    refuse(sign(msgs, &owner), "my proof is not signed by my key").await;

    // A signature by someone other than the owner.
    let msgs = resign_messages(&c.infos, &params(5), &mine).unwrap();
    refuse(
        sign(msgs, &OwnerSignature::Signer(other.clone())),
        "owner signature",
    )
    .await;

    // And the honest batch is accepted (so the refusals above are about what they changed).
    let msgs = resign_messages(&c.infos, &params(5), &mine).unwrap();
    let body = resign_body(&sign(msgs, &owner));
    op.handle_resign_from(body, None)
        .await
        .expect("the honest batch signs");
    assert_eq!(op.live_instances(), 1);
}

/// Runtime code of a wallet that answers EIP-1271 `isValidSignature(hash, sig)` with the magic
/// value exactly when `hash` is `approved` (any signature bytes), else 0xffffffff.
fn approving_wallet(approved: &[u8; 32]) -> Vec<u8> {
    let mut code = vec![0x60, 0x04, 0x35, 0x7f];
    code.extend_from_slice(approved);
    code.extend_from_slice(&[0x14, 0x60, 0x38, 0x57]);
    code.extend_from_slice(&[0x63, 0xff, 0xff, 0xff, 0xff]);
    code.extend_from_slice(&[
        0x60, 0xe0, 0x1b, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3,
    ]);
    code.push(0x5b);
    code.extend_from_slice(&[0x63, 0x16, 0x26, 0xba, 0x7e]);
    code.extend_from_slice(&[
        0x60, 0xe0, 0x1b, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3,
    ]);
    assert_eq!(code[0x38], 0x5b, "jump target");
    code
}

async fn set_code(rpc: &str, at: Address, code: &[u8]) {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "anvil_setCode",
        "params": [at.to_string(), format!("0x{}", hex::encode(code))]});
    let r: serde_json::Value = reqwest::Client::new()
        .post(rpc)
        .json(&body)
        .send()
        .await
        .expect("anvil")
        .json()
        .await
        .expect("json");
    assert!(r.get("error").is_none(), "anvil_setCode: {r}");
}

/// A contract owner (EIP-1271) whose wallet approves exactly the resign's message digest is
/// accepted through the operators' execution RPC; one approving another hash is refused, and an
/// operator without an RPC refuses it as an EOA signature that does not recover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eip1271_owner_is_checked_through_the_rpc() {
    use ssv_agent::dkg::wire::bulk_message_digest;
    let eth = crate::dkg_change_go::anvil().await;
    let rpc = eth.endpoint();
    let wallet: Address = "0x0000000000000000000000000000000000001271"
        .parse()
        .unwrap();
    let ids = [1, 2, 3, 4];
    let c = start_cluster_eth(&ids, Some(&rpc)).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let proofs = init_proofs(&c.infos, wallet, 0, 1, &tmp.path().join("init")).await;
    let mut p = params(2);
    p.owner = wallet;
    let digest = bulk_message_digest(&resign_messages(&c.infos, &p, &proofs).unwrap());
    let req = |p: ChangeParams| ResignRequest {
        proofs: proofs.clone(),
        params: p,
        signature: OwnerSignature::Provided(vec![0x5a; 65]),
    };
    let init = Initiator::new(c.infos.clone(), &insecure()).expect("initiator");

    // The wallet approves another hash: refused by every operator.
    set_code(&rpc, wallet, &approving_wallet(&[0x11; 32])).await;
    let e = resign(&init, req(p.clone()), &tmp.path().join("refused"))
        .await
        .expect_err("wrong hash");
    assert!(e.to_string().contains("does not approve"), "{e}");

    // It approves this resign's digest: accepted, and the files verify for the wallet owner.
    set_code(&rpc, wallet, &approving_wallet(&digest)).await;
    let out = resign(&init, req(p.clone()), &tmp.path().join("ok"))
        .await
        .expect("EIP-1271 owner accepted");
    let mut exp = expectations(2, 1, &ids, "mainnet", AMOUNT_GWEI);
    exp.owner = Some(wallet);
    verify_ceremony_dir(out[0].dir.parent().unwrap(), &exp).expect("verifies");

    // Without an RPC the contract owner's signature is checked as an EOA one: refused.
    let e = ssv_agent::dkg::owner_sig::verify_owner(None, wallet, &digest, &[0x5a; 65])
        .await
        .expect_err("no RPC: not an EOA signature of the wallet");
    assert!(!e.to_string().is_empty());
}
