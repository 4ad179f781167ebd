//! The SSZ containers of ssv-dkg's two "change" flows, resign (same shares, new nonce/owner
//! signature) and reshare (same validator key, new operator set): dkg-spec v1.2.0 `Resign` and
//! `Reshare`, ssv-dkg v3.1.0 `ResignMessage`, `SignedResign`, `ReshareMessage`, `SignedReshare`,
//! plus the owner-signed message hash and the length-prefixed reply lists of `/resign` and
//! `/reshare`. Kept apart from `types` because only these carry owner signatures and bulk lists.

use alloy::primitives::keccak256;

use super::ssz::{Decoder, Encoder, SszError, byte_list, decode_var_list, encode_var_list};
use super::types::{MAX_OPERATORS, Operator, SignedProof, Ssz};

/// The most messages (validators) one `/resign` or `/reshare` carries.
pub const MAX_MESSAGES: usize = 100;
/// The SSZ limit of the owner signature field.
const MAX_SIGNATURE: usize = 2048;

fn encode_list<T: Ssz>(items: &[T]) -> Vec<u8> {
    encode_var_list(&items.iter().map(Ssz::to_ssz).collect::<Vec<_>>())
}

fn decode_list<T: Ssz>(
    c: &'static str,
    f: &'static str,
    b: &[u8],
    max: usize,
) -> Result<Vec<T>, SszError> {
    decode_var_list(c, f, b, max)?
        .into_iter()
        .map(T::from_ssz)
        .collect()
}

/// dkg-spec `Resign`: new signatures for an existing validator's shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resign {
    /// The validator whose shares sign again.
    pub validator_pubkey: [u8; 48],
    /// The genesis fork version the deposit is signed under.
    pub fork: [u8; 4],
    /// 32-byte 0x01/0x02 withdrawal credentials.
    pub withdrawal_credentials: Vec<u8>,
    /// The owner (must be the owner the proofs name).
    pub owner: [u8; 20],
    /// The owner nonce the new owner-nonce signature is for.
    pub nonce: u64,
    /// The deposit amount in gwei.
    pub amount: u64,
}

impl Ssz for Resign {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(92);
        e.fixed(&self.validator_pubkey)
            .fixed(&self.fork)
            .var(&self.withdrawal_credentials)
            .fixed(&self.owner)
            .u64(self.nonce)
            .u64(self.amount);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        const C: &str = "Resign";
        let mut d = Decoder::new(C, b, 92)?;
        let validator_pubkey = d.fixed::<48>();
        let fork = d.fixed::<4>();
        d.offset();
        let owner = d.fixed::<20>();
        let nonce = d.u64();
        let amount = d.u64();
        let v = d.finish()?;
        Ok(Self {
            validator_pubkey,
            fork,
            withdrawal_credentials: byte_list(C, "WithdrawalCredentials", v[0], 32)?,
            owner,
            nonce,
            amount,
        })
    }
}

/// ssv-dkg `ResignMessage`: one validator's resign with its operators and their old proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResignMessage {
    /// The validator's operators, ascending id.
    pub operators: Vec<Operator>,
    /// What to sign.
    pub resign: Resign,
    /// The proofs of the ceremony that made the shares, in `operators` order.
    pub proofs: Vec<SignedProof>,
}

impl Ssz for ResignMessage {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(12);
        e.var(&encode_list(&self.operators))
            .var(&self.resign.to_ssz())
            .var(&encode_list(&self.proofs));
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        const C: &str = "ResignMessage";
        let mut d = Decoder::new(C, b, 12)?;
        d.offset();
        d.offset();
        d.offset();
        let v = d.finish()?;
        Ok(Self {
            operators: decode_list(C, "Operators", v[0], MAX_OPERATORS)?,
            resign: Resign::from_ssz(v[1])?,
            proofs: decode_list(C, "Proofs", v[2], MAX_OPERATORS)?,
        })
    }
}

/// dkg-spec `Reshare`: move a validator's key from the old operators to the new ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reshare {
    /// The validator key, unchanged by the reshare.
    pub validator_pubkey: [u8; 48],
    /// The operators holding the shares now, ascending id.
    pub old_operators: Vec<Operator>,
    /// The operators that will hold them, ascending id.
    pub new_operators: Vec<Operator>,
    /// Threshold of the old set (that many old operators must take part).
    pub old_t: u64,
    /// Threshold of the new set.
    pub new_t: u64,
    /// The genesis fork version the deposit is signed under.
    pub fork: [u8; 4],
    /// 32-byte 0x01/0x02 withdrawal credentials.
    pub withdrawal_credentials: Vec<u8>,
    /// The owner (must be the owner the proofs name).
    pub owner: [u8; 20],
    /// The owner nonce of the new keyshares.
    pub nonce: u64,
    /// The deposit amount in gwei.
    pub amount: u64,
}

impl Ssz for Reshare {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(116);
        e.fixed(&self.validator_pubkey)
            .var(&encode_list(&self.old_operators))
            .var(&encode_list(&self.new_operators))
            .u64(self.old_t)
            .u64(self.new_t)
            .fixed(&self.fork)
            .var(&self.withdrawal_credentials)
            .fixed(&self.owner)
            .u64(self.nonce)
            .u64(self.amount);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        const C: &str = "Reshare";
        let mut d = Decoder::new(C, b, 116)?;
        let validator_pubkey = d.fixed::<48>();
        d.offset();
        d.offset();
        let old_t = d.u64();
        let new_t = d.u64();
        let fork = d.fixed::<4>();
        d.offset();
        let owner = d.fixed::<20>();
        let nonce = d.u64();
        let amount = d.u64();
        let v = d.finish()?;
        Ok(Self {
            validator_pubkey,
            old_operators: decode_list(C, "OldOperators", v[0], MAX_OPERATORS)?,
            new_operators: decode_list(C, "NewOperators", v[1], MAX_OPERATORS)?,
            old_t,
            new_t,
            fork,
            withdrawal_credentials: byte_list(C, "WithdrawalCredentials", v[2], 32)?,
            owner,
            nonce,
            amount,
        })
    }
}

/// ssv-dkg `ReshareMessage`: one validator's reshare with the old ceremony's proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReshareMessage {
    /// What to reshare.
    pub reshare: Reshare,
    /// The old proofs, in `old_operators` order.
    pub proofs: Vec<SignedProof>,
}

impl Ssz for ReshareMessage {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(8);
        e.var(&self.reshare.to_ssz())
            .var(&encode_list(&self.proofs));
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        const C: &str = "ReshareMessage";
        let mut d = Decoder::new(C, b, 8)?;
        d.offset();
        d.offset();
        let v = d.finish()?;
        Ok(Self {
            reshare: Reshare::from_ssz(v[0])?,
            proofs: decode_list(C, "Proofs", v[1], MAX_OPERATORS)?,
        })
    }
}

/// A list of messages and the owner's EIP-191 signature over [`bulk_message_hex`] of them:
/// ssv-dkg `SignedResign` (`M` = [`ResignMessage`]) and `SignedReshare` ([`ReshareMessage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerSigned<M> {
    /// One message per validator, at most [`MAX_MESSAGES`].
    pub messages: Vec<M>,
    /// The owner's signature (65 bytes for an EOA; any length up to 2048 for EIP-1271 wallets).
    pub signature: Vec<u8>,
}

/// ssv-dkg `SignedResign`.
pub type SignedResign = OwnerSigned<ResignMessage>;
/// ssv-dkg `SignedReshare`.
pub type SignedReshare = OwnerSigned<ReshareMessage>;

impl<M: Ssz> Ssz for OwnerSigned<M> {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(8);
        e.var(&encode_list(&self.messages)).var(&self.signature);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        const C: &str = "SignedMessages";
        let mut d = Decoder::new(C, b, 8)?;
        d.offset();
        d.offset();
        let v = d.finish()?;
        Ok(Self {
            messages: decode_list(C, "Messages", v[0], MAX_MESSAGES)?,
            signature: byte_list(C, "Signature", v[1], MAX_SIGNATURE)?,
        })
    }
}

/// What the owner signs (ssv-dkg `GetMessageString`, written to `resign.txt`/`reshare.txt`):
/// the 64-char lowercase hex of keccak256 over the concatenated SSZ of the messages, no `0x`.
pub fn bulk_message_hex<M: Ssz>(messages: &[M]) -> String {
    let bytes: Vec<u8> = messages.iter().flat_map(Ssz::to_ssz).collect();
    hex::encode(keccak256(bytes))
}

/// The EIP-191 personal-message digest of [`bulk_message_hex`] (what `ecrecover` and EIP-1271's
/// `isValidSignature` are given).
pub fn bulk_message_digest<M: Ssz>(messages: &[M]) -> [u8; 32] {
    eip191_of_text(&bulk_message_hex(messages))
}

/// `keccak256("\x19Ethereum Signed Message:\n" ‖ len ‖ text)`.
pub fn eip191_of_text(text: &str) -> [u8; 32] {
    let mut msg = format!("\x19Ethereum Signed Message:\n{}", text.len()).into_bytes();
    msg.extend_from_slice(text.as_bytes());
    keccak256(&msg).0
}

/// Why a length-prefixed reply list does not split.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("reply list: {0}")]
pub struct FlattenError(&'static str);

/// ssv-dkg `FlattenReponseMsgs`: each item as a 4-byte big-endian length, then its bytes.
pub fn flatten(items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|i| i.len() + 4).sum());
    for it in items {
        out.extend_from_slice(&(it.len() as u32).to_be_bytes());
        out.extend_from_slice(it);
    }
    out
}

/// The inverse of [`flatten`]; at most `max` items (a hostile operator cannot make us split more).
pub fn unflatten(mut b: &[u8], max: usize) -> Result<Vec<Vec<u8>>, FlattenError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if out.len() == max {
            return Err(FlattenError("more items than messages sent"));
        }
        let (len, rest) = b
            .split_first_chunk::<4>()
            .ok_or(FlattenError("truncated length prefix"))?;
        let n = u32::from_be_bytes(*len) as usize;
        let item = rest
            .get(..n)
            .ok_or(FlattenError("item overruns the body"))?;
        out.push(item.to_vec());
        b = &rest[n..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: u64) -> Operator {
        Operator {
            id,
            pubkey: vec![id as u8; 5],
        }
    }

    #[test]
    fn resign_and_reshare_round_trip_with_their_fixed_sizes() {
        let resign = Resign {
            validator_pubkey: [7; 48],
            fork: [0, 0, 16, 32],
            withdrawal_credentials: vec![1; 32],
            owner: [9; 20],
            nonce: 5,
            amount: 32_000_000_000,
        };
        let ssz = resign.to_ssz();
        assert_eq!(u32::from_le_bytes(ssz[52..56].try_into().unwrap()), 92);
        assert_eq!(Resign::from_ssz(&ssz).unwrap(), resign);
        let msg = ResignMessage {
            operators: vec![op(1), op(2)],
            resign,
            proofs: vec![],
        };
        let signed = SignedResign {
            messages: vec![msg.clone(), msg],
            signature: vec![3; 65],
        };
        assert_eq!(SignedResign::from_ssz(&signed.to_ssz()).unwrap(), signed);
        let reshare = Reshare {
            validator_pubkey: [7; 48],
            old_operators: vec![op(1), op(2), op(3), op(4)],
            new_operators: vec![op(1), op(5), op(6), op(4)],
            old_t: 3,
            new_t: 3,
            fork: [0; 4],
            withdrawal_credentials: vec![2; 32],
            owner: [9; 20],
            nonce: 1,
            amount: 32_000_000_000,
        };
        let ssz = reshare.to_ssz();
        assert_eq!(u32::from_le_bytes(ssz[48..52].try_into().unwrap()), 116);
        let m = ReshareMessage {
            reshare,
            proofs: vec![],
        };
        assert_eq!(ReshareMessage::from_ssz(&m.to_ssz()).unwrap(), m);
    }

    #[test]
    fn flattened_replies_split_back_and_refuse_overruns() {
        let items = vec![vec![1, 2, 3], vec![], vec![9; 300]];
        let flat = flatten(&items);
        assert_eq!(unflatten(&flat, 3).unwrap(), items);
        assert!(unflatten(&flat, 2).is_err());
        assert!(unflatten(&flat[..flat.len() - 1], 3).is_err());
        assert!(unflatten(&[0, 0, 1], 3).is_err());
    }

    #[test]
    fn the_owner_digest_is_eip191_of_the_64_hex_chars() {
        let hex_text = bulk_message_hex::<Resign>(&[]);
        assert_eq!(hex_text.len(), 64);
        let mut m = b"\x19Ethereum Signed Message:\n64".to_vec();
        m.extend_from_slice(hex_text.as_bytes());
        assert_eq!(bulk_message_digest::<Resign>(&[]), keccak256(&m).0);
    }
}
