//! Offline validation of a keyshares file: everything that can be checked without a chain.
//!
//! Structural checks and the cross-item checks run first and collect every finding, so one run
//! tells the staker all that is wrong; the cryptographic checks (owner signature, share
//! interpolation) then run on the items that are structurally sound.

use std::{collections::HashMap, str::FromStr};

use alloy::primitives::Address;

use super::{
    KeysharesError, KeysharesFile, KeysharesItem, Layout, Problem, ShareProblem, SharesData,
    SharesDataError, operator_key::operator_key_der, owner_nonce_digest,
};
use crate::crypto::bls::{self, Dst};

/// An operator of the cluster with its key as the file carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorKey {
    /// Operator id.
    pub id: u64,
    /// Base64 PEM, exactly as in the file.
    pub base64_pem: String,
    /// SubjectPublicKeyInfo DER, used for comparisons.
    pub der: Vec<u8>,
}

/// One validator whose shares passed every offline check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedShare {
    /// Position in the file.
    pub file_index: usize,
    /// Validator public key.
    pub public_key: [u8; 48],
    /// Owner nonce the signature commits to.
    pub owner_nonce: u64,
    /// `registerValidator` `sharesData`.
    pub shares_data: Vec<u8>,
}

impl ValidatedShare {
    /// 0x-prefixed hex public key.
    pub fn public_key_hex(&self) -> String {
        format!("0x{}", hex::encode(self.public_key))
    }
}

/// A keyshares file that passed every offline check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedKeyshares {
    /// Layout of the source file.
    pub layout: Layout,
    /// The single owner of every item.
    pub owner: Address,
    /// Sorted operator ids shared by every item.
    pub operator_ids: Vec<u64>,
    /// Operator keys, in `operator_ids` order.
    pub operators: Vec<OperatorKey>,
    /// Validators sorted by owner nonce (the order they must be registered in).
    pub shares: Vec<ValidatedShare>,
}

struct Parsed {
    index: usize,
    owner: Address,
    nonce: u64,
    public_key: [u8; 48],
    ids: Vec<u64>,
    operators: Vec<OperatorKey>,
    shares_data: SharesData,
}

/// Runs every offline check; `Err(Rejected)` lists all findings.
pub fn validate(file: &KeysharesFile) -> Result<ValidatedKeyshares, KeysharesError> {
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    for (i, item) in file.shares.iter().enumerate() {
        let before = problems.len();
        let p = parse_item(i, item, &mut problems);
        if problems.len() == before
            && let Some(p) = p
        {
            parsed.push(p);
        }
    }
    cross_checks(file, &mut problems);
    // Signatures and interpolation only for structurally sound items, and only when the file as a
    // whole is consistent: a pairing check on an item already known to be wrong adds noise.
    for p in &parsed {
        crypto_checks(p, &mut problems);
    }
    if !problems.is_empty() {
        return Err(KeysharesError::Rejected { problems });
    }
    let first = parsed.first().ok_or(KeysharesError::NoShares)?;
    let (owner, operator_ids, operators) =
        (first.owner, first.ids.clone(), first.operators.clone());
    let mut shares: Vec<ValidatedShare> = parsed
        .into_iter()
        .map(|p| ValidatedShare {
            file_index: p.index,
            public_key: p.public_key,
            owner_nonce: p.nonce,
            shares_data: p.shares_data.encode(),
        })
        .collect();
    shares.sort_by_key(|s| s.owner_nonce);
    Ok(ValidatedKeyshares {
        layout: file.layout,
        owner,
        operator_ids,
        operators,
        shares,
    })
}

/// Reads, parses and validates a file; errors name the path.
pub fn load_and_validate(path: &std::path::Path) -> Result<ValidatedKeyshares, KeysharesError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeysharesError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = KeysharesFile::parse(&text).map_err(|e| e.in_file(path))?;
    validate(&file).map_err(|e| e.in_file(path))
}

fn push(problems: &mut Vec<ShareProblem>, share: usize, problem: Problem) {
    problems.push(ShareProblem {
        share: Some(share),
        problem,
    });
}

fn decode_hex(field: &'static str, s: &str) -> Result<Vec<u8>, Problem> {
    let raw = s.strip_prefix("0x").ok_or_else(|| Problem::BadHex {
        field,
        reason: "missing 0x prefix".into(),
    })?;
    hex::decode(raw).map_err(|e| Problem::BadHex {
        field,
        reason: e.to_string(),
    })
}

fn decode_pubkey(field: &'static str, s: &str) -> Result<[u8; 48], Problem> {
    let bytes = decode_hex(field, s)?;
    let got = bytes.len();
    bytes
        .try_into()
        .map_err(|_| Problem::PublicKeyLength { field, got })
}

/// Accepts all-lower-case, all-upper-case, or correctly checksummed addresses (as viem's
/// `getAddress` does); a mixed-case string with a wrong checksum is a typo, not an address.
pub fn parse_owner(s: &str) -> Result<Address, Problem> {
    let bad = |reason: &str| Problem::BadOwnerAddress {
        value: s.into(),
        reason: reason.into(),
    };
    let addr = Address::from_str(s).map_err(|e| bad(&e.to_string()))?;
    let hex_part = s.strip_prefix("0x").unwrap_or(s);
    let has_lower = hex_part.chars().any(|c| c.is_ascii_lowercase());
    let has_upper = hex_part.chars().any(|c| c.is_ascii_uppercase());
    if has_lower && has_upper && addr.to_checksum(None) != format!("0x{hex_part}") {
        return Err(bad(&format!(
            "wrong EIP-55 checksum, expected {}",
            addr.to_checksum(None)
        )));
    }
    Ok(addr)
}

fn parse_item(i: usize, item: &KeysharesItem, problems: &mut Vec<ShareProblem>) -> Option<Parsed> {
    let data = &item.data;
    let payload = &item.payload;
    let owner = parse_owner(&data.owner_address)
        .map_err(|p| push(problems, i, p))
        .ok();
    let pk_data = decode_pubkey("data.publicKey", &data.public_key)
        .map_err(|p| push(problems, i, p))
        .ok();
    let pk_payload = decode_pubkey("payload.publicKey", &payload.public_key)
        .map_err(|p| push(problems, i, p))
        .ok();
    if let (Some(a), Some(b)) = (pk_data, pk_payload)
        && a != b
    {
        push(
            problems,
            i,
            Problem::PublicKeyMismatch {
                data: data.public_key.clone(),
                payload: payload.public_key.clone(),
            },
        );
    }

    let ids = payload.operator_ids.clone();
    let n = ids.len();
    if !(4..=13).contains(&n) || n % 3 != 1 {
        push(problems, i, Problem::OperatorCount { got: n });
    }
    if ids.windows(2).any(|w| w[0] >= w[1]) {
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = ids.iter().find(|id| !seen.insert(**id)) {
            push(problems, i, Problem::DuplicateOperatorId { id: *dup });
        } else {
            push(
                problems,
                i,
                Problem::UnsortedOperatorIds { ids: ids.clone() },
            );
        }
    }
    let mut data_ids: Vec<u64> = data.operators.iter().map(|o| o.id).collect();
    data_ids.sort_unstable();
    let mut sorted_payload = ids.clone();
    sorted_payload.sort_unstable();
    if data_ids != sorted_payload {
        push(
            problems,
            i,
            Problem::OperatorIdsMismatch {
                data: data_ids,
                payload: ids.clone(),
            },
        );
    }

    let mut operators = Vec::new();
    let mut seen_der: HashMap<Vec<u8>, u64> = HashMap::new();
    for op in &data.operators {
        match operator_key_der(&op.operator_key) {
            Ok(der) => {
                if let Some(first) = seen_der.insert(der.clone(), op.id) {
                    push(
                        problems,
                        i,
                        Problem::DuplicateOperatorKey {
                            first,
                            second: op.id,
                        },
                    );
                }
                operators.push(OperatorKey {
                    id: op.id,
                    base64_pem: op.operator_key.clone(),
                    der,
                });
            }
            Err(reason) => push(problems, i, Problem::BadOperatorKey { id: op.id, reason }),
        }
    }
    operators.sort_by_key(|o| o.id);

    let shares_data = decode_hex("payload.sharesData", &payload.shares_data)
        .and_then(|bytes| {
            SharesData::decode(&bytes, n).map_err(|e| match e {
                SharesDataError::Length {
                    operators,
                    expected,
                    got,
                } => Problem::SharesDataLength {
                    operators,
                    expected,
                    got,
                },
                other => Problem::BadHex {
                    field: "payload.sharesData",
                    reason: other.to_string(),
                },
            })
        })
        .map_err(|p| push(problems, i, p))
        .ok();
    Some(Parsed {
        index: i,
        owner: owner?,
        nonce: data.owner_nonce,
        public_key: pk_data?,
        ids,
        operators,
        shares_data: shares_data?,
    })
}

/// Consistency across items (ssv-sdk `validateConsistentOperatorIds`, `ensureValidatorsUniqueness`,
/// plus one owner and unique nonces, which the registration order relies on).
fn cross_checks(file: &KeysharesFile, problems: &mut Vec<ShareProblem>) {
    let Some(first) = file.shares.first() else {
        return;
    };
    let expected_ids = &first.payload.operator_ids;
    let expected_owner = parse_owner(&first.data.owner_address).ok();
    let mut keys: HashMap<u64, (String, usize)> = HashMap::new();
    let mut pubkeys: HashMap<String, usize> = HashMap::new();
    let mut nonces: HashMap<u64, usize> = HashMap::new();
    for (i, item) in file.shares.iter().enumerate() {
        if i > 0 && &item.payload.operator_ids != expected_ids {
            push(
                problems,
                i,
                Problem::InconsistentOperatorIds {
                    expected: expected_ids.clone(),
                    got: item.payload.operator_ids.clone(),
                },
            );
        }
        if let (Some(expected), Ok(got)) = (expected_owner, parse_owner(&item.data.owner_address))
            && expected != got
        {
            push(problems, i, Problem::InconsistentOwner { expected, got });
        }
        for op in &item.data.operators {
            let key: String = op.operator_key.trim().to_string();
            match keys.get(&op.id) {
                Some((k, first_share)) if *k != key => push(
                    problems,
                    i,
                    Problem::InconsistentOperatorKey {
                        id: op.id,
                        first_share: *first_share,
                    },
                ),
                Some(_) => {}
                None => {
                    keys.insert(op.id, (key, i));
                }
            }
        }
        let pk = item.data.public_key.to_ascii_lowercase();
        if let Some(first_share) = pubkeys.get(&pk) {
            push(
                problems,
                i,
                Problem::DuplicateValidator {
                    pubkey: pk.clone(),
                    first_share: *first_share,
                },
            );
        } else {
            pubkeys.insert(pk, i);
        }
        let nonce = item.data.owner_nonce;
        if let Some(first_share) = nonces.get(&nonce) {
            push(
                problems,
                i,
                Problem::DuplicateNonce {
                    nonce,
                    first_share: *first_share,
                },
            );
        } else {
            nonces.insert(nonce, i);
        }
    }
}

fn crypto_checks(p: &Parsed, problems: &mut Vec<ShareProblem>) {
    let sd = &p.shares_data;
    let digest = owner_nonce_digest(p.owner, p.nonce);
    if let Err(e) = bls::verify(&p.public_key, &digest, sd.signature(), Dst::Pop) {
        push(
            problems,
            p.index,
            Problem::BadOwnerSignature {
                owner: p.owner,
                nonce: p.nonce,
                reason: e.to_string(),
            },
        );
    }
    let points: Vec<(u64, [u8; 48])> = p
        .ids
        .iter()
        .copied()
        .zip(sd.share_pubkeys().iter().copied())
        .collect();
    // All n points, not just a threshold: n points of a degree t-1 polynomial interpolate to the
    // same constant term only if every share lies on it, so one bad share is caught too.
    match bls::interpolate_g1(&points) {
        Ok(pk) if pk == p.public_key => {}
        Ok(pk) => push(
            problems,
            p.index,
            Problem::SharesDoNotInterpolate {
                reason: format!("got 0x{}", hex::encode(pk)),
            },
        ),
        Err(e) => push(
            problems,
            p.index,
            Problem::SharesDoNotInterpolate {
                reason: e.to_string(),
            },
        ),
    }
}
