//! The keyshares JSON layouts as they appear on disk, and the detection of which one a file uses.
//!
//! Layouts (see `../shared/notes/ssv-contracts.md` §6): the current wrapper
//! `{version, createdAt, shares: [item]}` written by ssv-dkg and ssv-sdk, the older single-item form
//! `{version, createdAt, data, payload}`, and a bare `{data, payload}` item. Only `v1.1.0` and
//! `v1.2.0` carry the owner signature the nodes require; older versions are refused.

use serde::{Deserialize, Serialize};

use super::KeysharesError;

/// Versions whose `sharesData` starts with the owner-nonce signature.
pub const SUPPORTED_VERSIONS: [&str; 2] = ["v1.1.0", "v1.2.0"];

/// Which of the accepted layouts a file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
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
    /// Operator id.
    pub id: u64,
    /// Base64 of the operator's PEM public key.
    pub operator_key: String,
}

/// `data` of a keyshares item: who owns it and with which operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemData {
    /// Owner nonce the signature commits to.
    pub owner_nonce: u64,
    /// Owner address (lower case or EIP-55).
    pub owner_address: String,
    /// 0x-prefixed validator public key.
    pub public_key: String,
    /// The operators holding the shares.
    pub operators: Vec<OperatorEntry>,
}

/// `payload`: exactly the `registerValidator` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPayload {
    /// 0x-prefixed validator public key.
    pub public_key: String,
    /// Sorted operator ids.
    pub operator_ids: Vec<u64>,
    /// 0x-prefixed `signature ‖ share pubkeys ‖ encrypted shares`.
    pub shares_data: String,
}

/// One validator's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysharesItemJson {
    /// Ownership and operators.
    pub data: ItemData,
    /// Registration arguments.
    pub payload: ItemPayload,
}

/// A parsed keyshares file, whatever its layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeysharesFile {
    /// The layout found.
    pub layout: Layout,
    /// `version`, absent for a bare item.
    pub version: Option<String>,
    /// `createdAt`, if present.
    pub created_at: Option<String>,
    /// The items in file order.
    pub shares: Vec<KeysharesItemJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    version: Option<String>,
    created_at: Option<String>,
    shares: Option<Vec<KeysharesItemJson>>,
    data: Option<ItemData>,
    payload: Option<ItemPayload>,
}

impl KeysharesFile {
    /// Parses any accepted layout; refuses unknown versions and files with no item.
    pub fn parse(json: &str) -> Result<Self, KeysharesError> {
        let env: Envelope =
            serde_json::from_str(json).map_err(|e| KeysharesError::Json(e.to_string()))?;
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
                (layout, vec![KeysharesItemJson { data, payload }])
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
