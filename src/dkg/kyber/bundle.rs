//! kyber deal bundles as ssv-dkg puts them on the wire: Go `encoding/json` of `dkg.DealBundle`
//! (byte slices as standard base64) wrapped with the commitments as hex in an outer `Public`.

use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One encrypted share of a dealer's polynomial, for one participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deal {
    /// The recipient's kyber index (operator id − 1).
    pub share_index: u32,
    /// The share, ECIES-encrypted to the recipient's exchange key.
    pub encrypted_share: Vec<u8>,
}

/// kyber `DealBundle`: a dealer's encrypted shares for everyone, its commitments and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealBundle {
    /// The dealer's kyber index (operator id − 1).
    pub dealer_index: u32,
    /// One deal per other participant.
    pub deals: Vec<Deal>,
    /// Compressed G1 commitments of the dealer's polynomial.
    pub public: Vec<[u8; 48]>,
    /// The session id: sha256 of the instance id.
    pub session_id: Vec<u8>,
    /// BLS signature (NUL DST) by the dealer's exchange key over [`Self::hash`].
    pub signature: Vec<u8>,
}

/// A deal bundle that does not have ssv-dkg's JSON shape.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Not JSON of the bundle's shape.
    #[error("deal bundle JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// A field with a value the protocol does not allow.
    #[error("deal bundle field {field}: {reason}")]
    Field {
        /// The Go field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A hex field that does not decode.
    #[error("deal bundle field {field}: {source}")]
    FieldHex {
        /// The Go field name.
        field: &'static str,
        /// The decoder's refusal.
        #[source]
        source: hex::FromHexError,
    },
}

mod b64 {
    use super::B64;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};
    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(v))
    }
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        // Go encodes a nil []byte as null.
        let s: Option<String> = Option::deserialize(d)?;
        match s {
            None => Ok(Vec::new()),
            Some(s) => B64.decode(s).map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct DealJson {
    #[serde(rename = "ShareIndex")]
    share_index: u32,
    #[serde(rename = "EncryptedShare", with = "b64")]
    encrypted_share: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct InnerJson {
    #[serde(rename = "DealerIndex")]
    dealer_index: u32,
    #[serde(rename = "Deals")]
    deals: Option<Vec<DealJson>>,
    /// Always null on the wire: Go cannot decode interface points here.
    #[serde(rename = "Public")]
    public: Option<Vec<serde_json::Value>>,
    #[serde(rename = "SessionID", with = "b64")]
    session_id: Vec<u8>,
    #[serde(rename = "Signature", with = "b64")]
    signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct OuterJson {
    #[serde(rename = "Deal")]
    deal: InnerJson,
    #[serde(rename = "Public")]
    public: Option<Vec<String>>,
}

impl DealBundle {
    /// kyber `DealBundle.Hash`: u32be(dealer) ‖ commitments ‖ per deal (sorted by share index)
    /// u32be(share index) ‖ ciphertext ‖ session id. This is what the dealer BLS-signs.
    pub fn hash(&self) -> [u8; 32] {
        let mut deals: Vec<&Deal> = self.deals.iter().collect();
        deals.sort_by_key(|d| d.share_index);
        let mut h = Sha256::new();
        h.update(self.dealer_index.to_be_bytes());
        for c in &self.public {
            h.update(c);
        }
        for d in deals {
            h.update(d.share_index.to_be_bytes());
            h.update(&d.encrypted_share);
        }
        h.update(&self.session_id);
        h.finalize().into()
    }

    /// Compact JSON (Go accepts any whitespace; compact keeps 13-operator bundles well under 4096 B).
    pub fn to_json(&self) -> Result<Vec<u8>, BundleError> {
        let mut deals: Vec<&Deal> = self.deals.iter().collect();
        deals.sort_by_key(|d| d.share_index);
        let outer = OuterJson {
            deal: InnerJson {
                dealer_index: self.dealer_index,
                deals: Some(
                    deals
                        .into_iter()
                        .map(|d| DealJson {
                            share_index: d.share_index,
                            encrypted_share: d.encrypted_share.clone(),
                        })
                        .collect(),
                ),
                public: None,
                session_id: self.session_id.clone(),
                signature: self.signature.clone(),
            },
            public: Some(self.public.iter().map(hex::encode).collect()),
        };
        serde_json::to_vec(&outer).map_err(BundleError::Json)
    }

    /// Parses ssv-dkg's JSON (commitments as hex in the outer `Public`, `Deal.Public` null).
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        let outer: OuterJson = serde_json::from_slice(bytes).map_err(BundleError::Json)?;
        if outer.deal.public.as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(BundleError::Field {
                field: "Deal.Public",
                reason: "must be null; commitments travel in the outer Public".into(),
            });
        }
        let public = outer
            .public
            .unwrap_or_default()
            .iter()
            .map(|h| {
                let v = hex::decode(h).map_err(|source| BundleError::FieldHex {
                    field: "Public",
                    source,
                })?;
                <[u8; 48]>::try_from(v.as_slice()).map_err(|_| BundleError::Field {
                    field: "Public",
                    reason: format!("commitment is {} bytes, expected 48", v.len()),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            dealer_index: outer.deal.dealer_index,
            deals: outer
                .deal
                .deals
                .unwrap_or_default()
                .into_iter()
                .map(|d| Deal {
                    share_index: d.share_index,
                    encrypted_share: d.encrypted_share,
                })
                .collect(),
            public,
            session_id: outer.deal.session_id,
            signature: outer.deal.signature,
        })
    }
}
