//! Threshold BLS as the SSV operators use it: each operator signs with its key share (a Shamir
//! share at x = operator id), and any `threshold` of those partial signatures, Lagrange-combined at
//! x = 0, equal the validator key's own signature. Only signatures are combined; no secret key is
//! ever reconstructed.

use crate::crypto::bls::{self, BlsError, Dst};

/// Why partial signatures could not be combined.
#[derive(Debug, thiserror::Error)]
pub enum ThresholdError {
    /// Fewer partial signatures than the threshold: any combination would be a wrong signature.
    #[error("{have} partial signature(s), the threshold is {need}")]
    TooFew {
        /// Partials given.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// A point did not decode, an id was 0 or repeated, or the result was the identity.
    #[error("combining partial signatures")]
    Bls(#[from] BlsError),
    /// The combined signature does not verify under the validator key.
    #[error("the combined signature does not verify under the validator public key")]
    NotValidatorSignature(#[source] BlsError),
}

pub use crate::ssv::exit::threshold;

/// Lagrange-combines the first `threshold` of `partials` (operator id, G2 signature) at x = 0.
/// The result does not depend on which threshold subset is given.
pub fn combine(partials: &[(u64, [u8; 96])], threshold: usize) -> Result<[u8; 96], ThresholdError> {
    if threshold == 0 || partials.len() < threshold {
        return Err(ThresholdError::TooFew {
            have: partials.len(),
            need: threshold,
        });
    }
    Ok(bls::interpolate_g2(&partials[..threshold])?)
}

/// [`combine`], then checks the result is the validator's signature over `message`.
pub fn combine_verified(
    partials: &[(u64, [u8; 96])],
    threshold: usize,
    validator_pubkey: &[u8; 48],
    message: &[u8],
) -> Result<[u8; 96], ThresholdError> {
    let sig = combine(partials, threshold)?;
    bls::verify(validator_pubkey, message, &sig, Dst::Pop)
        .map_err(ThresholdError::NotValidatorSignature)?;
    Ok(sig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::bls::Scalar;

    /// A secret and its Shamir shares at `ids` on a random polynomial of degree `t - 1`.
    fn shares(t: usize, ids: &[u64]) -> (Scalar, Vec<(u64, Scalar)>) {
        let coeffs: Vec<Scalar> = (0..t).map(|_| Scalar::random().unwrap()).collect();
        let eval = |x: u64| {
            let x = Scalar::from_u64(x);
            coeffs
                .iter()
                .rev()
                .fold(Scalar::zero(), |acc, c| acc.mul(&x).add(c))
        };
        let s = coeffs[0].clone();
        (s, ids.iter().map(|&id| (id, eval(id))).collect())
    }

    fn sign(s: &Scalar, msg: &[u8]) -> [u8; 96] {
        bls::sign(&s.to_secret_key().unwrap(), msg, Dst::Pop)
    }

    /// Every `k`-subset of `0..n`, as index lists.
    fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
        (0u32..1 << n)
            .filter(|m| m.count_ones() as usize == k)
            .map(|m| (0..n).filter(|i| m & (1 << i) != 0).collect())
            .collect()
    }

    #[test]
    fn thresholds_of_the_ssv_cluster_sizes() {
        assert_eq!(
            [4, 7, 10, 13].map(threshold),
            [3, 5, 7, 9],
            "3f+1 operators, 2f+1 needed"
        );
    }

    #[test]
    fn any_threshold_subset_gives_the_validator_signature() {
        for ids in [vec![1u64, 2, 3, 4], vec![3, 17, 42, 99, 100, 250, 1000]] {
            let t = threshold(ids.len());
            let (secret, shares) = shares(t, &ids);
            let msg = [0x42u8; 32];
            let pk = bls::public_key(&secret.to_secret_key().unwrap());
            let want = sign(&secret, &msg);
            let partials: Vec<(u64, [u8; 96])> =
                shares.iter().map(|(id, s)| (*id, sign(s, &msg))).collect();
            for subset in subsets(ids.len(), t) {
                // Order within the subset must not matter either.
                let mut chosen: Vec<_> = subset.iter().map(|&i| partials[i]).collect();
                chosen.reverse();
                assert_eq!(
                    combine_verified(&chosen, t, &pk, &msg).unwrap(),
                    want,
                    "subset {subset:?} of {ids:?}"
                );
            }
        }
    }

    #[test]
    fn fewer_than_threshold_is_refused_and_would_be_wrong() {
        let ids = [1u64, 2, 3, 4];
        let (secret, shares) = shares(3, &ids);
        let msg = [7u8; 32];
        let pk = bls::public_key(&secret.to_secret_key().unwrap());
        let partials: Vec<(u64, [u8; 96])> =
            shares.iter().map(|(id, s)| (*id, sign(s, &msg))).collect();
        let err = combine(&partials[..2], 3).unwrap_err();
        assert!(
            matches!(err, ThresholdError::TooFew { have: 2, need: 3 }),
            "{err}"
        );
        // Why: two points of a degree-2 polynomial interpolate to another signature.
        let wrong = bls::interpolate_g2(&partials[..2]).unwrap();
        assert!(bls::verify(&pk, &msg, &wrong, Dst::Pop).is_err());
        assert!(matches!(
            combine(&[], 0).unwrap_err(),
            ThresholdError::TooFew { .. }
        ));
    }

    #[test]
    fn a_bad_partial_is_caught_by_the_final_check() {
        let ids = [1u64, 2, 3, 4];
        let (secret, shares) = shares(3, &ids);
        let msg = [9u8; 32];
        let pk = bls::public_key(&secret.to_secret_key().unwrap());
        let mut partials: Vec<(u64, [u8; 96])> =
            shares.iter().map(|(id, s)| (*id, sign(s, &msg))).collect();
        partials[1].1 = sign(&shares[1].1, b"another message");
        let err = combine_verified(&partials, 3, &pk, &msg).unwrap_err();
        assert!(
            matches!(err, ThresholdError::NotValidatorSignature(_)),
            "{err}"
        );
        // A repeated operator id is refused outright.
        partials[1] = partials[0];
        assert!(matches!(
            combine(&partials, 3).unwrap_err(),
            ThresholdError::Bls(BlsError::DuplicateId(1))
        ));
    }
}
