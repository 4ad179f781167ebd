//! Each operator's ceremony output (dkg-spec `BuildResult`) and the initiator's validation of all
//! of them (`ValidateResults`) into the files ssv-dkg writes.

use alloy::primitives::Address;

use crate::crypto::bls::{self, BlsError, Dst, Scalar};
use crate::crypto::rsa_keys::{OperatorPublicKey, RsaKeyError};
use crate::deposit::data::{DepositMessage, deposit_signing_root as signing_root_for_fork};
use crate::deposit::json::DepositDataJson;
use crate::dkg::bls_batch;
use crate::dkg::outputs::{SignedProofJson, ValidatorFiles, go_rfc3339_nano};
use crate::dkg::rsa_signer::{PssSigner, SignerError};
use crate::dkg::wire::proof_root::proof_root;
use crate::dkg::wire::{DkgResult, Init, Proof, SignedProof};
use crate::ssv::keyshares::{
    ENCRYPTED_SHARE_LEN, ItemData, ItemPayload, KeysharesItem, KeysharesJson, OperatorEntry,
    SharesData, SharesDataError, owner_nonce_digest,
};

/// Why a ceremony's results cannot be used. `Operator*` variants name the operator at fault.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    /// An operator's result breaks a rule of the protocol.
    #[error("operator {operator}: {reason}")]
    Operator {
        /// The operator at fault.
        operator: u64,
        /// What its result got wrong.
        reason: String,
    },
    /// An operator's signature or key material does not verify.
    #[error("operator {operator}: {what}: {source}")]
    OperatorBls {
        /// The operator at fault.
        operator: u64,
        /// Which of its values.
        what: &'static str,
        /// The BLS failure.
        #[source]
        source: BlsError,
    },
    /// This operator could not encrypt or sign its result.
    #[error("operator {operator}: {what}: {source}")]
    OperatorRsa {
        /// The operator.
        operator: u64,
        /// Which step.
        what: &'static str,
        /// The RSA failure.
        #[source]
        source: RsaKeyError,
    },
    /// This operator could not sign its proof.
    #[error("operator {operator}: proof signature: {source}")]
    OperatorSign {
        /// The operator.
        operator: u64,
        /// The signer's failure.
        #[source]
        source: SignerError,
    },
    /// The ceremony's inputs are unusable (no results, bad withdrawal credentials).
    #[error("ceremony result: {0}")]
    Ceremony(String),
    /// Recombining the operators' values failed although each verified on its own.
    #[error("ceremony result: {what}: {source}")]
    Recombine {
        /// Which value was being recombined.
        what: &'static str,
        /// The BLS failure.
        #[source]
        source: BlsError,
    },
    /// The recombined values do not form a `sharesData`.
    #[error("ceremony result: {0}")]
    SharesData(#[from] SharesDataError),
}

impl ResultError {
    /// The operator at fault, if the error names one.
    pub fn operator(&self) -> Option<u64> {
        match self {
            Self::Operator { operator, .. }
            | Self::OperatorBls { operator, .. }
            | Self::OperatorRsa { operator, .. }
            | Self::OperatorSign { operator, .. } => Some(*operator),
            _ => None,
        }
    }
}

fn op_err(operator: u64, reason: impl Into<String>) -> ResultError {
    ResultError::Operator {
        operator,
        reason: reason.into(),
    }
}

/// The owner-nonce digest of `init`: what every operator's partial signature signs.
fn owner_nonce_message(init: &Init) -> [u8; 32] {
    owner_nonce_digest(Address::from(init.owner), init.nonce)
}

/// The deposit message of `init` for validator key `pubkey`.
fn deposit_message(init: &Init, pubkey: &[u8; 48]) -> Result<DepositMessage, ResultError> {
    let wc: [u8; 32] = init
        .withdrawal_credentials
        .as_slice()
        .try_into()
        .map_err(|_| ResultError::Ceremony("withdrawal credentials are not 32 bytes".into()))?;
    Ok(DepositMessage {
        pubkey: *pubkey,
        withdrawal_credentials: wc,
        amount_gwei: init.amount,
    })
}

/// The deposit signing root for `init` and validator key `pubkey`.
pub fn deposit_signing_root(init: &Init, pubkey: &[u8; 48]) -> Result<[u8; 32], ResultError> {
    Ok(signing_root_for_fork(
        &deposit_message(init, pubkey)?,
        init.fork,
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
        .map_err(|source| ResultError::OperatorBls {
            operator: operator_id,
            what: "share",
            source,
        })?;
    let root = deposit_signing_root(init, &validator_pubkey)?;
    let deposit_partial_signature = bls::sign(&sk, &root, Dst::Pop);
    let owner_nonce_partial_signature = bls::sign(&sk, &owner_nonce_message(init), Dst::Pop);
    // dkg-spec encrypts the ASCII hex of the share (64 chars, no 0x) with PKCS#1 v1.5.
    let share_hex = zeroize::Zeroizing::new(hex::encode(share.to_be_bytes()));
    let encrypted_share = rsa
        .public_key()
        .encrypt_pkcs1v15(share_hex.as_bytes())
        .map_err(|source| ResultError::OperatorRsa {
            operator: operator_id,
            what: "share encryption",
            source,
        })?;
    let proof = Proof {
        validator_pubkey,
        encrypted_share,
        share_pubkey: bls::public_key(&sk),
        owner: init.owner,
    };
    let sig = rsa
        .sign_pss(&proof_root(&proof))
        .map_err(|source| ResultError::OperatorSign {
            operator: operator_id,
            source,
        })?;
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
    /// The operator's registry id.
    pub id: u64,
    /// Its registered RSA key, which must have signed its proof.
    pub key: OperatorPublicKey,
}

/// Everything checked; the files to write.
#[derive(Debug, Clone)]
pub struct ValidatedCeremony {
    /// The validator's deposit data, keyshares and proofs.
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
    let sorted = one_result_each(&ops, results)?;
    let validator = sorted
        .first()
        .map(|r| r.signed_proof.proof.validator_pubkey)
        .ok_or_else(|| ResultError::Ceremony("no results".into()))?;
    let msgs = Messages {
        deposit: deposit_signing_root(init, &validator)?,
        owner_nonce: owner_nonce_message(init),
    };
    let partials_ok = partials_verify_in_batch(&sorted, &msgs);
    for (op, r) in ops.iter().zip(&sorted) {
        check_result(init, op, r, instance_id, validator, &msgs, partials_ok)?;
    }
    let recombined = recombine(&ops, &sorted, validator, &msgs)?;
    let deposit = DepositDataJson::new(
        &deposit_message(init, &validator)?,
        &recombined.deposit_signature,
        init.fork,
        network_name,
    );
    Ok(ValidatedCeremony {
        files: ValidatorFiles {
            nonce: init.nonce,
            pubkey: validator,
            deposit: vec![deposit],
            keyshares: KeysharesJson::new(
                go_rfc3339_nano(std::time::SystemTime::now()),
                vec![keyshares_item(init, &ops, &sorted, validator, &recombined)?],
            ),
            proofs: sorted
                .iter()
                .map(|r| SignedProofJson::from(&r.signed_proof))
                .collect(),
        },
    })
}

/// The two messages every operator signs a share of.
struct Messages {
    deposit: [u8; 32],
    owner_nonce: [u8; 32],
}

/// The results in `ops` order: each operator exactly once, none from outside the ceremony.
fn one_result_each<'r>(
    ops: &[&KnownOperator],
    results: &'r [DkgResult],
) -> Result<Vec<&'r DkgResult>, ResultError> {
    let mut sorted = Vec::with_capacity(ops.len());
    for op in ops {
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
    Ok(sorted)
}

/// All 2n partial signatures as one batch; [`check_result`] checks one by one (naming the
/// operator) only if this fails.
fn partials_verify_in_batch(sorted: &[&DkgResult], msgs: &Messages) -> bool {
    let mut items = Vec::with_capacity(2 * sorted.len());
    for r in sorted {
        let pk = &r.signed_proof.proof.share_pubkey;
        items.push(bls_batch::Item {
            public: pk,
            msg: &msgs.deposit,
            signature: &r.deposit_partial_signature,
        });
        items.push(bls_batch::Item {
            public: pk,
            msg: &msgs.owner_nonce,
            signature: &r.owner_nonce_partial_signature,
        });
    }
    bls_batch::verify_all(&items, Dst::Pop)
}

/// One operator's result: this ceremony, this validator and owner, its partial signatures (unless
/// the batch already verified them), its proof signed by its registered key.
fn check_result(
    init: &Init,
    op: &KnownOperator,
    r: &DkgResult,
    instance_id: [u8; 24],
    validator: [u8; 48],
    msgs: &Messages,
    partials_ok: bool,
) -> Result<(), ResultError> {
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
        let bls_err = |what| {
            move |source| ResultError::OperatorBls {
                operator: op.id,
                what,
                source,
            }
        };
        bls::verify(
            &p.share_pubkey,
            &msgs.deposit,
            &r.deposit_partial_signature,
            Dst::Pop,
        )
        .map_err(bls_err("partial deposit signature"))?;
        bls::verify(
            &p.share_pubkey,
            &msgs.owner_nonce,
            &r.owner_nonce_partial_signature,
            Dst::Pop,
        )
        .map_err(bls_err("partial owner-nonce signature"))?;
    }
    if !crate::dkg::rsa_signer::verify_pss(&op.key, &proof_root(p), &r.signed_proof.signature) {
        return Err(op_err(
            op.id,
            "proof RSA signature does not verify with its registered key",
        ));
    }
    if p.encrypted_share.len() != ENCRYPTED_SHARE_LEN {
        return Err(op_err(
            op.id,
            format!("encrypted share is {} bytes", p.encrypted_share.len()),
        ));
    }
    Ok(())
}

/// The validator's two signatures, recombined from the partials.
struct Recombined {
    deposit_signature: [u8; 96],
    owner_nonce_signature: [u8; 96],
}

/// Interpolates the share keys (they must give the validator key) and both signatures (they
/// must verify under it).
fn recombine(
    ops: &[&KnownOperator],
    sorted: &[&DkgResult],
    validator: [u8; 48],
    msgs: &Messages,
) -> Result<Recombined, ResultError> {
    let fail = |what| move |source| ResultError::Recombine { what, source };
    let share_pks: Vec<(u64, [u8; 48])> = ops
        .iter()
        .zip(sorted)
        .map(|(o, r)| (o.id, r.signed_proof.proof.share_pubkey))
        .collect();
    let recovered = bls::interpolate_g1(&share_pks).map_err(fail("share public keys"))?;
    if recovered != validator {
        return Err(ResultError::Ceremony(
            "share public keys do not interpolate to the validator key".into(),
        ));
    }
    let interpolate = |partial: fn(&DkgResult) -> [u8; 96], what| {
        let points: Vec<(u64, [u8; 96])> = ops
            .iter()
            .zip(sorted)
            .map(|(o, r)| (o.id, partial(r)))
            .collect();
        bls::interpolate_g2(&points).map_err(fail(what))
    };
    let deposit = (
        interpolate(|r| r.deposit_partial_signature, DEPOSIT_SIG)?,
        &msgs.deposit,
        DEPOSIT_SIG,
    );
    let owner_nonce = (
        interpolate(|r| r.owner_nonce_partial_signature, OWNER_NONCE_SIG)?,
        &msgs.owner_nonce,
        OWNER_NONCE_SIG,
    );
    // Both under the validator key as one batch; one by one (saying which) only if it fails.
    let items = [&deposit, &owner_nonce].map(|(sig, msg, _)| bls_batch::Item {
        public: &validator,
        msg: msg.as_slice(),
        signature: sig,
    });
    if !bls_batch::verify_all(&items, Dst::Pop) {
        for (sig, msg, what) in [&deposit, &owner_nonce] {
            bls::verify(&validator, msg.as_slice(), sig, Dst::Pop).map_err(fail(*what))?;
        }
        return Err(ResultError::Ceremony(
            "recovered signatures failed as a batch but pass one by one".into(),
        ));
    }
    Ok(Recombined {
        deposit_signature: deposit.0,
        owner_nonce_signature: owner_nonce.0,
    })
}

const DEPOSIT_SIG: &str = "recovered deposit signature";
const OWNER_NONCE_SIG: &str = "recovered owner-nonce signature";

/// The `keyshares.json` item: owner, nonce, operators and the `sharesData` of the validator.
fn keyshares_item(
    init: &Init,
    ops: &[&KnownOperator],
    sorted: &[&DkgResult],
    validator: [u8; 48],
    recombined: &Recombined,
) -> Result<KeysharesItem, ResultError> {
    let mut encrypted = Vec::with_capacity(sorted.len());
    for r in sorted {
        let share = &r.signed_proof.proof.encrypted_share;
        encrypted.push(share.as_slice().try_into().map_err(|_| {
            op_err(
                r.operator_id,
                format!("encrypted share is {} bytes", share.len()),
            )
        })?);
    }
    let shares_data = SharesData::new(
        recombined.owner_nonce_signature,
        sorted
            .iter()
            .map(|r| r.signed_proof.proof.share_pubkey)
            .collect(),
        encrypted,
    )?;
    let pk_hex = format!("0x{}", hex::encode(validator));
    Ok(KeysharesItem {
        data: ItemData {
            owner_nonce: init.nonce,
            owner_address: Address::from(init.owner).to_checksum(None),
            public_key: pk_hex.clone(),
            operators: ops
                .iter()
                .map(|o| OperatorEntry {
                    id: o.id,
                    operator_key: o.key.to_base64_pem().to_string(),
                })
                .collect(),
        },
        payload: ItemPayload {
            public_key: pk_hex,
            operator_ids: ops.iter().map(|o| o.id).collect(),
            shares_data: shares_data.to_hex(),
        },
    })
}
