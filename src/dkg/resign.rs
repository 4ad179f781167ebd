//! Resign as initiator (ssv-agent `dkg resign`, ssv-dkg `resign`): the same shares sign again for
//! a new owner nonce (or credentials/amount), without a DKG. The owner signs the message hash of
//! the batch ([`resign_message_hex`], what `dkg generate-resign-msg` writes), every operator of
//! the cluster must answer (each re-signs with its own share), and the results are validated like
//! an init ceremony's, checked against the validator key of the old proofs, posted to `/results`,
//! verified as `dkg verify` would read them, and saved one validator at a time.
//!
//! Also home of what resign and reshare share: [`ChangeParams`], [`ChangeOutput`], proof
//! parsing and the per-validator saving ([`CeremonyWriter`]).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use alloy::primitives::Address;

use crate::deposit::data::{
    MAX_COMPOUNDING_AMOUNT_GWEI, MIN_ACTIVATION_AMOUNT_GWEI, withdrawal_credentials,
};
use crate::dkg::initiator::{Initiator, InitiatorError, OperatorInfo, check_reply, op_err};
use crate::dkg::outputs::{
    DEPOSIT_FILE, KEYSHARES_FILE, OutputError, PROOFS_FILE, SignedProofJson, ValidatorFiles,
    ceremony_dir_name, go_rfc3339_nano, write_validator_dir_atomic,
};
use crate::dkg::owner_sig::{OwnerSigError, OwnerSignature};
use crate::dkg::rsa_signer::{FastSigner, PssSigner};
use crate::dkg::transport::{TransportError, sign_transport, threshold_for};
use crate::dkg::verify::{VerifyError, VerifyExpectations, verify_ceremony_dir, verify_validator};
use crate::dkg::wire::ids::{instance_id, new_request_id};
use crate::dkg::wire::{
    DkgResult, Init, MAX_MESSAGES, Operator, Proof, Resign, ResignMessage, SignedProof,
    SignedResign, Ssz, Transport, TransportType, bulk_message_hex, unflatten,
};

/// What a resign or reshare signs for (ssv-dkg's `owner`, `nonce`, `withdrawAddress`,
/// `compounding`, `amount`, `network` flags). Validator i of a bulk run uses `nonce + i`.
#[derive(Debug, Clone)]
pub struct ChangeParams {
    /// The cluster owner (must be the owner the old proofs name).
    pub owner: Address,
    /// The owner nonce of the first validator.
    pub nonce: u64,
    /// The execution address of the withdrawal credentials.
    pub withdraw_address: Address,
    /// 0x02 (compounding) credentials instead of 0x01.
    pub compounding: bool,
    /// Deposit amount in gwei (32..=2048 ETH).
    pub amount_gwei: u64,
    /// The `network_name` of the deposit data.
    pub network_name: String,
    /// The genesis fork version the deposit is signed under.
    pub fork_version: [u8; 4],
}

impl ChangeParams {
    fn credentials(&self) -> Vec<u8> {
        withdrawal_credentials(self.withdraw_address, self.compounding).to_vec()
    }

    fn check(&self) -> Result<(), ChangeError> {
        if self.owner == Address::ZERO {
            return Err(ChangeError::Request("owner is the zero address".into()));
        }
        if !(MIN_ACTIVATION_AMOUNT_GWEI..=MAX_COMPOUNDING_AMOUNT_GWEI).contains(&self.amount_gwei) {
            return Err(ChangeError::Request(format!(
                "amount {} gwei outside 32..2048 ETH",
                self.amount_gwei
            )));
        }
        Ok(())
    }

    /// What `dkg verify` must find in the written folder.
    pub fn expectations(&self, validators: usize, operator_ids: Vec<u64>) -> VerifyExpectations {
        VerifyExpectations {
            validators: Some(validators),
            owner: Some(self.owner),
            nonce: Some(self.nonce),
            withdraw_address: Some(self.withdraw_address),
            amount_gwei: Some(self.amount_gwei),
            network: Some(self.network_name.clone()),
            operator_ids: Some(operator_ids),
        }
    }
}

/// One validator's new files, written and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeOutput {
    /// The validator public key (unchanged by resign and reshare).
    pub validator_pubkey: [u8; 48],
    /// The owner nonce the new keyshares are signed for.
    pub nonce: u64,
    /// `<ceremony>/<nonce>-0x<pubkey>/`.
    pub dir: PathBuf,
    /// Its `keyshares.json` (the SSV `registerValidator` payload).
    pub keyshares: PathBuf,
    /// Its `deposit_data.json`.
    pub deposit_data: PathBuf,
    /// Its `proofs.json` (what the next resign/reshare needs).
    pub proofs: PathBuf,
}

/// Why a resign or reshare did not produce its files.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The request itself is invalid (no proofs, too many, bad parameters).
    #[error("invalid request: {0}")]
    Request(String),
    /// An old proof does not belong to this validator, operator or owner.
    #[error("validator {validator}: proof of operator {operator}: {reason}")]
    Proof {
        /// Index of the validator in the proofs.
        validator: usize,
        /// The operator whose proof it is.
        operator: u64,
        /// What is wrong.
        reason: String,
    },
    /// The proofs file is not ssv-dkg's proofs JSON.
    #[error("proofs JSON: {0}")]
    ProofsJson(#[source] serde_json::Error),
    /// Too few operators answered (named with why), or one that must answer did not.
    #[error(
        "{answered} of the operators answered, {needed} needed; {}",
        describe_missing(.missing)
    )]
    NotEnough {
        /// How many answered.
        answered: usize,
        /// How many must.
        needed: usize,
        /// Who did not, and why.
        missing: Vec<(u64, String)>,
    },
    /// The ceremony with the operators failed.
    #[error(transparent)]
    Initiator(#[from] InitiatorError),
    /// The owner signature could not be made.
    #[error(transparent)]
    Owner(#[from] OwnerSigError),
    /// Signing a message of the ceremony failed.
    #[error("signing the request: {0}")]
    Sign(#[source] TransportError),
    /// The new files do not pass `dkg verify`.
    #[error("the new files do not verify: {0}")]
    Verify(#[from] VerifyError),
    /// Writing the files failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Writing the message hash failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn describe_missing(m: &[(u64, String)]) -> String {
    m.iter()
        .map(|(id, why)| format!("operator {id}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// ssv-dkg's proofs JSON: one ceremony's array, or an array of them (`proofs.json` of a bulk
/// run). At most [`MAX_MESSAGES`] validators.
pub fn parse_proofs(text: &str) -> Result<Vec<Vec<SignedProofJson>>, ChangeError> {
    let many: Result<Vec<Vec<SignedProofJson>>, _> = serde_json::from_str(text);
    let all = match many {
        Ok(v) => v,
        Err(_) => vec![
            serde_json::from_str::<Vec<SignedProofJson>>(text).map_err(ChangeError::ProofsJson)?,
        ],
    };
    if all.is_empty() || all.len() > MAX_MESSAGES {
        return Err(ChangeError::Request(format!(
            "{} validators in the proofs; 1 to {MAX_MESSAGES} allowed",
            all.len()
        )));
    }
    Ok(all)
}

/// A proofs-file entry as the wire's `SignedProof` (field lengths checked).
pub fn signed_proof(p: &SignedProofJson) -> Result<SignedProof, String> {
    let arr48 = |b: &[u8], what| {
        <[u8; 48]>::try_from(b).map_err(|_| format!("{what} is {} bytes", b.len()))
    };
    Ok(SignedProof {
        proof: Proof {
            validator_pubkey: arr48(&p.proof.validator, "validator key")?,
            encrypted_share: p.proof.encrypted_share.clone(),
            share_pubkey: arr48(&p.proof.share_pub, "share key")?,
            owner: <[u8; 20]>::try_from(p.proof.owner.as_slice())
                .map_err(|_| format!("owner is {} bytes", p.proof.owner.len()))?,
        },
        signature: <[u8; 256]>::try_from(p.signature.as_slice())
            .map_err(|_| format!("signature is {} bytes", p.signature.len()))?,
    })
}

/// One validator's old proofs, checked like ssv-dkg `ValidateCeremonyProof` (same validator,
/// signed by the listed operator's key) and for the owner: returns them in `ops` order and the
/// validator key.
pub fn checked_proofs(
    validator: usize,
    ops: &[OperatorInfo],
    proofs: &[SignedProofJson],
    owner: Address,
) -> Result<(Vec<SignedProof>, [u8; 48]), ChangeError> {
    if proofs.len() != ops.len() {
        return Err(ChangeError::Request(format!(
            "validator {validator}: {} proofs for {} operators",
            proofs.len(),
            ops.len()
        )));
    }
    let mut out = Vec::with_capacity(ops.len());
    let mut pk = None;
    for (op, p) in ops.iter().zip(proofs) {
        let bad = |reason: String| ChangeError::Proof {
            validator,
            operator: op.id,
            reason,
        };
        let sp = signed_proof(p).map_err(bad)?;
        let v = *pk.get_or_insert(sp.proof.validator_pubkey);
        if sp.proof.validator_pubkey != v {
            return Err(bad("is for another validator".into()));
        }
        if Address::from(sp.proof.owner) != owner {
            return Err(bad(format!(
                "names owner {}, not {owner}",
                Address::from(sp.proof.owner)
            )));
        }
        let root = crate::dkg::wire::proof_root::proof_root(&sp.proof);
        if !crate::dkg::rsa_signer::verify_pss(&op.key, &root, &sp.signature) {
            return Err(bad(
                "is not signed by this operator's key (proofs are in operator id order)".into(),
            ));
        }
        out.push(sp);
    }
    Ok((out, pk.unwrap_or([0; 48])))
}

/// The wire operator list of `ops` (ascending id, base64-PEM keys).
pub fn wire_operators(ops: &[OperatorInfo]) -> Vec<Operator> {
    ops.iter()
        .map(|o| Operator {
            id: o.id,
            pubkey: o.key.to_base64_pem().as_bytes().to_vec(),
        })
        .collect()
}

/// The resign messages of `proofs` (one per validator, nonce + i) for the cluster `ops`.
pub fn resign_messages(
    ops: &[OperatorInfo],
    params: &ChangeParams,
    proofs: &[Vec<SignedProofJson>],
) -> Result<Vec<ResignMessage>, ChangeError> {
    params.check()?;
    let operators = wire_operators(ops);
    let mut out = Vec::with_capacity(proofs.len());
    for (i, p) in proofs.iter().enumerate() {
        let (proofs, validator) = checked_proofs(i, ops, p, params.owner)?;
        out.push(ResignMessage {
            operators: operators.clone(),
            resign: Resign {
                validator_pubkey: validator,
                fork: params.fork_version,
                withdrawal_credentials: params.credentials(),
                owner: params.owner.into_array(),
                nonce: params.nonce + i as u64,
                amount: params.amount_gwei,
            },
            proofs,
        });
    }
    Ok(out)
}

/// What the owner signs for these messages (ssv-dkg's `resign.txt`/`reshare.txt` text).
pub fn resign_message_hex(msgs: &[ResignMessage]) -> String {
    bulk_message_hex(msgs)
}

/// Writes `<dir>/<file>` holding `hex` (ssv-dkg `generate-*-msg`) and returns its path.
pub fn write_message_hash(dir: &Path, file: &str, hex: &str) -> Result<PathBuf, ChangeError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ChangeError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(file);
    crate::crypto::rsa_keys::write_private_file(&path, hex.as_bytes()).map_err(io(&path))?;
    Ok(path)
}

/// Resign request: the old ceremonies' proofs, what to sign for, and the owner's signature.
#[derive(Debug, Clone)]
pub struct ResignRequest {
    /// One proofs array per validator (the old `proofs.json`), operators in id order.
    pub proofs: Vec<Vec<SignedProofJson>>,
    /// The new nonce and the deposit parameters.
    pub params: ChangeParams,
    /// The owner's signature (or the key to make it with).
    pub signature: OwnerSignature,
}

/// Saves a ceremony's validators one at a time under `out/ceremony-<now>/`, each verified as
/// `dkg verify` reads it before it is written, then the aggregates and the whole folder.
#[derive(Debug)]
pub struct CeremonyWriter {
    dir: PathBuf,
    exp: VerifyExpectations,
    written: Vec<ValidatorFiles>,
}

impl CeremonyWriter {
    /// Creates the ceremony folder under `out`.
    pub fn create(out: &Path, exp: VerifyExpectations) -> Result<Self, ChangeError> {
        let dir = out.join(ceremony_dir_name(SystemTime::now()));
        std::fs::create_dir_all(&dir).map_err(|source| ChangeError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            exp,
            written: Vec::new(),
        })
    }

    /// The ceremony folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Verifies one validator's files (expected key and nonce) and writes its folder whole.
    pub fn save(&mut self, files: ValidatorFiles) -> Result<ChangeOutput, ChangeError> {
        let at = format!("validator 0x{}", hex::encode(files.pubkey));
        let exp = VerifyExpectations {
            validators: None,
            nonce: None,
            ..self.exp.clone()
        };
        verify_validator(
            &at,
            Some(files.pubkey),
            Some(files.nonce),
            &files.deposit,
            &files.keyshares,
            &files.proofs,
            &exp,
        )?;
        let dir = write_validator_dir_atomic(&self.dir, &files)?;
        let out = ChangeOutput {
            validator_pubkey: files.pubkey,
            nonce: files.nonce,
            keyshares: dir.join(KEYSHARES_FILE),
            deposit_data: dir.join(DEPOSIT_FILE),
            proofs: dir.join(PROOFS_FILE),
            dir,
        };
        self.written.push(files);
        Ok(out)
    }

    /// Writes the aggregates (more than one validator) and verifies the whole folder.
    pub fn finish(self) -> Result<PathBuf, ChangeError> {
        if self.written.len() > 1 {
            let (d, k, p) =
                crate::dkg::outputs::aggregates(&self.written, &go_rfc3339_nano(SystemTime::now()));
            crate::dkg::outputs::write_aggregates(&self.dir, &d, &k, &p)?;
        }
        verify_ceremony_dir(&self.dir, &self.exp)?;
        Ok(self.dir)
    }
}

/// The ceremony parameters of a resign/reshare message, as an `Init` (what result validation and
/// the operators' `/results` checks are written against).
pub(crate) fn as_init(operators: Vec<Operator>, params: &ChangeParams, nonce: u64) -> Init {
    Init {
        t: threshold_for(operators.len()).unwrap_or(0),
        operators,
        withdrawal_credentials: params.credentials(),
        fork: params.fork_version,
        owner: params.owner.into_array(),
        nonce,
        amount: params.amount_gwei,
    }
}

/// The operators' versions by ping; each must answer with a v3.1 version.
pub(crate) async fn versions_of(
    initiator: &Initiator,
    ops: &[OperatorInfo],
) -> Vec<(u64, Result<String, InitiatorError>)> {
    let futs = ops.iter().map(|o| async move {
        let v = initiator.ping_one(o).await.and_then(|p| {
            if crate::dkg::initiator::supported_operator_version(&p.version) {
                Ok(p.version)
            } else {
                Err(InitiatorError::UnsupportedVersion(vec![(o.id, p.version)]))
            }
        });
        (o.id, v)
    });
    futures::future::join_all(futs).await
}

/// The signed bodies of a `/resign` or `/reshare`, one per operator (its own version string).
pub(crate) fn change_bodies(
    key: &FastSigner,
    kind: TransportType,
    request_id: [u8; 24],
    data: &[u8],
    versions: &[(u64, String)],
) -> Result<Vec<Vec<u8>>, ChangeError> {
    let mut bodies = Vec::with_capacity(versions.len());
    let mut signed: Vec<(String, Vec<u8>)> = Vec::new();
    for (_, v) in versions {
        if let Some((_, b)) = signed.iter().find(|(sv, _)| sv == v) {
            bodies.push(b.clone());
            continue;
        }
        let t = Transport {
            kind,
            identifier: request_id,
            data: data.to_vec(),
            version: v.clone().into_bytes(),
        };
        let b = sign_transport(key, t).map_err(ChangeError::Sign)?.to_ssz();
        signed.push((v.clone(), b.clone()));
        bodies.push(b);
    }
    Ok(bodies)
}

/// A fresh initiator identity (off the async workers: RSA key generation takes a while).
pub(crate) async fn fresh_key() -> Result<FastSigner, ChangeError> {
    tokio::task::spawn_blocking(FastSigner::generate)
        .await
        .map_err(|e| ChangeError::Initiator(InitiatorError::Task(e)))?
        .map_err(|e| ChangeError::Initiator(InitiatorError::Key(e)))
}

/// Runs a resign with every operator of `initiator`'s cluster and saves the new files under
/// `out_dir/ceremony-<now>/`, one validator at a time.
pub async fn resign(
    initiator: &Initiator,
    req: ResignRequest,
    out_dir: &Path,
) -> Result<Vec<ChangeOutput>, ChangeError> {
    let ops = initiator.operators();
    let msgs = resign_messages(ops, &req.params, &req.proofs)?;
    let signature = req.signature.sign(&resign_message_hex(&msgs))?;
    let versions = all_versions(initiator, ops).await?;
    let key = fresh_key().await?;
    let request_id =
        new_request_id().map_err(|e| ChangeError::Initiator(InitiatorError::Rng(e)))?;
    let signed = SignedResign {
        messages: msgs,
        signature,
    };
    let bodies = change_bodies(
        &key,
        TransportType::SignedResign,
        request_id,
        &signed.to_ssz(),
        &versions,
    )?;
    let mut replies = Vec::with_capacity(ops.len());
    let mut missing = Vec::new();
    for (op, r) in ops
        .iter()
        .zip(initiator.post_each(ops, "resign", bodies).await)
    {
        match r.map_err(ChangeError::from).and_then(|b| {
            unflatten(&b, signed.messages.len())
                .map_err(|e| ChangeError::Initiator(op_err(op.id, e.to_string())))
        }) {
            Ok(items) if items.len() == signed.messages.len() => replies.push(items),
            Ok(items) => missing.push((
                op.id,
                format!(
                    "{} answers to {} messages",
                    items.len(),
                    signed.messages.len()
                ),
            )),
            Err(e) => missing.push((op.id, e.to_string())),
        }
    }
    if !missing.is_empty() {
        return Err(ChangeError::NotEnough {
            answered: replies.len(),
            needed: ops.len(),
            missing,
        });
    }
    let ids: Vec<u64> = ops.iter().map(|o| o.id).collect();
    let mut writer =
        CeremonyWriter::create(out_dir, req.params.expectations(signed.messages.len(), ids))?;
    let key_pem = key.public_key().to_base64_pem().as_bytes().to_vec();
    let mut outputs = Vec::with_capacity(signed.messages.len());
    for (i, m) in signed.messages.iter().enumerate() {
        let iid = instance_id(&key_pem, &m.to_ssz(), &request_id);
        let mut results = Vec::with_capacity(ops.len());
        for (op, items) in ops.iter().zip(&replies) {
            results.push(parse_result(op, &items[i], &iid)?);
        }
        let init = as_init(m.operators.clone(), &req.params, m.resign.nonce);
        let files = initiator
            .validate(&init, iid, results, &req.params.network_name, init.nonce)
            .await?;
        if files.pubkey != m.resign.validator_pubkey {
            return Err(ChangeError::Request(format!(
                "validator {i}: the new shares are of validator 0x{}, not the resigned 0x{}",
                hex::encode(files.pubkey),
                hex::encode(m.resign.validator_pubkey)
            )));
        }
        initiator
            .post_results(&key, &init, iid, &files, &versions, init.nonce)
            .await?;
        outputs.push(writer.save(files)?);
    }
    writer.finish()?;
    Ok(outputs)
}

/// Every operator's version; all must answer (resign needs every share).
async fn all_versions(
    initiator: &Initiator,
    ops: &[OperatorInfo],
) -> Result<Vec<(u64, String)>, ChangeError> {
    let mut ok = Vec::new();
    let mut missing = Vec::new();
    for (id, v) in versions_of(initiator, ops).await {
        match v {
            Ok(v) => ok.push((id, v)),
            Err(e) => missing.push((id, e.to_string())),
        }
    }
    if missing.is_empty() {
        Ok(ok)
    } else {
        Err(ChangeError::NotEnough {
            answered: ok.len(),
            needed: ops.len(),
            missing,
        })
    }
}

/// One operator's `Output` for instance `iid`, as its `Result`.
pub(crate) fn parse_result(
    op: &OperatorInfo,
    bytes: &[u8],
    iid: &[u8; 24],
) -> Result<DkgResult, ChangeError> {
    let st = check_reply(op, bytes, iid, TransportType::Output)?;
    let r = DkgResult::from_ssz(&st.message.data)
        .map_err(|e| ChangeError::Initiator(op_err(op.id, format!("result: {e}"))))?;
    if r.operator_id != op.id {
        return Err(ChangeError::Initiator(op_err(
            op.id,
            format!("result claims operator {}", r.operator_id),
        )));
    }
    Ok(r)
}
