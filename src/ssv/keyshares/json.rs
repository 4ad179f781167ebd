//! The keyshares JSON model: one serde type per JSON object of `keyshares.json`, shared by the DKG
//! writer (whose output must stay byte-identical to ssv-dkg's), `dkg verify` and the registration
//! checks; and the detection of which layout a file uses.
//!
//! Layouts (see `../shared/notes/ssv-contracts.md` §6): the current wrapper
//! `{version, createdAt, shares: [item]}` written by ssv-dkg and ssv-sdk, the older single-item form
//! `{version, createdAt, data, payload}`, and a bare `{data, payload}` item. Only `v1.1.0` and
//! `v1.2.0` carry the owner signature the nodes require; older versions are refused.
//!
//! Field order in the structs is Go's struct order in ssv-dkg, so `serde_json` writes the same
//! bytes. Reading is lenient about unknown fields (other tools may add some);
//! [`KeysharesJson::from_slice_exact`] is the strict reading `dkg verify` uses.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::KeysharesError;

/// The `version` ssv-dkg v3 writes into `keyshares.json`.
pub const KEYSHARES_VERSION: &str = "v1.2.0";

/// Versions whose `sharesData` starts with the owner-nonce signature.
pub const SUPPORTED_VERSIONS: [&str; 2] = ["v1.1.0", "v1.2.0"];

/// Which of the accepted layouts a file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `{version, createdAt, shares: [...]}`.
    Wrapper,
    /// `{version, createdAt, data, payload}` (ssv-keys 1.0.x).
    LegacySingleItem,
    /// `{data, payload}` without a version.
    BareItem,
}

/// One operator entry of `data.operators`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorEntry {
    /// The operator's id in the SSVNetwork registry.
    pub id: u64,
    /// Base64 of the operator's PEM public key (what `registerOperator` stored on chain).
    pub operator_key: String,
}

/// `data` of a keyshares item: who owns it and with which operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemData {
    /// Owner nonce the signature in `sharesData` commits to.
    pub owner_nonce: u64,
    /// Owner address: lower case or EIP-55 when read; ssv-dkg writes EIP-55.
    pub owner_address: String,
    /// The validator public key, `0x` + 96 hex digits.
    pub public_key: String,
    /// The operators holding the shares (ssv-dkg writes them by ascending id).
    pub operators: Vec<OperatorEntry>,
}

/// `payload`: exactly the `registerValidator` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPayload {
    /// The validator public key, `0x` + 96 hex digits.
    pub public_key: String,
    /// Strictly ascending operator ids.
    pub operator_ids: Vec<u64>,
    /// `0x` + hex of the [`SharesData`](super::SharesData) bytes.
    pub shares_data: String,
}

/// One validator's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysharesItem {
    /// Ownership and operators.
    pub data: ItemData,
    /// Registration arguments.
    pub payload: ItemPayload,
}

/// The wrapper object `{version, createdAt, shares}`: what ssv-dkg writes and reads back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeysharesJson {
    /// Format version, [`KEYSHARES_VERSION`] when written here.
    pub version: String,
    /// Creation time as Go's `time.RFC3339Nano` in UTC.
    pub created_at: String,
    /// One item per validator, in nonce order.
    pub shares: Vec<KeysharesItem>,
}

impl KeysharesJson {
    /// A [`KEYSHARES_VERSION`] file with the given `createdAt`.
    pub fn new(created_at: String, shares: Vec<KeysharesItem>) -> Self {
        Self {
            version: KEYSHARES_VERSION.to_string(),
            created_at,
            shares,
        }
    }

    /// Parses a wrapper file as ssv-dkg writes it, refusing any field the model does not have
    /// (`dkg verify` and the operator's `/results` check are stricter than the registration
    /// checks, which accept what other tools add).
    pub fn from_slice_exact(bytes: &[u8]) -> Result<Self, ExactJsonError> {
        from_slice_exact(bytes)
    }
}

/// Why a file is not exactly the JSON its model writes.
#[derive(Debug, thiserror::Error)]
pub enum ExactJsonError {
    /// Not JSON, or not of the model's shape.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A field the model does not know (`path` is a JSON pointer such as `/shares/0/data/extra`).
    #[error("unknown field `{path}`")]
    UnknownField {
        /// JSON pointer of the field.
        path: String,
    },
}

/// Parses `bytes` as `T` and refuses fields `T` does not serialise: the parsed value is written
/// back and every object key of the input must reappear. Used for ssv-dkg's files, which carry
/// exactly their model's fields.
pub fn from_slice_exact<T: DeserializeOwned + Serialize>(
    bytes: &[u8],
) -> Result<T, ExactJsonError> {
    let input: serde_json::Value = serde_json::from_slice(bytes)?;
    let typed: T = serde_json::from_value(input.clone())?;
    let written = serde_json::to_value(&typed)?;
    match first_unknown(&input, &written, String::new()) {
        Some(path) => Err(ExactJsonError::UnknownField { path }),
        None => Ok(typed),
    }
}

/// The JSON pointer of the first object key in `input` that `written` lacks.
fn first_unknown(
    input: &serde_json::Value,
    written: &serde_json::Value,
    at: String,
) -> Option<String> {
    use serde_json::Value;
    match (input, written) {
        (Value::Object(a), Value::Object(b)) => a.iter().find_map(|(k, v)| {
            let path = format!("{at}/{k}");
            match b.get(k) {
                Some(w) => first_unknown(v, w, path),
                None => Some(path),
            }
        }),
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (v, w))| first_unknown(v, w, format!("{at}/{i}"))),
        _ => None,
    }
}

/// A parsed keyshares file, whatever its layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysharesFile {
    /// The layout found.
    pub layout: Layout,
    /// `version`, absent for a bare item.
    pub version: Option<String>,
    /// `createdAt`, if present.
    pub created_at: Option<String>,
    /// The items in file order.
    pub shares: Vec<KeysharesItem>,
}

/// The union of the three layouts' top-level fields, to tell them apart.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    version: Option<String>,
    created_at: Option<String>,
    shares: Option<Vec<KeysharesItem>>,
    data: Option<ItemData>,
    payload: Option<ItemPayload>,
}

impl KeysharesFile {
    /// Parses any accepted layout; refuses unknown versions and files with no item.
    pub fn parse(json: &str) -> Result<Self, KeysharesError> {
        let env: Envelope = serde_json::from_str(json).map_err(KeysharesError::Json)?;
        if let Some(v) = &env.version
            && !SUPPORTED_VERSIONS.contains(&v.as_str())
        {
            return Err(KeysharesError::UnsupportedVersion(v.clone()));
        }
        let (layout, shares) = match (env.shares, env.data, env.payload) {
            (Some(shares), None, None) => {
                if env.version.is_none() {
                    return Err(KeysharesError::MissingVersion);
                }
                (Layout::Wrapper, shares)
            }
            (None, Some(data), Some(payload)) => {
                let layout = if env.version.is_some() {
                    Layout::LegacySingleItem
                } else {
                    Layout::BareItem
                };
                (layout, vec![KeysharesItem { data, payload }])
            }
            _ => return Err(KeysharesError::UnknownLayout),
        };
        if shares.is_empty() {
            return Err(KeysharesError::NoShares);
        }
        Ok(Self {
            layout,
            version: env.version,
            created_at: env.created_at,
            shares,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_reading_names_the_unknown_field() {
        let item = r#"{"data":{"ownerNonce":1,"ownerAddress":"0x00","publicKey":"0x","operators":[{"id":1,"operatorKey":"k"}]},"payload":{"publicKey":"0x","operatorIds":[1],"sharesData":"0x"}}"#;
        let good = format!(r#"{{"version":"v1.2.0","createdAt":"t","shares":[{item}]}}"#);
        let parsed = KeysharesJson::from_slice_exact(good.as_bytes()).expect("exact");
        assert_eq!(serde_json::to_string(&parsed).expect("json"), good);
        let extra = good.replace(r#""id":1,"#, r#""id":1,"extra":true,"#);
        match KeysharesJson::from_slice_exact(extra.as_bytes()) {
            Err(ExactJsonError::UnknownField { path }) => {
                assert_eq!(path, "/shares/0/data/operators/0/extra");
            }
            other => panic!("{other:?}"),
        }
        // The lenient reading of the registration checks takes the same text.
        assert_eq!(
            KeysharesFile::parse(&extra).expect("lenient").shares,
            parsed.shares
        );
    }
}
