//! Each operator's ceremony output (dkg-spec `BuildResult`) and the initiator's validation of all
//! of them (`ValidateResults`) into the files ssv-dkg writes.

use alloy::primitives::{Address, keccak256};

use crate::crypto::bls::{self, Dst, Scalar};
use crate::crypto::rsa_keys::OperatorPublicKey;
use crate::deposit::data::{
    DepositMessage, compute_deposit_domain, deposit_message_root, signing_root,
};
use crate::deposit::json::DepositDataJson;
use crate::dkg::bls_batch;
use crate::dkg::outputs::{
    KeysharesData, KeysharesJson, KeysharesOperator, KeysharesPayload, KeysharesShare, ProofJson,
    SignedProofJson, ValidatorFiles,
};
use crate::dkg::rsa_signer::PssSigner;
use crate::dkg::wire::proof_root::proof_root;
use crate::dkg::wire::{DkgResult, Init, Proof, SignedProof};

#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("operator {operator}: {reason}")]
    Operator { operator: u64, reason: String },
    #[error("ceremony result: {0}")]
    Ceremony(String),
}

fn op_err(operator: u64, reason: impl Into<String>) -> ResultError {
    ResultError::Operator {
        operator,
        reason: reason.into(),
    }
}

/// keccak256 of `"<EIP-55 owner>:<nonce>"`, what the owner-nonce signature signs.
pub fn owner_nonce_message(owner: &[u8; 20], nonce: u64) -> [u8; 32] {
    let addr = Address::from(*owner).to_checksum(None);
    keccak256(format!("{addr}:{nonce}").as_bytes()).0
}

/// The deposit signing root for `init` and validator key `pubkey`.
pub fn deposit_signing_root(init: &Init, pubkey: &[u8; 48]) -> Result<[u8; 32], ResultError> {
    let wc: [u8; 32] = init
        .withdrawal_credentials
        .as_slice()
        .try_into()
        .map_err(|_| ResultError::Ceremony("withdrawal credentials are not 32 bytes".into()))?;
    let msg = DepositMessage {
        pubkey: *pubkey,
        withdrawal_credentials: wc,
        amount_gwei: init.amount,
    };
    Ok(signing_root(
        deposit_message_root(&msg),
        compute_deposit_domain(init.fork),
    ))
}

/// Builds this operator's `Result` from its DKG share.
pub fn build_result(
    init: &Init,
    operator_id: u64,
    request_id: [u8; 24],
    share: &Scalar,
    validator_pubkey: [u8; 48],
    rsa: &(impl PssSigner + ?Sized),
) -> Result<DkgResult, ResultError> {
    let sk = share
        .to_secret_key()
        .map_err(|e| op_err(operator_id, e.to_string()))?;
    let root = deposit_signing_root(init, &validator_pubkey)?;
    let deposit_partial_signature = bls::sign(&sk, &root, Dst::Pop);
    let owner_nonce_partial_signature =
        bls::sign(&sk, &owner_nonce_message(&init.owner, init.nonce), Dst::Pop);
    // dkg-spec encrypts the ASCII hex of the share (64 chars, no 0x) with PKCS#1 v1.5.
    let share_hex = zeroize::Zeroizing::new(hex::encode(share.to_be_bytes()));
    let encrypted_share = rsa
        .public_key()
        .encrypt_pkcs1v15(share_hex.as_bytes())
        .map_err(|e| op_err(operator_id, format!("share encryption: {e}")))?;
    let proof = Proof {
        validator_pubkey,
        encrypted_share,
        share_pubkey: bls::public_key(&sk),
        owner: init.owner,
    };
    let sig = rsa
        .sign_pss(&proof_root(&proof))
        .map_err(|e| op_err(operator_id, format!("proof signature: {e}")))?;
    let signature: [u8; 256] = sig.as_slice().try_into().map_err(|_| {
        op_err(
            operator_id,
            format!("proof signature is {} bytes", sig.len()),
        )
    })?;
    Ok(DkgResult {
        operator_id,
        request_id,
        deposit_partial_signature,
        owner_nonce_partial_signature,
        signed_proof: SignedProof { proof, signature },
    })
}

/// What the initiator knows about one operator.
#[derive(Debug, Clone)]
pub struct KnownOperator {
    pub id: u64,
    pub key: OperatorPublicKey,
}

/// Everything checked; the files to write.
#[derive(Debug, Clone)]
pub struct ValidatedCeremony {
    pub files: ValidatorFiles,
}

/// dkg-spec `ValidateResults` plus building deposit data, keyshares and proofs. `results` may
/// come in any order; every operator must be present exactly once (init ceremonies need all).
pub fn validate_results(
    init: &Init,
    operators: &[KnownOperator],
    instance_id: [u8; 24],
    results: &[DkgResult],
    network_name: &str,
) -> Result<ValidatedCeremony, ResultError> {
    let mut ops: Vec<&KnownOperator> = operators.iter().collect();
    ops.sort_by_key(|o| o.id);
    let mut sorted: Vec<&DkgResult> = Vec::with_capacity(ops.len());
    for op in &ops {
        let mut mine = results.iter().filter(|r| r.operator_id == op.id);
        let r = mine.next().ok_or_else(|| op_err(op.id, "sent no result"))?;
        if mine.next().is_some() {
            return Err(op_err(op.id, "sent two results"));
        }
        sorted.push(r);
    }
    if let Some(stray) = results
        .iter()
        .find(|r| !ops.iter().any(|o| o.id == r.operator_id))
    {
        return Err(op_err(
            stray.operator_id,
            "result from an operator not in the ceremony",
        ));
    }
    let validator = sorted
        .first()
        .map(|r| r.signed_proof.proof.validator_pubkey)
        .ok_or_else(|| ResultError::Ceremony("no results".into()))?;
    let dep_root = deposit_signing_root(init, &validator)?;
    let on_msg = owner_nonce_message(&init.owner, init.nonce);
    // All 2n partial signatures as one batch; one by one (naming the operator) only if it fails.
    let mut items = Vec::with_capacity(2 * sorted.len());
    for r in &sorted {
        let pk = &r.signed_proof.proof.share_pubkey;
        items.push(bls_batch::Item {
            public: pk,
            msg: &dep_root,
            signature: &r.deposit_partial_signature,
        });
        items.push(bls_batch::Item {
            public: pk,
            msg: &on_msg,
            signature: &r.owner_nonce_partial_signature,
        });
    }
    let partials_ok = bls_batch::verify_all(&items, Dst::Pop);
    for (op, r) in ops.iter().zip(&sorted) {
        let p = &r.signed_proof.proof;
        if r.request_id != instance_id {
            return Err(op_err(op.id, "result for another ceremony (request id)"));
        }
        if p.validator_pubkey != validator {
            return Err(op_err(op.id, "disagrees on the validator public key"));
        }
        if p.owner != init.owner || init.owner == [0u8; 20] {
            return Err(op_err(op.id, "proof names a different owner"));
        }
        if !partials_ok {
            bls::verify(
                &p.share_pubkey,
                &dep_root,
                &r.deposit_partial_signature,
                Dst::Pop,
            )
            .map_err(|e| op_err(op.id, format!("partial deposit signature: {e}")))?;
            bls::verify(
                &p.share_pubkey,
                &on_msg,
                &r.owner_nonce_partial_signature,
                Dst::Pop,
            )
            .map_err(|e| op_err(op.id, format!("partial owner-nonce signature: {e}")))?;
        }
        if !crate::dkg::rsa_signer::verify_pss(&op.key, &proof_root(p), &r.signed_proof.signature) {
            return Err(op_err(
                op.id,
                "proof RSA signature does not verify with its registered key",
            ));
        }
        if p.encrypted_share.len() != 256 {
            return Err(op_err(
                op.id,
                format!("encrypted share is {} bytes", p.encrypted_share.len()),
            ));
        }
    }
    let share_pks: Vec<(u64, [u8; 48])> = ops
        .iter()
        .zip(&sorted)
        .map(|(o, r)| (o.id, r.signed_proof.proof.share_pubkey))
        .collect();
    let recovered =
        bls::interpolate_g1(&share_pks).map_err(|e| ResultError::Ceremony(e.to_string()))?;
    if recovered != validator {
        return Err(ResultError::Ceremony(
            "share public keys do not interpolate to the validator key".into(),
        ));
    }
    let dep_sig = bls::interpolate_g2(
        &ops.iter()
            .zip(&sorted)
            .map(|(o, r)| (o.id, r.deposit_partial_signature))
            .collect::<Vec<_>>(),
    )
    .map_err(|e| ResultError::Ceremony(e.to_string()))?;
    bls::verify(&validator, &dep_root, &dep_sig, Dst::Pop)
        .map_err(|e| ResultError::Ceremony(format!("recovered deposit signature: {e}")))?;
    let on_sig = bls::interpolate_g2(
        &ops.iter()
            .zip(&sorted)
            .map(|(o, r)| (o.id, r.owner_nonce_partial_signature))
            .collect::<Vec<_>>(),
    )
    .map_err(|e| ResultError::Ceremony(e.to_string()))?;
    bls::verify(&validator, &on_msg, &on_sig, Dst::Pop)
        .map_err(|e| ResultError::Ceremony(format!("recovered owner-nonce signature: {e}")))?;

    let wc: [u8; 32] = init
        .withdrawal_credentials
        .as_slice()
        .try_into()
        .map_err(|_| ResultError::Ceremony("withdrawal credentials are not 32 bytes".into()))?;
    let msg = DepositMessage {
        pubkey: validator,
        withdrawal_credentials: wc,
        amount_gwei: init.amount,
    };
    let deposit = DepositDataJson::new(&msg, &dep_sig, init.fork, network_name);

    let mut shares_data = on_sig.to_vec();
    for r in &sorted {
        shares_data.extend_from_slice(&r.signed_proof.proof.share_pubkey);
    }
    for r in &sorted {
        shares_data.extend_from_slice(&r.signed_proof.proof.encrypted_share);
    }
    let pk_hex = format!("0x{}", hex::encode(validator));
    let share = KeysharesShare {
        data: KeysharesData {
            owner_nonce: init.nonce,
            owner_address: Address::from(init.owner).to_checksum(None),
            public_key: pk_hex.clone(),
            operators: ops
                .iter()
                .map(|o| KeysharesOperator {
                    id: o.id,
                    operator_key: o.key.to_base64_pem().to_string(),
                })
                .collect(),
        },
        payload: KeysharesPayload {
            public_key: pk_hex,
            operator_ids: ops.iter().map(|o| o.id).collect(),
            shares_data: format!("0x{}", hex::encode(&shares_data)),
        },
    };
    let proofs = sorted
        .iter()
        .map(|r| {
            let p = &r.signed_proof.proof;
            SignedProofJson {
                proof: ProofJson {
                    validator: p.validator_pubkey.to_vec(),
                    encrypted_share: p.encrypted_share.clone(),
                    share_pub: p.share_pubkey.to_vec(),
                    owner: p.owner.to_vec(),
                },
                signature: r.signed_proof.signature.to_vec(),
            }
        })
        .collect();
    Ok(ValidatedCeremony {
        files: ValidatorFiles {
            nonce: init.nonce,
            pubkey: validator,
            deposit: vec![deposit],
            keyshares: KeysharesJson::new(vec![share]),
            proofs,
        },
    })
}
