//! Batch verification of BLS signatures (deal bundles at an operator, partial signatures at the
//! initiator, a validator's two signatures in `dkg verify`): one random linear combination
//! (64-bit random weights r_i) checked with one multi-Miller loop and one final exponentiation:
//!
//! e(G1, Σ r_i·σ_i) == Π_i e(r_i·pk_i, H(m_i)).
//!
//! Terms that share a message are merged by bilinearity (Σ_{m_i = m} r_i·pk_i against one H(m)),
//! or, when there are fewer distinct keys than messages, terms that share a key (pk against
//! Σ_{pk_i = pk} r_i·H(m_i)): the same equation, so the same soundness (a wrong signature passes
//! with probability about 2^-63), with as many pairings as distinct messages (or keys) plus one.
//! A failing batch says nothing about who cheated, so the caller re-checks one by one to name
//! the signer.

use crate::crypto::bls::{Dst, G1, G2, pairing_product_is_one};

/// One (public key, message, signature) triple, all as received.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// Compressed G1 public key.
    pub public: &'a [u8],
    /// The signed message (hashed to G2 with the batch's DST).
    pub msg: &'a [u8],
    /// Compressed G2 signature.
    pub signature: &'a [u8],
}

/// The distinct values of `keys` and, per item, the index of its value.
fn distinct<'a>(keys: impl Iterator<Item = &'a [u8]>) -> (Vec<&'a [u8]>, Vec<usize>) {
    let mut values: Vec<&[u8]> = Vec::new();
    let mut index = Vec::new();
    for k in keys {
        let i = match values.iter().position(|v| *v == k) {
            Some(i) => i,
            None => {
                values.push(k);
                values.len() - 1
            }
        };
        index.push(i);
    }
    (values, index)
}

/// Nonzero random 64-bit weights, one per item.
fn weights(n: usize) -> Option<Vec<u64>> {
    let mut bytes = vec![0u8; 8 * n];
    getrandom::fill(&mut bytes).ok()?;
    Some(
        bytes
            .chunks_exact(8)
            // The low bit set: a zero weight would drop that signature from the check.
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([1; 8])) | 1)
            .collect(),
    )
}

/// True when every signature verifies (with overwhelming probability); false when any encoding
/// is invalid, a key or signature is the identity or outside its subgroup, or any signature fails.
pub fn verify_all(items: &[Item<'_>], dst: Dst) -> bool {
    if items.is_empty() {
        return true;
    }
    let (keys, key_of) = distinct(items.iter().map(|i| i.public));
    // Each key as `bls::verify` accepts it: in G1, not the identity.
    let Ok(pks) = keys
        .iter()
        .map(|k| G1::from_public_key_bytes(k))
        .collect::<Result<Vec<G1>, _>>()
    else {
        return false;
    };
    check(&pks, &key_of, items, dst)
}

/// [`verify_all`] with the keys already parsed and checked (in G1, not the identity):
/// `keys[i]` is the signer of `items[i]`, whose `public` is not read again.
pub fn verify_all_with_keys(keys: &[G1], items: &[Item<'_>], dst: Dst) -> bool {
    if keys.len() != items.len() {
        return false;
    }
    let key_of: Vec<usize> = (0..keys.len()).collect();
    check(keys, &key_of, items, dst)
}

/// The batch equation for items signed by `pks[key_of[i]]`.
fn check(pks: &[G1], key_of: &[usize], items: &[Item<'_>], dst: Dst) -> bool {
    if items.is_empty() {
        return true;
    }
    let (msgs, msg_of) = distinct(items.iter().map(|i| i.msg));
    // Each signature as `bls::verify` accepts it: in G2, not the identity.
    let Ok(sigs) = items
        .iter()
        .map(|i| G2::from_signature_bytes(i.signature))
        .collect::<Result<Vec<G2>, _>>()
    else {
        return false;
    };
    let Some(w) = weights(items.len()) else {
        return false;
    };
    let mut pairs = Vec::with_capacity(msgs.len().min(pks.len()) + 1);
    pairs.push((G1::generator().neg(), G2::msm_u64(&sigs, &w)));
    if msgs.len() <= pks.len() {
        for (m, msg) in msgs.iter().enumerate() {
            let (p, wm): (Vec<G1>, Vec<u64>) = (0..items.len())
                .filter(|i| msg_of[*i] == m)
                .map(|i| (pks[key_of[i]], w[i]))
                .unzip();
            pairs.push((G1::msm_u64(&p, &wm), G2::hash_to_curve(msg, dst)));
        }
    } else {
        let hashes: Vec<G2> = msgs.iter().map(|m| G2::hash_to_curve(m, dst)).collect();
        for (k, pk) in pks.iter().enumerate() {
            let (h, wk): (Vec<G2>, Vec<u64>) = (0..items.len())
                .filter(|i| key_of[*i] == k)
                .map(|i| (hashes[msg_of[i]], w[i]))
                .unzip();
            pairs.push((*pk, G2::msm_u64(&h, &wk)));
        }
    }
    pairing_product_is_one(&pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::bls::{self, Scalar};

    fn signed(n: usize) -> Vec<([u8; 48], Vec<u8>, Vec<u8>)> {
        (0..n)
            .map(|i| {
                let sk = Scalar::random()
                    .and_then(|s| s.to_secret_key())
                    .expect("key");
                let msg = vec![i as u8; 32];
                let sig = bls::sign(&sk, &msg, Dst::Nul).to_vec();
                (bls::public_key(&sk), msg, sig)
            })
            .collect()
    }

    fn items(v: &[([u8; 48], Vec<u8>, Vec<u8>)]) -> Vec<Item<'_>> {
        v.iter()
            .map(|(p, m, s)| Item {
                public: p,
                msg: m,
                signature: s,
            })
            .collect()
    }

    #[test]
    fn accepts_valid_and_rejects_any_single_bad_signature() {
        let good = signed(6);
        assert!(verify_all(&items(&good), Dst::Nul));
        // Wrong DST: every signature fails.
        assert!(!verify_all(&items(&good), Dst::Pop));
        for victim in 0..good.len() {
            // Swap in another signer's (valid, on-curve) signature.
            let mut bad = good.clone();
            bad[victim].2 = good[(victim + 1) % good.len()].2.clone();
            assert!(!verify_all(&items(&bad), Dst::Nul), "victim {victim}");
            // A message changed under a valid signature.
            let mut bad = good.clone();
            bad[victim].1[0] ^= 0x80;
            assert!(!verify_all(&items(&bad), Dst::Nul), "victim {victim}");
        }
        // Garbage encodings are rejected, not panicked on.
        let mut bad = good.clone();
        bad[2].2 = vec![0u8; 96];
        assert!(!verify_all(&items(&bad), Dst::Nul));
        let mut bad = good;
        bad[3].0 = [0u8; 48];
        assert!(!verify_all(&items(&bad), Dst::Nul));
    }

    /// `keys` signers, each signing every one of `msgs` messages (the initiator's partials: 13
    /// keys x 2 messages; `dkg verify`'s validator signatures: 1 key x 2 messages).
    fn grid(keys: usize, msgs: usize) -> Vec<([u8; 48], Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for _ in 0..keys {
            let sk = Scalar::random()
                .and_then(|s| s.to_secret_key())
                .expect("key");
            for m in 0..msgs {
                let msg = vec![0xa0 + m as u8; 32];
                let sig = bls::sign(&sk, &msg, Dst::Pop).to_vec();
                out.push((bls::public_key(&sk), msg, sig));
            }
        }
        out
    }

    #[test]
    fn terms_merged_by_message_or_by_key_still_catch_every_bad_signature() {
        for (keys, msgs) in [(13, 2), (1, 2), (1, 1), (3, 1), (2, 3)] {
            let good = grid(keys, msgs);
            assert!(verify_all(&items(&good), Dst::Pop), "{keys} x {msgs}");
            for victim in 0..good.len() {
                // Another item's valid signature: a different key or a different message.
                let mut bad = good.clone();
                bad[victim].2 = good[(victim + 1) % good.len()].2.clone();
                if good.len() > 1 {
                    assert!(
                        !verify_all(&items(&bad), Dst::Pop),
                        "{keys} x {msgs}: {victim}"
                    );
                }
                // A signature that is valid for another message under the same key.
                let mut bad = good.clone();
                bad[victim].1[0] ^= 0x01;
                assert!(
                    !verify_all(&items(&bad), Dst::Pop),
                    "{keys} x {msgs}: {victim}"
                );
            }
            if good.len() >= 2 {
                // Two signatures swapped: each check fails, their sum would pass unweighted.
                let mut bad = good.clone();
                let (a, b) = (bad[0].2.clone(), bad[1].2.clone());
                bad[0].2 = b;
                bad[1].2 = a;
                assert!(!verify_all(&items(&bad), Dst::Pop), "{keys} x {msgs}: swap");
            }
        }
        // The identity as a signature or a key is refused, as `bls::verify` refuses it.
        let good = grid(2, 2);
        let mut bad = good.clone();
        bad[1].2 = {
            let mut inf = vec![0u8; 96];
            inf[0] = 0xc0;
            inf
        };
        assert!(!verify_all(&items(&bad), Dst::Pop));
        let mut bad = good;
        bad[0].0 = [0u8; 48];
        bad[0].0[0] = 0xc0;
        assert!(!verify_all(&items(&bad), Dst::Pop));
    }
}
