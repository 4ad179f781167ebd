//! ECIES over BLS12-381 G1 exactly as kyber's `encrypt/ecies` with SHA-256 (what ssv-dkg's DKG uses
//! to encrypt deals): ephemeral r, R = r·G1, shared = compressed(r·Pub), HKDF-SHA256 (no salt, no
//! info) to 44 bytes, AES-256-GCM with key okm[0..32] and nonce okm[32..44], no AAD.
//! Ciphertext = compressed(R) ‖ GCM(ciphertext ‖ tag).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::crypto::bls::{BlsError, G1, PointProblem, Scalar};

const POINT_LEN: usize = 48;
const TAG_LEN: usize = 16;

/// Why an ECIES encryption or decryption failed.
#[derive(Debug, thiserror::Error)]
pub enum EciesError {
    /// The recipient's public key is not a usable G1 point.
    #[error("ECIES recipient key: {0}")]
    RecipientKey(#[source] BlsError),
    /// Too short to hold the ephemeral point and the GCM tag.
    #[error("ECIES ciphertext is {got} bytes, shorter than the minimum {min}")]
    TooShort {
        /// Bytes given.
        got: usize,
        /// Bytes needed at least (48 + 16).
        min: usize,
    },
    /// The ephemeral point R at the start of the ciphertext is not a usable G1 point.
    #[error("ECIES ephemeral point: {0}")]
    EphemeralPoint(#[source] BlsError),
    /// AES-GCM authentication failed: wrong key or tampered ciphertext.
    #[error("ECIES authentication failed (wrong key or tampered ciphertext)")]
    Decrypt,
    /// AES-GCM or HKDF refused to encrypt (cannot happen with the fixed sizes used here).
    #[error("ECIES encryption failed")]
    Encrypt,
    /// No randomness for the ephemeral scalar.
    #[error("ECIES randomness: {0}")]
    Rng(#[source] BlsError),
}

fn derive(shared: &G1) -> Result<(Zeroizing<[u8; 32]>, [u8; 12]), EciesError> {
    let ikm = Zeroizing::new(shared.compress());
    let hk = Hkdf::<Sha256>::new(None, ikm.as_slice());
    let mut okm = Zeroizing::new([0u8; 44]);
    // 44 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail here.
    hk.expand(&[], okm.as_mut_slice())
        .map_err(|_| EciesError::Encrypt)?;
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&okm[..32]);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&okm[32..44]);
    Ok((key, nonce))
}

/// Encrypts `msg` to the holder of the G1 public key `recipient` (compressed, 48 bytes).
pub fn encrypt(recipient: &[u8], msg: &[u8]) -> Result<Vec<u8>, EciesError> {
    let pubkey = G1::from_compressed(recipient).map_err(EciesError::RecipientKey)?;
    if pubkey.is_identity() {
        return Err(EciesError::RecipientKey(BlsError::InvalidPoint {
            group: "G1",
            reason: PointProblem::Identity,
        }));
    }
    encrypt_to(&pubkey, msg)
}

/// [`encrypt`] to a key the caller has already parsed and checked (in G1, not the identity),
/// as a dealer does for each participant's exchange key once per ceremony.
pub fn encrypt_to(recipient: &G1, msg: &[u8]) -> Result<Vec<u8>, EciesError> {
    let r = Scalar::random().map_err(EciesError::Rng)?;
    let big_r = G1::generator().mul(&r);
    let shared = recipient.mul(&r);
    let (key, nonce) = derive(&shared)?;
    let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| EciesError::Encrypt)?;
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), msg)
        .map_err(|_| EciesError::Encrypt)?;
    let mut out = Vec::with_capacity(POINT_LEN + ct.len());
    out.extend_from_slice(&big_r.compress());
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Decrypts with the recipient's secret scalar.
pub fn decrypt(secret: &Scalar, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, EciesError> {
    if ciphertext.len() < POINT_LEN + TAG_LEN {
        return Err(EciesError::TooShort {
            got: ciphertext.len(),
            min: POINT_LEN + TAG_LEN,
        });
    }
    let big_r =
        G1::from_compressed(&ciphertext[..POINT_LEN]).map_err(EciesError::EphemeralPoint)?;
    if big_r.is_identity() {
        return Err(EciesError::EphemeralPoint(BlsError::InvalidPoint {
            group: "G1",
            reason: PointProblem::Identity,
        }));
    }
    let shared = big_r.mul(secret);
    let (key, nonce) = derive(&shared)?;
    let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| EciesError::Decrypt)?;
    cipher
        .decrypt(Nonce::from_slice(&nonce), &ciphertext[POINT_LEN..])
        .map(Zeroizing::new)
        .map_err(|_| EciesError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_layout() {
        let sk = Scalar::random().expect("rng");
        let pk = G1::generator().mul(&sk).compress();
        let msg = [7u8; 32];
        let ct = encrypt(&pk, &msg).expect("encrypt");
        // kyber layout for a 32-byte share: 48-byte point + 32 + 16-byte tag.
        assert_eq!(ct.len(), 96);
        assert_eq!(decrypt(&sk, &ct).expect("decrypt").as_slice(), &msg);
        // Fresh randomness each time.
        assert_ne!(encrypt(&pk, &msg).expect("encrypt"), ct);
    }

    #[test]
    fn rejects_wrong_key_and_tampering() {
        let sk = Scalar::random().expect("rng");
        let pk = G1::generator().mul(&sk).compress();
        let ct = encrypt(&pk, b"share").expect("encrypt");
        let other = Scalar::random().expect("rng");
        assert!(matches!(decrypt(&other, &ct), Err(EciesError::Decrypt)));
        for i in [0usize, 47, 48, ct.len() - 1] {
            let mut t = ct.clone();
            t[i] ^= 0x01;
            assert!(decrypt(&sk, &t).is_err(), "flipped byte {i} must fail");
        }
        assert!(matches!(
            decrypt(&sk, &ct[..40]),
            Err(EciesError::TooShort { .. })
        ));
        let mut inf = [0u8; 48];
        inf[0] = 0xc0;
        assert!(encrypt(&inf, b"x").is_err());
    }

    #[test]
    fn matches_independent_derivation() {
        // Recompute the key schedule by hand from the ephemeral point to pin the KDF inputs
        // (IKM = compressed shared point, no salt, no info, 32-byte key then 12-byte nonce).
        let sk = Scalar::random().expect("rng");
        let pk = G1::generator().mul(&sk).compress();
        let ct = encrypt(&pk, b"0123456789abcdef0123456789abcdef").expect("encrypt");
        let big_r = G1::from_compressed(&ct[..48]).expect("point");
        let shared = big_r.mul(&sk).compress();
        let mut okm = [0u8; 44];
        Hkdf::<Sha256>::new(None, &shared)
            .expand(&[], &mut okm)
            .expect("hkdf");
        let cipher = Aes256Gcm::new_from_slice(&okm[..32]).expect("key");
        let pt = cipher
            .decrypt(Nonce::from_slice(&okm[32..]), &ct[48..])
            .expect("gcm");
        assert_eq!(pt, b"0123456789abcdef0123456789abcdef");
    }
}
