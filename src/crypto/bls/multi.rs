//! Multi-scalar multiplication and pairing products over blst. Interpolating 13 shares or
//! checking a batch of signatures is one pass here (shared doublings, one Miller loop over all
//! pairs, one final exponentiation) instead of a scalar multiplication or a pairing per term.

use blst::{
    blst_final_exp, blst_fp12, blst_fp12_is_one, blst_hash_to_g2, blst_miller_loop_n, blst_p1,
    blst_p1_affine, blst_p1_cneg, blst_p1s_mult_pippenger, blst_p1s_mult_pippenger_scratch_sizeof,
    blst_p1s_to_affine, blst_p2, blst_p2_affine, blst_p2s_mult_pippenger,
    blst_p2s_mult_pippenger_scratch_sizeof, blst_p2s_to_affine, limb_t,
};
use zeroize::Zeroize;

use super::Dst;
use super::group::{G1, G2, Scalar};

/// Little-endian bytes of each scalar, concatenated (what blst's multi-scalar routines read).
fn scalar_bytes(scalars: &[Scalar]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * scalars.len());
    for s in scalars {
        let mut sc = s.to_blst_scalar();
        out.extend_from_slice(&sc.b);
        sc.b.zeroize();
    }
    out
}

fn u64_bytes(weights: &[u64]) -> Vec<u8> {
    weights.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The terms whose point is not the identity (blst's routines take affine points, where the
/// identity has no encoding they handle; its term is zero anyway), with their scalar bytes.
fn finite_terms<P: Copy>(
    points: &[P],
    scalars: &[u8],
    nbytes: usize,
    is_identity: impl Fn(&P) -> bool,
) -> (Vec<P>, Vec<u8>) {
    let mut ps = Vec::with_capacity(points.len());
    let mut ss = Vec::with_capacity(scalars.len());
    for (p, s) in points.iter().zip(scalars.chunks_exact(nbytes)) {
        if !is_identity(p) {
            ps.push(*p);
            ss.extend_from_slice(s);
        }
    }
    (ps, ss)
}

fn p1_affines(points: &[G1]) -> Vec<blst_p1_affine> {
    let ptrs: Vec<*const blst_p1> = points.iter().map(|p| &p.0 as *const blst_p1).collect();
    let mut out = vec![blst_p1_affine::default(); points.len()];
    if !points.is_empty() {
        // SAFETY: `ptrs` holds `points.len()` valid pointers and `out` room for as many points.
        unsafe { blst_p1s_to_affine(out.as_mut_ptr(), ptrs.as_ptr(), points.len()) };
    }
    out
}

fn p2_affines(points: &[G2]) -> Vec<blst_p2_affine> {
    let ptrs: Vec<*const blst_p2> = points.iter().map(|p| &p.0 as *const blst_p2).collect();
    let mut out = vec![blst_p2_affine::default(); points.len()];
    if !points.is_empty() {
        // SAFETY: as in `p1_affines`.
        unsafe { blst_p2s_to_affine(out.as_mut_ptr(), ptrs.as_ptr(), points.len()) };
    }
    out
}

/// Σ s_i·P_i over G1 with `nbits`-bit little-endian scalars of `nbits.div_ceil(8)` bytes each.
fn g1_msm(points: &[G1], scalars: &[u8], nbits: usize) -> G1 {
    let (points, mut scalars) = finite_terms(points, scalars, nbits.div_ceil(8), G1::is_identity);
    let n = points.len();
    if n == 0 {
        return G1::identity();
    }
    let affine = p1_affines(&points);
    // SAFETY: plain size query.
    let words = unsafe { blst_p1s_mult_pippenger_scratch_sizeof(n) }.div_ceil(8);
    let mut scratch: Vec<limb_t> = vec![0; words];
    // blst reads a pointer list; a null second entry means "contiguous from the first".
    let pts: [*const blst_p1_affine; 2] = [affine.as_ptr(), std::ptr::null()];
    let scs: [*const u8; 2] = [scalars.as_ptr(), std::ptr::null()];
    let mut r = blst_p1::default();
    // SAFETY: `affine` holds n points, `scalars` n scalars of nbits bits each, `scratch` the size
    // blst asked for.
    unsafe {
        blst_p1s_mult_pippenger(
            &mut r,
            pts.as_ptr(),
            n,
            scs.as_ptr(),
            nbits,
            scratch.as_mut_ptr(),
        );
    };
    scalars.zeroize();
    G1(r)
}

/// Σ s_i·P_i over G2 (see [`g1_msm`]).
fn g2_msm(points: &[G2], scalars: &[u8], nbits: usize) -> G2 {
    let (points, mut scalars) = finite_terms(points, scalars, nbits.div_ceil(8), G2::is_identity);
    let n = points.len();
    if n == 0 {
        return G2::identity();
    }
    let affine = p2_affines(&points);
    // SAFETY: plain size query.
    let words = unsafe { blst_p2s_mult_pippenger_scratch_sizeof(n) }.div_ceil(8);
    let mut scratch: Vec<limb_t> = vec![0; words];
    let pts: [*const blst_p2_affine; 2] = [affine.as_ptr(), std::ptr::null()];
    let scs: [*const u8; 2] = [scalars.as_ptr(), std::ptr::null()];
    let mut r = blst_p2::default();
    // SAFETY: as in `g1_msm`.
    unsafe {
        blst_p2s_mult_pippenger(
            &mut r,
            pts.as_ptr(),
            n,
            scs.as_ptr(),
            nbits,
            scratch.as_mut_ptr(),
        );
    };
    scalars.zeroize();
    G2(r)
}

impl G1 {
    /// Σ s_i·P_i in one multi-scalar multiplication. Terms past the shorter slice are ignored.
    pub fn msm(points: &[Self], scalars: &[Scalar]) -> Self {
        let n = points.len().min(scalars.len());
        g1_msm(&points[..n], &scalar_bytes(&scalars[..n]), 255)
    }

    /// Σ w_i·P_i with 64-bit public weights (random batch weights). Terms past the shorter slice
    /// are ignored.
    pub fn msm_u64(points: &[Self], weights: &[u64]) -> Self {
        let n = points.len().min(weights.len());
        g1_msm(&points[..n], &u64_bytes(&weights[..n]), 64)
    }

    /// −P.
    pub fn neg(&self) -> Self {
        let mut p = self.0;
        // SAFETY: negates an initialised point in place.
        unsafe { blst_p1_cneg(&mut p, true) };
        Self(p)
    }
}

impl G2 {
    /// Σ s_i·P_i in one multi-scalar multiplication. Terms past the shorter slice are ignored.
    pub fn msm(points: &[Self], scalars: &[Scalar]) -> Self {
        let n = points.len().min(scalars.len());
        g2_msm(&points[..n], &scalar_bytes(&scalars[..n]), 255)
    }

    /// Σ w_i·P_i with 64-bit public weights. Terms past the shorter slice are ignored.
    pub fn msm_u64(points: &[Self], weights: &[u64]) -> Self {
        let n = points.len().min(weights.len());
        g2_msm(&points[..n], &u64_bytes(&weights[..n]), 64)
    }

    /// `msg` hashed to G2 (RFC 9380 SSWU, random oracle) under `dst`: what BLS signatures sign.
    pub fn hash_to_curve(msg: &[u8], dst: Dst) -> Self {
        let tag = dst.as_bytes();
        let mut p = blst_p2::default();
        // SAFETY: pointers and lengths of live slices; no augmentation.
        unsafe {
            blst_hash_to_g2(
                &mut p,
                msg.as_ptr(),
                msg.len(),
                tag.as_ptr(),
                tag.len(),
                std::ptr::null(),
                0,
            );
        };
        Self(p)
    }
}

/// Whether Π e(P_i, Q_i) is one: one multi-Miller loop over every pair and one final
/// exponentiation. Pairs with an identity point contribute one and are skipped.
pub fn pairing_product_is_one(pairs: &[(G1, G2)]) -> bool {
    let finite: Vec<&(G1, G2)> = pairs
        .iter()
        .filter(|(p, q)| !p.is_identity() && !q.is_identity())
        .collect();
    if finite.is_empty() {
        return true;
    }
    let ps = p1_affines(&finite.iter().map(|(p, _)| *p).collect::<Vec<_>>());
    let qs = p2_affines(&finite.iter().map(|(_, q)| *q).collect::<Vec<_>>());
    let p_ptrs: Vec<*const blst_p1_affine> = ps.iter().map(|p| p as *const _).collect();
    let q_ptrs: Vec<*const blst_p2_affine> = qs.iter().map(|q| q as *const _).collect();
    let mut ml = blst_fp12::default();
    let mut fe = blst_fp12::default();
    // SAFETY: both pointer lists hold `finite.len()` valid affine points.
    unsafe {
        blst_miller_loop_n(&mut ml, q_ptrs.as_ptr(), p_ptrs.as_ptr(), finite.len());
        blst_final_exp(&mut fe, &ml);
        blst_fp12_is_one(&fe)
    }
}
