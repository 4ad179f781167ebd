//! The files an ssv-dkg v3.1.0 initiator writes, byte for byte: serde types for
//! `deposit_data.json`, `keyshares.json` and `proofs.json`, the folder names, and a writer.
//!
//! Layout (notes §6.1):
//! ```text
//! <output>/ceremony-YYYY-MM-DD--HH-MM-SS.mmm/
//!     <nonce %06d>-0x<validator pubkey>/{deposit_data.json, keyshares.json, proofs.json}
//!     deposit_data.json keyshares.json proofs.json   (aggregates, only for more than one validator)
//! ```
//! Files are compact one-line JSON with a trailing newline (Go's `json.Encoder`), keys in Go
//! struct order, mode 0600, directories 0750.

use crate::deposit::json::{DepositDataJson, to_deposit_json};
use crate::dkg::wire::SignedProof;
use crate::dkg::wire::proof_root::proof_root_of;
use crate::ssv::keyshares::KeysharesJson;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The deposit data file ssv-dkg writes (per validator and aggregate).
pub const DEPOSIT_FILE: &str = "deposit_data.json";
/// The keyshares file ssv-dkg writes (per validator and aggregate).
pub const KEYSHARES_FILE: &str = "keyshares.json";
/// The proofs file ssv-dkg writes (per validator and aggregate).
pub const PROOFS_FILE: &str = "proofs.json";

/// Why a ceremony could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A folder could not be created.
    #[error("cannot create directory {path}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written atomically.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The journal's error.
        #[source]
        source: crate::journal::JournalError,
    },
    /// The hidden folder could not be filled or renamed into place.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    /// A file could not be serialised.
    #[error("cannot serialise {file}")]
    Serialise {
        /// The file name.
        file: &'static str,
        /// The serialiser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A ceremony without validators.
    #[error("no validators to write")]
    Empty,
    /// A validator whose files do not hold exactly one deposit and one keyshares item.
    #[error("validator with nonce {nonce}: its {file} must hold exactly one entry, it holds {got}")]
    NotSingle {
        /// The validator's owner nonce.
        nonce: u64,
        /// The file.
        file: &'static str,
        /// Entries it holds.
        got: usize,
    },
}

/// dkg-spec `Proof`, hex without `0x` on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofJson {
    /// The validator public key (48 bytes).
    #[serde(with = "hex_plain")]
    pub validator: Vec<u8>,
    /// The operator's encrypted share (256 bytes).
    #[serde(with = "hex_plain")]
    pub encrypted_share: Vec<u8>,
    /// The share's public key (48 bytes).
    #[serde(with = "hex_plain")]
    pub share_pub: Vec<u8>,
    /// The cluster owner (20 bytes).
    #[serde(with = "hex_plain")]
    pub owner: Vec<u8>,
}

/// dkg-spec `SignedProof`: the proof and the operator's RSA-PSS signature over its root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedProofJson {
    /// The proof.
    pub proof: ProofJson,
    /// RSA-PSS-SHA256 signature over [`ProofJson::hash_tree_root`] (256 bytes).
    #[serde(with = "hex_plain")]
    pub signature: Vec<u8>,
}

mod hex_plain {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(&s).map_err(serde::de::Error::custom)
    }
}

impl ProofJson {
    /// SSZ hash-tree-root of dkg-spec `Proof`, the message the operator's RSA-PSS signature
    /// covers ([`proof_root_of`] over the fields as the file holds them).
    pub fn hash_tree_root(&self) -> [u8; 32] {
        proof_root_of(
            &self.validator,
            &self.encrypted_share,
            &self.share_pub,
            &self.owner,
        )
    }
}

impl From<&SignedProof> for SignedProofJson {
    fn from(sp: &SignedProof) -> Self {
        let p = &sp.proof;
        Self {
            proof: ProofJson {
                validator: p.validator_pubkey.to_vec(),
                encrypted_share: p.encrypted_share.clone(),
                share_pub: p.share_pubkey.to_vec(),
                owner: p.owner.to_vec(),
            },
            signature: sp.signature.to_vec(),
        }
    }
}

/// Everything written for one validator.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatorFiles {
    /// The owner nonce the shares are signed for (the folder name's number).
    pub nonce: u64,
    /// The validator public key.
    pub pubkey: [u8; 48],
    /// Exactly one entry.
    pub deposit: Vec<DepositDataJson>,
    /// Exactly one share.
    pub keyshares: KeysharesJson,
    /// One per operator, ascending operator id.
    pub proofs: Vec<SignedProofJson>,
}

/// `<nonce %06d>-0x<pubkey hex>`.
pub fn validator_dir_name(nonce: u64, pubkey: &[u8; 48]) -> String {
    format!("{nonce:06}-0x{}", hex::encode(pubkey))
}

/// `ceremony-YYYY-MM-DD--HH-MM-SS.mmm` in UTC.
pub fn ceremony_dir_name(t: SystemTime) -> String {
    let (date, hms, nanos) = civil_utc(t);
    format!(
        "ceremony-{date}--{}.{:03}",
        hms.replace(':', "-"),
        nanos / 1_000_000
    )
}

/// Go's `time.RFC3339Nano` for a UTC time: fraction with trailing zeros trimmed, `Z` suffix.
pub fn go_rfc3339_nano(t: SystemTime) -> String {
    let (date, hms, nanos) = civil_utc(t);
    if nanos == 0 {
        return format!("{date}T{hms}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{date}T{hms}.{}Z", frac.trim_end_matches('0'))
}

/// (YYYY-MM-DD, HH:MM:SS, nanoseconds) of a UTC time; times before 1970 clamp to the epoch.
fn civil_utc(t: SystemTime) -> (String, String, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days-to-civil conversion (proleptic Gregorian), era-based.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, (rem / 60) % 60, rem % 60),
        d.subsec_nanos(),
    )
}

/// Compact JSON plus newline, as Go's `json.NewEncoder(f).Encode(v)` writes it.
pub fn to_go_json<T: Serialize>(v: &T, file: &'static str) -> Result<String, OutputError> {
    let mut s =
        serde_json::to_string(v).map_err(|source| OutputError::Serialise { file, source })?;
    s.push('\n');
    Ok(s)
}

fn write_file(path: &Path, text: &str) -> Result<(), OutputError> {
    crate::journal::write_atomic(path, text.as_bytes(), 0o600).map_err(|source| {
        OutputError::Write {
            path: path.to_owned(),
            source,
        }
    })
}

fn create_dir(path: &Path) -> Result<(), OutputError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o750);
    }
    b.create(path).map_err(|source| OutputError::CreateDir {
        path: path.to_owned(),
        source,
    })
}

fn check_single(v: &ValidatorFiles) -> Result<(), OutputError> {
    if v.deposit.len() != 1 {
        return Err(OutputError::NotSingle {
            nonce: v.nonce,
            file: DEPOSIT_FILE,
            got: v.deposit.len(),
        });
    }
    if v.keyshares.shares.len() != 1 {
        return Err(OutputError::NotSingle {
            nonce: v.nonce,
            file: KEYSHARES_FILE,
            got: v.keyshares.shares.len(),
        });
    }
    Ok(())
}

/// Writes one validator's three files into `parent/<nonce>-0x<pubkey>/` (created if missing;
/// other files there, such as a state file, are left alone). Returns the folder.
pub fn write_validator_dir(parent: &Path, v: &ValidatorFiles) -> Result<PathBuf, OutputError> {
    check_single(v)?;
    let dir = parent.join(validator_dir_name(v.nonce, &v.pubkey));
    create_dir(&dir)?;
    write_validator_files(&dir, v)?;
    Ok(dir)
}

/// Creates `parent/<nonce>-0x<pubkey>/` with the three files whole or not at all
/// (`journal::write_dir_atomic`). Returns the folder.
pub fn write_validator_dir_atomic(
    parent: &Path,
    v: &ValidatorFiles,
) -> Result<PathBuf, OutputError> {
    check_single(v)?;
    let dir = parent.join(validator_dir_name(v.nonce, &v.pubkey));
    crate::journal::write_dir_atomic(&dir, |tmp| write_validator_files(tmp, v))?;
    Ok(dir)
}

fn write_validator_files(dir: &Path, v: &ValidatorFiles) -> Result<(), OutputError> {
    write_file(&dir.join(DEPOSIT_FILE), &to_deposit_json(&v.deposit))?;
    write_file(
        &dir.join(KEYSHARES_FILE),
        &to_go_json(&v.keyshares, KEYSHARES_FILE)?,
    )?;
    write_file(&dir.join(PROOFS_FILE), &to_go_json(&v.proofs, PROOFS_FILE)?)
}

/// The three aggregate files' contents for a bulk ceremony (validators in the given order).
pub fn aggregates(
    validators: &[ValidatorFiles],
    created_at: &str,
) -> (
    Vec<DepositDataJson>,
    KeysharesJson,
    Vec<Vec<SignedProofJson>>,
) {
    let deposits = validators
        .iter()
        .flat_map(|v| v.deposit.iter().cloned())
        .collect();
    let keyshares = KeysharesJson::new(
        created_at.to_string(),
        validators
            .iter()
            .flat_map(|v| v.keyshares.shares.iter().cloned())
            .collect(),
    );
    let proofs = validators.iter().map(|v| v.proofs.clone()).collect();
    (deposits, keyshares, proofs)
}

/// Writes the three aggregate files of a bulk ceremony into `dir`.
pub fn write_aggregates(
    dir: &Path,
    deposits: &[DepositDataJson],
    keyshares: &KeysharesJson,
    proofs: &[Vec<SignedProofJson>],
) -> Result<(), OutputError> {
    write_file(&dir.join(DEPOSIT_FILE), &to_deposit_json(deposits))?;
    write_file(
        &dir.join(KEYSHARES_FILE),
        &to_go_json(keyshares, KEYSHARES_FILE)?,
    )?;
    write_file(&dir.join(PROOFS_FILE), &to_go_json(&proofs, PROOFS_FILE)?)
}

/// Writes a whole ceremony under `output_path/ceremony-<now>/`: one folder per validator (sorted
/// by nonce) and, for more than one validator, the aggregate files. The folder is filled under a
/// hidden temporary name and renamed at the end, so a failure never leaves a complete-looking
/// ceremony behind. Returns the ceremony folder.
pub fn write_ceremony(
    output_path: &Path,
    validators: &[ValidatorFiles],
) -> Result<PathBuf, OutputError> {
    let now = SystemTime::now();
    write_ceremony_named(
        output_path,
        &ceremony_dir_name(now),
        validators,
        &go_rfc3339_nano(now),
    )
}

/// [`write_ceremony`] with an explicit folder name and aggregate `createdAt`.
pub fn write_ceremony_named(
    output_path: &Path,
    name: &str,
    validators: &[ValidatorFiles],
    aggregate_created_at: &str,
) -> Result<PathBuf, OutputError> {
    if validators.is_empty() {
        return Err(OutputError::Empty);
    }
    let mut sorted: Vec<&ValidatorFiles> = validators.iter().collect();
    sorted.sort_by_key(|v| v.nonce);
    for v in &sorted {
        check_single(v)?;
    }
    create_dir(output_path)?;
    let final_dir = output_path.join(name);
    crate::journal::write_dir_atomic(&final_dir, |tmp| {
        for v in &sorted {
            write_validator_dir(tmp, v)?;
        }
        if sorted.len() > 1 {
            let owned: Vec<ValidatorFiles> = sorted.iter().map(|v| (*v).clone()).collect();
            let (d, k, p) = aggregates(&owned, aggregate_created_at);
            write_aggregates(tmp, &d, &k, &p)?;
        }
        Ok::<(), OutputError>(())
    })?;
    Ok(final_dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn time_formats_match_go() {
        // 2024-10-21T09:56:54.354903Z, the createdAt of the 4-operator vector.
        let t = UNIX_EPOCH + Duration::new(1_729_504_614, 354_903_000);
        assert_eq!(go_rfc3339_nano(t), "2024-10-21T09:56:54.354903Z");
        assert_eq!(ceremony_dir_name(t), "ceremony-2024-10-21--09-56-54.354");
        assert_eq!(
            go_rfc3339_nano(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn folder_name() {
        assert_eq!(
            validator_dir_name(7, &[0xab; 48]),
            format!("000007-0x{}", "ab".repeat(48))
        );
        assert_eq!(
            validator_dir_name(1_234_567, &[0; 48]).split('-').next(),
            Some("1234567")
        );
    }
}
