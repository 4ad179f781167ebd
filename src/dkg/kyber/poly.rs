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
