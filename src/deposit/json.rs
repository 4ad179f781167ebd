//! `deposit_data.json` entries in the layout ssv-dkg and staking-deposit-cli write: an array of
//! objects, hex without `0x`, `amount` a JSON number, keys in a fixed order, compact one-line JSON.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};

use super::data::{DepositMessage, deposit_data_root, deposit_message_root};

/// The `deposit_cli_version` ssv-dkg writes (it checks `>= 2.7.0` when verifying).
pub const DEPOSIT_CLI_VERSION: &str = "2.7.0";

/// One entry of `deposit_data.json`. Field order here is the file's key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawDepositDataJson")]
pub struct DepositDataJson {
    /// Validator public key.
    #[serde(serialize_with = "ser_hex")]
    pub pubkey: [u8; 48],
    /// Withdrawal credentials.
    #[serde(serialize_with = "ser_hex")]
    pub withdrawal_credentials: [u8; 32],
    /// Amount in gwei.
    pub amount: u64,
    /// BLS signature over the deposit signing root.
    #[serde(serialize_with = "ser_hex")]
    pub signature: [u8; 96],
    /// `hash_tree_root(DepositMessage)` as claimed by the file.
    #[serde(serialize_with = "ser_hex")]
    pub deposit_message_root: [u8; 32],
    /// `hash_tree_root(DepositData)` as claimed by the file.
    #[serde(serialize_with = "ser_hex")]
    pub deposit_data_root: [u8; 32],
    /// Genesis fork version the signature claims to be made for.
    #[serde(serialize_with = "ser_hex")]
    pub fork_version: [u8; 4],
    /// `mainnet`, `hoodi`, `holesky`, ...
    pub network_name: String,
    /// Writer version string.
    pub deposit_cli_version: String,
}

impl DepositDataJson {
    /// An entry for a signed message, with both roots computed here.
    pub fn new(
        msg: &DepositMessage,
        signature: &[u8; 96],
        fork_version: [u8; 4],
        network_name: &str,
    ) -> Self {
        Self {
            pubkey: msg.pubkey,
            withdrawal_credentials: msg.withdrawal_credentials,
            amount: msg.amount_gwei,
            signature: *signature,
            deposit_message_root: deposit_message_root(msg),
            deposit_data_root: deposit_data_root(msg, signature),
            fork_version,
            network_name: network_name.to_string(),
            deposit_cli_version: DEPOSIT_CLI_VERSION.to_string(),
        }
    }

    /// The signed message this entry describes.
    pub fn message(&self) -> DepositMessage {
        DepositMessage {
            pubkey: self.pubkey,
            withdrawal_credentials: self.withdrawal_credentials,
            amount_gwei: self.amount,
        }
    }

    /// `0x`-prefixed lowercase pubkey, the form the Beacon API and state files use.
    pub fn pubkey_hex(&self) -> String {
        format!("0x{}", hex::encode(self.pubkey))
    }
}

/// A `deposit_data.json` that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum DepositFileError {
    /// The file could not be read.
    #[error("cannot read deposit file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The io error.
        source: std::io::Error,
    },
    /// Not a JSON array of deposit entries (serde names the field and position).
    #[error("deposit file {path} is not valid deposit data: {source}")]
    Parse {
        /// The file (or `<text>` when parsed from a string).
        path: PathBuf,
        /// What went wrong, including the field.
        #[source]
        source: serde_json::Error,
    },
    /// An empty array.
    #[error("deposit file {0} holds no deposit entries")]
    Empty(PathBuf),
    /// The file could not be written.
    #[error("cannot write deposit file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The journal's error.
        #[source]
        source: crate::journal::JournalError,
    },
}

/// Parses the text of a `deposit_data.json`; `origin` names it in errors.
pub fn parse_deposit_json(
    text: &str,
    origin: &Path,
) -> Result<Vec<DepositDataJson>, DepositFileError> {
    let entries: Vec<DepositDataJson> =
        serde_json::from_str(text).map_err(|source| DepositFileError::Parse {
            path: origin.to_owned(),
            source,
        })?;
    if entries.is_empty() {
        return Err(DepositFileError::Empty(origin.to_owned()));
    }
    Ok(entries)
}

/// Reads and parses a `deposit_data.json`.
pub fn read_deposit_file(path: &Path) -> Result<Vec<DepositDataJson>, DepositFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| DepositFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_deposit_json(&text, path)
}

/// The file text as ssv-dkg writes it: compact JSON array and a trailing newline.
pub fn to_deposit_json(entries: &[DepositDataJson]) -> String {
    // Serialising plain strings, numbers and arrays cannot fail.
    let mut s = serde_json::to_string(entries).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes `deposit_data.json` atomically (public data; mode 0644 like ssv-dkg's readable output).
pub fn write_deposit_file(
    path: &Path,
    entries: &[DepositDataJson],
) -> Result<(), DepositFileError> {
    crate::journal::write_atomic(path, to_deposit_json(entries).as_bytes(), 0o644).map_err(
        |source| DepositFileError::Write {
            path: path.to_owned(),
            source,
        },
    )
}

fn ser_hex<S: Serializer, const N: usize>(bytes: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

// Read as strings first so a bad value is reported with its field name and expected length.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepositDataJson {
    pubkey: String,
    withdrawal_credentials: String,
    amount: u64,
    signature: String,
    deposit_message_root: String,
    deposit_data_root: String,
    fork_version: String,
    network_name: String,
    deposit_cli_version: String,
}

fn field_hex<const N: usize>(field: &str, value: &str) -> Result<[u8; N], String> {
    let raw = value.strip_prefix("0x").unwrap_or(value);
    if raw.len() != 2 * N {
        return Err(format!(
            "field `{field}`: expected {N} bytes ({} hex characters), got {} characters",
            2 * N,
            raw.len()
        ));
    }
    let bytes = hex::decode(raw).map_err(|e| format!("field `{field}`: not hex ({e})"))?;
    bytes
        .try_into()
        .map_err(|_| format!("field `{field}`: expected {N} bytes"))
}

impl TryFrom<RawDepositDataJson> for DepositDataJson {
    type Error = String;

    fn try_from(r: RawDepositDataJson) -> Result<Self, String> {
        Ok(Self {
            pubkey: field_hex("pubkey", &r.pubkey)?,
            withdrawal_credentials: field_hex("withdrawal_credentials", &r.withdrawal_credentials)?,
            amount: r.amount,
            signature: field_hex("signature", &r.signature)?,
            deposit_message_root: field_hex("deposit_message_root", &r.deposit_message_root)?,
            deposit_data_root: field_hex("deposit_data_root", &r.deposit_data_root)?,
            fork_version: field_hex("fork_version", &r.fork_version)?,
            network_name: r.network_name,
            deposit_cli_version: r.deposit_cli_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_4OP: &str = "../shared/vectors/ssv-dkg/integration_test/stubs/bulk/4/ceremony-2024-10-21--09-56-54.375/000001-0x801bca4e379a2e240ed004acbe8f905a0a43f3322faa251fbb9c8d4d49af8ba9c669e930ea7caa234cb7d537d600e9ee/deposit_data.json";

    #[test]
    fn vector_round_trips_byte_for_byte() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(VECTOR_4OP);
        let text = std::fs::read_to_string(&path).expect("../shared vectors present");
        let entries = parse_deposit_json(&text, &path).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(to_deposit_json(&entries), text);
        // new() recomputes both roots; they must equal the ones ssv-dkg wrote.
        let e = &entries[0];
        let rebuilt =
            DepositDataJson::new(&e.message(), &e.signature, e.fork_version, &e.network_name);
        assert_eq!(&rebuilt, e);
    }

    #[test]
    fn bad_field_is_named_with_expected_length() {
        let text = r#"[{"pubkey":"abcd","withdrawal_credentials":"00","amount":1,"signature":"00","deposit_message_root":"00","deposit_data_root":"00","fork_version":"00000000","network_name":"mainnet","deposit_cli_version":"2.7.0"}]"#;
        let err = parse_deposit_json(text, Path::new("x.json"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`pubkey`") && err.contains("96 hex characters") && err.contains("x.json"),
            "{err}"
        );
        let err = parse_deposit_json("[]", Path::new("y.json")).unwrap_err();
        assert!(matches!(err, DepositFileError::Empty(_)), "{err}");
    }
}
