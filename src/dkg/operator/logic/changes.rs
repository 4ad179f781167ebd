//! `/resign` on the operator: ssv-dkg v3.1.0's behaviour with the fix ssv-dkg made after v3.1.0
//! (bind validation to identity). Every check runs before any instance is created or any share
//! signs: the initiator's transport signature; in every message, this operator listed under its
//! id with its own key (a message whose set lacks it is refused); the old proof verified with this
//! operator's OWN key (never the key the message lists); the owner of every message and of every
//! proof equal to the owner whose signature covers the batch; then the owner signature itself
//! (EOA locally, contract owners by EIP-1271 through the configured RPC). Only then are shares
//! decrypted and re-signed; each message becomes an instance waiting for its `/results`.

use std::net::IpAddr;
use std::sync::atomic::AtomicU8;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use alloy::primitives::Address;

use super::{
    Instance, OperatorError, OperatorState, Phase, Slot, Stage, hex_id, malformed, validate_init,
};
use crate::crypto::bls::{self, Scalar};
use crate::crypto::rsa_keys::OperatorPublicKey;
use crate::dkg::operator::rate_limit::source_key;
use crate::dkg::results::build_result;
use crate::dkg::transport::{threshold_for, verify_transport};
use crate::dkg::wire::proof_root::proof_root;
use crate::dkg::wire::{
    Init, MAX_MESSAGES, Operator, ResignMessage, SignedProof, SignedResign, SignedTransport, Ssz,
    TransportType, bulk_message_digest, flatten, ids::instance_id,
};

/// A `/resign` whose every message passed this operator's own checks; the owner signature is
/// still to be verified ([`Self::owner_check`]) before [`OperatorState::answer_resign`] signs.
pub struct ResignBatch {
    initiator: OperatorPublicKey,
    owner: Address,
    digest: [u8; 32],
    signature: Vec<u8>,
    items: Vec<ResignItem>,
}

impl std::fmt::Debug for ResignBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ResignBatch(owner {}, {} messages)",
            self.owner,
            self.items.len()
        )
    }
}

/// One validated message: the ceremony parameters it signs for and this operator's old share.
struct ResignItem {
    init: Init,
    iid: [u8; 24],
    validator_pubkey: [u8; 48],
    share: Scalar,
}

impl ResignBatch {
    /// The owner whose signature must cover the batch, the EIP-191 digest and the signature.
    pub fn owner_check(&self) -> (Address, [u8; 32], &[u8]) {
        (self.owner, self.digest, &self.signature)
    }
}

/// A batch holds 1 to [`MAX_MESSAGES`] messages (ssv-dkg's bulk limit).
pub(crate) fn batch_size(n: usize, what: &str) -> Result<(), OperatorError> {
    if n == 0 || n > MAX_MESSAGES {
        return Err(OperatorError::Auth(format!(
            "{n} {what} messages; 1 to {MAX_MESSAGES} allowed"
        )));
    }
    Ok(())
}

/// The owner that signed a batch: the owner of its first message; every other message, and
/// every proof of every message, must name the same one.
pub(crate) fn batch_owner<'a>(
    owners: impl IntoIterator<Item = ([u8; 20], &'a [SignedProof])>,
) -> Result<Address, OperatorError> {
    let mut first: Option<[u8; 20]> = None;
    for (i, (owner, proofs)) in owners.into_iter().enumerate() {
        let o = *first.get_or_insert(owner);
        if owner != o {
            return Err(OperatorError::Auth(format!(
                "message {i} is for owner {}, but the batch is signed for owner {}; each \
                 owner signs its own batch",
                Address::from(owner),
                Address::from(o)
            )));
        }
        if let Some(p) = proofs.iter().find(|p| p.proof.owner != o) {
            return Err(OperatorError::Auth(format!(
                "message {i} holds a proof of owner {}, not {}",
                Address::from(p.proof.owner),
                Address::from(o)
            )));
        }
    }
    first
        .map(Address::from)
        .ok_or_else(|| OperatorError::Auth("no messages".into()))
}

impl OperatorState {
    /// The message set's entry for this operator: listed by its id with its own key.
    pub(crate) fn own_position(
        &self,
        operators: &[Operator],
        what: &str,
    ) -> Result<usize, OperatorError> {
        let mine = self.public_key().to_base64_pem().as_bytes();
        match operators.iter().position(|o| o.id == self.operator_id) {
            Some(p) if operators[p].pubkey == mine => Ok(p),
            Some(_) => Err(OperatorError::Auth(format!(
                "{what} lists operator {} with another key than mine",
                self.operator_id
            ))),
            None => Err(OperatorError::Auth(format!(
                "{what}: operator {} is not in its operator set",
                self.operator_id
            ))),
        }
    }

    /// An old proof of this operator for `validator`: signed by this operator's OWN key, for that
    /// validator; returns the decrypted share, checked against the proof's share key.
    pub(crate) fn own_share_from_proof(
        &self,
        proof: &SignedProof,
        validator: &[u8; 48],
        what: &str,
    ) -> Result<Scalar, OperatorError> {
        let p = &proof.proof;
        if &p.validator_pubkey != validator {
            return Err(self.ceremony_err(format!("{what}: my proof is for another validator")));
        }
        if !crate::dkg::rsa_signer::verify_pss(self.public_key(), &proof_root(p), &proof.signature)
        {
            return Err(OperatorError::Auth(format!(
                "{what}: my proof is not signed by my key"
            )));
        }
        let plain = self
            .key
            .key()
            .decrypt_pkcs1v15(&p.encrypted_share)
            .map_err(|_| self.ceremony_err(format!("{what}: my share does not decrypt")))?;
        let bytes = std::str::from_utf8(&plain)
            .ok()
            .and_then(|t| hex::decode(t.trim_start_matches("0x")).ok())
            .map(zeroize::Zeroizing::new)
            .ok_or_else(|| self.ceremony_err(format!("{what}: my share is not hex")))?;
        let share = Scalar::from_be_bytes(&bytes)
            .map_err(|_| self.ceremony_err(format!("{what}: my share is not a scalar")))?;
        let sk = share
            .to_secret_key()
            .map_err(|e| OperatorError::Internal(e.to_string()))?;
        if bls::public_key(&sk) != p.share_pubkey {
            return Err(self.ceremony_err(format!(
                "{what}: my share does not match the proof's share key"
            )));
        }
        Ok(share)
    }

    /// The parsed initiator transport of `/resign` or `/reshare`: our version, the type, a
    /// signature by the key it carries.
    pub(crate) fn accept_change_transport(
        &self,
        body: &[u8],
        kind: TransportType,
    ) -> Result<(SignedTransport, OperatorPublicKey), OperatorError> {
        let st = SignedTransport::from_ssz(body).map_err(malformed("change transport"))?;
        if st.message.version != self.version.as_bytes() {
            return Err(OperatorError::Version {
                remote: String::from_utf8_lossy(&st.message.version).into_owned(),
                local: self.version.clone(),
            });
        }
        if st.message.kind != kind {
            return Err(OperatorError::WrongType {
                what: "change transport",
                reason: format!("type {:?}, expected {kind:?}", st.message.kind),
            });
        }
        let signer = std::str::from_utf8(&st.signer)
            .ok()
            .and_then(|s| OperatorPublicKey::from_base64_pem(s).ok())
            .ok_or_else(|| OperatorError::Auth("initiator public key does not parse".into()))?;
        verify_transport(&st, &signer, "initiator")
            .map_err(|e| OperatorError::Auth(e.to_string()))?;
        Ok((st, signer))
    }

    /// Every check of a `/resign` except the owner signature (see the module doc).
    pub fn prepare_resign(&self, body: &[u8]) -> Result<ResignBatch, OperatorError> {
        let (st, initiator) = self.accept_change_transport(body, TransportType::SignedResign)?;
        let signed =
            SignedResign::from_ssz(&st.message.data).map_err(malformed("signed resign"))?;
        batch_size(signed.messages.len(), "resign")?;
        let owner = batch_owner(
            signed
                .messages
                .iter()
                .map(|m| (m.resign.owner, m.proofs.as_slice())),
        )?;
        // Canonical encoding, as ssv-dkg re-encodes the parsed key for the instance id.
        let initiator_pem = initiator.to_base64_pem().as_bytes().to_vec();
        let mut items = Vec::with_capacity(signed.messages.len());
        for (i, m) in signed.messages.iter().enumerate() {
            items.push(self.resign_item(m, i, &initiator_pem, &st.message.identifier)?);
        }
        Ok(ResignBatch {
            initiator,
            owner,
            digest: bulk_message_digest(&signed.messages),
            signature: signed.signature,
            items,
        })
    }

    fn resign_item(
        &self,
        m: &ResignMessage,
        i: usize,
        initiator_pem: &[u8],
        request_id: &[u8; 24],
    ) -> Result<ResignItem, OperatorError> {
        let what = format!("resign message {i}");
        let pos = self.own_position(&m.operators, &what)?;
        if m.proofs.len() != m.operators.len() {
            return Err(self.ceremony_err(format!(
                "{what}: {} proofs for {} operators",
                m.proofs.len(),
                m.operators.len()
            )));
        }
        let r = &m.resign;
        let init = Init {
            operators: m.operators.clone(),
            t: threshold_for(m.operators.len()).unwrap_or(0),
            withdrawal_credentials: r.withdrawal_credentials.clone(),
            fork: r.fork,
            owner: r.owner,
            nonce: r.nonce,
            amount: r.amount,
        };
        validate_init(&init)?;
        let share = self.own_share_from_proof(&m.proofs[pos], &r.validator_pubkey, &what)?;
        Ok(ResignItem {
            init,
            iid: instance_id(initiator_pem, &m.to_ssz(), request_id),
            validator_pubkey: r.validator_pubkey,
            share,
        })
    }

    /// Signs every message of a batch whose owner signature verified: one `Output` transport per
    /// message (flattened), each message an instance waiting for its `/results`.
    pub fn answer_resign(
        &self,
        batch: ResignBatch,
        source: Option<IpAddr>,
    ) -> Result<Vec<u8>, OperatorError> {
        let mut replies = Vec::with_capacity(batch.items.len());
        let mut slots = Vec::with_capacity(batch.items.len());
        for item in &batch.items {
            let result = build_result(
                &item.init,
                self.operator_id,
                item.iid,
                &item.share,
                item.validator_pubkey,
                &self.key,
            )
            .map_err(|e| self.ceremony_err(e.to_string()))?;
            replies.push(self.reply(TransportType::Output, item.iid, result.to_ssz())?);
            slots.push((item.iid, self.done_slot(&batch, item, source)));
        }
        self.admit_batch(slots)?;
        Ok(flatten(&replies))
    }

    fn done_slot(&self, batch: &ResignBatch, item: &ResignItem, source: Option<IpAddr>) -> Slot {
        let mut initiator = [0u8; 8];
        initiator.copy_from_slice(&item.iid[..8]);
        Slot {
            created: Instant::now(),
            source: source.map(source_key),
            initiator,
            stage: AtomicU8::new(Stage::Done as u8),
            inst: Mutex::new(Instance {
                own_index: (self.operator_id - 1) as u32,
                op_keys: Vec::new(),
                init: item.init.clone(),
                initiator: batch.initiator.clone(),
                phase: Some(Phase::Done {
                    validator_pubkey: item.validator_pubkey,
                }),
            }),
        }
    }

    /// Holds a batch's instances, all or none. They skip the per-address and per-initiator caps
    /// (a bulk of up to 100 is one owner-signed request, already rate-limited per route and only
    /// possible with this operator's own proofs), but not the table's size or duplicates.
    pub(super) fn admit_batch(&self, slots: Vec<([u8; 24], Slot)>) -> Result<(), OperatorError> {
        let mut map = self
            .instances
            .lock()
            .map_err(|_| OperatorError::Internal("lock".into()))?;
        let now = Instant::now();
        map.retain(|_, s| s.alive(&self.limits, now));
        if let Some((iid, _)) = slots.iter().find(|(iid, _)| map.contains_key(iid)) {
            return Err(OperatorError::Duplicate(hex_id(iid)));
        }
        if map.len() + slots.len() > self.limits.max_instances {
            return Err(OperatorError::Overloaded(map.len()));
        }
        for (iid, slot) in slots {
            map.insert(iid, Arc::new(slot));
        }
        Ok(())
    }

    /// `/resign` end to end: [`Self::prepare_resign`] and [`Self::answer_resign`] off the async
    /// workers, the owner signature checked between them (an RPC call for contract owners).
    pub async fn handle_resign_from(
        self: &Arc<Self>,
        body: Vec<u8>,
        source: Option<IpAddr>,
    ) -> Result<Vec<u8>, OperatorError> {
        let me = self.clone();
        let batch = tokio::task::spawn_blocking(move || me.prepare_resign(&body))
            .await
            .map_err(|e| OperatorError::Internal(e.to_string()))??;
        let (owner, digest, sig) = batch.owner_check();
        self.check_owner(owner, &digest, sig).await?;
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.answer_resign(batch, source))
            .await
            .map_err(|e| OperatorError::Internal(e.to_string()))?
    }

    /// The owner signature over a batch, bounded by the limits' RPC wait.
    pub(crate) async fn check_owner(
        &self,
        owner: Address,
        digest: &[u8; 32],
        sig: &[u8],
    ) -> Result<(), OperatorError> {
        let check = crate::dkg::owner_sig::verify_owner(self.eth_rpc.as_ref(), owner, digest, sig);
        match tokio::time::timeout(self.limits.owner_check_timeout, check).await {
            Ok(r) => r.map_err(OperatorError::Owner),
            Err(_) => Err(OperatorError::Busy(
                "the execution RPC did not answer the owner check in time".into(),
            )),
        }
    }
}
