//! `sharesData`, the bytes `registerValidator` carries and every SSV node decodes
//! (ssv node `handleValidatorAdded`): the validator key's BLS signature over the owner-nonce
//! digest, then each operator's share public key, then each operator's RSA-encrypted share, both
//! in operator-id order. For n operators that is 96 + 304·n bytes. The DKG builds it, `dkg verify`
//! and the registration checks take it apart; this is the one codec for all of them, and
//! [`owner_nonce_digest`] the one definition of what the signature signs.

use alloy::primitives::{Address, keccak256};

/// Bytes of the BLS signature at the start of `sharesData`.
pub const SIGNATURE_LEN: usize = 96;
/// Bytes of one share public key (compressed G1).
pub const SHARE_PUBKEY_LEN: usize = 48;
/// Bytes of one encrypted share (an RSA-2048 PKCS#1 v1.5 ciphertext).
pub const ENCRYPTED_SHARE_LEN: usize = 256;

/// Length of `sharesData` for `operators` operators.
pub const fn shares_data_len(operators: usize) -> usize {
    SIGNATURE_LEN + (SHARE_PUBKEY_LEN + ENCRYPTED_SHARE_LEN) * operators
}

/// The digest the validator key signs to prove the owner: keccak256 of the ASCII text
/// `"<EIP-55 owner>:<decimal nonce>"` (ssv-contracts.md §5.2). A share signed for another owner or
/// nonce is accepted by the contract but refused by every SSV node.
pub fn owner_nonce_digest(owner: Address, nonce: u64) -> [u8; 32] {
    keccak256(format!("{}:{nonce}", owner.to_checksum(None)).as_bytes()).0
}

/// Why bytes are not a `sharesData`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SharesDataError {
    /// The text does not start with `0x`.
    #[error("sharesData must start with 0x")]
    MissingPrefix,
    /// The text is not hex.
    #[error("sharesData is not hex: {0}")]
    Hex(#[source] hex::FromHexError),
    /// The length does not fit the operator count.
    #[error(
        "sharesData is {got} bytes; with {operators} operators it must be 96 + 48·{operators} + 256·{operators} = {expected}"
    )]
    Length {
        /// Operators in the cluster.
        operators: usize,
        /// Bytes expected, [`shares_data_len`] of `operators`.
        expected: usize,
        /// Bytes found.
        got: usize,
    },
    /// Share public keys and encrypted shares are not one per operator.
    #[error("{pubkeys} share public keys but {encrypted} encrypted shares")]
    Unpaired {
        /// Share public keys given.
        pubkeys: usize,
        /// Encrypted shares given.
        encrypted: usize,
    },
}

/// A decoded `sharesData`. Holds no secret: the shares are encrypted to the operators' keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharesData {
    signature: [u8; SIGNATURE_LEN],
    share_pubkeys: Vec<[u8; SHARE_PUBKEY_LEN]>,
    encrypted_shares: Vec<[u8; ENCRYPTED_SHARE_LEN]>,
}

impl SharesData {
    /// Assembles the parts; `share_pubkeys[i]` and `encrypted_shares[i]` belong to the i-th
    /// operator by ascending id.
    pub fn new(
        signature: [u8; SIGNATURE_LEN],
        share_pubkeys: Vec<[u8; SHARE_PUBKEY_LEN]>,
        encrypted_shares: Vec<[u8; ENCRYPTED_SHARE_LEN]>,
    ) -> Result<Self, SharesDataError> {
        if share_pubkeys.len() != encrypted_shares.len() {
            return Err(SharesDataError::Unpaired {
                pubkeys: share_pubkeys.len(),
                encrypted: encrypted_shares.len(),
            });
        }
        Ok(Self {
            signature,
            share_pubkeys,
            encrypted_shares,
        })
    }

    /// Splits the bytes of a cluster of `operators` operators; the length must be exact.
    pub fn decode(bytes: &[u8], operators: usize) -> Result<Self, SharesDataError> {
        let expected = shares_data_len(operators);
        if bytes.len() != expected {
            return Err(SharesDataError::Length {
                operators,
                expected,
                got: bytes.len(),
            });
        }
        let (signature, rest) = bytes.split_at(SIGNATURE_LEN);
        let (pubkeys, encrypted) = rest.split_at(SHARE_PUBKEY_LEN * operators);
        Ok(Self {
            signature: signature.try_into().expect("split at SIGNATURE_LEN"),
            share_pubkeys: chunks(pubkeys),
            encrypted_shares: chunks(encrypted),
        })
    }

    /// Decodes `0x`-prefixed hex, as keyshares files carry it.
    pub fn from_hex(text: &str, operators: usize) -> Result<Self, SharesDataError> {
        let raw = text
            .strip_prefix("0x")
            .ok_or(SharesDataError::MissingPrefix)?;
        Self::decode(&hex::decode(raw).map_err(SharesDataError::Hex)?, operators)
    }

    /// The bytes: signature ‖ share public keys ‖ encrypted shares.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(shares_data_len(self.operators()));
        out.extend_from_slice(&self.signature);
        self.share_pubkeys
            .iter()
            .for_each(|p| out.extend_from_slice(p));
        self.encrypted_shares
            .iter()
            .for_each(|e| out.extend_from_slice(e));
        out
    }

    /// `0x` + lowercase hex of [`Self::encode`], as keyshares files carry it.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.encode()))
    }

    /// Number of operators.
    pub fn operators(&self) -> usize {
        self.share_pubkeys.len()
    }

    /// The validator key's signature over [`owner_nonce_digest`].
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// Share public keys, by ascending operator id.
    pub fn share_pubkeys(&self) -> &[[u8; SHARE_PUBKEY_LEN]] {
        &self.share_pubkeys
    }

    /// Encrypted shares, by ascending operator id.
    pub fn encrypted_shares(&self) -> &[[u8; ENCRYPTED_SHARE_LEN]] {
        &self.encrypted_shares
    }
}

fn chunks<const N: usize>(bytes: &[u8]) -> Vec<[u8; N]> {
    bytes
        .chunks_exact(N)
        .map(|c| c.try_into().expect("chunks_exact yields N bytes"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let sd = SharesData::new(
            [1; 96],
            vec![[2; 48], [3; 48], [4; 48], [5; 48]],
            vec![[6; 256], [7; 256], [8; 256], [9; 256]],
        )
        .expect("paired");
        let bytes = sd.encode();
        assert_eq!(bytes.len(), 1312);
        assert_eq!(bytes.len(), shares_data_len(4));
        assert_eq!(bytes[96 + 48], 3, "second share key after the signature");
        assert_eq!(
            bytes[96 + 4 * 48 + 256],
            7,
            "second ciphertext after the keys"
        );
        assert_eq!(SharesData::decode(&bytes, 4), Ok(sd.clone()));
        assert_eq!(SharesData::from_hex(&sd.to_hex(), 4), Ok(sd));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            SharesData::decode(&[0; 1312], 7),
            Err(SharesDataError::Length {
                operators: 7,
                expected: 96 + 7 * 304,
                got: 1312
            })
        );
        assert_eq!(
            SharesData::from_hex("abcd", 4),
            Err(SharesDataError::MissingPrefix)
        );
        assert!(matches!(
            SharesData::from_hex("0xzz", 4),
            Err(SharesDataError::Hex(_))
        ));
        assert!(matches!(
            SharesData::new([0; 96], vec![[0; 48]], vec![]),
            Err(SharesDataError::Unpaired { .. })
        ));
    }

    #[test]
    fn digest_is_over_the_checksummed_owner() {
        let owner: Address = "0xdcc846fa10c7cfce9e6eb37e06ed93b666cfc5e9"
            .parse()
            .expect("address");
        assert_eq!(
            owner_nonce_digest(owner, 7),
            keccak256(b"0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9:7").0
        );
    }
}
