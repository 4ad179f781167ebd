//! The owner's signing key: a hex private-key file, an environment variable, or an encrypted JSON
//! (Web3 secret storage) keystore. The key is never printed, logged or put in an error.

use std::path::{Path, PathBuf};

use alloy::signers::local::PrivateKeySigner;

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
    match env(&var) {
        Some(text) => parse_key(&text, &format!("${var}")),
        None if cfg.private_key_env.is_some() => Err(SignerError::MissingEnv(var)),
        None => Err(SignerError::None),
    }
}

fn keystore_password(
    cfg: &SignerConfig,
    keystore: &Path,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<String, SignerError> {
    if let Some(path) = &cfg.keystore_password_file {
        return read_secret(path, "keystore password");
    }
    let var = cfg
        .keystore_password_env
        .clone()
        .unwrap_or_else(|| crate::config::ENV_KEYSTORE_PASSWORD.into());
    env(&var).ok_or_else(|| SignerError::NoPassword(keystore.to_owned(), var))
}

fn read_secret(path: &Path, what: &'static str) -> Result<String, SignerError> {
    std::fs::read_to_string(path).map_err(|source| SignerError::Read {
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
            keystore_file: Some(path.clone()),
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

    fn rand_core_for_test() -> impl alloy::signers::k256::elliptic_curve::rand_core::CryptoRngCore {
        alloy::signers::k256::elliptic_curve::rand_core::OsRng
    }
}
