//! Ceremony identifiers (ssv-dkg `GetInstanceIDfromMsg`, dkg-spec `NewID`) and the kyber session nonce.

use alloy::primitives::keccak256;
use sha2::{Digest, Sha256};

/// A request or instance id: 24 bytes.
pub type Id = [u8; 24];

/// A fresh random 24-byte request id.
pub fn new_request_id() -> Result<Id, getrandom::Error> {
    let mut id = [0u8; 24];
    getrandom::fill(&mut id)?;
    Ok(id)
}

/// EIP-191 personal-message hash of the 64-char lowercase hex of keccak256(`ssz`).
pub fn eip191_of_ssz(ssz: &[u8]) -> [u8; 32] {
    let hex_hash = hex::encode(keccak256(ssz));
    let mut msg = Vec::with_capacity(28 + 64);
    msg.extend_from_slice(b"\x19Ethereum Signed Message:\n64");
    msg.extend_from_slice(hex_hash.as_bytes());
    keccak256(&msg).0
}

/// Instance id = keccak(initiator key bytes)[..8] ‖ EIP-191(hex keccak(SSZ(msg)))[..8] ‖ request id[..8].
/// `initiator_key` is the base64-PEM text of the initiator's RSA public key.
pub fn instance_id(initiator_key: &[u8], msg_ssz: &[u8], request_id: &Id) -> Id {
    let mut out = [0u8; 24];
    out[..8].copy_from_slice(&keccak256(initiator_key)[..8]);
    out[8..16].copy_from_slice(&eip191_of_ssz(msg_ssz)[..8]);
    out[16..].copy_from_slice(&request_id[..8]);
    out
}

/// kyber `Config.Nonce` and every bundle's SessionID: sha256(instance id).
pub fn session_nonce(instance: &Id) -> [u8; 32] {
    Sha256::digest(instance).into()
}
