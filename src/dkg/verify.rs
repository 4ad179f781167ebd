//! `dkg verify`: every check `ssv-dkg verify` (v3.1.0) makes on a ceremony folder, plus more:
//! both deposit roots are recomputed, the network is taken from the fork version and must match
//! the file's `network_name`, and each operator key must be in canonical encoding.
//!
//! Per validator: the deposit signature under the network's genesis fork version, the owner-nonce
//! signature over keccak256("<EIP-55 owner>:<nonce>"), the share public keys interpolating at
//! x = operator id to the validator key, `sharesData` slices equal to the proofs, and every
//! RSA-PSS proof signature under the operator key listed in keyshares.

use crate::crypto::bls::{self, Dst};
use crate::crypto::rsa_keys::{OperatorPublicKey, RsaKeyError};
use crate::deposit::data::{
    MAX_COMPOUNDING_AMOUNT_GWEI, MIN_ACTIVATION_AMOUNT_GWEI, deposit_data_root,
    deposit_message_root, deposit_signing_root,
};
use crate::deposit::json::{DepositDataJson, DepositFileError, parse_deposit_json};
use crate::dkg::bls_batch;
use crate::dkg::outputs::{DEPOSIT_FILE, KEYSHARES_FILE, PROOFS_FILE, SignedProofJson};
use crate::network::dkg_network_for_fork;
use crate::ssv::keyshares::{
    ExactJsonError, KeysharesItem, KeysharesJson, SUPPORTED_VERSIONS, SharesData, SharesDataError,
    from_slice_exact, owner_nonce_digest,
};
use alloy::primitives::Address;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The oldest `deposit_cli_version` ssv-dkg's verify accepts.
const MIN_DEPOSIT_CLI_VERSION: [u64; 3] = [2, 7, 0];

/// Optional expectations; `None` means "whatever the files say, as long as they agree".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyExpectations {
    /// Number of validators (ssv-dkg's `--validators`).
    pub validators: Option<usize>,
    /// The cluster owner every keyshares item and proof must name.
    pub owner: Option<Address>,
    /// Nonce of the first validator; the others follow consecutively.
    pub nonce: Option<u64>,
    /// The execution address the withdrawal credentials must point to.
    pub withdraw_address: Option<Address>,
    /// The deposit amount in gwei.
    pub amount_gwei: Option<u64>,
    /// Network name (`mainnet`, `hoodi`, `holesky`, `sepolia`, `prater`).
    pub network: Option<String>,
    /// Operator ids the ceremony must have used.
    pub operator_ids: Option<Vec<u64>>,
}

/// How the ceremony folder was laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyLayout {
    /// Per-validator folders (plus aggregates when more than one validator).
    Folders,
    /// Only the three aggregate files (a bulk ceremony whose folders were not kept).
    AggregatesOnly,
}

/// What was verified about one validator.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedValidator {
    /// The owner nonce its shares are signed for.
    pub nonce: u64,
    /// The validator public key (compressed G1).
    pub pubkey: [u8; 48],
    /// The cluster owner.
    pub owner: Address,
    /// The cluster's operator ids, ascending.
    pub operator_ids: Vec<u64>,
    /// The deposit's 0x01/0x02 withdrawal credentials.
    pub withdrawal_credentials: [u8; 32],
    /// The deposit amount in gwei.
    pub amount_gwei: u64,
    /// The network the deposit signature is for (from its fork version).
    pub network: String,
    /// The genesis fork version the deposit is signed under.
    pub fork_version: [u8; 4],
    /// The folder, for the `Folders` layout.
    pub folder: Option<PathBuf>,
    /// The deposit entry as read.
    pub deposit: DepositDataJson,
    /// The keyshares item as read.
    pub keyshare: KeysharesItem,
}

/// A verified ceremony folder.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCeremony {
    /// The folder.
    pub dir: PathBuf,
    /// How it was laid out.
    pub layout: CeremonyLayout,
    /// Sorted by nonce.
    pub validators: Vec<VerifiedValidator>,
}

/// Why a ceremony file does not parse.
#[derive(Debug, thiserror::Error)]
pub enum FileFormatError {
    /// Not JSON of the file's shape.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// JSON with a field ssv-dkg does not write.
    #[error(transparent)]
    Exact(#[from] ExactJsonError),
    /// Not deposit data.
    #[error(transparent)]
    Deposit(#[from] DepositFileError),
    /// A deposit hex field of the wrong form (ssv-dkg requires exact lengths without `0x`).
    #[error("field `{field}` must be {len} hex characters without 0x")]
    DepositHex {
        /// The field.
        field: &'static str,
        /// Hex characters required.
        len: usize,
    },
}

/// Why a ceremony folder (or one validator's files) does not verify. `at` names the validator:
/// its folder name, or its position in the aggregate files.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file does not parse.
    #[error("{path} does not parse: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: FileFormatError,
    },
    /// Something other than validator folders and aggregate files in the ceremony folder.
    #[error(
        "ceremony folder {dir}: unexpected entry {name:?} (only <nonce>-0x<pubkey> folders and, for bulk, the three aggregate files belong there)"
    )]
    UnexpectedEntry {
        /// The ceremony folder.
        dir: PathBuf,
        /// The entry's name.
        name: String,
    },
    /// An empty ceremony folder.
    #[error("ceremony folder {dir} holds no validator folders and no aggregate files")]
    NoValidators {
        /// The ceremony folder.
        dir: PathBuf,
    },
    /// Aggregate files where there must be none (one validator), or missing (several).
    #[error(
        "ceremony folder {dir}: aggregate files are {present} but there are {count} validator folders"
    )]
    Aggregates {
        /// The ceremony folder.
        dir: PathBuf,
        /// `present` or `missing`.
        present: &'static str,
        /// Validator folders found.
        count: usize,
    },
    /// Not the expected number of validators.
    #[error("ceremony folder {dir}: expected {expected} validators, found {got}")]
    ValidatorCount {
        /// The ceremony folder.
        dir: PathBuf,
        /// Validators expected.
        expected: usize,
        /// Validators found.
        got: usize,
    },
    /// A value differs from what the expectations or another file say.
    #[error("validator {at}: {what}: expected {expected}, got {got}")]
    Mismatch {
        /// The validator.
        at: String,
        /// Which value.
        what: &'static str,
        /// What it must be.
        expected: String,
        /// What the files hold.
        got: String,
    },
    /// A value that is wrong by itself (not an address, not 4/7/10/13 operators, ...).
    #[error("validator {at}: {what}")]
    Invalid {
        /// The validator.
        at: String,
        /// What is wrong.
        what: String,
    },
    /// `sharesData` is not `0x`-prefixed hex.
    #[error("validator {at}: {source}")]
    SharesData {
        /// The validator.
        at: String,
        /// The codec's refusal.
        #[source]
        source: SharesDataError,
    },
    /// The deposit signature fails under the network's fork version.
    #[error(
        "validator {at}: deposit signature does not verify for network {network} (fork {fork})"
    )]
    DepositSignature {
        /// The validator.
        at: String,
        /// The network of the fork version.
        network: String,
        /// The fork version, hex.
        fork: String,
    },
    /// The owner-nonce signature in `sharesData` fails.
    #[error(
        "validator {at}: owner-nonce signature does not verify for owner {owner} nonce {nonce}"
    )]
    OwnerNonceSignature {
        /// The validator.
        at: String,
        /// EIP-55 owner.
        owner: String,
        /// The owner nonce.
        nonce: u64,
    },
    /// The share public keys do not recombine to the validator key.
    #[error(
        "validator {at}: share public keys do not interpolate (x = operator id) to the validator key"
    )]
    Interpolation {
        /// The validator.
        at: String,
    },
    /// An operator's proof or key disagrees with keyshares.
    #[error("validator {at}: operator {operator}: {what}")]
    Operator {
        /// The validator.
        at: String,
        /// The operator.
        operator: u64,
        /// What disagrees.
        what: String,
    },
    /// An operator key in keyshares does not parse.
    #[error("validator {at}: operator {operator}: operatorKey does not parse: {source}")]
    OperatorKey {
        /// The validator.
        at: String,
        /// The operator.
        operator: u64,
        /// The key parser's refusal.
        #[source]
        source: RsaKeyError,
    },
    /// An operator's RSA-PSS proof signature fails under its key.
    #[error(
        "validator {at}: operator {operator}: RSA proof signature does not verify under the operator key in keyshares"
    )]
    ProofSignature {
        /// The validator.
        at: String,
        /// The operator.
        operator: u64,
    },
    /// An aggregate file is not the concatenation of the per-validator files.
    #[error("aggregate {file} does not equal the per-validator files (validator {at})")]
    AggregateMismatch {
        /// The aggregate file.
        file: &'static str,
        /// The first validator that differs.
        at: String,
    },
    /// One validator key twice.
    #[error("validator key 0x{pubkey} appears more than once")]
    DuplicateValidator {
        /// The key, hex.
        pubkey: String,
    },
    /// A gap or repeat in the owner nonces.
    #[error("nonces are not consecutive: validator {at} has nonce {got}, expected {expected}")]
    NonceSequence {
        /// The validator.
        at: String,
        /// The nonce due.
        expected: u64,
        /// The nonce found.
        got: u64,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, VerifyError> {
    std::fs::read(path).map_err(|source| VerifyError::Read {
        path: path.to_owned(),
        source,
    })
}

fn parse_error(path: &Path, e: impl Into<FileFormatError>) -> VerifyError {
    VerifyError::Parse {
        path: path.to_owned(),
        source: e.into(),
    }
}

/// A keyshares or proofs file, exactly as ssv-dkg writes it (no unknown field).
fn read_exact<T: serde::de::DeserializeOwned + serde::Serialize>(
    path: &Path,
) -> Result<T, VerifyError> {
    from_slice_exact(&read(path)?).map_err(|e| parse_error(path, e))
}

fn read_deposits(path: &Path) -> Result<Vec<DepositDataJson>, VerifyError> {
    let text = std::fs::read_to_string(path).map_err(|source| VerifyError::Read {
        path: path.to_owned(),
        source,
    })?;
    check_deposit_hex_fields(path, &text)?;
    parse_deposit_json(&text, path).map_err(|e| parse_error(path, e))
}

/// The three files of one validator folder (or the three aggregates of a ceremony folder).
struct Files<P> {
    deposits: Vec<DepositDataJson>,
    keyshares: KeysharesJson,
    proofs: P,
}

fn read_files<P: serde::de::DeserializeOwned + serde::Serialize>(
    dir: &Path,
) -> Result<Files<P>, VerifyError> {
    Ok(Files {
        deposits: read_deposits(&dir.join(DEPOSIT_FILE))?,
        keyshares: read_exact(&dir.join(KEYSHARES_FILE))?,
        proofs: read_exact(&dir.join(PROOFS_FILE))?,
    })
}

/// ssv-dkg requires exact hex lengths without `0x`; the shared parser tolerates a prefix.
fn check_deposit_hex_fields(path: &Path, text: &str) -> Result<(), VerifyError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| parse_error(path, e))?;
    let fields = [
        ("pubkey", 96),
        ("withdrawal_credentials", 64),
        ("signature", 192),
        ("deposit_message_root", 64),
        ("deposit_data_root", 64),
        ("fork_version", 8),
    ];
    for entry in v.as_array().into_iter().flatten() {
        for (field, len) in fields {
            let s = entry.get(field).and_then(|x| x.as_str()).unwrap_or("");
            if s.len() != len || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(parse_error(
                    path,
                    FileFormatError::DepositHex { field, len },
                ));
            }
        }
    }
    Ok(())
}

/// Parses a folder name `<digits>-0x<96 lowercase hex>`.
pub fn parse_validator_dir_name(name: &str) -> Option<(u64, [u8; 48])> {
    let (nonce, rest) = name.split_once("-0x")?;
    if nonce.is_empty() || !nonce.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if rest.len() != 96 || !rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let pk: [u8; 48] = hex::decode(rest).ok()?.try_into().ok()?;
    Some((nonce.parse().ok()?, pk))
}

fn deposit_cli_version_ok(v: &str) -> bool {
    let parts: Vec<u64> = v
        .trim_start_matches('v')
        .split('.')
        .map_while(|p| p.parse().ok())
        .collect();
    if parts.len() != 3 {
        return false;
    }
    parts.as_slice() >= MIN_DEPOSIT_CLI_VERSION.as_slice()
}

fn mismatch(
    at: &str,
    what: &'static str,
    expected: impl ToString,
    got: impl ToString,
) -> VerifyError {
    VerifyError::Mismatch {
        at: at.to_string(),
        what,
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

fn invalid(at: &str, what: String) -> VerifyError {
    VerifyError::Invalid {
        at: at.to_string(),
        what,
    }
}

/// Verifies one validator's three files (already parsed). `at` names it in errors; `nonce` is
/// the expected owner nonce (from the folder name or the expectations).
pub fn verify_validator(
    at: &str,
    expected_pubkey: Option<[u8; 48]>,
    nonce: Option<u64>,
    deposits: &[DepositDataJson],
    keyshares: &KeysharesJson,
    proofs: &[SignedProofJson],
    exp: &VerifyExpectations,
) -> Result<VerifiedValidator, VerifyError> {
    let (deposit, share) = single_entries(at, deposits, keyshares)?;
    let pk = deposit.pubkey;
    if let Some(e) = expected_pubkey
        && e != pk
    {
        return Err(mismatch(
            at,
            "deposit pubkey",
            hex::encode(e),
            hex::encode(pk),
        ));
    }
    let sigs_ok = signatures_verify_in_batch(&pk, deposit, share);
    let (network, fork) = verify_deposit(at, deposit, exp, sigs_ok)?;
    let item = check_item(at, &pk, share, nonce, exp)?;
    let shares_data = check_shares_data(at, &pk, &item, &share.payload.shares_data, sigs_ok)?;
    check_proofs(at, &pk, &item, share, &shares_data, proofs)?;
    Ok(VerifiedValidator {
        nonce: item.nonce,
        pubkey: pk,
        owner: item.owner,
        operator_ids: item.ids,
        withdrawal_credentials: deposit.withdrawal_credentials,
        amount_gwei: deposit.amount,
        network: network.to_string(),
        fork_version: fork,
        folder: None,
        deposit: deposit.clone(),
        keyshare: share.clone(),
    })
}

/// The validator's two BLS signatures (deposit, owner-nonce in `sharesData`) as one batch under
/// its key: two pairings instead of four. When this fails (or the files do not parse), the
/// checks below verify each one and say which is wrong.
fn signatures_verify_in_batch(
    pk: &[u8; 48],
    deposit: &DepositDataJson,
    share: &KeysharesItem,
) -> bool {
    let Ok(owner) = share.data.owner_address.parse::<Address>() else {
        return false;
    };
    let Ok(sd) = SharesData::from_hex(&share.payload.shares_data, share.data.operators.len())
    else {
        return false;
    };
    let root = deposit_signing_root(&deposit.message(), deposit.fork_version);
    let digest = owner_nonce_digest(owner, share.data.owner_nonce);
    let items = [
        bls_batch::Item {
            public: pk,
            msg: &root,
            signature: &deposit.signature,
        },
        bls_batch::Item {
            public: pk,
            msg: &digest,
            signature: sd.signature(),
        },
    ];
    bls_batch::verify_all(&items, Dst::Pop)
}

/// The one deposit entry and the one keyshares item of a validator's files.
fn single_entries<'f>(
    at: &str,
    deposits: &'f [DepositDataJson],
    keyshares: &'f KeysharesJson,
) -> Result<(&'f DepositDataJson, &'f KeysharesItem), VerifyError> {
    let [deposit] = deposits else {
        return Err(mismatch(at, "deposit entries", 1, deposits.len()));
    };
    let [share] = keyshares.shares.as_slice() else {
        return Err(mismatch(at, "keyshares entries", 1, keyshares.shares.len()));
    };
    if !SUPPORTED_VERSIONS.contains(&keyshares.version.as_str()) {
        return Err(mismatch(
            at,
            "keyshares version",
            "v1.1.0 or v1.2.0",
            &keyshares.version,
        ));
    }
    Ok((deposit, share))
}

/// What a keyshares item says, once its fields passed [`check_item`].
struct Item {
    owner: Address,
    nonce: u64,
    ids: Vec<u64>,
}

/// The item's plain fields: the validator key in both places, the operator ids (a valid cluster,
/// the same in `data` and `payload`, the expected ones), the owner (EIP-55, the expected one) and
/// the nonce.
fn check_item(
    at: &str,
    pk: &[u8; 48],
    share: &KeysharesItem,
    nonce: Option<u64>,
    exp: &VerifyExpectations,
) -> Result<Item, VerifyError> {
    let pk_0x = format!("0x{}", hex::encode(pk));
    if share.data.public_key != pk_0x {
        return Err(mismatch(
            at,
            "keyshares data.publicKey",
            &pk_0x,
            &share.data.public_key,
        ));
    }
    if share.payload.public_key != pk_0x {
        return Err(mismatch(
            at,
            "keyshares payload.publicKey",
            &pk_0x,
            &share.payload.public_key,
        ));
    }
    let ids = check_operator_ids(at, share, exp)?;
    let owner = check_owner(at, &share.data.owner_address, exp)?;
    if let Some(n) = nonce
        && n != share.data.owner_nonce
    {
        return Err(mismatch(at, "ownerNonce", n, share.data.owner_nonce));
    }
    Ok(Item {
        owner,
        nonce: share.data.owner_nonce,
        ids,
    })
}

fn check_operator_ids(
    at: &str,
    share: &KeysharesItem,
    exp: &VerifyExpectations,
) -> Result<Vec<u64>, VerifyError> {
    let ids: Vec<u64> = share.data.operators.iter().map(|o| o.id).collect();
    if !ids.windows(2).all(|w| w[0] < w[1]) {
        return Err(invalid(
            at,
            format!("operator ids {ids:?} are not unique and ascending"),
        ));
    }
    if ![4, 7, 10, 13].contains(&ids.len()) {
        return Err(invalid(
            at,
            format!("{} operators; a cluster has 4, 7, 10 or 13", ids.len()),
        ));
    }
    if share.payload.operator_ids != ids {
        return Err(mismatch(
            at,
            "payload.operatorIds",
            format!("{ids:?}"),
            format!("{:?}", share.payload.operator_ids),
        ));
    }
    if let Some(want) = &exp.operator_ids {
        let mut want = want.clone();
        want.sort_unstable();
        if want != ids {
            return Err(mismatch(
                at,
                "operator ids",
                format!("{want:?}"),
                format!("{ids:?}"),
            ));
        }
    }
    Ok(ids)
}

fn check_owner(at: &str, text: &str, exp: &VerifyExpectations) -> Result<Address, VerifyError> {
    let owner: Address = text
        .parse()
        .map_err(|_| invalid(at, format!("ownerAddress {text:?} is not an address")))?;
    let checksummed = owner.to_checksum(None);
    if text != checksummed {
        return Err(mismatch(at, "ownerAddress (EIP-55)", &checksummed, text));
    }
    if let Some(o) = exp.owner
        && o != owner
    {
        return Err(mismatch(at, "owner", o.to_checksum(None), &checksummed));
    }
    Ok(owner)
}

/// Decodes `sharesData` and checks its two cryptographic claims: the validator key signed the
/// owner-nonce digest, and the share keys interpolate (x = operator id) to the validator key.
fn check_shares_data(
    at: &str,
    pk: &[u8; 48],
    item: &Item,
    hex_text: &str,
    sig_ok: bool,
) -> Result<SharesData, VerifyError> {
    let sd = SharesData::from_hex(hex_text, item.ids.len()).map_err(|e| match e {
        SharesDataError::Length { expected, got, .. } => {
            mismatch(at, "sharesData length (bytes)", expected, got)
        }
        source => VerifyError::SharesData {
            at: at.into(),
            source,
        },
    })?;
    if !sig_ok {
        let digest = owner_nonce_digest(item.owner, item.nonce);
        bls::verify(pk, &digest, sd.signature(), Dst::Pop).map_err(|_| {
            VerifyError::OwnerNonceSignature {
                at: at.into(),
                owner: item.owner.to_checksum(None),
                nonce: item.nonce,
            }
        })?;
    }
    let points: Vec<(u64, [u8; 48])> = item
        .ids
        .iter()
        .copied()
        .zip(sd.share_pubkeys().iter().copied())
        .collect();
    match bls::interpolate_g1(&points) {
        Ok(recovered) if recovered == *pk => Ok(sd),
        _ => Err(VerifyError::Interpolation { at: at.into() }),
    }
}

/// Each operator's proof: its key canonical, the proof naming this validator and owner and
/// holding exactly the operator's slices of `sharesData`, signed by the key keyshares lists.
fn check_proofs(
    at: &str,
    pk: &[u8; 48],
    item: &Item,
    share: &KeysharesItem,
    sd: &SharesData,
    proofs: &[SignedProofJson],
) -> Result<(), VerifyError> {
    if proofs.len() != item.ids.len() {
        return Err(mismatch(at, "proof count", item.ids.len(), proofs.len()));
    }
    let slices = sd.share_pubkeys().iter().zip(sd.encrypted_shares());
    for ((op, sp), (share_pub, enc_share)) in share.data.operators.iter().zip(proofs).zip(slices) {
        let opr = |what: &str| VerifyError::Operator {
            at: at.into(),
            operator: op.id,
            what: what.to_string(),
        };
        let key = OperatorPublicKey::from_base64_pem(&op.operator_key).map_err(|source| {
            VerifyError::OperatorKey {
                at: at.into(),
                operator: op.id,
                source,
            }
        })?;
        if key.to_base64_pem() != op.operator_key {
            return Err(opr(
                "operatorKey is not in the canonical base64-PEM encoding",
            ));
        }
        let p = &sp.proof;
        if p.validator != pk {
            return Err(opr("proof validator key differs from the deposit's"));
        }
        if p.owner != item.owner.as_slice() {
            return Err(opr(&format!(
                "proof owner 0x{} differs from keyshares owner",
                hex::encode(&p.owner)
            )));
        }
        if p.share_pub != share_pub {
            return Err(opr(
                "proof share_pub differs from the share public key in sharesData",
            ));
        }
        if p.encrypted_share != enc_share {
            return Err(opr(
                "proof encrypted_share differs from the encrypted share in sharesData",
            ));
        }
        // aws-lc first, the rsa crate's salt auto-detection only if that fails: accepts exactly
        // what `OperatorPublicKey::verify_pss` (Go's VerifyPSS) accepts.
        if !crate::dkg::rsa_signer::verify_pss(&key, &p.hash_tree_root(), &sp.signature) {
            return Err(VerifyError::ProofSignature {
                at: at.into(),
                operator: op.id,
            });
        }
    }
    Ok(())
}

/// The deposit entry: its fields within ssv-dkg's rules and the expectations, its network from
/// the fork version, its roots and its signature. Returns the network and fork version.
fn verify_deposit(
    at: &str,
    d: &DepositDataJson,
    exp: &VerifyExpectations,
    sig_ok: bool,
) -> Result<(&'static str, [u8; 4]), VerifyError> {
    check_deposit_fields(at, d, exp)?;
    let network = deposit_network(at, d, exp)?;
    let msg = d.message();
    let mr = deposit_message_root(&msg);
    if mr != d.deposit_message_root {
        return Err(mismatch(
            at,
            "deposit_message_root",
            hex::encode(mr),
            hex::encode(d.deposit_message_root),
        ));
    }
    let dr = deposit_data_root(&msg, &d.signature);
    if dr != d.deposit_data_root {
        return Err(mismatch(
            at,
            "deposit_data_root",
            hex::encode(dr),
            hex::encode(d.deposit_data_root),
        ));
    }
    if !sig_ok {
        let root = deposit_signing_root(&msg, d.fork_version);
        bls::verify(&d.pubkey, &root, &d.signature, Dst::Pop).map_err(|_| {
            VerifyError::DepositSignature {
                at: at.into(),
                network: network.into(),
                fork: hex::encode(d.fork_version),
            }
        })?;
    }
    Ok((network, d.fork_version))
}

/// Amount, writer version and withdrawal credentials.
fn check_deposit_fields(
    at: &str,
    d: &DepositDataJson,
    exp: &VerifyExpectations,
) -> Result<(), VerifyError> {
    if !(MIN_ACTIVATION_AMOUNT_GWEI..=MAX_COMPOUNDING_AMOUNT_GWEI).contains(&d.amount) {
        return Err(mismatch(
            at,
            "deposit amount (gwei)",
            format!("{MIN_ACTIVATION_AMOUNT_GWEI}..={MAX_COMPOUNDING_AMOUNT_GWEI}"),
            d.amount,
        ));
    }
    if let Some(a) = exp.amount_gwei
        && a != d.amount
    {
        return Err(mismatch(at, "deposit amount (gwei)", a, d.amount));
    }
    if !deposit_cli_version_ok(&d.deposit_cli_version) {
        return Err(mismatch(
            at,
            "deposit_cli_version",
            ">= 2.7.0",
            &d.deposit_cli_version,
        ));
    }
    let wc = d.withdrawal_credentials;
    if !(wc[0] == 0x01 || wc[0] == 0x02) || wc[1..12].iter().any(|b| *b != 0) {
        return Err(invalid(
            at,
            format!(
                "withdrawal credentials {} are not 0x01/0x02 execution-address credentials",
                hex::encode(wc)
            ),
        ));
    }
    if let Some(addr) = exp.withdraw_address
        && wc[12..] != addr[..]
    {
        return Err(mismatch(
            at,
            "withdrawal address",
            addr,
            Address::from_slice(&wc[12..]),
        ));
    }
    Ok(())
}

/// The network of the deposit's fork version; it must be the one `network_name` says.
fn deposit_network(
    at: &str,
    d: &DepositDataJson,
    exp: &VerifyExpectations,
) -> Result<&'static str, VerifyError> {
    let network = dkg_network_for_fork(d.fork_version).ok_or_else(|| {
        invalid(
            at,
            format!(
                "fork_version {} is not a network ssv-dkg knows",
                hex::encode(d.fork_version)
            ),
        )
    })?;
    if d.network_name != network {
        return Err(mismatch(
            at,
            "network_name for the fork version",
            network,
            &d.network_name,
        ));
    }
    if let Some(n) = &exp.network
        && n != network
    {
        return Err(mismatch(at, "network", n, network));
    }
    Ok(network)
}

fn is_ignored(name: &str) -> bool {
    name == ".DS_Store" || name == "Thumbs.db"
}

/// The entries of a ceremony folder.
struct Listing {
    /// Validator folders (nonce, key, name), sorted by name.
    folders: Vec<(u64, [u8; 48], String)>,
    /// How many of the three aggregate files are there.
    aggregate_files: usize,
}

fn list_ceremony_dir(dir: &Path) -> Result<Listing, VerifyError> {
    let read_err = |source| VerifyError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut listing = Listing {
        folders: Vec::new(),
        aggregate_files: 0,
    };
    for e in std::fs::read_dir(dir).map_err(read_err)? {
        let e = e.map_err(read_err)?;
        let name = e.file_name().to_string_lossy().into_owned();
        if is_ignored(&name) {
            continue;
        }
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && let Some((nonce, pk)) = parse_validator_dir_name(&name) {
            listing.folders.push((nonce, pk, name));
        } else if !is_dir && [DEPOSIT_FILE, KEYSHARES_FILE, PROOFS_FILE].contains(&name.as_str()) {
            listing.aggregate_files += 1;
        } else {
            return Err(VerifyError::UnexpectedEntry {
                dir: dir.to_owned(),
                name,
            });
        }
    }
    listing.folders.sort_by(|a, b| a.2.cmp(&b.2));
    Ok(listing)
}

/// Aggregates exactly when there is more than one validator, and the expected count.
fn check_layout(
    dir: &Path,
    listing: &Listing,
    exp: &VerifyExpectations,
) -> Result<(), VerifyError> {
    let count = listing.folders.len();
    let present = match (count > 1, listing.aggregate_files) {
        (true, 3) | (false, 0) => None,
        (true, _) => Some("missing"),
        (false, _) => Some("present"),
    };
    if let Some(present) = present {
        return Err(VerifyError::Aggregates {
            dir: dir.to_owned(),
            present,
            count,
        });
    }
    check_count(dir, count, exp)
}

fn check_count(dir: &Path, count: usize, exp: &VerifyExpectations) -> Result<(), VerifyError> {
    match exp.validators {
        Some(want) if want != count => Err(VerifyError::ValidatorCount {
            dir: dir.to_owned(),
            expected: want,
            got: count,
        }),
        _ => Ok(()),
    }
}

/// Verifies a ceremony folder as `ssv-dkg verify --ceremonyDir` does (and more, see the module
/// docs). Accepts the per-validator layout and, for bulk runs whose folders were not kept, a folder
/// holding only the three aggregate files.
pub fn verify_ceremony_dir(
    dir: &Path,
    exp: &VerifyExpectations,
) -> Result<VerifiedCeremony, VerifyError> {
    let listing = list_ceremony_dir(dir)?;
    if listing.folders.is_empty() {
        if listing.aggregate_files == 0 {
            return Err(VerifyError::NoValidators {
                dir: dir.to_owned(),
            });
        }
        return verify_aggregates_only(dir, exp);
    }
    check_layout(dir, &listing, exp)?;
    let folders = &listing.folders;
    let mut verified = Vec::with_capacity(folders.len());
    let mut seen = HashSet::new();
    for (i, (nonce, pk, name)) in folders.iter().enumerate() {
        let first = exp.nonce.unwrap_or(folders[0].0);
        let want = first + i as u64;
        if *nonce != want {
            return Err(VerifyError::NonceSequence {
                at: name.clone(),
                expected: want,
                got: *nonce,
            });
        }
        let fdir = dir.join(name);
        let files: Files<Vec<SignedProofJson>> = read_files(&fdir)?;
        let mut v = verify_validator(
            name,
            Some(*pk),
            Some(*nonce),
            &files.deposits,
            &files.keyshares,
            &files.proofs,
            exp,
        )?;
        if !seen.insert(v.pubkey) {
            return Err(VerifyError::DuplicateValidator {
                pubkey: hex::encode(v.pubkey),
            });
        }
        v.folder = Some(fdir);
        verified.push((v, files.proofs));
    }
    if folders.len() > 1 {
        check_aggregates(dir, &verified)?;
    }
    Ok(VerifiedCeremony {
        dir: dir.to_owned(),
        layout: CeremonyLayout::Folders,
        validators: verified.into_iter().map(|(v, _)| v).collect(),
    })
}

fn check_aggregates(
    dir: &Path,
    verified: &[(VerifiedValidator, Vec<SignedProofJson>)],
) -> Result<(), VerifyError> {
    let agg: Files<Vec<Vec<SignedProofJson>>> = read_files(dir)?;
    let n = verified.len();
    if agg.deposits.len() != n || agg.keyshares.shares.len() != n || agg.proofs.len() != n {
        return Err(VerifyError::AggregateMismatch {
            file: "aggregate files",
            at: format!("count {n}"),
        });
    }
    for (i, (v, vp)) in verified.iter().enumerate() {
        let differs = if agg.deposits[i] != v.deposit {
            Some(DEPOSIT_FILE)
        } else if agg.keyshares.shares[i] != v.keyshare {
            Some(KEYSHARES_FILE)
        } else if &agg.proofs[i] != vp {
            Some(PROOFS_FILE)
        } else {
            None
        };
        if let Some(file) = differs {
            return Err(VerifyError::AggregateMismatch {
                file,
                at: format!("{:06}-0x{}", v.nonce, hex::encode(v.pubkey)),
            });
        }
    }
    Ok(())
}

fn verify_aggregates_only(
    dir: &Path,
    exp: &VerifyExpectations,
) -> Result<VerifiedCeremony, VerifyError> {
    let agg: Files<Vec<Vec<SignedProofJson>>> = read_files(dir)?;
    let count = agg.deposits.len();
    if agg.keyshares.shares.len() != count || agg.proofs.len() != count {
        return Err(invalid(
            &dir.display().to_string(),
            format!(
                "aggregate files disagree on the validator count: {count} deposits, {} keyshares, {} proof sets",
                agg.keyshares.shares.len(),
                agg.proofs.len()
            ),
        ));
    }
    check_count(dir, count, exp)?;
    let mut out: Vec<VerifiedValidator> = Vec::with_capacity(count);
    let mut seen = HashSet::new();
    for i in 0..count {
        let one = KeysharesJson {
            version: agg.keyshares.version.clone(),
            created_at: agg.keyshares.created_at.clone(),
            shares: vec![agg.keyshares.shares[i].clone()],
        };
        let at = format!("#{i} in {}", dir.display());
        let nonce = exp.nonce.map(|n| n + i as u64);
        let v = verify_validator(
            &at,
            None,
            nonce,
            &agg.deposits[i..=i],
            &one,
            &agg.proofs[i],
            exp,
        )?;
        if let Some(prev) = out.last()
            && v.nonce != prev.nonce + 1
        {
            return Err(VerifyError::NonceSequence {
                at,
                expected: prev.nonce + 1,
                got: v.nonce,
            });
        }
        if !seen.insert(v.pubkey) {
            return Err(VerifyError::DuplicateValidator {
                pubkey: hex::encode(v.pubkey),
            });
        }
        out.push(v);
    }
    Ok(VerifiedCeremony {
        dir: dir.to_owned(),
        layout: CeremonyLayout::AggregatesOnly,
        validators: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_names() {
        let pk = "ab".repeat(48);
        assert_eq!(
            parse_validator_dir_name(&format!("000001-0x{pk}")),
            Some((1, [0xab; 48]))
        );
        assert!(parse_validator_dir_name(&format!("000001-0x{}", "AB".repeat(48))).is_none());
        assert!(parse_validator_dir_name(&format!("x-0x{pk}")).is_none());
        assert!(parse_validator_dir_name("000001-0xab").is_none());
    }

    #[test]
    fn cli_version_compare() {
        assert!(deposit_cli_version_ok("2.7.0"));
        assert!(deposit_cli_version_ok("2.10.1"));
        assert!(!deposit_cli_version_ok("2.6.9"));
        assert!(!deposit_cli_version_ok("2.7"));
    }
}
