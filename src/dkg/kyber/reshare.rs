//! kyber's resharing (`share/dkg` with `OldNodes`, `Share` / `PublicCoeffs`, non-fast-sync) as
//! ssv-dkg v3.1.0 runs it: every responsive old operator deals its old share s_i with a fresh
//! polynomial f_i of the NEW threshold (f_i(0) = s_i), evaluated at the new operators' ids; each
//! new operator checks every deal against the dealer's commitments and the dealer's commitment 0
//! against the old public polynomial at the dealer's id, then takes the first old-threshold valid
//! dealers by index (kyber sorts and truncates the same way, so every new operator lands on the
//! same polynomial) and combines them with Lagrange coefficients at 0: the new shares interpolate
//! to the same validator key. A missing or invalid deal from a responsive old operator aborts,
//! naming it (a Go operator would complain and ssv-dkg's initiator aborts on complaints).

use super::bundle::{Deal, DealBundle};
use super::poly::{PriPoly, eval_public};
use super::protocol::{DistKeyShare, DkgError, Node};
use crate::crypto::bls::{self, Dst, G1, Scalar, lagrange_at_zero};
use crate::crypto::ecies;

/// What a dealer that is also a new operator keeps of its own deal: value and commitments.
#[derive(Debug)]
pub struct OwnDeal {
    /// f_own(own id).
    pub value: Scalar,
    /// Commitments of f_own.
    pub commits: Vec<G1>,
}

/// An old operator's deal bundle for the new operators (its own value kept when it is one).
pub fn reshare_deal(
    longterm: &Scalar,
    nonce: [u8; 32],
    new_t: usize,
    old_share: Scalar,
    own_index: u32,
    new_nodes: &[Node],
) -> Result<(DealBundle, Option<OwnDeal>), DkgError> {
    let poly = PriPoly::with_secret(old_share, new_t)?;
    let commits = poly.commit();
    let mut deals = Vec::with_capacity(new_nodes.len());
    let mut own = None;
    for node in new_nodes {
        let value = poly.eval(node.operator_id());
        if node.index == own_index {
            own = Some(OwnDeal {
                value,
                commits: commits.clone(),
            });
            continue;
        }
        let ct = ecies::encrypt(&node.public, &value.to_be_bytes()).map_err(|source| {
            DkgError::Encrypt {
                operator: node.operator_id(),
                source,
            }
        })?;
        deals.push(Deal {
            share_index: node.index,
            encrypted_share: ct,
        });
    }
    let mut bundle = DealBundle {
        dealer_index: own_index,
        deals,
        public: commits.iter().map(G1::compress).collect(),
        session_id: nonce.to_vec(),
        signature: Vec::new(),
    };
    bundle.signature = bls::sign(&longterm.to_secret_key()?, &bundle.hash(), Dst::Nul).to_vec();
    Ok((bundle, own))
}

/// What a new operator knows when the deals arrive.
#[derive(Debug)]
pub struct ReshareReceiver<'a> {
    /// Its exchange secret (deals are encrypted to it).
    pub longterm: &'a Scalar,
    /// sha256 of the instance id.
    pub nonce: [u8; 32],
    /// Its kyber index (operator id − 1).
    pub own_index: u32,
    /// The new threshold (commitments per deal).
    pub new_t: usize,
    /// The old public polynomial (old threshold commitments; commitment 0 = validator key).
    pub old_commits: &'a [G1],
    /// The old operators that took part (answered the exchange round), any order.
    pub old_nodes: &'a [Node],
}

impl ReshareReceiver<'_> {
    /// Verifies the old operators' bundles (empty bundles of new-only operators are ignored) and
    /// returns this operator's new share with the new public polynomial.
    pub fn finish(
        &self,
        bundles: &[DealBundle],
        own: Option<OwnDeal>,
    ) -> Result<DistKeyShare, DkgError> {
        let old_t = self.old_commits.len();
        let mut dealers: Vec<&Node> = self.old_nodes.iter().collect();
        dealers.sort_by_key(|n| n.index);
        let mut valid: Vec<(u64, Scalar, Vec<G1>)> = Vec::with_capacity(dealers.len());
        let mut own = own;
        for node in dealers {
            if node.index == self.own_index {
                let o = own.take().ok_or_else(|| {
                    DkgError::Setup("an old and new operator without its own deal".into())
                })?;
                self.check_constant(node, &o.commits)?;
                valid.push((node.operator_id(), o.value, o.commits));
                continue;
            }
            let mut mine = bundles
                .iter()
                .filter(|b| b.dealer_index == node.index && !b.signature.is_empty());
            let b = mine.next().ok_or(DkgError::MissingDeal {
                operator: node.operator_id(),
            })?;
            if mine.next().is_some() {
                return Err(DkgError::BadDeal {
                    operator: node.operator_id(),
                    reason: "sent two deal bundles".into(),
                });
            }
            let (s, c) = self.open(node, b)?;
            valid.push((node.operator_id(), s, c));
        }
        if valid.len() < old_t {
            return Err(DkgError::Setup(format!(
                "{} valid old dealers, the old threshold is {old_t}",
                valid.len()
            )));
        }
        valid.truncate(old_t);
        let xs: Vec<u64> = valid.iter().map(|(x, _, _)| *x).collect();
        let lambdas = lagrange_at_zero(&xs)?;
        let mut share = Scalar::zero();
        let mut commits = vec![G1::identity(); self.new_t];
        for ((_, s, c), l) in valid.iter().zip(&lambdas) {
            share = share.add(&s.mul(l));
            for (acc, ci) in commits.iter_mut().zip(c) {
                *acc = acc.add(&ci.mul(l));
            }
        }
        let x = u64::from(self.own_index) + 1;
        if G1::generator().mul(&share) != eval_public(&commits, x) {
            return Err(DkgError::Setup(
                "new share does not match the new public polynomial".into(),
            ));
        }
        if commits.first() != self.old_commits.first() {
            return Err(DkgError::Setup(
                "the reshared key is not the validator key".into(),
            ));
        }
        Ok(DistKeyShare { share, commits })
    }

    /// A dealer's commitment 0 must be its old share key: the old polynomial at its id.
    fn check_constant(&self, node: &Node, commits: &[G1]) -> Result<(), DkgError> {
        if commits.first() != Some(&eval_public(self.old_commits, node.operator_id())) {
            return Err(DkgError::BadDeal {
                operator: node.operator_id(),
                reason: "dealt a secret other than its old share".into(),
            });
        }
        Ok(())
    }

    fn open(&self, node: &Node, b: &DealBundle) -> Result<(Scalar, Vec<G1>), DkgError> {
        let op = node.operator_id();
        let bad = |reason: String| DkgError::BadDeal {
            operator: op,
            reason,
        };
        bls::verify(&node.public, &b.hash(), &b.signature, Dst::Nul)
            .map_err(|e| bad(format!("deal bundle signature: {e}")))?;
        if b.session_id != self.nonce {
            return Err(bad("deal bundle for another session".into()));
        }
        if b.public.len() != self.new_t {
            return Err(bad(format!(
                "{} commitments, expected the new threshold {}",
                b.public.len(),
                self.new_t
            )));
        }
        let commits = b
            .public
            .iter()
            .map(|c| G1::from_compressed(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("commitment: {e}")))?;
        let mut mine = b.deals.iter().filter(|d| d.share_index == self.own_index);
        let d = mine
            .next()
            .ok_or_else(|| bad("no deal for us in its bundle".into()))?;
        if mine.next().is_some() {
            return Err(bad("two deals for us".into()));
        }
        let plain = ecies::decrypt(self.longterm, &d.encrypted_share)
            .map_err(|e| bad(format!("deal decryption: {e}")))?;
        let share = Scalar::from_be_bytes(&plain).map_err(|e| bad(format!("deal share: {e}")))?;
        if G1::generator().mul(&share) != eval_public(&commits, u64::from(self.own_index) + 1) {
            return Err(bad("share does not match its commitments".into()));
        }
        self.check_constant(node, &commits)?;
        Ok((share, commits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dkg::kyber::poly::recover_public;

    fn node(id: u64, k: &Scalar) -> Node {
        Node {
            index: (id - 1) as u32,
            public: G1::generator().mul(k).compress(),
        }
    }

    #[test]
    fn resharing_4_to_7_keeps_the_key_whichever_old_dealers_answer() {
        // An old polynomial of degree 2 (threshold 3) over operators 11, 22, 33, 44.
        let old = PriPoly::random(3).unwrap();
        let old_commits = old.commit();
        let key = old_commits[0].compress();
        let old_ids = [11u64, 22, 33, 44];
        // The public polynomial recovered from three share keys is the old one.
        let pts: Vec<(u64, G1)> = old_ids[1..]
            .iter()
            .map(|x| (*x, G1::generator().mul(&old.eval(*x))))
            .collect();
        assert_eq!(recover_public(&pts).unwrap(), old_commits);
        let new_ids = [22u64, 33, 55, 66, 77, 88, 99];
        let lt: Vec<Scalar> = (0..20).map(|_| Scalar::random().unwrap()).collect();
        let nonce = [7u8; 32];
        // Operator 11 is down: three old dealers answer.
        let dealers = &old_ids[1..];
        let old_nodes: Vec<Node> = dealers
            .iter()
            .map(|id| node(*id, &lt[*id as usize % 20]))
            .collect();
        let new_nodes: Vec<Node> = new_ids
            .iter()
            .map(|id| node(*id, &lt[*id as usize % 20]))
            .collect();
        let mut bundles = Vec::new();
        let mut owns = std::collections::HashMap::new();
        for id in dealers {
            let (b, own) = reshare_deal(
                &lt[*id as usize % 20],
                nonce,
                5,
                old.eval(*id),
                (*id - 1) as u32,
                &new_nodes,
            )
            .unwrap();
            bundles.push(b);
            if let Some(o) = own {
                owns.insert(*id, o);
            }
        }
        let mut share_keys = Vec::new();
        for id in new_ids {
            let r = ReshareReceiver {
                longterm: &lt[id as usize % 20],
                nonce,
                own_index: (id - 1) as u32,
                new_t: 5,
                old_commits: &old_commits,
                old_nodes: &old_nodes,
            };
            let dks = r.finish(&bundles, owns.remove(&id)).unwrap();
            assert_eq!(dks.public_key(), key);
            share_keys.push((id, dks.share_public()));
        }
        // Any 5 of the 7 new share keys interpolate to the validator key.
        assert_eq!(bls::interpolate_g1(&share_keys[2..]).unwrap(), key);
        assert_eq!(bls::interpolate_g1(&share_keys[..5]).unwrap(), key);
        // A dealer that deals something other than its old share is named.
        let (bad, _) =
            reshare_deal(&lt[2], nonce, 5, Scalar::random().unwrap(), 21, &new_nodes).unwrap();
        let mut wrong = bundles.clone();
        wrong[0] = bad;
        let r = ReshareReceiver {
            longterm: &lt[55 % 20],
            nonce,
            own_index: 54,
            new_t: 5,
            old_commits: &old_commits,
            old_nodes: &old_nodes,
        };
        let e = r.finish(&wrong, None).unwrap_err().to_string();
        assert!(e.contains("operator 22"), "{e}");
    }
}
