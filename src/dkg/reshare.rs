//! Reshare as initiator (ssv-agent `dkg reshare`, ssv-dkg `reshare`): move validators to a new
//! operator set without changing their key. The library entry point other commands (e.g.
//! `change-operators`) call is
//!
//! ```text
//! pub async fn reshare(initiator: &Initiator, req: ReshareRequest, out_dir: &Path)
//!     -> Result<Vec<ReshareOutput>, ReshareError>
//! ```
//!
//! * `initiator` supplies the HTTPS client (its own operator list is not used: old and new
//!   sets are in the request, as [`OperatorInfo`] with id, registered RSA key and URL);
//! * [`ReshareRequest`]: the old ceremony's proofs (one `proofs.json` array per validator, old
//!   operators in id order), the old and new operator sets, the owner / first nonce / withdrawal
//!   credentials / amount / network ([`ChangeParams`]; validator i gets nonce + i) and where the
//!   owner signature comes from ([`OwnerSignature`]: the agent's key, or a signature made
//!   elsewhere over [`reshare_message_hex`], e.g. by a Safe);
//! * [`ReshareOutput`] per validator: its (unchanged) public key, nonce and the paths of the new
//!   `keyshares.json` / `deposit_data.json` / `proofs.json` under
//!   `out_dir/ceremony-<now>/<nonce>-0x<pubkey>/`, each verified as `dkg verify` reads it before
//!   it is written, one validator at a time.
//!
//! Protocol (ssv-dkg v3.1.0): ping old ∪ new; every new operator and at least the old threshold
//! of old operators must answer, else [`ReshareError::NotEnough`] names who is missing. One
//! owner-signed `/reshare` to the responsive operators creates an instance per validator; per
//! validator the exchange round (`/dkg` to all responsive) makes the old operators deal, the deal
//! round (`/dkg` to the new operators) returns the new operators' results, which are validated
//! like an init ceremony's, must carry the same validator key, and are posted to `/results`.

use std::path::Path;

use crate::dkg::initiator::{Initiator, InitiatorError, OperatorInfo, check_reply, op_err};
use crate::dkg::outputs::SignedProofJson;
use crate::dkg::owner_sig::OwnerSignature;
use crate::dkg::resign::{
    CeremonyWriter, ChangeParams, as_init, change_bodies, checked_proofs, fresh_key, parse_result,
    versions_of, wire_operators,
};
use crate::dkg::rsa_signer::{FastSigner, PssSigner};
use crate::dkg::transport::{sign_bundle, threshold_for};
use crate::dkg::wire::ids::{instance_id, new_request_id};
use crate::dkg::wire::{
    Reshare, ReshareMessage, SignedReshare, SignedTransport, Ssz, TransportType, bulk_message_hex,
    unflatten,
};

pub use crate::dkg::resign::ChangeError as ReshareError;
pub use crate::dkg::resign::ChangeOutput as ReshareOutput;

/// What to reshare, from whom, to whom, and the owner's consent.
#[derive(Debug, Clone)]
pub struct ReshareRequest {
    /// One proofs array per validator (the old `proofs.json`), old operators in id order.
    pub proofs: Vec<Vec<SignedProofJson>>,
    /// The operators holding the shares now (4, 7, 10 or 13).
    pub old_operators: Vec<OperatorInfo>,
    /// The operators that will hold them (4, 7, 10 or 13; may overlap the old set).
    pub new_operators: Vec<OperatorInfo>,
    /// Owner, first nonce, credentials, amount, network.
    pub params: ChangeParams,
    /// The owner's signature (or the key to make it with).
    pub signature: OwnerSignature,
}

fn sorted(mut ops: Vec<OperatorInfo>, what: &str) -> Result<Vec<OperatorInfo>, ReshareError> {
    ops.sort_by_key(|o| o.id);
    if threshold_for(ops.len()).is_none() {
        return Err(ReshareError::Request(format!(
            "{} {what} operators; a cluster has 4, 7, 10 or 13",
            ops.len()
        )));
    }
    if ops.windows(2).any(|w| w[0].id == w[1].id) || ops.iter().any(|o| o.id == 0) {
        return Err(ReshareError::Request(format!(
            "{what} operator ids must be unique and non-zero"
        )));
    }
    Ok(ops)
}

/// The reshare messages (one per validator, nonce + i) for moving `proofs` from `old` to `new`.
pub fn reshare_messages(
    old: &[OperatorInfo],
    new: &[OperatorInfo],
    params: &ChangeParams,
    proofs: &[Vec<SignedProofJson>],
) -> Result<Vec<ReshareMessage>, ReshareError> {
    let old = sorted(old.to_vec(), "old")?;
    let new = sorted(new.to_vec(), "new")?;
    if old.iter().map(|o| o.id).eq(new.iter().map(|o| o.id)) {
        return Err(ReshareError::Request(
            "the new operator set is the old one (use resign for a new nonce)".into(),
        ));
    }
    for n in &new {
        if let Some(o) = old.iter().find(|o| o.id == n.id)
            && o.key.to_base64_pem() != n.key.to_base64_pem()
        {
            return Err(ReshareError::Request(format!(
                "operator {} has different keys in the old and new sets",
                n.id
            )));
        }
    }
    let mut out = Vec::with_capacity(proofs.len());
    for (i, p) in proofs.iter().enumerate() {
        let (proofs, validator) = checked_proofs(i, &old, p, params.owner)?;
        let old_init = as_init(wire_operators(&old), params, params.nonce + i as u64);
        let new_init = as_init(wire_operators(&new), params, params.nonce + i as u64);
        out.push(ReshareMessage {
            reshare: Reshare {
                validator_pubkey: validator,
                old_operators: old_init.operators,
                new_operators: new_init.operators,
                old_t: old_init.t,
                new_t: new_init.t,
                fork: new_init.fork,
                withdrawal_credentials: new_init.withdrawal_credentials,
                owner: new_init.owner,
                nonce: new_init.nonce,
                amount: new_init.amount,
            },
            proofs,
        });
    }
    Ok(out)
}

/// What the owner signs for these messages (ssv-dkg's `reshare.txt` text).
pub fn reshare_message_hex(msgs: &[ReshareMessage]) -> String {
    bulk_message_hex(msgs)
}

/// Old ∪ new by id (old first where both).
fn union(old: &[OperatorInfo], new: &[OperatorInfo]) -> Vec<OperatorInfo> {
    let mut all = old.to_vec();
    for n in new {
        if !all.iter().any(|o| o.id == n.id) {
            all.push(n.clone());
        }
    }
    all.sort_by_key(|o| o.id);
    all
}

/// Who may take part: every new operator and at least `old_t` old ones must be in `ok`.
fn enough(
    old: &[OperatorInfo],
    new: &[OperatorInfo],
    ok: &[u64],
    missing: &[(u64, String)],
) -> Result<(), ReshareError> {
    let old_t = threshold_for(old.len()).unwrap_or(0) as usize;
    let old_ok = old.iter().filter(|o| ok.contains(&o.id)).count();
    let new_missing = new.iter().any(|o| !ok.contains(&o.id));
    if new_missing || old_ok < old_t {
        let needed = new.len() + old_t
            - old
                .iter()
                .filter(|o| new.iter().any(|n| n.id == o.id))
                .count()
                .min(old_t);
        return Err(ReshareError::NotEnough {
            answered: ok.len(),
            needed,
            missing: missing.to_vec(),
        });
    }
    Ok(())
}

/// Runs the reshare of every validator in `req` and saves the new files under `out_dir`.
pub async fn reshare(
    initiator: &Initiator,
    req: ReshareRequest,
    out_dir: &Path,
) -> Result<Vec<ReshareOutput>, ReshareError> {
    let old = sorted(req.old_operators.clone(), "old")?;
    let new = sorted(req.new_operators.clone(), "new")?;
    let msgs = reshare_messages(&old, &new, &req.params, &req.proofs)?;
    let signature = req.signature.sign(&reshare_message_hex(&msgs))?;
    let all = union(&old, &new);
    // Ping: who answers, with which version.
    let mut live = Vec::new();
    let mut versions = Vec::new();
    let mut missing = Vec::new();
    for (o, (id, v)) in all.iter().zip(versions_of(initiator, &all).await) {
        match v {
            Ok(v) => {
                live.push(o.clone());
                versions.push((id, v));
            }
            Err(e) => missing.push((id, e.to_string())),
        }
    }
    let ids: Vec<u64> = live.iter().map(|o| o.id).collect();
    enough(&old, &new, &ids, &missing)?;
    let key = fresh_key().await?;
    let request_id =
        new_request_id().map_err(|e| ReshareError::Initiator(InitiatorError::Rng(e)))?;
    let signed = SignedReshare {
        messages: msgs,
        signature,
    };
    let bodies = change_bodies(
        &key,
        TransportType::SignedReshare,
        request_id,
        &signed.to_ssz(),
        &versions,
    )?;
    let n = signed.messages.len();
    let mut takers = Vec::new();
    let mut replies = Vec::new();
    for (op, r) in live
        .iter()
        .zip(initiator.post_each(&live, "reshare", bodies).await)
    {
        let items = r.map_err(ReshareError::from).and_then(|b| {
            unflatten(&b, n).map_err(|e| ReshareError::Initiator(op_err(op.id, e.to_string())))
        });
        match items {
            Ok(items) if items.len() == n => {
                takers.push(op.clone());
                replies.push(items);
            }
            Ok(items) => missing.push((op.id, format!("{} answers to {n} messages", items.len()))),
            Err(e) => missing.push((op.id, e.to_string())),
        }
    }
    let ids: Vec<u64> = takers.iter().map(|o| o.id).collect();
    enough(&old, &new, &ids, &missing)?;
    let new_ids: Vec<u64> = new.iter().map(|o| o.id).collect();
    let mut writer = CeremonyWriter::create(out_dir, req.params.expectations(n, new_ids))?;
    let pem = key.public_key().to_base64_pem().as_bytes().to_vec();
    let mut outputs = Vec::with_capacity(n);
    for (i, m) in signed.messages.iter().enumerate() {
        let iid = instance_id(&pem, &m.to_ssz(), &request_id);
        let exchanges: Vec<Vec<u8>> = replies.iter().map(|r| r[i].clone()).collect();
        let files = one_validator(
            initiator,
            &key,
            &old,
            &new,
            &takers,
            exchanges,
            iid,
            m,
            &req.params,
            &versions,
        )
        .await?;
        outputs.push(writer.save(files)?);
    }
    writer.finish()?;
    Ok(outputs)
}

/// Checks each operator's reply of a round; failures are collected as missing.
fn round_replies(
    ops: &[OperatorInfo],
    replies: Vec<Result<Vec<u8>, InitiatorError>>,
    iid: &[u8; 24],
    kind: TransportType,
) -> (Vec<OperatorInfo>, Vec<SignedTransport>, Vec<(u64, String)>) {
    let mut ok_ops = Vec::new();
    let mut ok = Vec::new();
    let mut missing = Vec::new();
    for (op, r) in ops.iter().zip(replies) {
        match r.and_then(|b| check_reply(op, &b, iid, kind)) {
            Ok(st) => {
                ok_ops.push(op.clone());
                ok.push(st);
            }
            Err(e) => missing.push((op.id, e.to_string())),
        }
    }
    (ok_ops, ok, missing)
}

/// One validator's exchange and deal rounds, validation and `/results`.
#[allow(clippy::too_many_arguments)]
async fn one_validator(
    initiator: &Initiator,
    key: &FastSigner,
    old: &[OperatorInfo],
    new: &[OperatorInfo],
    takers: &[OperatorInfo],
    exchanges: Vec<Vec<u8>>,
    iid: [u8; 24],
    m: &ReshareMessage,
    params: &ChangeParams,
    versions: &[(u64, String)],
) -> Result<crate::dkg::outputs::ValidatorFiles, ReshareError> {
    let sign_err = ReshareError::Sign;
    let (ops, sts, missing) = round_replies(
        takers,
        exchanges.into_iter().map(Ok).collect(),
        &iid,
        TransportType::ReshareExchange,
    );
    enough(
        old,
        new,
        &ops.iter().map(|o| o.id).collect::<Vec<_>>(),
        &missing,
    )?;
    let bundle = sign_bundle(key, iid, sts).map_err(sign_err)?.to_ssz();
    let replies = initiator
        .post_each(&ops, "dkg", vec![bundle; ops.len()])
        .await;
    let (dealers, deals, missing) = round_replies(&ops, replies, &iid, TransportType::ReshareKyber);
    enough(
        old,
        new,
        &dealers.iter().map(|o| o.id).collect::<Vec<_>>(),
        &missing,
    )?;
    let bundle = sign_bundle(key, iid, deals).map_err(sign_err)?.to_ssz();
    let replies = initiator
        .post_each(new, "dkg", vec![bundle; new.len()])
        .await;
    let mut results = Vec::with_capacity(new.len());
    for (op, r) in new.iter().zip(replies) {
        results.push(parse_result(op, &r?, &iid)?);
    }
    let init = as_init(m.reshare.new_operators.clone(), params, m.reshare.nonce);
    let files = initiator
        .validate_for(new, &init, iid, results, &params.network_name, init.nonce)
        .await?;
    if files.pubkey != m.reshare.validator_pubkey {
        return Err(ReshareError::Initiator(op_err(
            0,
            format!(
                "the new shares are of validator 0x{}, not the reshared 0x{}",
                hex::encode(files.pubkey),
                hex::encode(m.reshare.validator_pubkey)
            ),
        )));
    }
    initiator
        .post_results_to(new, key, &init, iid, &files, versions, init.nonce)
        .await?;
    Ok(files)
}
