//! EIP-2335 keystores (scrypt or pbkdf2-hmac-sha256, AES-128-CTR, SHA-256 checksum) built from
//! RustCrypto parts.
//!
//! Two shapes are read and written:
//! - the full EIP-2335 keystore (`crypto`, `description`, `pubkey`, `path`, `uuid`, `version`);
//! - the bare crypto module (`checksum`, `cipher`, `kdf` at the top level), which is what SSV
//!   operator key files (`encrypted_private_key.json`) hold.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::Hmac;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// Key derivation choice for [`encrypt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    /// scrypt with `n` = 2^`log_n`, block size `r`, parallelism `p`.
    Scrypt {
        /// log2 of the CPU/memory cost n.
        log_n: u8,
        /// Block size.
        r: u32,
        /// Parallelism.
        p: u32,
    },
    /// PBKDF2-HMAC-SHA256 with `c` rounds.
    Pbkdf2 {
        /// Iterations.
        c: u32,
    },
}

impl Kdf {
    /// The EIP-2335 default: scrypt n = 2^18, r = 8, p = 1.
    pub const SCRYPT_DEFAULT: Self = Self::Scrypt {
        log_n: 18,
        r: 8,
        p: 1,
    };
    /// What SSV operator key files use: PBKDF2 with 262144 rounds.
    pub const PBKDF2_DEFAULT: Self = Self::Pbkdf2 { c: 262_144 };
}

/// Why a keystore cannot be read or made. Never carries the password or the secret.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// Not JSON of the EIP-2335 shape.
    #[error("keystore is not valid JSON of the EIP-2335 shape: {0}")]
    Json(#[from] serde_json::Error),
    /// A hex field (salt, iv, checksum, ciphertext) does not decode.
    #[error("keystore field {field} is not hex: {source}")]
    Hex {
        /// The field, as a JSON path.
        field: &'static str,
        /// The decoder's refusal.
        #[source]
        source: hex::FromHexError,
    },
    /// A KDF, cipher or checksum function other than scrypt/pbkdf2, aes-128-ctr, sha256.
    #[error("unsupported keystore {module} function {function:?}")]
    UnsupportedFunction {
        /// Which module (`kdf`, `cipher`, `checksum`, `kdf.params.prf`).
        module: &'static str,
        /// The function named in the file.
        function: String,
    },
    /// A KDF parameter missing, of the wrong type, or outside the bounds this reader accepts
    /// (scrypt memory <= 512 MiB, pbkdf2 <= 10^7 rounds).
    #[error("keystore kdf parameter {param} is missing or invalid")]
    KdfParam {
        /// The parameter(s).
        param: &'static str,
    },
    /// A derived key shorter than the 32 bytes the cipher and checksum need.
    #[error("keystore kdf dklen is {got}, need at least 32")]
    DkLen {
        /// The `dklen` of the file.
        got: u64,
    },
    /// An AES-128-CTR IV that is not 16 bytes.
    #[error("keystore cipher iv must be 16 bytes, got {got}")]
    IvLength {
        /// Bytes found.
        got: usize,
    },
    /// The checksum does not match: wrong password or corrupted file.
    #[error("keystore checksum mismatch: wrong password or corrupted file")]
    WrongPassword,
    /// scrypt refused its parameters.
    #[error("key derivation failed: invalid scrypt parameters")]
    ScryptParams,
    /// scrypt refused the output length.
    #[error("key derivation failed: invalid output buffer length")]
    ScryptOutput,
    /// The OS random generator failed (salt, IV, UUID).
    #[error("OS random number generator failed: {0}")]
    Rng(#[source] getrandom::Error),
    /// A keystore file could not be read or written.
    #[error("keystore file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One EIP-2335 module: `function`, `params`, `message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Module {
    /// The function's name (`scrypt`, `pbkdf2`, `aes-128-ctr`, `sha256`).
    pub function: String,
    // BTreeMap keeps params sorted, which is also how Go writes the map (operator files).
    /// Its parameters (KDF: `dklen`, `salt`, `n`/`r`/`p` or `c`/`prf`; cipher: `iv`).
    pub params: BTreeMap<String, serde_json::Value>,
    /// Hex: the checksum, the ciphertext, or empty for the KDF.
    pub message: String,
}

/// The `crypto` part of an EIP-2335 keystore. Fields are in alphabetical order, the order Go's
/// keystorev4 (a map) writes them in for SSV operator files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CryptoModule {
    /// SHA-256 over the derived key's second half and the ciphertext.
    pub checksum: Module,
    /// AES-128-CTR with its IV; `message` is the ciphertext.
    pub cipher: Module,
    /// The password's key derivation.
    pub kdf: Module,
}

/// A full EIP-2335 keystore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keystore {
    /// The encrypted secret.
    pub crypto: CryptoModule,
    /// Free text, often empty.
    #[serde(default)]
    pub description: String,
    /// The validator public key, hex (empty for non-validator secrets).
    #[serde(default)]
    pub pubkey: String,
    /// The EIP-2334 derivation path, if the key was derived.
    #[serde(default)]
    pub path: String,
    /// A random UUID naming the keystore.
    #[serde(default)]
    pub uuid: String,
    /// The EIP-2335 version, 4.
    pub version: u32,
}

/// Accepts either shape on input.
#[derive(Deserialize)]
#[serde(untagged)]
enum AnyShape {
    Full { crypto: CryptoModule },
    Bare(CryptoModule),
}

/// EIP-2335 password processing: NFKD, then drop C0, C1 and DEL control codes. This is also what
/// Go's keystorev4 does, so a password file with a trailing newline still decrypts.
pub fn normalize_password(password: &str) -> Zeroizing<Vec<u8>> {
    let cleaned: Zeroizing<String> = Zeroizing::new(
        password
            .nfkd()
            .filter(|c| {
                let u = *c as u32;
                !(u <= 0x1f || (0x7f..=0x9f).contains(&u))
            })
            .collect(),
    );
    Zeroizing::new(cleaned.as_bytes().to_vec())
}

fn hex_field(field: &'static str, s: &str) -> Result<Vec<u8>, KeystoreError> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s))
        .map_err(|source| KeystoreError::Hex { field, source })
}

fn param_u64(m: &Module, name: &'static str) -> Result<u64, KeystoreError> {
    m.params
        .get(name)
        .and_then(|v| v.as_u64())
        .ok_or(KeystoreError::KdfParam { param: name })
}

fn param_str<'a>(m: &'a Module, name: &'static str) -> Result<&'a str, KeystoreError> {
    m.params
        .get(name)
        .and_then(|v| v.as_str())
        .ok_or(KeystoreError::KdfParam { param: name })
}

/// Most scrypt memory any wallet asks for (geth's "standard" and EIP-2335's default use 256 MiB).
pub const MAX_SCRYPT_MEMORY: u64 = 512 * 1024 * 1024;
/// Most pbkdf2 rounds any wallet asks for (EIP-2335's default is 262 144).
pub const MAX_PBKDF2_ROUNDS: u64 = 10_000_000;

/// Whether scrypt with these parameters stays within [`MAX_SCRYPT_MEMORY`] (128·r·n bytes) and a
/// sane parallelism; a crafted keystore must not exhaust the machine before the password check.
pub fn scrypt_within_bounds(n: u64, r: u64, p: u64) -> bool {
    n >= 2
        && n.is_power_of_two()
        && (1..=32).contains(&r)
        && (1..=16).contains(&p)
        && n.saturating_mul(r).saturating_mul(128) <= MAX_SCRYPT_MEMORY
}

/// Whether pbkdf2 with `c` rounds stays within [`MAX_PBKDF2_ROUNDS`].
pub fn pbkdf2_within_bounds(c: u64) -> bool {
    (1..=MAX_PBKDF2_ROUNDS).contains(&c)
}

fn derive_key(kdf: &Module, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let dklen = param_u64(kdf, "dklen")?;
    if !(32..=1024).contains(&dklen) {
        return Err(KeystoreError::DkLen { got: dklen });
    }
    let salt = hex_field("kdf.params.salt", param_str(kdf, "salt")?)?;
    let mut dk = Zeroizing::new(vec![0u8; dklen as usize]);
    match kdf.function.as_str() {
        "scrypt" => {
            let n = param_u64(kdf, "n")?;
            let (r, p) = (param_u64(kdf, "r")?, param_u64(kdf, "p")?);
            if !scrypt_within_bounds(n, r, p) {
                return Err(KeystoreError::KdfParam { param: "n, r, p" });
            }
            let (r, p) = (r as u32, p as u32);
            let log_n = n.trailing_zeros() as u8;
            let params =
                scrypt::Params::new(log_n, r, p).map_err(|_| KeystoreError::ScryptParams)?;
            scrypt::scrypt(password, &salt, &params, &mut dk)
                .map_err(|_| KeystoreError::ScryptOutput)?;
        }
        "pbkdf2" => {
            let prf = param_str(kdf, "prf")?;
            if prf != "hmac-sha256" {
                return Err(KeystoreError::UnsupportedFunction {
                    module: "kdf.params.prf",
                    function: prf.to_string(),
                });
            }
            let c = param_u64(kdf, "c")?;
            if !pbkdf2_within_bounds(c) {
                return Err(KeystoreError::KdfParam { param: "c" });
            }
            let c = c as u32;
            pbkdf2::pbkdf2::<Hmac<Sha256>>(password, &salt, c, &mut dk);
        }
        other => {
            return Err(KeystoreError::UnsupportedFunction {
                module: "kdf",
                function: other.to_string(),
            });
        }
    }
    Ok(dk)
}

fn checksum(dk: &[u8], ciphertext: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(&dk[16..32]);
    h.update(ciphertext);
    h.finalize().into()
}

/// Decrypts the secret of a keystore given as JSON text (full EIP-2335 keystore or bare crypto
/// module as in SSV operator key files).
pub fn decrypt(json: &str, password: &str) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let crypto = match serde_json::from_str::<AnyShape>(json)? {
        AnyShape::Full { crypto } => crypto,
        AnyShape::Bare(c) => c,
    };
    decrypt_crypto(&crypto, password)
}

/// Decrypts a parsed crypto module.
pub fn decrypt_crypto(
    crypto: &CryptoModule,
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    if crypto.checksum.function != "sha256" {
        return Err(KeystoreError::UnsupportedFunction {
            module: "checksum",
            function: crypto.checksum.function.clone(),
        });
    }
    if crypto.cipher.function != "aes-128-ctr" {
        return Err(KeystoreError::UnsupportedFunction {
            module: "cipher",
            function: crypto.cipher.function.clone(),
        });
    }
    let ciphertext = hex_field("cipher.message", &crypto.cipher.message)?;
    let expected = hex_field("checksum.message", &crypto.checksum.message)?;
    let iv = hex_field("cipher.params.iv", param_str(&crypto.cipher, "iv")?)?;
    if iv.len() != 16 {
        return Err(KeystoreError::IvLength { got: iv.len() });
    }
    let pw = normalize_password(password);
    let dk = derive_key(&crypto.kdf, &pw)?;
    if checksum(&dk, &ciphertext)[..] != expected[..] {
        return Err(KeystoreError::WrongPassword);
    }
    let mut plain = Zeroizing::new(ciphertext);
    let mut cipher = Aes128Ctr::new(dk[0..16].into(), iv[..].into());
    cipher.apply_keystream(&mut plain);
    Ok(plain)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], KeystoreError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(KeystoreError::Rng)?;
    Ok(b)
}

/// Encrypts `secret` with fresh random salt and IV into a crypto module.
pub fn encrypt_crypto(
    secret: &[u8],
    password: &str,
    kdf: Kdf,
) -> Result<CryptoModule, KeystoreError> {
    let salt = random_bytes::<32>()?;
    let iv = random_bytes::<16>()?;
    encrypt_crypto_with(secret, password, kdf, &salt, &iv)
}

/// Deterministic form of [`encrypt_crypto`] (salt and IV given), for test vectors.
pub fn encrypt_crypto_with(
    secret: &[u8],
    password: &str,
    kdf: Kdf,
    salt: &[u8],
    iv: &[u8; 16],
) -> Result<CryptoModule, KeystoreError> {
    let mut params = BTreeMap::new();
    params.insert("dklen".to_string(), serde_json::json!(32));
    params.insert("salt".to_string(), serde_json::json!(hex::encode(salt)));
    let function = match kdf {
        Kdf::Scrypt { log_n, r, p } => {
            if !(1..64).contains(&log_n) {
                return Err(KeystoreError::KdfParam { param: "n" });
            }
            params.insert("n".to_string(), serde_json::json!(1u64 << log_n));
            params.insert("r".to_string(), serde_json::json!(r));
            params.insert("p".to_string(), serde_json::json!(p));
            "scrypt"
        }
        Kdf::Pbkdf2 { c } => {
            params.insert("c".to_string(), serde_json::json!(c));
            params.insert("prf".to_string(), serde_json::json!("hmac-sha256"));
            "pbkdf2"
        }
    };
    let kdf_module = Module {
        function: function.to_string(),
        params,
        message: String::new(),
    };
    let pw = normalize_password(password);
    let dk = derive_key(&kdf_module, &pw)?;
    let mut ciphertext = secret.to_vec();
    let mut cipher = Aes128Ctr::new(dk[0..16].into(), iv.into());
    cipher.apply_keystream(&mut ciphertext);
    let sum = checksum(&dk, &ciphertext);
    let mut iv_params = BTreeMap::new();
    iv_params.insert("iv".to_string(), serde_json::json!(hex::encode(iv)));
    Ok(CryptoModule {
        checksum: Module {
            function: "sha256".into(),
            params: BTreeMap::new(),
            message: hex::encode(sum),
        },
        cipher: Module {
            function: "aes-128-ctr".into(),
            params: iv_params,
            message: hex::encode(ciphertext),
        },
        kdf: kdf_module,
    })
}

/// Encrypts `secret` into a full EIP-2335 keystore (version 4, random UUIDv4). `pubkey`, `path`
/// and `description` are left empty for the caller to fill.
pub fn encrypt(secret: &[u8], password: &str, kdf: Kdf) -> Result<Keystore, KeystoreError> {
    let crypto = encrypt_crypto(secret, password, kdf)?;
    Ok(Keystore {
        crypto,
        description: String::new(),
        pubkey: String::new(),
        path: String::new(),
        uuid: uuid_v4()?,
        version: 4,
    })
}

fn uuid_v4() -> Result<String, KeystoreError> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
    const SALT: &str = "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3";
    const IV: &str = "264daa3f303d7259501c93d997d84fe6";
    // The EIP-2335 test password: NFKD turns the fraktur letters into "testpassword" and keeps the key.
    const EIP_PASSWORD: &str = "\u{1d531}\u{1d522}\u{1d530}\u{1d531}\u{1d52d}\u{1d51e}\u{1d530}\u{1d530}\u{1d534}\u{1d52c}\u{1d52f}\u{1d521}\u{1f511}";

    fn iv() -> [u8; 16] {
        let v = hex::decode(IV).unwrap();
        let mut a = [0u8; 16];
        a.copy_from_slice(&v);
        a
    }

    fn check_vector(kdf: Kdf, password: &str, checksum: &str, cipher: &str) {
        let secret = hex::decode(SECRET).unwrap();
        let salt = hex::decode(SALT).unwrap();
        let c = encrypt_crypto_with(&secret, password, kdf, &salt, &iv()).unwrap();
        assert_eq!(c.checksum.message, checksum);
        assert_eq!(c.cipher.message, cipher);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(&decrypt(&json, password).unwrap()[..], &secret[..]);
        assert!(matches!(
            decrypt(&json, "wrong"),
            Err(KeystoreError::WrongPassword)
        ));
    }

    #[test]
    fn eip2335_pbkdf2_vector_unicode_password() {
        check_vector(
            Kdf::Pbkdf2 { c: 262_144 },
            EIP_PASSWORD,
            "8a9f5d9912ed7e75ea794bc5a89bca5f193721d30868ade6f73043c6ea6febf1",
            "cee03fde2af33149775b7223e7845e4fb2c8ae1792e5f99fe9ecf474cc8c16ad",
        );
    }

    #[test]
    fn eip2335_scrypt_vector_unicode_password() {
        check_vector(
            Kdf::SCRYPT_DEFAULT,
            EIP_PASSWORD,
            "d2217fe5f3e9a1e34581ef8a78f7c9928e436d36dacc5e846690a5581e8ea484",
            "06ae90d55fe0a6e9c5c3bc5b170827b2e5cce3929ed3f116c2811e6366dfe20f",
        );
    }

    #[test]
    fn eip2335_earlier_vectors_testpassword() {
        check_vector(
            Kdf::Pbkdf2 { c: 262_144 },
            "testpassword",
            "18b148af8e52920318084560fd766f9d09587b4915258dec0676cba5b0da09d8",
            "a9249e0ca7315836356e4c7440361ff22b9fe71e2e2ed34fc1eb03976924ed48",
        );
        check_vector(
            Kdf::SCRYPT_DEFAULT,
            "testpassword",
            "149aafa27b041f3523c53d7acba1905fa6b1c90f9fef137568101f44b531a3cb",
            "54ecc8863c0550351eee5720f3be6a5d4a016025aa91cd6436cfec938d6a8d30",
        );
    }

    #[test]
    fn full_keystore_roundtrip_and_shape() {
        let ks = encrypt(
            b"secret bytes",
            "pw\n",
            Kdf::Scrypt {
                log_n: 10,
                r: 8,
                p: 1,
            },
        )
        .unwrap();
        let json = serde_json::to_string(&ks).unwrap();
        // The trailing newline is a control character and is dropped by normalisation.
        assert_eq!(&decrypt(&json, "pw").unwrap()[..], b"secret bytes");
        assert_eq!(ks.version, 4);
        assert_eq!(ks.uuid.len(), 36);
        assert_eq!(&ks.uuid[14..15], "4");
        assert!(!json.contains(&hex::encode(b"secret bytes")));
    }

    #[test]
    fn normalisation_drops_controls_and_decomposes() {
        assert_eq!(&normalize_password("a\u{7f}b\u{85}c\td")[..], b"abcd");
        assert_eq!(&normalize_password("\u{1d531}")[..], b"t");
    }

    #[test]
    fn ssv_operator_keystores_decrypt() {
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/vectors/ssv-dkg/examples");
        for op in ["operator1", "operator13"] {
            let dir = base.join(op);
            let json = std::fs::read_to_string(dir.join("encrypted_private_key.json"))
                .unwrap_or_else(|e| {
                    panic!("missing vector {op} ({e}); ../shared must be next to the repo")
                });
            let pw = std::fs::read_to_string(dir.join("password")).unwrap();
            let plain = decrypt(&json, &pw).unwrap();
            assert!(
                plain.starts_with(b"-----BEGIN RSA PRIVATE KEY-----"),
                "{op}"
            );
            assert!(matches!(
                decrypt(&json, "12345679"),
                Err(KeystoreError::WrongPassword)
            ));
        }
    }

    #[test]
    fn crafted_kdf_parameters_are_refused_before_deriving() {
        let ks = encrypt(b"secret", "pw", Kdf::Pbkdf2 { c: 2 }).unwrap();
        let mut json = serde_json::to_value(&ks).unwrap();
        json["crypto"]["kdf"] = serde_json::json!({
            "function": "scrypt",
            "params": {"dklen": 32, "n": 1u64 << 30, "r": 8, "p": 1, "salt": "00"},
            "message": ""
        });
        let started = std::time::Instant::now();
        let err = decrypt(&json.to_string(), "pw").unwrap_err();
        assert!(matches!(err, KeystoreError::KdfParam { .. }), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        json["crypto"]["kdf"] = serde_json::json!({
            "function": "pbkdf2",
            "params": {"dklen": 32, "c": 4_000_000_000u64, "prf": "hmac-sha256", "salt": "00"},
            "message": ""
        });
        assert!(matches!(
            decrypt(&json.to_string(), "pw"),
            Err(KeystoreError::KdfParam { param: "c" })
        ));
    }
}
