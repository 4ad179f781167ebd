//! What can be wrong with a keyshares file, item by item, in words a staker can act on.

use std::fmt;

use alloy::primitives::Address;

/// One finding about one item (or about the file as a whole when `share` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareProblem {
    /// Index of the item in the file, if the finding is about one item.
    pub share: Option<usize>,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for ShareProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.share {
            Some(i) => write!(f, "share {i}: {}", self.problem),
            None => write!(f, "{}", self.problem),
        }
    }
}

/// The kinds of findings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A hex field does not decode.
    #[error("{field} is not 0x-prefixed even-length hex: {reason}")]
    BadHex {
        /// JSON field.
        field: &'static str,
        /// Decoder message.
        reason: String,
    },
    /// A public key is not 48 bytes.
    #[error("{field} must be 48 bytes, got {got}")]
    PublicKeyLength {
        /// JSON field.
        field: &'static str,
        /// Bytes found.
        got: usize,
    },
    /// `data.publicKey` differs from `payload.publicKey`.
    #[error("data.publicKey {data} differs from payload.publicKey {payload}")]
    PublicKeyMismatch {
        /// `data.publicKey`.
        data: String,
        /// `payload.publicKey`.
        payload: String,
    },
    /// Not 4, 7, 10 or 13 operators.
    #[error("{got} operators: SSV clusters have 4, 7, 10 or 13")]
    OperatorCount {
        /// Operators found.
        got: usize,
    },
    /// `payload.operatorIds` not strictly ascending.
    #[error(
        "payload.operatorIds {ids:?} are not strictly ascending (the contract reverts UnsortedOperatorsList)"
    )]
    UnsortedOperatorIds {
        /// Ids as found.
        ids: Vec<u64>,
    },
    /// An operator id appears twice.
    #[error("operator id {id} appears twice")]
    DuplicateOperatorId {
        /// The id.
        id: u64,
    },
    /// `data.operators[].id` differ from `payload.operatorIds`.
    #[error("data.operators ids {data:?} differ from payload.operatorIds {payload:?}")]
    OperatorIdsMismatch {
        /// Sorted `data.operators` ids.
        data: Vec<u64>,
        /// `payload.operatorIds`.
        payload: Vec<u64>,
    },
    /// An operator key does not decode to an RSA public key.
    #[error("operatorKey of operator {id} is invalid: {reason}")]
    BadOperatorKey {
        /// Operator id.
        id: u64,
        /// What is wrong.
        reason: String,
    },
    /// Two operators carry the same key.
    #[error("operators {first} and {second} carry the same operatorKey")]
    DuplicateOperatorKey {
        /// First id.
        first: u64,
        /// Second id.
        second: u64,
    },
    /// `ownerAddress` is not an address or has a wrong EIP-55 checksum.
    #[error("ownerAddress `{value}` is invalid: {reason}")]
    BadOwnerAddress {
        /// As found.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// `sharesData` has the wrong length.
    #[error(
        "sharesData is {got} bytes; with {operators} operators it must be 96 + 48·{operators} + 256·{operators} = {expected}"
    )]
    SharesDataLength {
        /// Operators.
        operators: usize,
        /// Expected bytes.
        expected: usize,
        /// Bytes found.
        got: usize,
    },
    /// The owner-nonce signature does not verify under the validator key.
    #[error(
        "the ownership signature does not verify for owner {owner} and nonce {nonce} ({reason}); the file was made for another owner or nonce, or is corrupted"
    )]
    BadOwnerSignature {
        /// EIP-55 owner.
        owner: Address,
        /// Nonce.
        nonce: u64,
        /// Verifier message.
        reason: String,
    },
    /// Share public keys do not recombine to the validator key.
    #[error(
        "the share public keys do not interpolate (at x = operator id) to the validator key: {reason}"
    )]
    SharesDoNotInterpolate {
        /// What happened.
        reason: String,
    },
    /// An item's operator ids differ from the first item's.
    #[error(
        "operator ids {got:?} differ from the first share's {expected:?}; one file must target one cluster"
    )]
    InconsistentOperatorIds {
        /// First share's ids.
        expected: Vec<u64>,
        /// This share's ids.
        got: Vec<u64>,
    },
    /// An operator id has different keys in different items.
    #[error("operator {id} has a different operatorKey than in share {first_share}")]
    InconsistentOperatorKey {
        /// Operator id.
        id: u64,
        /// Share where it was first seen.
        first_share: usize,
    },
    /// Items have different owners.
    #[error("owner {got} differs from the first share's owner {expected}")]
    InconsistentOwner {
        /// First share's owner.
        expected: Address,
        /// This share's owner.
        got: Address,
    },
    /// The same validator key appears twice.
    #[error("validator {pubkey} is already in share {first_share}")]
    DuplicateValidator {
        /// 0x public key.
        pubkey: String,
        /// Index of the first occurrence.
        first_share: usize,
    },
    /// The same owner nonce appears twice.
    #[error(
        "owner nonce {nonce} is already used by share {first_share}; every validator needs its own nonce"
    )]
    DuplicateNonce {
        /// Nonce.
        nonce: u64,
        /// Index of the first occurrence.
        first_share: usize,
    },
}
