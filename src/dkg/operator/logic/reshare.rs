//! `/reshare` and its two `/dkg` rounds on the operator, as ssv-dkg v3.1.0 runs them, with the
//! same identity-bound checks as `/resign` (own key, own set, one owner per batch, owner
//! signature) before any instance exists. An old operator decrypts its share from its own proof
//! (checked with its own key) and recovers the old public polynomial from the proofs' share keys;
//! every operator answers `/reshare` with a fresh exchange key (old ones with the old
//! commitments). The exchange round (all responsive old and new operators) makes old operators
//! deal their share to the new set and new-only operators answer an empty bundle; the deal round
//! (new operators only) gives each new operator its new share, answered as a `Result` like init's.

use std::net::IpAddr;
use std::sync::atomic::AtomicU8;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use alloy::primitives::Address;

use super::changes::{batch_owner, batch_size};
use super::{Instance, OperatorError, OperatorState, Phase, Slot, Stage, malformed, validate_init};
use crate::crypto::bls::{G1, Scalar};
use crate::crypto::rsa_keys::OperatorPublicKey;
use crate::dkg::kyber::poly::{eval_public, recover_public};
use crate::dkg::kyber::reshare::{OwnDeal, ReshareReceiver, reshare_deal};
use crate::dkg::kyber::{DealBundle, Node};
use crate::dkg::operator::rate_limit::source_key;
use crate::dkg::results::build_result;
use crate::dkg::transport::{threshold_for, verify_bundle, verify_transport};
use crate::dkg::wire::ids::{instance_id, session_nonce};
use crate::dkg::wire::{
    Exchange, Init, KyberMessage, MultipleSignedTransports, Operator, Reshare, ReshareMessage,
    SignedReshare, SignedTransport, Ssz, TransportType, bulk_message_digest, flatten,
};

/// One reshare message as this operator takes part in it.
pub(crate) struct ResharePlan {
    reshare: Reshare,
    /// The old share (old operators only).
    old_share: Option<Scalar>,
    /// The old public polynomial (old operators: from the proofs; new-only: from the exchanges).
    old_commits: Option<Vec<G1>>,
    /// Old ∪ new operators with their parsed keys, to check every round's messages.
    members: Vec<(Operator, OperatorPublicKey)>,
}

/// A new operator's state between its exchange-round answer and the deal round.
pub(crate) struct ReshareDealt {
    longterm: Scalar,
    plan: ResharePlan,
    own: Option<OwnDeal>,
    old_nodes: Vec<Node>,
    old_commits: Vec<G1>,
}

/// A `/reshare` whose every message passed this operator's checks; the owner signature is still
/// to be verified ([`Self::owner_check`]).
pub struct ReshareBatch {
    initiator: OperatorPublicKey,
    owner: Address,
    digest: [u8; 32],
    signature: Vec<u8>,
    items: Vec<(ResharePlan, [u8; 24], Init)>,
}

impl std::fmt::Debug for ReshareBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ReshareBatch(owner {}, {} messages)",
            self.owner,
            self.items.len()
        )
    }
}

impl ReshareBatch {
    /// The owner whose signature must cover the batch, the EIP-191 digest and the signature.
    pub fn owner_check(&self) -> (Address, [u8; 32], &[u8]) {
        (self.owner, self.digest, &self.signature)
    }
}

fn check_set(ops: &[Operator], t: u64, what: &str) -> Result<(), OperatorError> {
    let n = ops.len();
    let want = threshold_for(n).ok_or_else(|| {
        OperatorError::InvalidInit(format!("{what}: {n} operators; only 4, 7, 10 or 13"))
    })?;
    if t != want {
        return Err(OperatorError::InvalidInit(format!(
            "{what}: threshold {t} for {n} operators, expected {want}"
        )));
    }
    if ops.iter().any(|o| o.id == 0 || o.id > u64::from(u32::MAX))
        || !ops.windows(2).all(|w| w[0].id < w[1].id)
    {
        return Err(OperatorError::InvalidInit(format!(
            "{what}: operator ids must be unique, sorted and non-zero"
        )));
    }
    Ok(())
}

fn parse_key(o: &Operator) -> Result<OperatorPublicKey, OperatorError> {
    std::str::from_utf8(&o.pubkey)
        .ok()
        .and_then(|s| OperatorPublicKey::from_base64_pem(s).ok())
        .ok_or_else(|| OperatorError::Auth(format!("operator {} key does not parse", o.id)))
}

/// Old ∪ new by id; an operator in both lists must have the same key in both.
fn members(r: &Reshare) -> Result<Vec<(Operator, OperatorPublicKey)>, OperatorError> {
    let mut out: Vec<(Operator, OperatorPublicKey)> = Vec::new();
    for o in r.old_operators.iter().chain(&r.new_operators) {
        match out.iter().find(|(m, _)| m.id == o.id) {
            Some((m, _)) if m.pubkey != o.pubkey => {
                return Err(OperatorError::Auth(format!(
                    "operator {} is listed with two keys",
                    o.id
                )));
            }
            Some(_) => {}
            None => out.push((o.clone(), parse_key(o)?)),
        }
    }
    Ok(out)
}

impl OperatorState {
    /// Every check of a `/reshare` except the owner signature.
    pub fn prepare_reshare(&self, body: &[u8]) -> Result<ReshareBatch, OperatorError> {
        let (st, initiator) = self.accept_change_transport(body, TransportType::SignedReshare)?;
        let signed =
            SignedReshare::from_ssz(&st.message.data).map_err(malformed("signed reshare"))?;
        batch_size(signed.messages.len(), "reshare")?;
        let owner = batch_owner(
            signed
                .messages
                .iter()
                .map(|m| (m.reshare.owner, m.proofs.as_slice())),
        )?;
        let pem = initiator.to_base64_pem().as_bytes().to_vec();
        let mut items = Vec::with_capacity(signed.messages.len());
        for (i, m) in signed.messages.iter().enumerate() {
            let (plan, init) = self.reshare_plan(m, i)?;
            let iid = instance_id(&pem, &m.to_ssz(), &st.message.identifier);
            items.push((plan, iid, init));
        }
        Ok(ReshareBatch {
            initiator,
            owner,
            digest: bulk_message_digest(&signed.messages),
            signature: signed.signature,
            items,
        })
    }

    fn reshare_plan(
        &self,
        m: &ReshareMessage,
        i: usize,
    ) -> Result<(ResharePlan, Init), OperatorError> {
        let what = format!("reshare message {i}");
        let r = &m.reshare;
        check_set(&r.old_operators, r.old_t, &format!("{what}, old operators"))?;
        check_set(&r.new_operators, r.new_t, &format!("{what}, new operators"))?;
        let init = Init {
            operators: r.new_operators.clone(),
            t: r.new_t,
            withdrawal_credentials: r.withdrawal_credentials.clone(),
            fork: r.fork,
            owner: r.owner,
            nonce: r.nonce,
            amount: r.amount,
        };
        validate_init(&init)?;
        if m.proofs.len() != r.old_operators.len() {
            return Err(self.ceremony_err(format!(
                "{what}: {} proofs for {} old operators",
                m.proofs.len(),
                r.old_operators.len()
            )));
        }
        let members = members(r)?;
        let in_old = r.old_operators.iter().any(|o| o.id == self.operator_id);
        let in_new = r.new_operators.iter().any(|o| o.id == self.operator_id);
        if !in_old && !in_new {
            self.own_position(&r.new_operators, &what)?;
        }
        let (old_share, old_commits) = if in_old {
            let pos = self.own_position(&r.old_operators, &what)?;
            let share = self.own_share_from_proof(&m.proofs[pos], &r.validator_pubkey, &what)?;
            let commits = self.old_polynomial(m, &what)?;
            (Some(share), Some(commits))
        } else {
            self.own_position(&r.new_operators, &what)?;
            (None, None)
        };
        Ok((
            ResharePlan {
                reshare: r.clone(),
                old_share,
                old_commits,
                members,
            },
            init,
        ))
    }

    /// The old public polynomial from the first old-threshold share keys (by id): its constant
    /// term must be the validator key and it must pass through this operator's share key.
    fn old_polynomial(&self, m: &ReshareMessage, what: &str) -> Result<Vec<G1>, OperatorError> {
        let r = &m.reshare;
        let mut pts = Vec::with_capacity(r.old_operators.len());
        for (o, p) in r.old_operators.iter().zip(&m.proofs) {
            let pk = G1::from_compressed(&p.proof.share_pubkey).map_err(|_| {
                self.ceremony_err(format!("{what}: operator {}'s share key is invalid", o.id))
            })?;
            pts.push((o.id, pk));
        }
        pts.truncate(r.old_t as usize);
        let commits =
            recover_public(&pts).map_err(|e| self.ceremony_err(format!("{what}: {e}")))?;
        if commits.first().map(G1::compress) != Some(r.validator_pubkey) {
            return Err(self.ceremony_err(format!(
                "{what}: the old share keys do not interpolate to the validator key"
            )));
        }
        let mine = r
            .old_operators
            .iter()
            .zip(&m.proofs)
            .find(|(o, _)| o.id == self.operator_id)
            .map(|(_, p)| p.proof.share_pubkey);
        if mine != Some(eval_public(&commits, self.operator_id).compress()) {
            return Err(
                self.ceremony_err(format!("{what}: my share key is not on the old polynomial"))
            );
        }
        Ok(commits)
    }

    /// Answers every message of a batch whose owner signature verified with a fresh exchange key
    /// (flattened), each message an instance waiting for its exchange round.
    pub fn answer_reshare(
        &self,
        batch: ReshareBatch,
        source: Option<IpAddr>,
    ) -> Result<Vec<u8>, OperatorError> {
        let mut replies = Vec::with_capacity(batch.items.len());
        let mut slots = Vec::with_capacity(batch.items.len());
        for (plan, iid, init) in batch.items {
            let longterm = Scalar::random().map_err(|e| OperatorError::Internal(e.to_string()))?;
            let commits: Vec<u8> = plan
                .old_commits
                .iter()
                .flatten()
                .flat_map(G1::compress)
                .collect();
            let ex = Exchange {
                pk: G1::generator().mul(&longterm).compress().to_vec(),
                commits,
            };
            replies.push(self.reply(TransportType::ReshareExchange, iid, ex.to_ssz())?);
            let mut initiator = [0u8; 8];
            initiator.copy_from_slice(&iid[..8]);
            let slot = Slot {
                created: Instant::now(),
                source: source.map(source_key),
                initiator,
                stage: AtomicU8::new(Stage::Exchange as u8),
                inst: Mutex::new(Instance {
                    own_index: (self.operator_id - 1) as u32,
                    op_keys: Vec::new(),
                    init,
                    initiator: batch.initiator.clone(),
                    phase: Some(Phase::ReshareExchange {
                        longterm,
                        plan: Box::new(plan),
                    }),
                }),
            };
            slots.push((iid, slot));
        }
        self.admit_batch(slots)?;
        Ok(flatten(&replies))
    }

    /// `/reshare` end to end (see [`Self::handle_resign_from`]).
    pub async fn handle_reshare_from(
        self: &Arc<Self>,
        body: Vec<u8>,
        source: Option<IpAddr>,
    ) -> Result<Vec<u8>, OperatorError> {
        let me = self.clone();
        let batch = tokio::task::spawn_blocking(move || me.prepare_reshare(&body))
            .await
            .map_err(|e| OperatorError::Internal(e.to_string()))??;
        let (owner, digest, sig) = batch.owner_check();
        self.check_owner(owner, &digest, sig).await?;
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.answer_reshare(batch, source))
            .await
            .map_err(|e| OperatorError::Internal(e.to_string()))?
    }

    /// A round's messages, each signed by a member for this instance, of the expected type; every
    /// new operator and at least the old threshold present. Returns (operator id, message).
    fn reshare_messages<'a>(
        &self,
        plan: &ResharePlan,
        m: &'a MultipleSignedTransports,
        expected: TransportType,
    ) -> Result<Vec<(u64, &'a SignedTransport)>, OperatorError> {
        let mut out: Vec<(u64, &SignedTransport)> = Vec::new();
        for st in &m.messages {
            let (op, key) = plan
                .members
                .iter()
                .find(|(o, _)| o.pubkey == st.signer)
                .ok_or_else(|| {
                    OperatorError::Auth("a message is signed by a key not in the reshare".into())
                })?;
            verify_transport(st, key, &format!("operator {}", op.id))
                .map_err(|e| OperatorError::Auth(e.to_string()))?;
            if st.message.identifier != m.identifier {
                return Err(OperatorError::Auth(format!(
                    "operator {}: message for another instance",
                    op.id
                )));
            }
            if st.message.kind != expected {
                return Err(self.ceremony_err(format!(
                    "operator {} sent {:?} where {expected:?} was expected",
                    op.id, st.message.kind
                )));
            }
            if out.iter().any(|(id, _)| *id == op.id) {
                return Err(OperatorError::Auth(format!(
                    "operator {} appears twice",
                    op.id
                )));
            }
            out.push((op.id, st));
        }
        let r = &plan.reshare;
        if let Some(o) = r
            .new_operators
            .iter()
            .find(|o| !out.iter().any(|(id, _)| *id == o.id))
        {
            return Err(self.ceremony_err(format!("no message from new operator {}", o.id)));
        }
        let old = r
            .old_operators
            .iter()
            .filter(|o| out.iter().any(|(id, _)| *id == o.id))
            .count();
        if (old as u64) < r.old_t {
            return Err(self.ceremony_err(format!(
                "{old} old operators took part, the old threshold is {}",
                r.old_t
            )));
        }
        Ok(out)
    }

    /// The exchange round: old operators deal their share, new-only ones answer an empty bundle.
    pub(super) fn reshare_exchange_round(
        &self,
        slot: &Slot,
        inst: &mut Instance,
        m: &MultipleSignedTransports,
        longterm: Scalar,
        plan: Box<ResharePlan>,
    ) -> Result<Vec<u8>, OperatorError> {
        verify_bundle(m, &inst.initiator).map_err(|e| OperatorError::Auth(e.to_string()))?;
        let msgs = match self.reshare_messages(&plan, m, TransportType::ReshareExchange) {
            Ok(v) => v,
            Err(e) => {
                inst.phase = Some(Phase::ReshareExchange { longterm, plan });
                return Err(e);
            }
        };
        let r = &plan.reshare;
        let mut old_nodes = Vec::new();
        let mut new_nodes = Vec::new();
        let mut seen_commits: Option<Vec<u8>> = None;
        for (id, st) in msgs {
            let ex = Exchange::from_ssz(&st.message.data).map_err(malformed("exchange"))?;
            let public: [u8; 48] = ex.pk.as_slice().try_into().map_err(|_| {
                self.ceremony_err(format!(
                    "operator {id}: exchange key is {} bytes",
                    ex.pk.len()
                ))
            })?;
            G1::from_compressed(&public)
                .ok()
                .filter(|p| !p.is_identity())
                .ok_or_else(|| self.ceremony_err(format!("operator {id}: invalid exchange key")))?;
            let node = Node {
                index: (id - 1) as u32,
                public,
            };
            if r.old_operators.iter().any(|o| o.id == id) {
                match &seen_commits {
                    Some(c) if *c != ex.commits => {
                        return Err(self.ceremony_err(format!(
                            "operator {id} sent other old commitments than the others"
                        )));
                    }
                    _ => seen_commits = Some(ex.commits.clone()),
                }
                old_nodes.push(node.clone());
            }
            if r.new_operators.iter().any(|o| o.id == id) {
                new_nodes.push(node);
            }
        }
        new_nodes.sort_by_key(|n| n.index);
        let old_commits = match &plan.old_commits {
            Some(c) => c.clone(),
            None => self.commits_from_exchange(r, seen_commits.as_deref().unwrap_or(&[]))?,
        };
        let iid = m.identifier;
        let nonce = session_nonce(&iid);
        let own_index = (self.operator_id - 1) as u32;
        let is_new = r.new_operators.iter().any(|o| o.id == self.operator_id);
        let (bundle, own) = match &plan.old_share {
            Some(share) => {
                let (b, own) = reshare_deal(
                    &longterm,
                    nonce,
                    r.new_t as usize,
                    share.clone(),
                    own_index,
                    &new_nodes,
                )
                .map_err(|e| self.ceremony_err(e.to_string()))?;
                (b, own)
            }
            // What ssv-dkg's new-only operators answer: an empty deal bundle.
            None => (
                DealBundle {
                    dealer_index: 0,
                    deals: vec![],
                    public: vec![],
                    session_id: vec![],
                    signature: vec![],
                },
                None,
            ),
        };
        let km = KyberMessage {
            kind: TransportType::KyberDealBundle,
            data: bundle
                .to_json()
                .map_err(|e| OperatorError::Internal(e.to_string()))?,
        };
        let next = if is_new {
            Phase::ReshareDealt(Box::new(ReshareDealt {
                longterm,
                plan: *plan,
                own,
                old_nodes,
                old_commits,
            }))
        } else {
            // An old operator leaving the cluster is done once it has dealt.
            Phase::Finished
        };
        slot.set_phase(inst, next);
        self.reply(TransportType::ReshareKyber, iid, km.to_ssz())
    }

    /// A new-only operator's view of the old polynomial: the old operators' exchange commitments,
    /// old-threshold points whose constant term is the validator key.
    fn commits_from_exchange(&self, r: &Reshare, bytes: &[u8]) -> Result<Vec<G1>, OperatorError> {
        if bytes.len() != 48 * r.old_t as usize {
            return Err(self.ceremony_err(format!(
                "old commitments are {} bytes, expected {}",
                bytes.len(),
                48 * r.old_t
            )));
        }
        let commits = bytes
            .chunks(48)
            .map(G1::from_compressed)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.ceremony_err(format!("old commitment: {e}")))?;
        if commits.first().map(G1::compress) != Some(r.validator_pubkey) {
            return Err(self.ceremony_err(
                "validator pub key recovered from the old commitments is not the reshared key",
            ));
        }
        Ok(commits)
    }

    /// The deal round (new operators): the old operators' deals give the new share; answered
    /// with this operator's result for the new cluster.
    pub(super) fn reshare_deal_round(
        &self,
        slot: &Slot,
        inst: &mut Instance,
        m: &MultipleSignedTransports,
        d: Box<ReshareDealt>,
    ) -> Result<Vec<u8>, OperatorError> {
        verify_bundle(m, &inst.initiator).map_err(|e| OperatorError::Auth(e.to_string()))?;
        let msgs = match self.reshare_messages(&d.plan, m, TransportType::ReshareKyber) {
            Ok(v) => v,
            Err(e) => {
                inst.phase = Some(Phase::ReshareDealt(d));
                return Err(e);
            }
        };
        let mut bundles = Vec::new();
        for (id, st) in msgs {
            let km =
                KyberMessage::from_ssz(&st.message.data).map_err(malformed("kyber message"))?;
            let b = DealBundle::from_json(&km.data)
                .map_err(|e| self.ceremony_err(format!("operator {id}: {e}")))?;
            if b.signature.is_empty() && b.deals.is_empty() {
                continue; // a new-only operator's empty bundle
            }
            if km.kind != TransportType::KyberDealBundle || u64::from(b.dealer_index) + 1 != id {
                return Err(self.ceremony_err(format!(
                    "operator {id} sent a bundle of dealer index {}",
                    b.dealer_index
                )));
            }
            bundles.push(b);
        }
        let d = *d;
        let receiver = ReshareReceiver {
            longterm: &d.longterm,
            nonce: session_nonce(&m.identifier),
            own_index: (self.operator_id - 1) as u32,
            new_t: d.plan.reshare.new_t as usize,
            old_commits: &d.old_commits,
            old_nodes: &d.old_nodes,
        };
        let dks = receiver
            .finish(&bundles, d.own)
            .map_err(|e| self.ceremony_err(e.to_string()))?;
        let validator_pubkey = d.plan.reshare.validator_pubkey;
        let result = build_result(
            &inst.init,
            self.operator_id,
            m.identifier,
            &dks.share,
            validator_pubkey,
            &self.key,
        )
        .map_err(|e| self.ceremony_err(e.to_string()))?;
        slot.set_phase(inst, Phase::Done { validator_pubkey });
        self.reply(TransportType::Output, m.identifier, result.to_ssz())
    }
}
