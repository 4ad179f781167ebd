//! Batch verification of BLS signatures (deal bundles at an operator, partial signatures at the
//! initiator): one random linear
//! combination (64-bit random weights) checked with a single final exponentiation instead of one
//! full pairing check per dealer. A failing batch says nothing about who cheated, so the caller
//! re-checks one by one to name the dealer.

use blst::BLST_ERROR;
use blst::min_pk::{PublicKey, Signature};

use crate::crypto::bls::Dst;

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

/// True when every signature verifies (with overwhelming probability); false when any encoding
/// is invalid or any signature fails. Public keys and signatures are subgroup-checked.
pub fn verify_all(items: &[Item<'_>], dst: Dst) -> bool {
    if items.is_empty() {
        return true;
    }
    let mut pks = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
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
    let mut rands = Vec::with_capacity(items.len());
    for _ in items {
        let mut b = [0u8; 8];
        if getrandom::fill(&mut b).is_err() {
            return false;
        }
        // A zero weight would drop that signature from the check.
        b[0] |= 1;
        let mut sc = blst::blst_scalar::default();
        sc.b[..8].copy_from_slice(&b);
        rands.push(sc);
    }
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
    ) == BLST_ERROR::BLST_SUCCESS
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
}
