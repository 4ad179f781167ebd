//! Owner-nonce sequencing: the i-th validator registered by an owner must carry the owner's
//! i-th nonce, counted over every `ValidatorAdded` ever emitted for that owner (§5.3). A share signed
//! for another nonce is accepted by the contract but rejected by every SSV node.

use alloy::primitives::Address;

use super::ValidatedKeyshares;

/// The file's nonces do not continue from the chain's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "owner nonce mismatch for {owner}: validator {pubkey} was signed for nonce {file_nonce}, but the chain expects nonce {expected} \
     (owner nonce = number of ValidatorAdded events for this owner); rerun the ceremony with nonce {expected}, or re-sign the shares \
     (`ssv-dkg resign`) with that nonce"
)]
pub struct NonceMismatch {
    /// Owner.
    pub owner: Address,
    /// 0x validator key.
    pub pubkey: String,
    /// Nonce in the file.
    pub file_nonce: u64,
    /// Nonce the chain expects for this validator.
    pub expected: u64,
}

/// Checks that `shares[i]` (sorted by nonce) carries `chain_nonce + i`.
pub fn check_nonce_sequence(
    keyshares: &ValidatedKeyshares,
    chain_nonce: u64,
) -> Result<(), NonceMismatch> {
    for (i, share) in keyshares.shares.iter().enumerate() {
        let expected = chain_nonce.saturating_add(i as u64);
        if share.owner_nonce != expected {
            return Err(NonceMismatch {
                owner: keyshares.owner,
                pubkey: share.public_key_hex(),
                file_nonce: share.owner_nonce,
                expected,
            });
        }
    }
    Ok(())
}
