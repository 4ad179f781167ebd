//! The owner's consent to a resign or reshare: an EIP-191 signature over the message hash ssv-dkg
//! defines ([`crate::dkg::wire::bulk_message_hex`]). Made here from the agent's own key, or taken
//! from `--signatures` (Safe and other EIP-1271 wallets, keys the agent does not hold). Checked by
//! operators like dkg-spec `VerifySignedMessageByOwner`: an owner without code is an EOA and the
//! signature must `ecrecover` to it, locally; an owner with code must answer EIP-1271
//! `isValidSignature(bytes32,bytes)` with the magic value, through the execution RPC.

use alloy::primitives::{Address, B256, Bytes, FixedBytes, Signature};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;

mod abi {
    #![allow(missing_docs)]
    alloy::sol! {
        /// EIP-1271 (final): the wallet approves `hash` with `signature`.
        #[sol(rpc)]
        interface IERC1271 {
            function isValidSignature(bytes32 hash, bytes signature) external view returns (bytes4 magicValue);
        }
    }
}

/// EIP-1271's "valid" answer, `bytes4(keccak256("isValidSignature(bytes32,bytes)"))`.
pub const EIP1271_MAGIC: [u8; 4] = [0x16, 0x26, 0xba, 0x7e];

/// Why an owner signature is refused or cannot be checked.
#[derive(Debug, thiserror::Error)]
pub enum OwnerSigError {
    /// Not a 65-byte `r ‖ s ‖ v` signature (an EOA owner).
    #[error("owner signature of {0} bytes is not a 65-byte EOA signature")]
    Malformed(usize),
    /// It recovers to another address.
    #[error("owner signature recovers to {recovered}, not the owner {owner}")]
    WrongSigner {
        /// The owner the messages name.
        owner: Address,
        /// Who signed.
        recovered: Address,
    },
    /// The signature does not recover at all.
    #[error("owner signature does not recover: {0}")]
    Recover(#[source] alloy::primitives::SignatureError),
    /// The owner is a contract and its `isValidSignature` does not approve.
    #[error("contract owner {owner} does not approve the message (EIP-1271 answered {answer})")]
    NotApproved {
        /// The contract.
        owner: Address,
        /// What it returned (or why the call reverted).
        answer: String,
    },
    /// The execution RPC failed while checking the owner.
    #[error("execution RPC {url}: {source}")]
    Rpc {
        /// The endpoint.
        url: String,
        /// The transport error.
        #[source]
        source: alloy::transports::TransportError,
    },
    /// A given `--signatures` value is not hex.
    #[error("owner signature is not hex: {0}")]
    Hex(#[source] hex::FromHexError),
    /// Signing with the agent's key failed.
    #[error("signing with the owner key: {0}")]
    Sign(#[source] alloy::signers::Error),
}

/// Where the owner signature of a resign/reshare comes from.
#[derive(Clone)]
pub enum OwnerSignature {
    /// The agent holds the owner key and signs the message hash itself.
    Signer(PrivateKeySigner),
    /// A signature made elsewhere over the `generate-*-msg` hash (hex or raw bytes).
    Provided(Vec<u8>),
}

impl std::fmt::Debug for OwnerSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Signer(s) => write!(f, "OwnerSignature::Signer({})", s.address()),
            Self::Provided(b) => write!(f, "OwnerSignature::Provided({} bytes)", b.len()),
        }
    }
}

impl OwnerSignature {
    /// `--signatures <hex>` (with or without `0x`).
    pub fn from_hex(text: &str) -> Result<Self, OwnerSigError> {
        let t = text.trim();
        let t = t.strip_prefix("0x").unwrap_or(t);
        hex::decode(t)
            .map(Self::Provided)
            .map_err(OwnerSigError::Hex)
    }

    /// The signature over `message_hex` (the 64 hex chars of [`crate::dkg::wire::bulk_message_hex`]).
    pub fn sign(&self, message_hex: &str) -> Result<Vec<u8>, OwnerSigError> {
        match self {
            Self::Provided(b) => Ok(b.clone()),
            Self::Signer(s) => s
                .sign_message_sync(message_hex.as_bytes())
                .map(|sig| sig.as_bytes().to_vec())
                .map_err(OwnerSigError::Sign),
        }
    }
}

/// An EOA owner's signature over `digest` (the EIP-191 hash): `v` may be 27/28, 0/1 or EIP-155.
pub fn verify_eoa(owner: Address, digest: &[u8; 32], sig: &[u8]) -> Result<(), OwnerSigError> {
    if sig.len() != 65 {
        return Err(OwnerSigError::Malformed(sig.len()));
    }
    let s = Signature::from_raw(sig).map_err(OwnerSigError::Recover)?;
    let recovered = s
        .recover_address_from_prehash(&B256::from(*digest))
        .map_err(OwnerSigError::Recover)?;
    if recovered == owner {
        Ok(())
    } else {
        Err(OwnerSigError::WrongSigner { owner, recovered })
    }
}

/// dkg-spec `VerifySignedMessageByOwner`. Without an RPC only EOA owners can be checked (a
/// contract owner's signature then fails as an EOA signature, naming the owner).
pub async fn verify_owner(
    rpc: Option<&url::Url>,
    owner: Address,
    digest: &[u8; 32],
    sig: &[u8],
) -> Result<(), OwnerSigError> {
    let Some(url) = rpc else {
        return verify_eoa(owner, digest, sig);
    };
    let rpc_err = |source| OwnerSigError::Rpc {
        url: url.to_string(),
        source,
    };
    let provider = ProviderBuilder::new().connect_http(url.clone());
    let code = provider.get_code_at(owner).await.map_err(rpc_err)?;
    if code.is_empty() {
        return verify_eoa(owner, digest, sig);
    }
    let wallet = abi::IERC1271::new(owner, &provider);
    match wallet
        .isValidSignature(FixedBytes::from(*digest), Bytes::copy_from_slice(sig))
        .call()
        .await
    {
        Ok(v) if v.0 == EIP1271_MAGIC => Ok(()),
        Ok(v) => Err(OwnerSigError::NotApproved {
            owner,
            answer: format!("0x{}", hex::encode(v.0)),
        }),
        Err(e) => Err(OwnerSigError::NotApproved {
            owner,
            answer: format!("a revert: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eoa_signature_verifies_for_its_owner_only_whatever_the_v_encoding() {
        let key = PrivateKeySigner::random();
        let text = "ab".repeat(32);
        let sig = OwnerSignature::Signer(key.clone()).sign(&text).unwrap();
        let digest = crate::dkg::wire::eip191_of_text(&text);
        verify_eoa(key.address(), &digest, &sig).unwrap();
        let mut v01 = sig.clone();
        v01[64] -= 27;
        verify_eoa(key.address(), &digest, &v01).unwrap();
        let other = PrivateKeySigner::random().address();
        assert!(matches!(
            verify_eoa(other, &digest, &sig),
            Err(OwnerSigError::WrongSigner { .. })
        ));
        let wrong = crate::dkg::wire::eip191_of_text(&"cd".repeat(32));
        assert!(verify_eoa(key.address(), &wrong, &sig).is_err());
        assert!(matches!(
            verify_eoa(key.address(), &digest, &sig[..64]),
            Err(OwnerSigError::Malformed(64))
        ));
    }
}
