//! `dkg verify`: every check `ssv-dkg verify` (v3.1.0) makes on a ceremony folder, plus more:
//! both deposit roots are recomputed, the network is taken from the fork version and must match
//! the file's `network_name`, and each operator key must be in canonical encoding.
//!
//! Per validator: the deposit signature under the network's genesis fork version, the owner-nonce
//! signature over keccak256("<EIP-55 owner>:<nonce>"), the share public keys interpolating at
//! x = operator id to the validator key, `sharesData` slices equal to the proofs, and every
//! RSA-PSS proof signature under the operator key listed in keyshares.

use crate::crypto::bls::{self, Dst};
use crate::crypto::rsa_keys::OperatorPublicKey;
use crate::deposit::data::{
    DepositMessage, deposit_data_root, deposit_message_root, deposit_signing_root,
};
use crate::deposit::json::{DepositDataJson, parse_deposit_json};
use crate::dkg::outputs::{
    DEPOSIT_FILE, KEYSHARES_FILE, KeysharesJson, KeysharesShare, PROOFS_FILE, SignedProofJson,
};
use alloy::primitives::{Address, keccak256};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Deposit amount bounds ssv-dkg accepts (gwei).
pub const MIN_AMOUNT_GWEI: u64 = 32_000_000_000;
pub const MAX_AMOUNT_GWEI: u64 = 2_048_000_000_000;
const MIN_DEPOSIT_CLI_VERSION: [u64; 3] = [2, 7, 0];

/// Networks ssv-dkg (eth2-key-manager) maps genesis fork versions to.
pub const DKG_NETWORKS: [(&str, [u8; 4]); 5] = [
    ("mainnet", [0x00, 0x00, 0x00, 0x00]),
    ("holesky", [0x01, 0x01, 0x70, 0x00]),
    ("hoodi", [0x10, 0x00, 0x09, 0x10]),
    ("sepolia", [0x90, 0x00, 0x00, 0x69]),
    ("prater", [0x00, 0x00, 0x10, 0x20]),
];

/// Network name for a genesis fork version, if ssv-dkg knows it.
pub fn network_for_fork(fork: [u8; 4]) -> Option<&'static str> {
    DKG_NETWORKS
        .iter()
        .find(|(_, f)| *f == fork)
        .map(|(n, _)| *n)
}

/// Optional expectations; `None` means "whatever the files say, as long as they agree".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyExpectations {
    /// Number of validators (ssv-dkg's `--validators`).
    pub validators: Option<usize>,
    pub owner: Option<Address>,
    /// Nonce of the first validator; the others follow consecutively.
    pub nonce: Option<u64>,
    pub withdraw_address: Option<Address>,
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
    pub nonce: u64,
    pub pubkey: [u8; 48],
    pub owner: Address,
    pub operator_ids: Vec<u64>,
    pub withdrawal_credentials: [u8; 32],
    pub amount_gwei: u64,
    pub network: String,
    pub fork_version: [u8; 4],
    /// The folder, for the `Folders` layout.
    pub folder: Option<PathBuf>,
    pub deposit: DepositDataJson,
    pub keyshare: KeysharesShare,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCeremony {
    pub dir: PathBuf,
    pub layout: CeremonyLayout,
    /// Sorted by nonce.
    pub validators: Vec<VerifiedValidator>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} does not parse: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "ceremony folder {dir}: unexpected entry {name:?} (only <nonce>-0x<pubkey> folders and, for bulk, the three aggregate files belong there)"
    )]
    UnexpectedEntry { dir: PathBuf, name: String },
    #[error("ceremony folder {dir} holds no validator folders and no aggregate files")]
    NoValidators { dir: PathBuf },
    #[error(
        "ceremony folder {dir}: aggregate files are {present} but there are {count} validator folders"
    )]
    Aggregates {
        dir: PathBuf,
        present: &'static str,
        count: usize,
    },
    #[error("ceremony folder {dir}: expected {expected} validators, found {got}")]
    ValidatorCount {
        dir: PathBuf,
        expected: usize,
        got: usize,
    },
    #[error("validator {at}: {what}: expected {expected}, got {got}")]
    Mismatch {
        at: String,
        what: &'static str,
        expected: String,
        got: String,
    },
    #[error("validator {at}: {what}")]
    Invalid { at: String, what: String },
    #[error(
        "validator {at}: deposit signature does not verify for network {network} (fork {fork})"
    )]
    DepositSignature {
        at: String,
        network: String,
        fork: String,
    },
    #[error(
        "validator {at}: owner-nonce signature does not verify for owner {owner} nonce {nonce}"
    )]
    OwnerNonceSignature {
        at: String,
        owner: String,
        nonce: u64,
    },
    #[error(
        "validator {at}: share public keys do not interpolate (x = operator id) to the validator key"
    )]
    Interpolation { at: String },
    #[error("validator {at}: operator {operator}: {what}")]
    Operator {
        at: String,
        operator: u64,
        what: String,
    },
    #[error(
        "validator {at}: operator {operator}: RSA proof signature does not verify under the operator key in keyshares"
    )]
    ProofSignature { at: String, operator: u64 },
    #[error("aggregate {file} does not equal the per-validator files (validator {at})")]
    AggregateMismatch { file: &'static str, at: String },
    #[error("validator key 0x{pubkey} appears more than once")]
    DuplicateValidator { pubkey: String },
    #[error("nonces are not consecutive: validator {at} has nonce {got}, expected {expected}")]
    NonceSequence { at: String, expected: u64, got: u64 },
}

fn read(path: &Path) -> Result<String, VerifyError> {
    std::fs::read_to_string(path).map_err(|source| VerifyError::Read {
        path: path.to_owned(),
        source,
    })
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, VerifyError> {
    serde_json::from_str(text).map_err(|e| VerifyError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn read_deposits(path: &Path) -> Result<Vec<DepositDataJson>, VerifyError> {
    let text = read(path)?;
    check_deposit_hex_fields(path, &text)?;
    parse_deposit_json(&text, path).map_err(|e| VerifyError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// ssv-dkg requires exact hex lengths without `0x`; the shared parser tolerates a prefix.
fn check_deposit_hex_fields(path: &Path, text: &str) -> Result<(), VerifyError> {
    let v: serde_json::Value = parse(path, text)?;
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
                return Err(VerifyError::Parse {
                    path: path.to_owned(),
                    message: format!("field `{field}` must be {len} hex characters without 0x"),
                });
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

fn hex0x_bytes(at: &str, what: &'static str, s: &str) -> Result<Vec<u8>, VerifyError> {
    let raw = s.strip_prefix("0x").ok_or_else(|| VerifyError::Invalid {
        at: at.to_string(),
        what: format!("{what} must start with 0x"),
    })?;
    hex::decode(raw).map_err(|e| VerifyError::Invalid {
        at: at.to_string(),
        what: format!("{what} is not hex: {e}"),
    })
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
    if deposits.len() != 1 {
        return Err(mismatch(at, "deposit entries", 1, deposits.len()));
    }
    if keyshares.shares.len() != 1 {
        return Err(mismatch(at, "keyshares entries", 1, keyshares.shares.len()));
    }
    if keyshares.version != "v1.2.0" && keyshares.version != "v1.1.0" {
        return Err(mismatch(
            at,
            "keyshares version",
            "v1.1.0 or v1.2.0",
            &keyshares.version,
        ));
    }
    let deposit = &deposits[0];
    let share = &keyshares.shares[0];
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

    let (network, fork) = verify_deposit(at, deposit, exp)?;

    // Keyshares.
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
    let ids: Vec<u64> = share.data.operators.iter().map(|o| o.id).collect();
    if !ids.windows(2).all(|w| w[0] < w[1]) {
        return Err(VerifyError::Invalid {
            at: at.into(),
            what: format!("operator ids {ids:?} are not unique and ascending"),
        });
    }
    if ![4, 7, 10, 13].contains(&ids.len()) {
        return Err(VerifyError::Invalid {
            at: at.into(),
            what: format!("{} operators; a cluster has 4, 7, 10 or 13", ids.len()),
        });
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
    let owner: Address = share
        .data
        .owner_address
        .parse()
        .map_err(|_| VerifyError::Invalid {
            at: at.into(),
            what: format!(
                "ownerAddress {:?} is not an address",
                share.data.owner_address
            ),
        })?;
    let owner_checksummed = owner.to_checksum(None);
    if share.data.owner_address != owner_checksummed {
        return Err(mismatch(
            at,
            "ownerAddress (EIP-55)",
            &owner_checksummed,
            &share.data.owner_address,
        ));
    }
    if let Some(o) = exp.owner
        && o != owner
    {
        return Err(mismatch(
            at,
            "owner",
            o.to_checksum(None),
            &owner_checksummed,
        ));
    }
    if let Some(n) = nonce
        && n != share.data.owner_nonce
    {
        return Err(mismatch(at, "ownerNonce", n, share.data.owner_nonce));
    }
    let owner_nonce = share.data.owner_nonce;
    let n = ids.len();
    let shares_data = hex0x_bytes(at, "sharesData", &share.payload.shares_data)?;
    if shares_data.len() != 96 + 304 * n {
        return Err(mismatch(
            at,
            "sharesData length (bytes)",
            96 + 304 * n,
            shares_data.len(),
        ));
    }
    let sig = &shares_data[..96];
    let msg = keccak256(format!("{owner_checksummed}:{owner_nonce}").as_bytes());
    bls::verify(&pk, msg.as_slice(), sig, Dst::Pop).map_err(|_| {
        VerifyError::OwnerNonceSignature {
            at: at.into(),
            owner: owner_checksummed.clone(),
            nonce: owner_nonce,
        }
    })?;
    let share_pub = |i: usize| &shares_data[96 + 48 * i..96 + 48 * (i + 1)];
    let enc_share = |i: usize| &shares_data[96 + 48 * n + 256 * i..96 + 48 * n + 256 * (i + 1)];
    let mut points = Vec::with_capacity(n);
    for (i, id) in ids.iter().enumerate() {
        let mut p = [0u8; 48];
        p.copy_from_slice(share_pub(i));
        points.push((*id, p));
    }
    match bls::interpolate_g1(&points) {
        Ok(recovered) if recovered == pk => {}
        _ => return Err(VerifyError::Interpolation { at: at.into() }),
    }

    // Proofs.
    if proofs.len() != n {
        return Err(mismatch(at, "proof count", n, proofs.len()));
    }
    for (i, (op, sp)) in share.data.operators.iter().zip(proofs).enumerate() {
        let opr = |what: String| VerifyError::Operator {
            at: at.into(),
            operator: op.id,
            what,
        };
        let key = OperatorPublicKey::from_base64_pem(&op.operator_key)
            .map_err(|e| opr(format!("operatorKey does not parse: {e}")))?;
        if key.to_base64_pem() != op.operator_key {
            return Err(opr(
                "operatorKey is not in the canonical base64-PEM encoding".into(),
            ));
        }
        let p = &sp.proof;
        if p.validator != pk {
            return Err(opr("proof validator key differs from the deposit's".into()));
        }
        if p.owner != owner.as_slice() {
            return Err(opr(format!(
                "proof owner 0x{} differs from keyshares owner",
                hex::encode(&p.owner)
            )));
        }
        if p.share_pub != share_pub(i) {
            return Err(opr(
                "proof share_pub differs from the share public key in sharesData".into(),
            ));
        }
        if p.encrypted_share != enc_share(i) {
            return Err(opr(
                "proof encrypted_share differs from the encrypted share in sharesData".into(),
            ));
        }
        key.verify_pss(&p.hash_tree_root(), &sp.signature)
            .map_err(|_| VerifyError::ProofSignature {
                at: at.into(),
                operator: op.id,
            })?;
    }

    Ok(VerifiedValidator {
        nonce: owner_nonce,
        pubkey: pk,
        owner,
        operator_ids: ids,
        withdrawal_credentials: deposit.withdrawal_credentials,
        amount_gwei: deposit.amount,
        network: network.to_string(),
        fork_version: fork,
        folder: None,
        deposit: deposit.clone(),
        keyshare: share.clone(),
    })
}

fn verify_deposit(
    at: &str,
    d: &DepositDataJson,
    exp: &VerifyExpectations,
) -> Result<(&'static str, [u8; 4]), VerifyError> {
    if !(MIN_AMOUNT_GWEI..=MAX_AMOUNT_GWEI).contains(&d.amount) {
        return Err(mismatch(
            at,
            "deposit amount (gwei)",
            format!("{MIN_AMOUNT_GWEI}..={MAX_AMOUNT_GWEI}"),
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
        return Err(VerifyError::Invalid {
            at: at.into(),
            what: format!(
                "withdrawal credentials {} are not 0x01/0x02 execution-address credentials",
                hex::encode(wc)
            ),
        });
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
    let network = network_for_fork(d.fork_version).ok_or_else(|| VerifyError::Invalid {
        at: at.into(),
        what: format!(
            "fork_version {} is not a network ssv-dkg knows",
            hex::encode(d.fork_version)
        ),
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
    let msg = DepositMessage {
        pubkey: d.pubkey,
        withdrawal_credentials: wc,
        amount_gwei: d.amount,
    };
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
    let root = deposit_signing_root(&msg, d.fork_version);
    bls::verify(&d.pubkey, &root, &d.signature, Dst::Pop).map_err(|_| {
        VerifyError::DepositSignature {
            at: at.into(),
            network: network.into(),
            fork: hex::encode(d.fork_version),
        }
    })?;
    Ok((network, d.fork_version))
}

fn is_ignored(name: &str) -> bool {
    name == ".DS_Store" || name == "Thumbs.db"
}

/// Verifies a ceremony folder as `ssv-dkg verify --ceremonyDir` does (and more, see the module
/// docs). Accepts the per-validator layout and, for bulk runs whose folders were not kept, a folder
/// holding only the three aggregate files.
pub fn verify_ceremony_dir(
    dir: &Path,
    exp: &VerifyExpectations,
) -> Result<VerifiedCeremony, VerifyError> {
    let entries = std::fs::read_dir(dir).map_err(|source| VerifyError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut folders: Vec<(u64, [u8; 48], String)> = Vec::new();
    let mut aggregate_files = 0usize;
    for e in entries {
        let e = e.map_err(|source| VerifyError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let name = e.file_name().to_string_lossy().into_owned();
        if is_ignored(&name) {
            continue;
        }
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && let Some((nonce, pk)) = parse_validator_dir_name(&name) {
            folders.push((nonce, pk, name));
        } else if !is_dir && [DEPOSIT_FILE, KEYSHARES_FILE, PROOFS_FILE].contains(&name.as_str()) {
            aggregate_files += 1;
        } else {
            return Err(VerifyError::UnexpectedEntry {
                dir: dir.to_owned(),
                name,
            });
        }
    }
    folders.sort_by(|a, b| a.2.cmp(&b.2));

    if folders.is_empty() {
        if aggregate_files == 0 {
            return Err(VerifyError::NoValidators {
                dir: dir.to_owned(),
            });
        }
        return verify_aggregates_only(dir, exp);
    }
    let count = folders.len();
    match (count > 1, aggregate_files) {
        (true, 3) | (false, 0) => {}
        (true, _) => {
            return Err(VerifyError::Aggregates {
                dir: dir.to_owned(),
                present: "missing",
                count,
            });
        }
        (false, _) => {
            return Err(VerifyError::Aggregates {
                dir: dir.to_owned(),
                present: "present",
                count,
            });
        }
    }
    if let Some(want) = exp.validators
        && want != count
    {
        return Err(VerifyError::ValidatorCount {
            dir: dir.to_owned(),
            expected: want,
            got: count,
        });
    }

    let mut verified = Vec::with_capacity(count);
    let mut seen = HashSet::new();
    for (i, (nonce, pk, name)) in folders.iter().enumerate() {
        if let Some(first) = exp.nonce {
            let want = first + i as u64;
            if *nonce != want {
                return Err(VerifyError::NonceSequence {
                    at: name.clone(),
                    expected: want,
                    got: *nonce,
                });
            }
        } else if i > 0 && *nonce != folders[0].0 + i as u64 {
            return Err(VerifyError::NonceSequence {
                at: name.clone(),
                expected: folders[0].0 + i as u64,
                got: *nonce,
            });
        }
        let fdir = dir.join(name);
        let deposits = read_deposits(&fdir.join(DEPOSIT_FILE))?;
        let kp = fdir.join(KEYSHARES_FILE);
        let keyshares: KeysharesJson = parse(&kp, &read(&kp)?)?;
        let pp = fdir.join(PROOFS_FILE);
        let proofs: Vec<SignedProofJson> = parse(&pp, &read(&pp)?)?;
        let mut v = verify_validator(
            name,
            Some(*pk),
            Some(*nonce),
            &deposits,
            &keyshares,
            &proofs,
            exp,
        )?;
        if !seen.insert(v.pubkey) {
            return Err(VerifyError::DuplicateValidator {
                pubkey: hex::encode(v.pubkey),
            });
        }
        v.folder = Some(fdir);
        verified.push((v, proofs));
    }

    if count > 1 {
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
    let deposits = read_deposits(&dir.join(DEPOSIT_FILE))?;
    let kp = dir.join(KEYSHARES_FILE);
    let keyshares: KeysharesJson = parse(&kp, &read(&kp)?)?;
    let pp = dir.join(PROOFS_FILE);
    let proofs: Vec<Vec<SignedProofJson>> = parse(&pp, &read(&pp)?)?;
    let n = verified.len();
    if deposits.len() != n || keyshares.shares.len() != n || proofs.len() != n {
        return Err(VerifyError::AggregateMismatch {
            file: "aggregate files",
            at: format!("count {n}"),
        });
    }
    for (i, (v, vp)) in verified.iter().enumerate() {
        let at = || format!("{:06}-0x{}", v.nonce, hex::encode(v.pubkey));
        if deposits[i] != v.deposit {
            return Err(VerifyError::AggregateMismatch {
                file: DEPOSIT_FILE,
                at: at(),
            });
        }
        if keyshares.shares[i] != v.keyshare {
            return Err(VerifyError::AggregateMismatch {
                file: KEYSHARES_FILE,
                at: at(),
            });
        }
        if &proofs[i] != vp {
            return Err(VerifyError::AggregateMismatch {
                file: PROOFS_FILE,
                at: at(),
            });
        }
    }
    Ok(())
}

fn verify_aggregates_only(
    dir: &Path,
    exp: &VerifyExpectations,
) -> Result<VerifiedCeremony, VerifyError> {
    let deposits = read_deposits(&dir.join(DEPOSIT_FILE))?;
    let kp = dir.join(KEYSHARES_FILE);
    let keyshares: KeysharesJson = parse(&kp, &read(&kp)?)?;
    let pp = dir.join(PROOFS_FILE);
    let proofs: Vec<Vec<SignedProofJson>> = parse(&pp, &read(&pp)?)?;
    let count = deposits.len();
    if keyshares.shares.len() != count || proofs.len() != count {
        return Err(VerifyError::Invalid {
            at: dir.display().to_string(),
            what: format!(
                "aggregate files disagree on the validator count: {count} deposits, {} keyshares, {} proof sets",
                keyshares.shares.len(),
                proofs.len()
            ),
        });
    }
    if let Some(want) = exp.validators
        && want != count
    {
        return Err(VerifyError::ValidatorCount {
            dir: dir.to_owned(),
            expected: want,
            got: count,
        });
    }
    let mut out: Vec<VerifiedValidator> = Vec::with_capacity(count);
    let mut seen = HashSet::new();
    for i in 0..count {
        let one = KeysharesJson {
            version: keyshares.version.clone(),
            created_at: keyshares.created_at.clone(),
            shares: vec![keyshares.shares[i].clone()],
        };
        let at = format!("#{i} in {}", dir.display());
        let nonce = exp.nonce.map(|n| n + i as u64);
        let v = verify_validator(&at, None, nonce, &deposits[i..=i], &one, &proofs[i], exp)?;
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
