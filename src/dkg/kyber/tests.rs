use super::*;
use crate::crypto::bls::{self, Dst, G1, Scalar};

fn setup(ids: &[u64]) -> (Vec<Scalar>, Vec<Node>) {
    let keys: Vec<Scalar> = ids.iter().map(|_| Scalar::random().expect("rng")).collect();
    let nodes = ids
        .iter()
        .zip(&keys)
        .map(|(id, k)| Node {
            index: (*id - 1) as u32,
            public: G1::generator().mul(k).compress(),
        })
        .collect();
    (keys, nodes)
}

fn run(ids: &[u64], t: usize) -> (Vec<Participant>, Vec<DealBundle>) {
    let (keys, nodes) = setup(ids);
    let nonce = [9u8; 32];
    let mut parts = Vec::new();
    let mut bundles = Vec::new();
    for (k, node) in keys.into_iter().zip(&nodes) {
        let (p, b) = Participant::deal(k, nonce, t, nodes.clone(), node.index).expect("deal");
        parts.push(p);
        bundles.push(b);
    }
    (parts, bundles)
}

#[test]
fn full_ceremony_agrees_and_interpolates() {
    let ids = [5u64, 17, 112, 113, 200, 201, 300];
    let (parts, bundles) = run(&ids, 5);
    // Bundles survive the JSON wire encoding.
    let wire: Vec<DealBundle> = bundles
        .iter()
        .map(|b| DealBundle::from_json(&b.to_json().expect("json")).expect("parse"))
        .collect();
    assert_eq!(wire, bundles);
    let results: Vec<DistKeyShare> = parts
        .into_iter()
        .map(|p| p.finish(&wire).expect("finish"))
        .collect();
    let pk = results[0].public_key();
    assert!(results.iter().all(|r| r.public_key() == pk));
    let pts: Vec<(u64, [u8; 48])> = ids
        .iter()
        .zip(&results)
        .map(|(id, r)| (*id, r.share_public()))
        .collect();
    assert_eq!(bls::interpolate_g1(&pts[2..]).expect("interp"), pk);
    assert_eq!(bls::interpolate_g1(&pts[..5]).expect("interp"), pk);
    // Threshold signing with any t shares recovers a signature valid under the group key.
    let sigs: Vec<(u64, [u8; 96])> = ids
        .iter()
        .zip(&results)
        .map(|(id, r)| {
            (
                *id,
                bls::sign(&r.share.to_secret_key().expect("sk"), b"m", Dst::Pop),
            )
        })
        .collect();
    let sig = bls::interpolate_g2(&sigs[1..6]).expect("g2");
    bls::verify(&pk, b"m", &sig, Dst::Pop).expect("threshold signature verifies");
}

#[test]
fn bundle_json_shape_is_what_go_expects() {
    let (_, bundles) = run(&[1, 2, 3, 4], 3);
    let v: serde_json::Value =
        serde_json::from_slice(&bundles[0].to_json().expect("json")).expect("v");
    assert!(v["Deal"]["Public"].is_null());
    assert_eq!(v["Public"].as_array().expect("outer public").len(), 3);
    assert_eq!(v["Public"][0].as_str().expect("hex").len(), 96);
    assert_eq!(v["Deal"]["Deals"].as_array().expect("deals").len(), 3);
    assert_eq!(
        v["Deal"]["SessionID"].as_str().expect("b64"),
        "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk="
    );
    // Go's indented output (one space) parses too.
    let pretty = serde_json::to_string_pretty(&v).expect("pretty");
    assert_eq!(
        DealBundle::from_json(pretty.as_bytes()).expect("parse"),
        bundles[0]
    );
    // 13 operators stay below the 4096-byte KyberMessage limit.
    let ids: Vec<u64> = (1..=13).collect();
    let (_, b13) = run(&ids, 9);
    assert!(b13[0].to_json().expect("json").len() < 4096);
}

#[test]
fn hash_is_independent_of_deal_order() {
    let (_, bundles) = run(&[1, 2, 3, 4], 3);
    let mut b = bundles[0].clone();
    let h = b.hash();
    b.deals.reverse();
    assert_eq!(b.hash(), h);
    b.session_id[0] ^= 1;
    assert_ne!(b.hash(), h);
}

#[test]
fn bad_deals_abort_naming_the_dealer() {
    let ids = [11u64, 22, 33, 44];
    // Bad signature from operator 22.
    let (mut parts, mut bundles) = run(&ids, 3);
    bundles[1].signature[10] ^= 1;
    match parts.remove(0).finish(&bundles) {
        Err(DkgError::BadDeal {
            operator: 22,
            reason,
        }) => assert!(reason.contains("signature")),
        other => panic!("expected BadDeal from 22, got {:?}", other.err()),
    }
    // Operator 33 deals a wrong share (validly signed).
    let (keys, nodes) = setup(&ids);
    let nonce = [1u8; 32];
    let mut parts = Vec::new();
    let mut bundles = Vec::new();
    for (k, node) in keys.iter().zip(&nodes) {
        let (p, b) =
            Participant::deal(k.clone(), nonce, 3, nodes.clone(), node.index).expect("deal");
        parts.push(p);
        bundles.push(b);
    }
    let wrong = Scalar::random().expect("rng");
    let target = &mut bundles[2].deals[0];
    target.encrypted_share =
        crate::crypto::ecies::encrypt(&nodes[0].public, &wrong.to_be_bytes()).expect("enc");
    let sk = keys[2].to_secret_key().expect("sk");
    bundles[2].signature = bls::sign(&sk, &bundles[2].hash(), Dst::Nul).to_vec();
    match parts.remove(0).finish(&bundles) {
        Err(DkgError::BadDeal {
            operator: 33,
            reason,
        }) => assert!(reason.contains("commitments")),
        other => panic!("expected BadDeal from 33, got {:?}", other.err()),
    }
    // Operator 44 sends nothing.
    let (mut parts, bundles) = run(&ids, 3);
    assert!(matches!(
        parts.remove(0).finish(&bundles[..3]),
        Err(DkgError::MissingDeal { operator: 44 })
    ));
    // Wrong threshold in a bundle.
    let (mut parts, mut bundles) = run(&ids, 3);
    bundles[3].public.pop();
    assert!(matches!(
        parts.remove(0).finish(&bundles),
        Err(DkgError::BadDeal { operator: 44, .. })
    ));
}

/// A point on the curve outside the prime-order subgroup (almost every x with a curve point is).
fn off_subgroup_point() -> [u8; 48] {
    for x in 1u8..=255 {
        let mut enc = [0u8; 48];
        enc[0] = 0x80;
        enc[47] = x;
        if let Ok(p) = G1::from_compressed_on_curve(&enc)
            && !p.in_subgroup()
        {
            return enc;
        }
    }
    panic!("no off-subgroup point among the first 255 x");
}

#[test]
fn commitment_outside_g1_is_named_even_though_sums_are_checked() {
    let ids = [11u64, 22, 33, 44];
    let (keys, nodes) = setup(&ids);
    let nonce = [3u8; 32];
    let mut parts = Vec::new();
    let mut bundles = Vec::new();
    for (k, node) in keys.iter().zip(&nodes) {
        let (p, b) =
            Participant::deal(k.clone(), nonce, 3, nodes.clone(), node.index).expect("deal");
        parts.push(p);
        bundles.push(b);
    }
    // Operator 44 replaces its last commitment and signs the bundle properly.
    let bad = off_subgroup_point();
    assert!(G1::from_compressed(&bad).is_err(), "full check rejects it");
    bundles[3].public[2] = bad;
    let sk = keys[3].to_secret_key().expect("sk");
    bundles[3].signature = bls::sign(&sk, &bundles[3].hash(), Dst::Nul).to_vec();
    match parts.remove(0).finish(&bundles) {
        Err(DkgError::BadDeal {
            operator: 44,
            reason,
        }) => assert!(reason.contains("subgroup"), "{reason}"),
        other => panic!("expected BadDeal from 44, got {:?}", other.err()),
    }
}

#[test]
fn horner_commitment_evaluation_matches_the_naive_sum() {
    // Σ C_j·x^j term by term (the reference) against Horner in the exponent, for the x that
    // operator ids take (small, large, at the u32 bound) and every threshold.
    for t in [1usize, 3, 5, 7, 9] {
        let commits = super::poly::PriPoly::random(t).expect("rng").commit();
        for x in [1u64, 2, 92, 1_000_003, u64::from(u32::MAX)] {
            assert_eq!(
                super::poly::eval_public(&commits, x),
                super::poly::eval_public_naive(&commits, x),
                "t {t}, x {x}"
            );
        }
    }
}
