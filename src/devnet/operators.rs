//! The devnet's SSV operators: RSA keys generated per devnet and stored as SSV operator keystores
//! (`operator-<id>/encrypted_private_key.json` + `password`), so the project's operator server and
//! ssv-dkg's `start-operator` can both serve them.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use super::DevnetError;
use crate::crypto::{keystore::Kdf, rsa_keys::OperatorPrivateKey};

/// PBKDF2 rounds for devnet keystores: a throw-away key, so fast to open (real ones use 262 144).
const DEVNET_KDF: Kdf = Kdf::Pbkdf2 { c: 16_384 };

/// One registered devnet operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevnetOperator {
    /// Operator id on the devnet SSVNetwork.
    pub id: u64,
    /// The account that registered it.
    pub owner: Address,
    /// Fee per block (wei on v2, SSV wei on v1).
    pub fee: U256,
    /// Private operators only take whitelisted owners.
    pub private: bool,
    /// base64 "RSA PUBLIC KEY" PEM, as on chain and in the SSV API.
    pub public_key: String,
    /// `encrypted_private_key.json`.
    pub keystore: PathBuf,
    /// File holding the keystore password.
    pub password_file: PathBuf,
}

/// Generates `count` operator keys in parallel and writes their keystores under `dir`.
pub fn generate_keys(
    dir: &Path,
    count: usize,
) -> Result<Vec<(String, PathBuf, PathBuf)>, DevnetError> {
    let handles: Vec<_> = (0..count)
        .map(|i| {
            let dir = dir.join(format!("operator-{}", i + 1));
            std::thread::spawn(move || -> Result<(String, PathBuf, PathBuf), DevnetError> {
                std::fs::create_dir_all(&dir)
                    .map_err(|e| DevnetError::Io(format!("creating {}", dir.display()), e))?;
                let key = OperatorPrivateKey::generate(2048)
                    .map_err(|e| DevnetError::Keys(e.to_string()))?;
                let password = format!("devnet-operator-{}", i + 1);
                let ks = dir.join("encrypted_private_key.json");
                let pw = dir.join("password");
                key.write_keystore_file(&ks, &password, DEVNET_KDF)
                    .map_err(|e| DevnetError::Keys(e.to_string()))?;
                crate::crypto::rsa_keys::write_private_file(&pw, password.as_bytes())
                    .map_err(|e| DevnetError::Io(format!("writing {}", pw.display()), e))?;
                Ok((key.public_key().to_base64_pem().to_string(), ks, pw))
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .map_err(|_| DevnetError::Keys("key generation thread panicked".into()))?
        })
        .collect()
}

/// Realistic ETH fees (wei per block, multiples of 1e5) between the v2 minimum 1 065 200 000 and
/// maximum 5 326 300 000 of the notes, varied per operator.
pub fn eth_fee(id: u64) -> U256 {
    U256::from(1_065_200_000u64 + (id % 7) * 500_000_000)
}

/// v1 SSV fees (SSV wei per block, multiples of 1e7, at least 1e9).
pub fn ssv_fee(id: u64) -> U256 {
    U256::from(100_000_000_000u64 + (id % 5) * 10_000_000_000)
}
