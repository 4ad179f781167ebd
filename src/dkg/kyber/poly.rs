//! Secret and public polynomials over the BLS12-381 scalar field / G1 (kyber `share/poly.go`).
//! kyber evaluates node index i at x = i + 1; here callers pass x (the operator id) directly.

use crate::crypto::bls::{BlsError, G1, Scalar};

/// A random polynomial of degree t-1; coefficient 0 is the dealer's secret contribution.
/// Debug shows only redacted coefficients ([`Scalar`]'s Debug).
#[derive(Debug)]
pub struct PriPoly {
    coeffs: Vec<Scalar>,
}

impl PriPoly {
    /// A polynomial of `t` coefficients (degree t−1), each uniformly random.
    pub fn random(t: usize) -> Result<Self, BlsError> {
        let coeffs = (0..t)
            .map(|_| Scalar::random())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { coeffs })
    }

    /// A polynomial of `t` coefficients whose constant term is `secret` (a resharing dealer's old
    /// share), the others uniformly random.
    pub fn with_secret(secret: Scalar, t: usize) -> Result<Self, BlsError> {
        let mut coeffs = Vec::with_capacity(t);
        coeffs.push(secret);
        for _ in 1..t {
            coeffs.push(Scalar::random()?);
        }
        Ok(Self { coeffs })
    }

    /// The value at `x` (Horner's rule); x is the operator id.
    pub fn eval(&self, x: u64) -> Scalar {
        let xs = Scalar::from_u64(x);
        let mut acc = Scalar::zero();
        for c in self.coeffs.iter().rev() {
            acc = acc.mul(&xs).add(c);
        }
        acc
    }

    /// Feldman commitments a_j·G1.
    pub fn commit(&self) -> Vec<G1> {
        let g = G1::generator();
        self.coeffs.iter().map(|c| g.mul(c)).collect()
    }
}

/// Σ_j C_j · x^j, the public image of the polynomial at x.
/// Horner's rule with x a small public integer, so each step is a 64-bit multiplication.
pub fn eval_public(commits: &[G1], x: u64) -> G1 {
    let mut acc = G1::identity();
    for c in commits.iter().rev() {
        acc = acc.mul_u64(x).add(c);
    }
    acc
}

/// Σ_j C_j · x^j term by term with full scalar multiplications: the reference [`eval_public`] is
/// held against (unit tests, `benches/bulk_ceremony.rs`).
pub fn eval_public_naive(commits: &[G1], x: u64) -> G1 {
    let xs = Scalar::from_u64(x);
    let mut pow = Scalar::from_u64(1);
    let mut acc = G1::identity();
    for c in commits {
        acc = acc.add(&c.mul(&pow));
        pow = pow.mul(&xs);
    }
    acc
}

/// The public polynomial (t commitments) through the points `(x_i, P_i)`: kyber
/// `RecoverPubPoly`, coefficient k = Σ_i c_{i,k}·P_i with c_{i,k} the k-th coefficient of the
/// Lagrange basis polynomial of x_i. `points` must hold exactly t distinct non-zero x.
pub fn recover_public(points: &[(u64, G1)]) -> Result<Vec<G1>, BlsError> {
    let t = points.len();
    let mut out = vec![G1::identity(); t];
    for (i, (xi, pi)) in points.iter().enumerate() {
        // basis = Π_{j≠i} (x − x_j) / (x_i − x_j), built coefficient by coefficient.
        let mut basis = vec![Scalar::from_u64(1)];
        let mut den = Scalar::from_u64(1);
        for (j, (xj, _)) in points.iter().enumerate() {
            if i == j {
                continue;
            }
            let xj_s = Scalar::from_u64(*xj);
            let mut next = vec![Scalar::zero(); basis.len() + 1];
            for (k, c) in basis.iter().enumerate() {
                next[k + 1] = next[k + 1].add(c);
                next[k] = next[k].sub(&c.mul(&xj_s));
            }
            basis = next;
            den = den.mul(&Scalar::from_u64(*xi).sub(&xj_s));
        }
        let inv = den.inverse()?;
        for (k, c) in basis.iter().enumerate() {
            out[k] = out[k].add(&pi.mul(&c.mul(&inv)));
        }
    }
    Ok(out)
}
