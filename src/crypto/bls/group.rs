//! Thin safe wrappers over blst's scalar field and G1/G2 group arithmetic: what the joint-Feldman DKG,
//! ECIES and Lagrange interpolation need, and nothing more.

use blst::{
    BLST_ERROR, blst_bendian_from_scalar, blst_fr, blst_fr_add, blst_fr_from_scalar,
    blst_fr_from_uint64, blst_fr_inverse, blst_fr_mul, blst_fr_sub, blst_p1, blst_p1_add_or_double,
    blst_p1_affine, blst_p1_affine_in_g1, blst_p1_affine_is_inf, blst_p1_compress,
    blst_p1_from_affine, blst_p1_generator, blst_p1_is_equal, blst_p1_is_inf, blst_p1_mult,
    blst_p1_uncompress, blst_p2, blst_p2_add_or_double, blst_p2_affine, blst_p2_affine_in_g2,
    blst_p2_affine_is_inf, blst_p2_compress, blst_p2_from_affine, blst_p2_mult, blst_p2_uncompress,
    blst_scalar, blst_scalar_fr_check, blst_scalar_from_be_bytes, blst_scalar_from_bendian,
    blst_scalar_from_fr,
};
use zeroize::Zeroize;

use super::{BlsError, BlstError, PointProblem};

/// An element of the BLS12-381 scalar field (mod r). Secret material in the DKG, so Debug is redacted
/// and the limbs are wiped on drop.
#[derive(Clone, Default)]
pub struct Scalar(blst_fr);

impl std::fmt::Debug for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scalar(<redacted>)")
    }
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.to_be_bytes() == other.to_be_bytes()
    }
}
impl Eq for Scalar {}

impl Scalar {
    /// The additive identity.
    pub fn zero() -> Self {
        Self::default()
    }

    /// The scalar `v` (operator ids as x coordinates).
    pub fn from_u64(v: u64) -> Self {
        let mut fr = blst_fr::default();
        let limbs = [v, 0, 0, 0];
        // SAFETY: blst reads four 64-bit limbs and writes a Montgomery-form field element.
        unsafe { blst_fr_from_uint64(&mut fr, limbs.as_ptr()) };
        Self(fr)
    }

    /// A uniformly random non-zero scalar: 64 bytes of OS randomness reduced mod r (bias < 2^-254).
    pub fn random() -> Result<Self, BlsError> {
        loop {
            let mut wide = [0u8; 64];
            getrandom::fill(&mut wide).map_err(BlsError::Rng)?;
            let mut sc = blst_scalar::default();
            // SAFETY: blst reduces an arbitrary-length big-endian byte string modulo r.
            unsafe { blst_scalar_from_be_bytes(&mut sc, wide.as_ptr(), wide.len()) };
            wide.zeroize();
            let mut fr = blst_fr::default();
            // SAFETY: sc is a reduced scalar.
            unsafe { blst_fr_from_scalar(&mut fr, &sc) };
            sc.b.zeroize();
            let s = Self(fr);
            if s != Self::zero() {
                return Ok(s);
            }
        }
    }

    /// Parses a 32-byte big-endian canonical scalar (< r), as kyber and herumi serialise them.
    pub fn from_be_bytes(bytes: &[u8]) -> Result<Self, BlsError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| BlsError::Length {
            what: "scalar",
            expected: 32,
            got: bytes.len(),
        })?;
        let mut sc = blst_scalar::default();
        // SAFETY: arr is exactly 32 bytes.
        unsafe { blst_scalar_from_bendian(&mut sc, arr.as_ptr()) };
        // SAFETY: sc is initialised; the check rejects values >= r.
        if !unsafe { blst_scalar_fr_check(&sc) } {
            sc.b.zeroize();
            return Err(BlsError::InvalidScalar);
        }
        let mut fr = blst_fr::default();
        // SAFETY: sc is canonical.
        unsafe { blst_fr_from_scalar(&mut fr, &sc) };
        sc.b.zeroize();
        Ok(Self(fr))
    }

    /// The canonical 32-byte big-endian encoding (secret when the scalar is a share).
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let sc = self.to_blst_scalar();
        let mut out = [0u8; 32];
        // SAFETY: out has room for 32 bytes.
        unsafe { blst_bendian_from_scalar(out.as_mut_ptr(), &sc) };
        out
    }

    pub(super) fn to_blst_scalar(&self) -> blst_scalar {
        let mut sc = blst_scalar::default();
        // SAFETY: converts out of Montgomery form into a canonical little-endian scalar.
        unsafe { blst_scalar_from_fr(&mut sc, &self.0) };
        sc
    }

    /// `self + o` mod r.
    pub fn add(&self, o: &Self) -> Self {
        let mut r = blst_fr::default();
        // SAFETY: plain field arithmetic on initialised values.
        unsafe { blst_fr_add(&mut r, &self.0, &o.0) };
        Self(r)
    }

    /// `self - o` mod r.
    pub fn sub(&self, o: &Self) -> Self {
        let mut r = blst_fr::default();
        // SAFETY: as above.
        unsafe { blst_fr_sub(&mut r, &self.0, &o.0) };
        Self(r)
    }

    /// `self · o` mod r.
    pub fn mul(&self, o: &Self) -> Self {
        let mut r = blst_fr::default();
        // SAFETY: as above.
        unsafe { blst_fr_mul(&mut r, &self.0, &o.0) };
        Self(r)
    }

    /// Multiplicative inverse; zero has none.
    pub fn inverse(&self) -> Result<Self, BlsError> {
        if *self == Self::zero() {
            return Err(BlsError::ZeroInverse);
        }
        let mut r = blst_fr::default();
        // SAFETY: as above; input is non-zero.
        unsafe { blst_fr_inverse(&mut r, &self.0) };
        Ok(Self(r))
    }

    /// Converts into a blst secret key (for POP/NUL signing with the share).
    pub fn to_secret_key(&self) -> Result<blst::min_pk::SecretKey, BlsError> {
        let mut be = self.to_be_bytes();
        let sk = blst::min_pk::SecretKey::from_bytes(&be).map_err(|_| BlsError::InvalidScalar);
        be.zeroize();
        sk
    }
}

impl Drop for Scalar {
    fn drop(&mut self) {
        self.0.l.zeroize();
    }
}

/// A point of G1 (48-byte compressed encoding, ZCash flags — same as kyber-bls12381, herumi, blst).
#[derive(Clone, Copy, Default)]
pub struct G1(pub(super) blst_p1);

impl std::fmt::Debug for G1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "G1({})", hex::encode(self.compress()))
    }
}

impl PartialEq for G1 {
    fn eq(&self, other: &Self) -> bool {
        // SAFETY: compares two initialised Jacobian points.
        unsafe { blst_p1_is_equal(&self.0, &other.0) }
    }
}
impl Eq for G1 {}

impl G1 {
    /// The point at infinity.
    pub fn identity() -> Self {
        Self::default()
    }

    /// The standard generator of G1.
    pub fn generator() -> Self {
        // SAFETY: blst returns a pointer to a static generator point.
        Self(unsafe { *blst_p1_generator() })
    }

    /// Whether this is the point at infinity.
    pub fn is_identity(&self) -> bool {
        // SAFETY: initialised point.
        unsafe { blst_p1_is_inf(&self.0) }
    }

    /// Parses a compressed point, checking it is on the curve and in the prime-order subgroup.
    /// The identity is accepted here; callers that must not see it check `is_identity`.
    pub fn from_compressed(bytes: &[u8]) -> Result<Self, BlsError> {
        let arr: [u8; 48] = bytes.try_into().map_err(|_| BlsError::Length {
            what: "G1 point",
            expected: 48,
            got: bytes.len(),
        })?;
        let mut aff = blst_p1_affine::default();
        // SAFETY: arr is 48 bytes; blst validates the encoding and curve equation.
        let err = unsafe { blst_p1_uncompress(&mut aff, arr.as_ptr()) };
        if err != BLST_ERROR::BLST_SUCCESS {
            return Err(BlsError::InvalidPoint {
                group: "G1",
                reason: PointProblem::Encoding(BlstError(err)),
            });
        }
        // SAFETY: aff is a valid affine point.
        let inf = unsafe { blst_p1_affine_is_inf(&aff) };
        if !inf && !unsafe { blst_p1_affine_in_g1(&aff) } {
            return Err(BlsError::InvalidPoint {
                group: "G1",
                reason: PointProblem::NotInSubgroup,
            });
        }
        let mut p = blst_p1::default();
        // SAFETY: conversion of a valid affine point.
        unsafe { blst_p1_from_affine(&mut p, &aff) };
        Ok(Self(p))
    }

    /// The 48-byte compressed encoding (what public keys and commitments travel as).
    pub fn compress(&self) -> [u8; 48] {
        let mut out = [0u8; 48];
        // SAFETY: out has room for 48 bytes.
        unsafe { blst_p1_compress(out.as_mut_ptr(), &self.0) };
        out
    }

    /// Parses a compressed point checking only the encoding and the curve equation. For points
    /// that are summed before use (DKG commitments): the caller checks the sum with
    /// [`G1::in_subgroup`], one subgroup check instead of one per summand.
    pub fn from_compressed_on_curve(bytes: &[u8]) -> Result<Self, BlsError> {
        let arr: [u8; 48] = bytes.try_into().map_err(|_| BlsError::Length {
            what: "G1 point",
            expected: 48,
            got: bytes.len(),
        })?;
        let mut aff = blst_p1_affine::default();
        // SAFETY: arr is 48 bytes; blst validates the encoding and curve equation.
        let err = unsafe { blst_p1_uncompress(&mut aff, arr.as_ptr()) };
        if err != BLST_ERROR::BLST_SUCCESS {
            return Err(BlsError::InvalidPoint {
                group: "G1",
                reason: PointProblem::Encoding(BlstError(err)),
            });
        }
        let mut p = blst_p1::default();
        // SAFETY: conversion of an on-curve affine point.
        unsafe { blst_p1_from_affine(&mut p, &aff) };
        Ok(Self(p))
    }

    /// A public key as [`super::verify`] accepts it (48-byte compressed or 96-byte serialised,
    /// on the curve, in the subgroup, not the identity).
    pub fn from_public_key_bytes(bytes: &[u8]) -> Result<Self, BlsError> {
        let pk = blst::min_pk::PublicKey::key_validate(bytes)
            .map_err(|e| BlsError::InvalidPublicKey(BlstError(e)))?;
        let aff = blst_p1_affine::from(pk);
        let mut p = blst_p1::default();
        // SAFETY: conversion of a validated affine point.
        unsafe { blst_p1_from_affine(&mut p, &aff) };
        Ok(Self(p))
    }

    /// Whether the point is in the prime-order subgroup (the identity is).
    pub fn in_subgroup(&self) -> bool {
        // SAFETY: initialised Jacobian point.
        unsafe { blst::blst_p1_in_g1(&self.0) }
    }

    /// Point addition.
    pub fn add(&self, o: &Self) -> Self {
        let mut r = blst_p1::default();
        // SAFETY: complete addition formula handles doubling and identity.
        unsafe { blst_p1_add_or_double(&mut r, &self.0, &o.0) };
        Self(r)
    }

    /// Scalar multiplication `s·self`.
    pub fn mul(&self, s: &Scalar) -> Self {
        let mut sc = s.to_blst_scalar();
        let mut r = blst_p1::default();
        // SAFETY: sc.b is a 32-byte little-endian scalar < r, so 255 bits suffice.
        unsafe { blst_p1_mult(&mut r, &self.0, sc.b.as_ptr(), 255) };
        sc.b.zeroize();
        Self(r)
    }

    /// Multiplication by a small public integer (an operator id when evaluating commitments):
    /// a ladder over the integer's own bits (7 for id 92) instead of 255. Not constant-time in
    /// `k`, which is public.
    pub fn mul_u64(&self, k: u64) -> Self {
        let le = k.to_le_bytes();
        let nbits = (64 - k.leading_zeros()) as usize;
        let mut r = blst_p1::default();
        // SAFETY: le is 8 little-endian bytes; blst reads nbits <= 64 bits of it (none for 0,
        // giving the identity).
        unsafe { blst_p1_mult(&mut r, &self.0, le.as_ptr(), nbits) };
        Self(r)
    }
}

/// A point of G2 (96-byte compressed), used for BLS signatures.
#[derive(Clone, Copy, Default)]
pub struct G2(pub(super) blst_p2);

impl std::fmt::Debug for G2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "G2({})", hex::encode(self.compress()))
    }
}

impl G2 {
    /// The point at infinity.
    pub fn identity() -> Self {
        Self::default()
    }

    /// Whether this is the point at infinity.
    pub fn is_identity(&self) -> bool {
        // SAFETY: initialised point.
        unsafe { blst::blst_p2_is_inf(&self.0) }
    }

    /// Parses a 96-byte compressed point, checking the encoding, the curve and the subgroup.
    pub fn from_compressed(bytes: &[u8]) -> Result<Self, BlsError> {
        let arr: [u8; 96] = bytes.try_into().map_err(|_| BlsError::Length {
            what: "G2 point",
            expected: 96,
            got: bytes.len(),
        })?;
        let mut aff = blst_p2_affine::default();
        // SAFETY: arr is 96 bytes; blst validates encoding and curve equation.
        let err = unsafe { blst_p2_uncompress(&mut aff, arr.as_ptr()) };
        if err != BLST_ERROR::BLST_SUCCESS {
            return Err(BlsError::InvalidPoint {
                group: "G2",
                reason: PointProblem::Encoding(BlstError(err)),
            });
        }
        // SAFETY: aff is a valid affine point.
        let inf = unsafe { blst_p2_affine_is_inf(&aff) };
        if !inf && !unsafe { blst_p2_affine_in_g2(&aff) } {
            return Err(BlsError::InvalidPoint {
                group: "G2",
                reason: PointProblem::NotInSubgroup,
            });
        }
        let mut p = blst_p2::default();
        // SAFETY: conversion of a valid affine point.
        unsafe { blst_p2_from_affine(&mut p, &aff) };
        Ok(Self(p))
    }

    /// A signature as [`super::verify`] accepts it (96-byte compressed or 192-byte serialised,
    /// on the curve, in the subgroup, not the identity).
    pub fn from_signature_bytes(bytes: &[u8]) -> Result<Self, BlsError> {
        let sig = blst::min_pk::Signature::sig_validate(bytes, true)
            .map_err(|e| BlsError::InvalidSignature(BlstError(e)))?;
        let aff = blst_p2_affine::from(sig);
        let mut p = blst_p2::default();
        // SAFETY: conversion of a validated affine point.
        unsafe { blst_p2_from_affine(&mut p, &aff) };
        Ok(Self(p))
    }

    /// The 96-byte compressed encoding (what signatures travel as).
    pub fn compress(&self) -> [u8; 96] {
        let mut out = [0u8; 96];
        // SAFETY: out has room for 96 bytes.
        unsafe { blst_p2_compress(out.as_mut_ptr(), &self.0) };
        out
    }

    /// Point addition.
    pub fn add(&self, o: &Self) -> Self {
        let mut r = blst_p2::default();
        // SAFETY: complete addition.
        unsafe { blst_p2_add_or_double(&mut r, &self.0, &o.0) };
        Self(r)
    }

    /// Scalar multiplication `s·self`.
    pub fn mul(&self, s: &Scalar) -> Self {
        let mut sc = s.to_blst_scalar();
        let mut r = blst_p2::default();
        // SAFETY: 32-byte little-endian scalar < r.
        unsafe { blst_p2_mult(&mut r, &self.0, sc.b.as_ptr(), 255) };
        sc.b.zeroize();
        Self(r)
    }
}

/// Lagrange coefficients at x = 0 for the given distinct non-zero x coordinates (operator ids).
pub fn lagrange_at_zero(xs: &[u64]) -> Result<Vec<Scalar>, BlsError> {
    for (i, a) in xs.iter().enumerate() {
        if *a == 0 {
            return Err(BlsError::ZeroId);
        }
        if xs[i + 1..].contains(a) {
            return Err(BlsError::DuplicateId(*a));
        }
    }
    let fx: Vec<Scalar> = xs.iter().map(|x| Scalar::from_u64(*x)).collect();
    let mut out = Vec::with_capacity(xs.len());
    for (i, xi) in fx.iter().enumerate() {
        // λ_i = Π_{j≠i} x_j / (x_j − x_i)
        let mut num = Scalar::from_u64(1);
        let mut den = Scalar::from_u64(1);
        for (j, xj) in fx.iter().enumerate() {
            if i != j {
                num = num.mul(xj);
                den = den.mul(&xj.sub(xi));
            }
        }
        out.push(num.mul(&den.inverse()?));
    }
    Ok(out)
}
