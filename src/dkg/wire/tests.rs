use super::proof_root::proof_root;
use super::*;
use crate::crypto::rsa_keys::OperatorPublicKey;

fn sample_transport() -> SignedTransport {
    SignedTransport {
        message: Transport {
            kind: TransportType::Init,
            identifier: [7u8; 24],
            data: vec![1, 2, 3, 4, 5],
            version: b"v3.1.0".to_vec(),
        },
        signer: vec![9; 612],
        signature: vec![8; 256],
    }
}

#[test]
fn transport_layout_matches_fastssz() {
    let t = sample_transport().message;
    let b = t.to_ssz();
    // type(8) ‖ id(24) ‖ off(Data)=40 ‖ off(Version)=45 ‖ data ‖ version
    assert_eq!(&b[..8], &0u64.to_le_bytes());
    assert_eq!(&b[32..36], &40u32.to_le_bytes());
    assert_eq!(&b[36..40], &45u32.to_le_bytes());
    assert_eq!(&b[40..45], &[1, 2, 3, 4, 5]);
    assert_eq!(&b[45..], b"v3.1.0");
    assert_eq!(Transport::from_ssz(&b).expect("decode"), t);
}

#[test]
fn containers_roundtrip() {
    let st = sample_transport();
    assert_eq!(SignedTransport::from_ssz(&st.to_ssz()).expect("st"), st);
    let m = MultipleSignedTransports {
        identifier: [3; 24],
        messages: vec![st.clone(), st.clone(), st],
        signature: vec![1; 256],
    };
    assert_eq!(
        MultipleSignedTransports::from_ssz(&m.to_ssz()).expect("mst"),
        m
    );
    let init = Init {
        operators: (1..=4)
            .map(|i| Operator {
                id: i * 11,
                pubkey: vec![i as u8; 612],
            })
            .collect(),
        t: 3,
        withdrawal_credentials: vec![1; 32],
        fork: [0, 0, 0, 0],
        owner: [5; 20],
        nonce: 70_000,
        amount: 32_000_000_000,
    };
    let b = init.to_ssz();
    assert_eq!(&b[..4], &56u32.to_le_bytes());
    assert_eq!(Init::from_ssz(&b).expect("init"), init);
    let res = DkgResult {
        operator_id: 11,
        request_id: [4; 24],
        deposit_partial_signature: [1; 96],
        owner_nonce_partial_signature: [2; 96],
        signed_proof: SignedProof {
            proof: Proof {
                validator_pubkey: [3; 48],
                encrypted_share: vec![4; 256],
                share_pubkey: [5; 48],
                owner: [6; 20],
            },
            signature: [7; 256],
        },
    };
    assert_eq!(DkgResult::from_ssz(&res.to_ssz()).expect("result"), res);
    let pong = Pong {
        id: 5,
        pubkey: vec![1; 612],
        multisig: true,
        eth_client_connected: false,
    };
    assert_eq!(Pong::from_ssz(&pong.to_ssz()).expect("pong"), pong);
    let rd = ResultData {
        operators: init.operators,
        identifier: [1; 24],
        deposit_data: b"{}".to_vec(),
        keyshares_data: b"[]".to_vec(),
        proofs: b"[]".to_vec(),
    };
    assert_eq!(ResultData::from_ssz(&rd.to_ssz()).expect("rd"), rd);
    let ex = Exchange {
        pk: vec![1; 48],
        commits: vec![],
    };
    assert_eq!(Exchange::from_ssz(&ex.to_ssz()).expect("ex"), ex);
    let e = ErrSsz {
        error: b"boom".to_vec(),
    };
    assert_eq!(ErrSsz::from_ssz(&e.to_ssz()).expect("err"), e);
}

#[test]
fn decoder_rejects_malformed_input() {
    let b = sample_transport().message.to_ssz();
    assert!(matches!(
        Transport::from_ssz(&b[..30]),
        Err(SszError::TooShort { .. })
    ));
    let mut bad_first = b.clone();
    bad_first[32] = 41;
    assert!(matches!(
        Transport::from_ssz(&bad_first),
        Err(SszError::BadOffset { .. })
    ));
    let mut overrun = b.clone();
    overrun[36..40].copy_from_slice(&1000u32.to_le_bytes());
    assert!(Transport::from_ssz(&overrun).is_err());
    let mut backwards = b;
    backwards[36..40].copy_from_slice(&39u32.to_le_bytes());
    assert!(Transport::from_ssz(&backwards).is_err());
    // Version longer than 128 bytes.
    let mut t = sample_transport().message;
    t.version = vec![b'v'; 129];
    assert!(matches!(
        Transport::from_ssz(&t.to_ssz()),
        Err(SszError::TooLong { .. })
    ));
    // 14 messages exceed the list limit of 13.
    let m = MultipleSignedTransports {
        identifier: [0; 24],
        messages: vec![sample_transport(); 14],
        signature: vec![],
    };
    assert!(matches!(
        MultipleSignedTransports::from_ssz(&m.to_ssz()),
        Err(SszError::TooLong { .. })
    ));
    // Bool byte other than 0/1.
    let mut p = Pong {
        id: 1,
        pubkey: vec![],
        multisig: true,
        eth_client_connected: true,
    }
    .to_ssz();
    p[12] = 2;
    assert!(Pong::from_ssz(&p).is_err());
    // Arbitrary garbage never panics.
    for len in 0..300 {
        let g: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
        let _ = MultipleSignedTransports::from_ssz(&g);
        let _ = DkgResult::from_ssz(&g);
        let _ = Init::from_ssz(&g);
    }
}

fn shared(p: &str) -> String {
    format!(
        "{}/../shared/vectors/ssv-dkg/{p}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn proof_root_verifies_real_ceremony_signatures() {
    let base = shared("integration_test/stubs/bulk");
    let mut checked = 0;
    for n in ["4", "13"] {
        for entry in walk(&format!("{base}/{n}")) {
            if !entry.ends_with("/proofs.json") || entry.matches("/0000").count() == 0 {
                continue;
            }
            let dir = entry.trim_end_matches("/proofs.json");
            let proofs: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&entry).expect("read"))
                    .expect("json");
            let ks: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(format!("{dir}/keyshares.json")).expect("read"),
            )
            .expect("json");
            let ops = ks["shares"][0]["data"]["operators"]
                .as_array()
                .expect("ops")
                .clone();
            let invalid: Option<serde_json::Value> =
                std::fs::read_to_string(format!("{dir}/invalid_proofs.json"))
                    .ok()
                    .map(|s| serde_json::from_str(&s).expect("json"));
            for (i, p) in proofs.as_array().expect("array").iter().enumerate() {
                let key = OperatorPublicKey::from_base64_pem(
                    ops[i]["operatorKey"].as_str().expect("key"),
                )
                .expect("operator key parses");
                let (proof, sig) = parse_proof(p);
                key.verify_pss(&proof_root(&proof), &sig)
                    .expect("real proof signature verifies");
                if let Some(inv) = &invalid {
                    let (bad, bad_sig) = parse_proof(&inv[i]);
                    assert!(key.verify_pss(&proof_root(&bad), &bad_sig).is_err());
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 17, "checked only {checked} proofs");
}

fn parse_proof(p: &serde_json::Value) -> (Proof, Vec<u8>) {
    let hx = |v: &serde_json::Value| hex::decode(v.as_str().expect("hex str")).expect("hex");
    let pr = &p["proof"];
    let proof = Proof {
        validator_pubkey: hx(&pr["validator"]).try_into().expect("48"),
        encrypted_share: hx(&pr["encrypted_share"]),
        share_pubkey: hx(&pr["share_pub"]).try_into().expect("48"),
        owner: hx(&pr["owner"]).try_into().expect("20"),
    };
    (proof, hx(&p["signature"]))
}

fn walk(dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path().to_string_lossy().to_string();
        if e.path().is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn instance_id_layout() {
    let req = [0xabu8; 24];
    let id = ids::instance_id(b"initiator-key", b"init-ssz", &req);
    assert_eq!(&id[16..], &req[..8]);
    assert_eq!(
        &id[..8],
        &alloy::primitives::keccak256(b"initiator-key")[..8]
    );
    // Changing the message changes the middle third only.
    let id2 = ids::instance_id(b"initiator-key", b"init-ssz2", &req);
    assert_ne!(id[8..16], id2[8..16]);
    assert_eq!(id[..8], id2[..8]);
}
