//! An operator's key share from a registration's `sharesData` (ssv-contracts.md §5.1): the share
//! public keys and RSA ciphertexts are in operator-id order, and the ciphertext decrypts (RSA
//! PKCS#1 v1.5, the operator's key) to the share secret as 64 hex characters, with or without
//! `0x` (the SDK writes it, ssv-dkg does not). A share is only used once it matches its public key.

use zeroize::Zeroizing;

use crate::{
    crypto::{
        bls::{self, BlsError, Scalar},
        rsa_keys::{OperatorPrivateKey, RsaKeyError},
    },
    ssv::keyshares::{ENCRYPTED_SHARE_LEN, SHARE_PUBKEY_LEN, SIGNATURE_LEN, shares_data_len},
};

/// Why an operator's share could not be recovered.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// `sharesData` does not have the length `n` operators need.
    #[error("sharesData is {got} bytes; {n} operators need {expected}")]
    Length {
        /// Operators.
        n: usize,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// RSA decryption failed.
    #[error("operator {operator_id}: decrypting its share")]
    Decrypt {
        /// Operator.
        operator_id: u64,
        /// The RSA error.
        #[source]
        source: RsaKeyError,
    },
    /// The plaintext is not a share secret (wrong key: PKCS#1 v1.5 implicit rejection gives
    /// garbage instead of an error).
    #[error("operator {operator_id}: the decrypted share is not 32 bytes of hex")]
    NotAShare {
        /// Operator.
        operator_id: u64,
    },
    /// Not a canonical scalar.
    #[error("operator {operator_id}: the decrypted share is not a BLS secret")]
    BadScalar {
        /// Operator.
        operator_id: u64,
        /// The BLS error.
        #[source]
        source: BlsError,
    },
    /// Decrypted, but it is not the share whose public key was registered.
    #[error("operator {operator_id}: the decrypted share does not match its registered public key")]
    WrongShare {
        /// Operator.
        operator_id: u64,
    },
}

/// The parts of one validator's `sharesData` for `n` operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharesData {
    /// Share public keys, one per operator in id order.
    pub share_pubkeys: Vec<[u8; 48]>,
    /// RSA ciphertexts, one per operator in id order.
    pub encrypted: Vec<Vec<u8>>,
}

/// Splits `sharesData` (signature, n share public keys, n ciphertexts).
pub fn split(data: &[u8], n: usize) -> Result<SharesData, ShareError> {
    let expected = shares_data_len(n);
    if data.len() != expected {
        return Err(ShareError::Length {
            n,
            expected,
            got: data.len(),
        });
    }
    let keys = &data[SIGNATURE_LEN..SIGNATURE_LEN + SHARE_PUBKEY_LEN * n];
    let cts = &data[SIGNATURE_LEN + SHARE_PUBKEY_LEN * n..];
    Ok(SharesData {
        share_pubkeys: keys
            .chunks_exact(SHARE_PUBKEY_LEN)
            .map(|c| c.try_into().expect("48-byte chunk"))
            .collect(),
        encrypted: cts
            .chunks_exact(ENCRYPTED_SHARE_LEN)
            .map(<[u8]>::to_vec)
            .collect(),
    })
}

/// Decrypts operator `operator_id`'s share with its RSA key and checks it against
/// `share_pubkey`. The secret stays in a zeroizing [`Scalar`].
pub fn decrypt_share(
    key: &OperatorPrivateKey,
    operator_id: u64,
    ciphertext: &[u8],
    share_pubkey: &[u8; 48],
) -> Result<Scalar, ShareError> {
    let plain = key
        .decrypt_pkcs1v15(ciphertext)
        .map_err(|source| ShareError::Decrypt {
            operator_id,
            source,
        })?;
    let text = plain.strip_prefix(b"0x").unwrap_or(&plain);
    let not_a_share = || ShareError::NotAShare { operator_id };
    if text.len() != 64 {
        return Err(not_a_share());
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text, bytes.as_mut_slice()).map_err(|_| not_a_share())?;
    let share =
        Scalar::from_be_bytes(bytes.as_slice()).map_err(|source| ShareError::BadScalar {
            operator_id,
            source,
        })?;
    let sk = share
        .to_secret_key()
        .map_err(|source| ShareError::BadScalar {
            operator_id,
            source,
        })?;
    if bls::public_key(&sk) != *share_pubkey {
        return Err(ShareError::WrongShare { operator_id });
    }
    Ok(share)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> OperatorPrivateKey {
        OperatorPrivateKey::generate(2048).unwrap()
    }

    #[test]
    fn a_share_decrypts_with_and_without_the_0x_prefix() {
        let k = key();
        let share = Scalar::random().unwrap();
        let pk = bls::public_key(&share.to_secret_key().unwrap());
        let hex64 = hex::encode(share.to_be_bytes());
        for text in [format!("0x{hex64}"), hex64.clone()] {
            let ct = k.public_key().encrypt_pkcs1v15(text.as_bytes()).unwrap();
            let got = decrypt_share(&k, 3, &ct, &pk).unwrap();
            assert_eq!(got, share);
        }
        // The right ciphertext checked against another share's key is refused.
        let ct = k.public_key().encrypt_pkcs1v15(hex64.as_bytes()).unwrap();
        let other = bls::public_key(&Scalar::random().unwrap().to_secret_key().unwrap());
        assert!(matches!(
            decrypt_share(&k, 3, &ct, &other),
            Err(ShareError::WrongShare { operator_id: 3 })
        ));
        // Another operator's key yields garbage (implicit rejection), caught as not a share.
        let err = decrypt_share(&key(), 4, &ct, &pk).unwrap_err();
        assert!(
            matches!(
                err,
                ShareError::NotAShare { .. } | ShareError::Decrypt { .. }
            ),
            "{err}"
        );
        // The error never carries the plaintext.
        assert!(!format!("{err:?}").contains(&hex64[..16]));
    }

    #[test]
    fn shares_data_splits_by_operator() {
        let n = 4;
        let mut data = vec![0u8; shares_data_len(n)];
        for i in 0..n {
            data[SIGNATURE_LEN + i * 48] = i as u8 + 1;
            data[SIGNATURE_LEN + 48 * n + i * 256] = 0xa0 + i as u8;
        }
        let s = split(&data, n).unwrap();
        assert_eq!(s.share_pubkeys.len(), 4);
        assert_eq!(s.share_pubkeys[2][0], 3);
        assert_eq!(s.encrypted[3][0], 0xa3);
        assert!(matches!(
            split(&data[1..], n),
            Err(ShareError::Length { expected: 1312, .. })
        ));
    }
}
