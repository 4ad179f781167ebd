//! One participant of kyber's joint-Feldman DKG (`share/dkg`, non-fast-sync, fresh DKG) as ssv-dkg
//! configures it: nodes indexed operator id − 1, shares evaluated at x = operator id, bundles
//! BLS-signed (G2, `_NUL_` DST) with the participant's ephemeral longterm key. Unlike kyber's time
//! phaser this finishes as soon as every other dealer's deal has verified; any missing or invalid
//! deal aborts the ceremony naming the dealer (ssv-dkg aborts on any complaint too).

use std::collections::BTreeMap;

use super::bundle::{Deal, DealBundle};
use super::poly::{PriPoly, eval_public};
use crate::crypto::bls::{self, BlsError, Dst, G1, Scalar};
use crate::crypto::ecies;
use crate::dkg::bls_batch as batch;

/// A participant: kyber index (operator id − 1) and its exchange public key (k·G1).
#[derive(Debug, Clone)]
pub struct Node {
    /// kyber index: operator id − 1.
    pub index: u32,
    /// Compressed G1 exchange key the participant's deals are encrypted to.
    pub public: [u8; 48],
}

impl Node {
    /// The operator id (index + 1), the x coordinate of its share.
    pub fn operator_id(&self) -> u64 {
        u64::from(self.index) + 1
    }
}

/// Why the DKG could not finish. `BadDeal` and `MissingDeal` name the dealer at fault.
#[derive(Debug, thiserror::Error)]
pub enum DkgError {
    /// Inconsistent inputs or a result no honest run gives.
    #[error("DKG setup: {0}")]
    Setup(String),
    /// A dealer's bundle fails a check (signature, commitments, share, structure).
    #[error("operator {operator}: {reason}")]
    BadDeal {
        /// The dealer's operator id.
        operator: u64,
        /// What is wrong with its bundle.
        reason: String,
    },
    /// A dealer sent no bundle.
    #[error("operator {operator} sent no deal bundle")]
    MissingDeal {
        /// The dealer's operator id.
        operator: u64,
    },
    /// A BLS operation of our own failed.
    #[error("crypto: {0}")]
    Crypto(#[from] BlsError),
    /// Our deal for a participant could not be encrypted.
    #[error("encrypting a deal for operator {operator}: {source}")]
    Encrypt {
        /// The operator the deal is for.
        operator: u64,
        /// The encryption failure.
        #[source]
        source: crate::crypto::ecies::EciesError,
    },
}

/// Our share of the distributed key and the group's public polynomial. Debug redacts the share.
#[derive(Debug)]
pub struct DistKeyShare {
    /// This operator's share of the validator key (secret).
    pub share: Scalar,
    /// The group's public polynomial; the first commitment is the validator public key.
    pub commits: Vec<G1>,
}

impl DistKeyShare {
    /// The validator public key: the constant term's commitment.
    pub fn public_key(&self) -> [u8; 48] {
        self.commits.first().map(G1::compress).unwrap_or([0u8; 48])
    }
    /// This share's public key, share·G1.
    pub fn share_public(&self) -> [u8; 48] {
        G1::generator().mul(&self.share).compress()
    }
}

/// State between producing our deals and processing everybody else's.
pub struct Participant {
    longterm: Scalar,
    nonce: [u8; 32],
    threshold: usize,
    nodes: Vec<Node>,
    own_index: u32,
    own_share: Scalar,
    own_commits: Vec<G1>,
    /// Every node's exchange key parsed and checked once, in node order (`None` for ours):
    /// deals are encrypted to them and bundle signatures checked under them.
    keys: Vec<Option<G1>>,
}

impl std::fmt::Debug for Participant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Participant(index {}, n {}, t {})",
            self.own_index,
            self.nodes.len(),
            self.threshold
        )
    }
}

impl Participant {
    /// Creates our random polynomial and the signed deal bundle for every other node.
    pub fn deal(
        longterm: Scalar,
        nonce: [u8; 32],
        threshold: usize,
        nodes: Vec<Node>,
        own_index: u32,
    ) -> Result<(Self, DealBundle), DkgError> {
        if threshold == 0 || threshold > nodes.len() {
            return Err(DkgError::Setup(format!(
                "threshold {threshold} for {} nodes",
                nodes.len()
            )));
        }
        if !nodes.iter().any(|n| n.index == own_index) {
            return Err(DkgError::Setup(format!(
                "own index {own_index} not among the nodes"
            )));
        }
        let keys = nodes
            .iter()
            .map(|n| (n.index != own_index).then(|| exchange_key(n)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let poly = PriPoly::random(threshold)?;
        let commits = poly.commit();
        let mut deals = Vec::with_capacity(nodes.len());
        let mut own_share = Scalar::zero();
        for (node, key) in nodes.iter().zip(&keys) {
            let value = poly.eval(node.operator_id());
            let Some(key) = key else {
                // kyber keeps its own value instead of encrypting it to itself.
                own_share = value;
                continue;
            };
            let ct = ecies::encrypt_to(key, &value.to_be_bytes()).map_err(|source| {
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
        let sk = longterm.to_secret_key()?;
        bundle.signature = bls::sign(&sk, &bundle.hash(), Dst::Nul).to_vec();
        let p = Self {
            longterm,
            nonce,
            threshold,
            nodes,
            own_index,
            own_share,
            own_commits: commits,
            keys,
        };
        Ok((p, bundle))
    }

    /// Structural checks of one other dealer's bundle (signature excluded: checked in a batch),
    /// then our decrypted share and the dealer's commitments.
    fn open_bundle(&self, b: &DealBundle, node: &Node) -> Result<(Scalar, Vec<G1>), DkgError> {
        let op = node.operator_id();
        let bad = |reason: String| DkgError::BadDeal {
            operator: op,
            reason,
        };
        if b.session_id != self.nonce {
            return Err(bad("deal bundle for another session".into()));
        }
        if b.public.len() != self.threshold {
            return Err(bad(format!(
                "{} commitments, expected threshold {}",
                b.public.len(),
                self.threshold
            )));
        }
        // Subgroup membership is checked on the sums in `finish` (what the output depends on).
        let commits = b
            .public
            .iter()
            .map(|c| G1::from_compressed_on_curve(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("commitment: {e}")))?;
        let mut mine = None;
        for d in &b.deals {
            if !self.nodes.iter().any(|n| n.index == d.share_index) {
                return Err(bad(format!(
                    "deal for unknown share index {}",
                    d.share_index
                )));
            }
            if d.share_index == self.own_index {
                if mine.is_some() {
                    return Err(bad("two deals for us".into()));
                }
                mine = Some(d);
            }
        }
        let d = mine.ok_or_else(|| bad("no deal for us in its bundle".into()))?;
        let plain = ecies::decrypt(&self.longterm, &d.encrypted_share)
            .map_err(|e| bad(format!("deal decryption: {e}")))?;
        let share = Scalar::from_be_bytes(&plain).map_err(|e| bad(format!("deal share: {e}")))?;
        Ok((share, commits))
    }

    /// Processes every dealer's bundle (ours may be included and is skipped). All other dealers
    /// must have sent exactly one valid bundle.
    ///
    /// Fast path for the honest case: the bundle signatures are verified as one batch, and the
    /// Feldman check runs once on the sums (Σ shares)·G == Σ_j (Σ commitments_j)·x^j instead of
    /// once per dealer. Only when a batch fails are dealers checked one by one, which names the
    /// culprit exactly as the per-dealer checks would.
    pub fn finish(self, bundles: &[DealBundle]) -> Result<DistKeyShare, DkgError> {
        let others = self.other_dealers(bundles)?;
        check_bundle_signatures(&others, &self.keys_of(&others))?;
        let x = u64::from(self.own_index) + 1;
        let mut share = self.own_share.clone();
        let mut commits = self.own_commits.clone();
        let mut opened = Vec::with_capacity(others.len());
        for (node, b) in &others {
            let (s, c) = self.open_bundle(b, node)?;
            share = share.add(&s);
            for (acc, ci) in commits.iter_mut().zip(c.iter()) {
                *acc = acc.add(ci);
            }
            opened.push((node.operator_id(), s, c));
        }
        check_sums(&share, &commits, x, &opened)?;
        Ok(DistKeyShare { share, commits })
    }

    /// The parsed exchange keys of `others`' dealers (each is a node other than us).
    fn keys_of(&self, others: &[(&Node, &DealBundle)]) -> Vec<G1> {
        others
            .iter()
            .filter_map(|(node, _)| {
                let i = self.nodes.iter().position(|n| n.index == node.index)?;
                self.keys.get(i).copied().flatten()
            })
            .collect()
    }

    /// Every other participant's bundle, in node order: one each, none from outside.
    fn other_dealers<'b>(
        &self,
        bundles: &'b [DealBundle],
    ) -> Result<Vec<(&Node, &'b DealBundle)>, DkgError> {
        let mut by_dealer: BTreeMap<u32, &DealBundle> = BTreeMap::new();
        for b in bundles {
            let Some(node) = self.nodes.iter().find(|n| n.index == b.dealer_index) else {
                return Err(DkgError::BadDeal {
                    operator: u64::from(b.dealer_index) + 1,
                    reason: "dealer is not a participant".into(),
                });
            };
            if by_dealer.insert(b.dealer_index, b).is_some() {
                return Err(DkgError::BadDeal {
                    operator: node.operator_id(),
                    reason: "sent two deal bundles".into(),
                });
            }
        }
        let mut others = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            if node.index == self.own_index {
                continue;
            }
            let b = by_dealer.get(&node.index).ok_or(DkgError::MissingDeal {
                operator: node.operator_id(),
            })?;
            others.push((node, *b));
        }
        Ok(others)
    }
}

/// A participant's exchange key: a point of G1 other than the identity, or the ceremony cannot
/// deal to it (the error ECIES would give for it).
fn exchange_key(node: &Node) -> Result<G1, DkgError> {
    let encrypt_err = |e: BlsError| DkgError::Encrypt {
        operator: node.operator_id(),
        source: ecies::EciesError::RecipientKey(e),
    };
    let key = G1::from_compressed(&node.public).map_err(encrypt_err)?;
    if key.is_identity() {
        return Err(encrypt_err(BlsError::InvalidPoint {
            group: "G1",
            reason: bls::PointProblem::Identity,
        }));
    }
    Ok(key)
}

/// The bundles' signatures as one batch under the dealers' parsed `keys` (in `others` order);
/// one by one, naming the dealer, only if it fails.
fn check_bundle_signatures(others: &[(&Node, &DealBundle)], keys: &[G1]) -> Result<(), DkgError> {
    let hashes: Vec<[u8; 32]> = others.iter().map(|(_, b)| b.hash()).collect();
    let items: Vec<batch::Item<'_>> = others
        .iter()
        .zip(&hashes)
        .map(|((node, b), h)| batch::Item {
            public: &node.public,
            msg: h,
            signature: &b.signature,
        })
        .collect();
    if batch::verify_all_with_keys(keys, &items, Dst::Nul) {
        return Ok(());
    }
    for ((node, b), h) in others.iter().zip(&hashes) {
        bls::verify(&node.public, h, &b.signature, Dst::Nul).map_err(|e| DkgError::BadDeal {
            operator: node.operator_id(),
            reason: format!("deal bundle signature: {e}"),
        })?;
    }
    Err(DkgError::Setup(
        "deal bundle signatures failed as a batch but pass one by one".into(),
    ))
}

/// The Feldman check on the sums: (Σ shares)·G == Σ commitments evaluated at `x`, the summed
/// commitments in G1 and not the identity. When a sum fails, the dealer whose own values fail is
/// named (`opened`: operator, its share, its commitments).
fn check_sums(
    share: &Scalar,
    commits: &[G1],
    x: u64,
    opened: &[(u64, Scalar, Vec<G1>)],
) -> Result<(), DkgError> {
    // Honest commitments are in G1, so the sums are; a sum outside it means some dealer sent
    // a point with a small-order component: find and name it.
    if !commits.iter().all(G1::in_subgroup) {
        for (operator, _, c) in opened {
            if !c.iter().all(G1::in_subgroup) {
                return Err(DkgError::BadDeal {
                    operator: *operator,
                    reason: "commitment: not in the G1 subgroup".into(),
                });
            }
        }
        return Err(DkgError::Setup(
            "summed commitments are outside G1 although each is inside".into(),
        ));
    }
    if G1::generator().mul(share) != eval_public(commits, x) {
        for (operator, s, c) in opened {
            if G1::generator().mul(s) != eval_public(c, x) {
                return Err(DkgError::BadDeal {
                    operator: *operator,
                    reason: "share does not match its commitments".into(),
                });
            }
        }
        return Err(DkgError::Setup(
            "summed shares do not match the summed commitments".into(),
        ));
    }
    if commits.first().is_none_or(G1::is_identity) {
        return Err(DkgError::Setup(
            "distributed public key is the identity".into(),
        ));
    }
    Ok(())
}
