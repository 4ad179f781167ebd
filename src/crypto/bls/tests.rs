use super::*;

fn sk_from(seed: u8) -> SecretKey {
    SecretKey::key_gen(&[seed; 32], &[]).expect("32-byte ikm")
}

#[test]
fn sign_verify_both_dsts_and_cross_rejection() {
    let sk = sk_from(1);
    let pk = public_key(&sk);
    for dst in [Dst::Pop, Dst::Nul] {
        let sig = sign(&sk, b"hello", dst);
        verify(&pk, b"hello", &sig, dst).expect("own signature verifies");
        assert!(matches!(
            verify(&pk, b"hellp", &sig, dst),
            Err(BlsError::VerifyFailed { .. })
        ));
    }
    let pop = sign(&sk, b"m", Dst::Pop);
    assert!(
        verify(&pk, b"m", &pop, Dst::Nul).is_err(),
        "POP signature must not verify under NUL"
    );
    let other = public_key(&sk_from(2));
    assert!(verify(&other, b"m", &pop, Dst::Pop).is_err());
}

#[test]
fn verify_rejects_infinity_and_garbage() {
    let sk = sk_from(3);
    let pk = public_key(&sk);
    let sig = sign(&sk, b"m", Dst::Pop);
    let mut inf_pk = [0u8; 48];
    inf_pk[0] = 0xc0;
    let mut inf_sig = [0u8; 96];
    inf_sig[0] = 0xc0;
    assert!(matches!(
        verify(&inf_pk, b"m", &sig, Dst::Pop),
        Err(BlsError::InvalidPublicKey(_))
    ));
    assert!(matches!(
        verify(&pk, b"m", &inf_sig, Dst::Pop),
        Err(BlsError::InvalidSignature(_))
    ));
    assert!(verify(&pk[..47], b"m", &sig, Dst::Pop).is_err());
    // x = 0 with the compression bit is not on the curve.
    let mut bad = [0u8; 48];
    bad[0] = 0x80;
    assert!(verify(&bad, b"m", &sig, Dst::Pop).is_err());
    assert!(G1::from_compressed(&bad).is_err());
}

#[test]
fn nul_dst_matches_kyber_compatibility_vectors() {
    // kyber-bls12381 compatibility.dat: BLSPrivKey (decimal), BLSPubKey (G1), BLSSigG2 over Msg (NUL DST).
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/vectors/ssv-dkg/kyber-bls12381/tests/generator/compatibility.dat"
    );
    let text = std::fs::read_to_string(path).expect("shared vectors present at ../shared");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&text).expect("json");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut checked = 0;
    for e in &entries {
        let (Some(sk_dec), Some(pk_b64), Some(sig_b64), Some(msg_str)) = (
            e["BLSPrivKey"].as_str(),
            e["BLSPubKey"].as_str(),
            e["BLSSigG2"].as_str(),
            e["Msg"].as_str(),
        ) else {
            continue;
        };
        if sk_dec.is_empty() {
            continue;
        }
        let sk_be = decimal_to_be32(sk_dec);
        let sk = SecretKey::from_bytes(&sk_be).expect("valid key");
        // Msg is used by the Go generator as the raw string bytes.
        let msg = msg_str.as_bytes();
        let pk = b64.decode(pk_b64).expect("pk b64");
        let sig = b64.decode(sig_b64).expect("sig b64");
        assert_eq!(public_key(&sk).as_slice(), pk.as_slice());
        assert_eq!(sign(&sk, msg, Dst::Nul).as_slice(), sig.as_slice());
        verify(&pk, msg, &sig, Dst::Nul).expect("Go signature verifies");
        checked += 1;
    }
    assert!(
        checked >= 100,
        "expected >= 100 signature vectors, checked {checked}"
    );
}

fn decimal_to_be32(dec: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for ch in dec.bytes() {
        let mut carry = u32::from(ch - b'0');
        for b in out.iter_mut().rev() {
            let v = u32::from(*b) * 10 + carry;
            *b = (v & 0xff) as u8;
            carry = v >> 8;
        }
        assert_eq!(carry, 0, "decimal overflows 32 bytes");
    }
    out
}

/// Evaluates a random polynomial of degree t-1 at the given ids; returns (secret, shares).
fn shamir(t: usize, ids: &[u64]) -> (Scalar, Vec<(u64, Scalar)>) {
    let coeffs: Vec<Scalar> = (0..t).map(|_| Scalar::random().expect("rng")).collect();
    let shares = ids
        .iter()
        .map(|id| {
            let x = Scalar::from_u64(*id);
            let mut acc = Scalar::zero();
            for c in coeffs.iter().rev() {
                acc = acc.mul(&x).add(c);
            }
            (*id, acc)
        })
        .collect();
    (coeffs[0].clone(), shares)
}

#[test]
fn interpolation_is_order_independent_and_uses_ids() {
    // Ids that are not multiples of each other, so x = position would give a different key.
    let ids = [11u64, 22, 33, 44, 55, 66, 77, 88, 99, 110, 111, 112, 113];
    let (secret, shares) = shamir(9, &ids);
    let master_pk = G1::generator().mul(&secret).compress();
    let master_sk = secret.to_secret_key().expect("non-zero");
    let msg = b"deposit signing root";
    let master_sig = sign(&master_sk, msg, Dst::Pop);

    let pts: Vec<(u64, [u8; 48])> = shares
        .iter()
        .map(|(id, s)| (*id, G1::generator().mul(s).compress()))
        .collect();
    let sigs: Vec<(u64, [u8; 96])> = shares
        .iter()
        .map(|(id, s)| (*id, sign(&s.to_secret_key().expect("share"), msg, Dst::Pop)))
        .collect();

    // Several subsets of size t, in permuted orders.
    let orders: [&[usize]; 4] = [
        &[0, 1, 2, 3, 4, 5, 6, 7, 8],
        &[8, 7, 6, 5, 4, 3, 2, 1, 0],
        &[12, 3, 10, 0, 7, 11, 5, 9, 1],
        &[2, 12, 11, 10, 9, 8, 6, 4, 0],
    ];
    for order in orders {
        let p: Vec<_> = order.iter().map(|i| pts[*i]).collect();
        let s: Vec<_> = order.iter().map(|i| sigs[*i]).collect();
        assert_eq!(interpolate_g1(&p).expect("g1"), master_pk);
        let rec = interpolate_g2(&s).expect("g2");
        assert_eq!(rec, master_sig);
        verify(&master_pk, msg, &rec, Dst::Pop).expect("recovered signature verifies");
    }
    // x = position + 1 instead of the id must NOT give the key (ids 55..113 are not proportional to 1..9).
    let by_pos: Vec<_> = pts[4..]
        .iter()
        .enumerate()
        .map(|(i, (_, p))| (i as u64 + 1, *p))
        .collect();
    assert_ne!(interpolate_g1(&by_pos).expect("g1"), master_pk);
    // Fewer than t points give a different key.
    assert_ne!(interpolate_g1(&pts[..8]).expect("g1"), master_pk);
}

#[test]
fn interpolation_rejects_bad_input() {
    let g = G1::generator().compress();
    assert!(matches!(interpolate_g1(&[]), Err(BlsError::NoPoints)));
    assert!(matches!(interpolate_g1(&[(0, g)]), Err(BlsError::ZeroId)));
    assert!(matches!(
        interpolate_g1(&[(1, g), (1, g)]),
        Err(BlsError::DuplicateId(1))
    ));
    let mut inf = [0u8; 48];
    inf[0] = 0xc0;
    assert!(interpolate_g1(&[(1, g), (2, inf)]).is_err());
    let mut garbage = g;
    garbage[5] ^= 0xff;
    assert!(interpolate_g1(&[(1, g), (2, garbage)]).is_err());
    let mut bad_sig = [0u8; 96];
    bad_sig[0] = 0x80;
    assert!(interpolate_g2(&[(1, bad_sig)]).is_err());
}

#[test]
fn scalar_roundtrip_and_field_ops() {
    let a = Scalar::random().expect("rng");
    let b = Scalar::from_be_bytes(&a.to_be_bytes()).expect("canonical");
    assert_eq!(a, b);
    assert_eq!(a.mul(&a.inverse().expect("non-zero")), Scalar::from_u64(1));
    assert_eq!(a.add(&b).sub(&b), a);
    // The group order r itself is not canonical.
    let r = hex::decode("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001")
        .expect("hex");
    assert!(matches!(
        Scalar::from_be_bytes(&r),
        Err(BlsError::InvalidScalar)
    ));
    assert!(format!("{a:?}").contains("redacted"));
    // Scalar -> secret key -> public key agrees with G1 multiplication.
    let sk = a.to_secret_key().expect("sk");
    assert_eq!(public_key(&sk), G1::generator().mul(&a).compress());
}

#[test]
fn multi_scalar_multiplication_matches_term_by_term() {
    for n in [0usize, 1, 2, 5, 13, 40] {
        let g1: Vec<G1> = (0..n)
            .map(|_| G1::generator().mul(&Scalar::random().expect("rng")))
            .collect();
        let g2: Vec<G2> = (0..n)
            .map(|i| G2::hash_to_curve(&[i as u8], Dst::Pop))
            .collect();
        let s: Vec<Scalar> = (0..n).map(|_| Scalar::random().expect("rng")).collect();
        let w: Vec<u64> = (0..n as u64).map(|i| u64::MAX - 3 * i).collect();
        let naive1 = g1
            .iter()
            .zip(&s)
            .fold(G1::identity(), |a, (p, s)| a.add(&p.mul(s)));
        let naive2 = g2
            .iter()
            .zip(&s)
            .fold(G2::identity(), |a, (p, s)| a.add(&p.mul(s)));
        assert_eq!(G1::msm(&g1, &s), naive1, "G1, {n} terms");
        assert_eq!(
            G2::msm(&g2, &s).compress(),
            naive2.compress(),
            "G2, {n} terms"
        );
        let naive_w = g1
            .iter()
            .zip(&w)
            .fold(G1::identity(), |a, (p, w)| a.add(&p.mul_u64(*w)));
        assert_eq!(G1::msm_u64(&g1, &w), naive_w, "G1 u64, {n} terms");
    }
    // An identity term contributes nothing.
    let p = G1::generator();
    let s = Scalar::random().expect("rng");
    assert_eq!(
        G1::msm(&[p, G1::identity()], &[s.clone(), s.clone()]),
        p.mul(&s)
    );
    assert_eq!(G1::generator().neg().add(&G1::generator()), G1::identity());
}

#[test]
fn pairing_product_is_one_exactly_for_balanced_pairs() {
    let a = Scalar::random().expect("rng");
    let h = G2::hash_to_curve(b"m", Dst::Pop);
    let ag = G1::generator().mul(&a);
    let ah = h.mul(&a);
    assert!(pairing_product_is_one(&[
        (ag, h),
        (G1::generator().neg(), ah)
    ]));
    assert!(!pairing_product_is_one(&[(ag, h), (G1::generator(), ah)]));
    assert!(!pairing_product_is_one(&[(ag, h)]));
    assert!(pairing_product_is_one(&[]));
    assert!(pairing_product_is_one(&[(G1::identity(), h)]));
}

#[test]
fn small_integer_multiplication_matches_the_full_scalar_one() {
    let p = G1::generator().mul(&Scalar::random().expect("rng"));
    for k in [0u64, 1, 2, 3, 92, 255, 256, u64::from(u32::MAX), u64::MAX] {
        assert_eq!(p.mul_u64(k), p.mul(&Scalar::from_u64(k)), "k = {k}");
    }
    assert!(p.mul_u64(0).is_identity());
}
