//! The owner's signing key: a hex private-key file, an environment variable, or an encrypted JSON
//! (Web3 secret storage) keystore. The key is never printed, logged or put in an error.

use std::path::{Path, PathBuf};

use alloy::signers::local::PrivateKeySigner;
use zeroize::Zeroizing;

use crate::config::{ENV_PRIVATE_KEY, SignerConfig};

/// Why no signer could be loaded. Messages name the source, never its content.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The key or password file could not be read.
    #[error("cannot read {what} file {path}: {source}")]
    Read {
        /// "private key" or "keystore password".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The io error.
        source: std::io::Error,
    },
    /// The named environment variable is not set.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The text is not a 32-byte hex secp256k1 key.
    #[error("the private key from {0} is not a valid 32-byte hex secp256k1 key")]
    BadKey(String),
    /// Wrong password, or a corrupt keystore.
    #[error("cannot decrypt keystore {path}: wrong password or corrupt keystore")]
    Keystore {
        /// The keystore file.
        path: PathBuf,
    },
    /// A keystore whose key derivation asks for more memory or time than any wallet uses.
    #[error(
        "keystore {path} asks for key-derivation parameters beyond any real wallet's (scrypt over 512 MiB, or pbkdf2 over 10 000 000 rounds); refusing to run them"
    )]
    KdfOutOfBounds {
        /// The keystore file.
        path: PathBuf,
    },
    /// A keystore without any password source.
    #[error(
        "keystore {0} needs a password: set signer.keystore_password_file or the {1} environment variable"
    )]
    NoPassword(PathBuf, String),
    /// No source configured and no env fallback.
    #[error(
        "no signer configured: set signer.private_key_file, signer.keystore_file, or the {ENV_PRIVATE_KEY} environment variable"
    )]
    None,
}

/// Loads the signer the config names; `env` is injected so tests need not touch the process env.
pub fn load_signer(
    cfg: &SignerConfig,
    env: impl Fn(&str) -> Option<String>,
) -> Result<PrivateKeySigner, SignerError> {
    if let Some(path) = &cfg.keystore_file {
        check_keystore_kdf(path)?;
        let password = keystore_password(cfg, path, &env)?;
        return PrivateKeySigner::decrypt_keystore(path, password.trim_end_matches(['\n', '\r']))
            .map_err(|_| SignerError::Keystore { path: path.clone() });
    }
    if let Some(path) = &cfg.private_key_file {
        let text = read_secret(path, "private key")?;
        return parse_key(&text, &path.display().to_string());
    }
    let var = cfg
        .private_key_env
        .clone()
        .unwrap_or_else(|| ENV_PRIVATE_KEY.to_string());
    match env(&var).map(Zeroizing::new) {
        Some(text) => parse_key(&text, &format!("${var}")),
        None if cfg.private_key_env.is_some() => Err(SignerError::MissingEnv(var)),
        None => Err(SignerError::None),
    }
}

/// Refuses a Web3 keystore whose KDF would take more memory or time than any real wallet uses
/// (a crafted file could otherwise exhaust the machine before the password is even checked).
fn check_keystore_kdf(path: &Path) -> Result<(), SignerError> {
    let text = read_secret(path, "keystore")?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| SignerError::Keystore {
            path: path.to_owned(),
        })?;
    let crypto = json.get("crypto").or_else(|| json.get("Crypto"));
    let kdf = crypto.and_then(|c| c.get("kdf")).and_then(|k| k.as_str());
    let params = crypto.and_then(|c| c.get("kdfparams"));
    let num = |k: &str| params.and_then(|p| p.get(k)).and_then(|v| v.as_u64());
    let within = match kdf {
        Some("scrypt") => crate::crypto::keystore::scrypt_within_bounds(
            num("n").unwrap_or(0),
            num("r").unwrap_or(0),
            num("p").unwrap_or(0),
        ),
        Some("pbkdf2") => crate::crypto::keystore::pbkdf2_within_bounds(num("c").unwrap_or(0)),
        _ => false,
    } && num("dklen").is_some_and(|d| (32..=1024).contains(&d));
    if within {
        Ok(())
    } else {
        Err(SignerError::KdfOutOfBounds {
            path: path.to_owned(),
        })
    }
}

fn keystore_password(
    cfg: &SignerConfig,
    keystore: &Path,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Zeroizing<String>, SignerError> {
    if let Some(path) = &cfg.keystore_password_file {
        return read_secret(path, "keystore password");
    }
    let var = cfg
        .keystore_password_env
        .clone()
        .unwrap_or_else(|| crate::config::ENV_KEYSTORE_PASSWORD.into());
    env(&var)
        .map(Zeroizing::new)
        .ok_or_else(|| SignerError::NoPassword(keystore.to_owned(), var))
}

/// Reads a secret file into memory that is wiped when dropped.
fn read_secret(path: &Path, what: &'static str) -> Result<Zeroizing<String>, SignerError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|source| SignerError::Read {
            what,
            path: path.to_owned(),
            source,
        })
}

fn parse_key(text: &str, source: &str) -> Result<PrivateKeySigner, SignerError> {
    text.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| SignerError::BadKey(source.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // anvil's well-known first dev key; never a real secret.
    const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn key_from_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key");
        std::fs::write(&f, format!("{DEV_KEY}\n")).unwrap();
        let cfg = SignerConfig {
            private_key_file: Some(f),
            ..Default::default()
        };
        let a = load_signer(&cfg, |_| None).unwrap().address();
        let b = load_signer(&SignerConfig::default(), |k| {
            (k == ENV_PRIVATE_KEY).then(|| DEV_KEY.into())
        })
        .unwrap()
        .address();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    }

    #[test]
    fn errors_never_contain_the_secret() {
        let bad = "0xdeadbeefnotakey";
        let err = load_signer(&SignerConfig::default(), |_| Some(bad.into()))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("deadbeef"), "{err}");
        assert!(matches!(
            load_signer(&SignerConfig::default(), |_| None),
            Err(SignerError::None)
        ));
    }

    #[test]
    fn keystore_with_wrong_password_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = rand_core_for_test();
        let (_, name) = PrivateKeySigner::encrypt_keystore(
            dir.path(),
            &mut rng,
            hex::decode(&DEV_KEY[2..]).unwrap(),
            "right",
            None,
        )
        .unwrap();
        let path = dir.path().join(name);
        let cfg = SignerConfig {
            keystore_file: Some(path),
            ..Default::default()
        };
        let ok = load_signer(&cfg, |_| Some("right".into())).unwrap();
        assert_eq!(
            ok.address().to_string(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        let err = load_signer(&cfg, |_| Some("wrong".into())).unwrap_err();
        assert!(matches!(err, SignerError::Keystore { .. }), "{err}");
        assert!(err.to_string().contains("wrong password"));
    }

    #[test]
    fn a_keystore_asking_for_huge_kdf_parameters_is_refused_before_deriving() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ks.json");
        // n = 2^30, r = 8: 128 GiB of scrypt memory.
        std::fs::write(
            &path,
            r#"{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"00"},"ciphertext":"00","kdf":"scrypt","kdfparams":{"dklen":32,"n":1073741824,"p":1,"r":8,"salt":"00"},"mac":"00"},"id":"x","version":3}"#,
        )
        .unwrap();
        let cfg = SignerConfig {
            keystore_file: Some(path),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let err = load_signer(&cfg, |_| Some("pw".into())).unwrap_err();
        assert!(matches!(err, SignerError::KdfOutOfBounds { .. }), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    fn rand_core_for_test() -> impl alloy::signers::k256::elliptic_curve::rand_core::CryptoRngCore {
        alloy::signers::k256::elliptic_curve::rand_core::OsRng
    }
}
