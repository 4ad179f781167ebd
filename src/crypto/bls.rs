//! BLS12-381 signatures (blst, min-pk: public keys in G1, signatures in G2) and Lagrange
//! interpolation at x = 0 with explicit x = operator id, as ssv-dkg and dkg-spec use them.

mod group;
mod multi;

pub use group::{G1, G2, Scalar, lagrange_at_zero};
pub use multi::pairing_product_is_one;

use blst::BLST_ERROR;
use blst::min_pk::{PublicKey, SecretKey, Signature};

/// Hash-to-G2 domain separation tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dst {
    /// Ethereum consensus signatures (deposit data, owner-nonce, partials).
    Pop,
    /// kyber `bls.NewSchemeOnG2`, which authenticates DKG deal/response bundles.
    Nul,
}

impl Dst {
    /// The tag's bytes, as hash-to-curve takes them.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Self::Pop => b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
            Self::Nul => b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_",
        }
    }
}

/// A blst status code as an error (blst's own type is a plain `#[repr(u32)]` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0:?}")]
pub struct BlstError(pub BLST_ERROR);

/// What is wrong with a group element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PointProblem {
    /// blst refused the encoding (not a compressed point, not on the curve).
    #[error("{0}")]
    Encoding(#[source] BlstError),
    /// On the curve but outside the prime-order subgroup.
    #[error("not in subgroup")]
    NotInSubgroup,
    /// The point at infinity where a real key or nonce is needed.
    #[error("identity")]
    Identity,
}

/// Why a BLS operation failed. No variant carries secret material.
#[derive(Debug, thiserror::Error)]
pub enum BlsError {
    /// A public key that is not a valid compressed G1 point of the subgroup (or is the identity).
    #[error("invalid BLS public key: {0}")]
    InvalidPublicKey(#[source] BlstError),
    /// A signature that is not a valid compressed G2 point of the subgroup.
    #[error("invalid BLS signature encoding: {0}")]
    InvalidSignature(#[source] BlstError),
    /// A well-formed signature that does not verify.
    #[error("BLS signature does not verify ({dst:?} DST)")]
    VerifyFailed {
        /// The domain separation tag it was checked under.
        dst: Dst,
    },
    /// A group element that cannot be used.
    #[error("invalid {group} point: {reason}")]
    InvalidPoint {
        /// `G1` or `G2`.
        group: &'static str,
        /// What is wrong with it.
        #[source]
        reason: PointProblem,
    },
    /// An encoding of the wrong size.
    #[error("{what}: expected {expected} bytes, got {got}")]
    Length {
        /// What was being decoded.
        what: &'static str,
        /// Bytes its encoding has.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// 32 bytes that are not a scalar below the group order r.
    #[error("scalar is not canonical (>= group order)")]
    InvalidScalar,
    /// A Lagrange denominator of zero (cannot happen with distinct non-zero ids).
    #[error("cannot invert zero")]
    ZeroInverse,
    /// Interpolation over no points.
    #[error("interpolation needs at least one point")]
    NoPoints,
    /// x = 0 is the secret's own point; an operator id is never 0.
    #[error("interpolation x coordinate (operator id) must not be 0")]
    ZeroId,
    /// Two points at one x: the polynomial is not determined.
    #[error("interpolation x coordinate (operator id) {0} appears twice")]
    DuplicateId(u64),
    /// The interpolated key or signature is the identity, which no honest ceremony gives.
    #[error("interpolated point is the identity")]
    IdentityResult,
    /// The OS random generator failed.
    #[error("OS random number generator failed: {0}")]
    Rng(#[source] getrandom::Error),
}

/// Verifies `sig` over `msg` under `pubkey` (both compressed). Rejects the identity public key and
/// signature, points off the curve and points outside the prime-order subgroups.
pub fn verify(pubkey: &[u8], msg: &[u8], sig: &[u8], dst: Dst) -> Result<(), BlsError> {
    let pk =
        PublicKey::key_validate(pubkey).map_err(|e| BlsError::InvalidPublicKey(BlstError(e)))?;
    let sig =
        Signature::sig_validate(sig, true).map_err(|e| BlsError::InvalidSignature(BlstError(e)))?;
    match sig.verify(false, msg, dst.as_bytes(), &[], &pk, false) {
        BLST_ERROR::BLST_SUCCESS => Ok(()),
        _ => Err(BlsError::VerifyFailed { dst }),
    }
}

/// Signs `msg` with `sk`; returns the compressed 96-byte G2 signature.
pub fn sign(sk: &SecretKey, msg: &[u8], dst: Dst) -> [u8; 96] {
    sk.sign(msg, dst.as_bytes(), &[]).compress()
}

/// Compressed public key (48 bytes) of a secret key.
pub fn public_key(sk: &SecretKey) -> [u8; 48] {
    sk.sk_to_pk().compress()
}

/// Lagrange interpolation at 0 of G1 points given as (operator id, compressed point), as one
/// multi-scalar multiplication. The result does not depend on the order of `points` (ids are
/// explicit).
pub fn interpolate_g1(points: &[(u64, [u8; 48])]) -> Result<[u8; 48], BlsError> {
    if points.is_empty() {
        return Err(BlsError::NoPoints);
    }
    let ids: Vec<u64> = points.iter().map(|(id, _)| *id).collect();
    let coeffs = lagrange_at_zero(&ids)?;
    let mut parsed = Vec::with_capacity(points.len());
    for (_, bytes) in points {
        let p = G1::from_compressed(bytes)?;
        if p.is_identity() {
            return Err(BlsError::InvalidPoint {
                group: "G1",
                reason: PointProblem::Identity,
            });
        }
        parsed.push(p);
    }
    let acc = G1::msm(&parsed, &coeffs);
    if acc.is_identity() {
        return Err(BlsError::IdentityResult);
    }
    Ok(acc.compress())
}

/// Lagrange interpolation at 0 of G2 points (partial signatures) keyed by operator id, as one
/// multi-scalar multiplication.
pub fn interpolate_g2(points: &[(u64, [u8; 96])]) -> Result<[u8; 96], BlsError> {
    if points.is_empty() {
        return Err(BlsError::NoPoints);
    }
    let ids: Vec<u64> = points.iter().map(|(id, _)| *id).collect();
    let coeffs = lagrange_at_zero(&ids)?;
    let parsed = points
        .iter()
        .map(|(_, bytes)| G2::from_compressed(bytes))
        .collect::<Result<Vec<_>, _>>()?;
    let acc = G2::msm(&parsed, &coeffs);
    if acc.is_identity() {
        return Err(BlsError::IdentityResult);
    }
    Ok(acc.compress())
}

#[cfg(test)]
mod tests;
