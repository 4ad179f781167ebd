//! SSV operator RSA keys as ssv-dkg / dkg-spec use them.
//!
//! - Public keys travel as base64 of a PEM block labelled `RSA PUBLIC KEY` whose body is a PKIX
//!   SubjectPublicKeyInfo (not PKCS#1, despite the label). Operators are matched by byte equality
//!   of that string, so [`OperatorPublicKey::to_base64_pem`] reproduces Go's encoding exactly.
//! - Signatures are RSASSA-PSS, SHA-256, MGF1-SHA-256, with the maximal salt length (222 bytes for
//!   2048-bit keys), i.e. Go's `rsa.PSSSaltLengthAuto`; verification auto-detects the salt like Go.
//! - Shares are encrypted with RSA PKCS#1 v1.5.
//! - Private keys are PKCS#1 PEM (`RSA PRIVATE KEY`) inside an EIP-2335 crypto module
//!   (`encrypted_private_key.json`, PBKDF2).

use crate::crypto::keystore::{self, CryptoModule, Kdf, KeystoreError};
use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PSS_2048_8192_SHA256, RsaParameters, RsaPssSaltLength,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::sha2::{Digest, Sha256};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Encrypt, Pss};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use zeroize::Zeroizing;

const PUB_LABEL: &str = "RSA PUBLIC KEY";

/// Why an operator RSA key cannot be parsed, used or stored. Never carries private key material.
#[derive(Debug, thiserror::Error)]
pub enum RsaKeyError {
    /// The base64 around the PEM text does not decode.
    #[error("operator public key is not base64: {0}")]
    Base64(#[source] base64::DecodeError),
    /// Not one PEM block with an accepted label.
    #[error("operator public key is not a PEM block labelled {expected:?}: {reason}")]
    Pem {
        /// The label ssv-dkg writes.
        expected: &'static str,
        /// What is wrong with the block.
        reason: String,
    },
    /// The PEM body is not base64.
    #[error(
        "operator public key is not a PEM block labelled {expected:?}: body is not base64: {source}"
    )]
    PemBody {
        /// The label ssv-dkg writes.
        expected: &'static str,
        /// The decoder's refusal.
        #[source]
        source: base64::DecodeError,
    },
    /// The DER body is neither an RSA SubjectPublicKeyInfo nor a PKCS#1 RSA key (both parsers'
    /// messages).
    #[error("operator public key DER is neither PKIX nor PKCS#1 RSA: {0}")]
    Der(String),
    /// The key cannot be written as PKIX DER.
    #[error("cannot encode the public key as PKIX: {0}")]
    EncodePublic(#[source] rsa::pkcs8::spki::Error),
    /// A private key PEM that is not PKCS#1 RSA.
    #[error("RSA private key PEM (PKCS#1) does not parse")]
    PrivateKey,
    /// The private key cannot be written as PKCS#1 PEM.
    #[error("RSA PKCS#1 encoding failed: {0}")]
    EncodePrivate(#[source] rsa::pkcs1::Error),
    /// A signature whose length is not the modulus size.
    #[error("RSA signature is {got} bytes, the key needs {expected}")]
    SignatureLength {
        /// The modulus size in bytes.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// An RSA-PSS signature that does not verify.
    #[error("RSA-PSS signature does not verify")]
    BadSignature,
    /// The `rsa` crate refused an operation.
    #[error("RSA {op} failed: {source}")]
    Rsa {
        /// The operation (`PSS signing`, `PKCS#1 v1.5 encryption`).
        op: &'static str,
        /// The crate's error.
        #[source]
        source: rsa::Error,
    },
    /// A ciphertext whose length is not the modulus size.
    #[error("RSA PKCS#1 v1.5 decryption failed: ciphertext is {got} bytes, key needs {expected}")]
    CiphertextLength {
        /// The modulus size in bytes.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// A ciphertext the key refuses.
    #[error("RSA PKCS#1 v1.5 decryption failed: ciphertext rejected")]
    Decrypt,
    /// Key generation failed.
    #[error("RSA key generation failed: {0}")]
    Generate(#[source] rsa::Error),
    /// The operator key file's keystore does not decrypt or parse.
    #[error("operator key file: {0}")]
    Keystore(#[from] KeystoreError),
    /// An operator key or password file cannot be read or written.
    #[error("operator key file {path}: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The keystore cannot be serialised.
    #[error("operator key file {path}: {source}")]
    FileJson {
        /// The file.
        path: std::path::PathBuf,
        /// The serialiser's error.
        #[source]
        source: serde_json::Error,
    },
}

/// An operator (or initiator) RSA public key together with its canonical base64-PEM encoding.
#[derive(Clone)]
pub struct OperatorPublicKey {
    key: rsa::PublicKey,
    encoded: String,
    /// aws-lc's parsed copy for PSS verification, made on first use and shared by clones: an
    /// operator checks the same 13 keys in every ceremony.
    verifier: Arc<OnceLock<Option<ParsedPublicKey>>>,
}

impl PartialEq for OperatorPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.encoded == other.encoded
    }
}
impl Eq for OperatorPublicKey {}

/// PSS-SHA256 verification with exactly the maximal salt (what ssv-dkg and we sign with).
static PSS_MAX_SALT_VERIFY: RsaParameters =
    RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Max);

/// Parsed keys by their base64-PEM text: every `/init` lists the same operator keys, and parsing
/// one (DER, Montgomery parameters, canonical re-encoding) costs more than checking a signature.
/// Bounded: emptied when full.
static PARSED: Mutex<Option<HashMap<String, OperatorPublicKey>>> = Mutex::new(None);
const PARSED_MAX: usize = 512;

impl fmt::Debug for OperatorPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self
            .encoded
            .get(self.encoded.len().saturating_sub(16)..)
            .unwrap_or("");
        write!(f, "OperatorPublicKey(…{shown})")
    }
}

fn pem_wrap(label: &str, der: &[u8]) -> String {
    let body = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    // Go's encoding/pem writes 64-character lines.
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Returns (label, DER body) of the first PEM block in `text`.
fn pem_unwrap(text: &str) -> Result<(String, Vec<u8>), RsaKeyError> {
    let err = |reason: &str| RsaKeyError::Pem {
        expected: PUB_LABEL,
        reason: reason.to_string(),
    };
    let start = text
        .find("-----BEGIN ")
        .ok_or_else(|| err("no BEGIN line"))?;
    let rest = &text[start + 11..];
    let label_end = rest
        .find("-----")
        .ok_or_else(|| err("unterminated BEGIN line"))?;
    let label = rest[..label_end].to_string();
    let after = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = after
        .find(&end_marker)
        .ok_or_else(|| err("no matching END line"))?;
    let body: String = after[..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = B64
        .decode(body.as_bytes())
        .map_err(|source| RsaKeyError::PemBody {
            expected: PUB_LABEL,
            source,
        })?;
    Ok((label, der))
}

impl OperatorPublicKey {
    /// Parses the on-chain / SSV API / operators-info form: base64 of the PEM text. A text
    /// parsed before (by this process) is answered from a bounded cache.
    pub fn from_base64_pem(s: &str) -> Result<Self, RsaKeyError> {
        let s = s.trim();
        if let Ok(guard) = PARSED.lock()
            && let Some(k) = guard.as_ref().and_then(|m| m.get(s))
        {
            return Ok(k.clone());
        }
        let key = Self::parse_base64_pem(s)?;
        if let Ok(mut guard) = PARSED.lock() {
            let map = guard.get_or_insert_with(HashMap::new);
            if map.len() >= PARSED_MAX {
                map.clear();
            }
            map.insert(s.to_string(), key.clone());
        }
        Ok(key)
    }

    fn parse_base64_pem(s: &str) -> Result<Self, RsaKeyError> {
        let pem = B64
            .decode(s.trim().as_bytes())
            .map_err(RsaKeyError::Base64)?;
        let text = String::from_utf8(pem).map_err(|_| RsaKeyError::Pem {
            expected: PUB_LABEL,
            reason: "decoded base64 is not text".into(),
        })?;
        Self::from_pem(&text)
    }

    /// Parses a PEM public key. The body may be PKIX (as ssv-dkg writes it) or PKCS#1; the label
    /// may be `RSA PUBLIC KEY` or `PUBLIC KEY`. The canonical encoding is always re-derived.
    pub fn from_pem(text: &str) -> Result<Self, RsaKeyError> {
        let (label, der) = pem_unwrap(text)?;
        if label != PUB_LABEL && label != "PUBLIC KEY" {
            return Err(RsaKeyError::Pem {
                expected: PUB_LABEL,
                reason: format!("label is {label:?}"),
            });
        }
        let key = match rsa::PublicKey::from_public_key_der(&der) {
            Ok(k) => k,
            Err(e1) => rsa::PublicKey::from_pkcs1_der(&der)
                .map_err(|e2| RsaKeyError::Der(format!("PKIX: {e1}; PKCS#1: {e2}")))?,
        };
        Self::from_rsa(key)
    }

    /// Wraps a parsed key and derives its canonical base64-PEM encoding.
    pub fn from_rsa(key: rsa::PublicKey) -> Result<Self, RsaKeyError> {
        let der = key.to_public_key_der().map_err(RsaKeyError::EncodePublic)?;
        let encoded = B64.encode(pem_wrap(PUB_LABEL, der.as_bytes()));
        Ok(Self {
            key,
            encoded,
            verifier: Arc::default(),
        })
    }

    /// aws-lc's parsed form of this key for RSASSA-PSS-SHA256 with the maximal salt, made once
    /// (`None` if aws-lc refuses the key, e.g. below 2048 bits).
    pub fn pss_max_salt_verifier(&self) -> Option<&ParsedPublicKey> {
        self.verifier
            .get_or_init(|| {
                let der = self.key.to_pkcs1_der().ok()?;
                ParsedPublicKey::new(&PSS_MAX_SALT_VERIFY, der.as_bytes()).ok()
            })
            .as_ref()
    }

    /// The canonical base64-PEM string (612 characters for RSA-2048).
    pub fn to_base64_pem(&self) -> &str {
        &self.encoded
    }

    /// The PEM text (what the base64 string decodes to).
    pub fn to_pem(&self) -> String {
        B64.decode(self.encoded.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default()
    }

    /// The `rsa` crate's key, for parsing and verification elsewhere.
    pub fn as_rsa(&self) -> &rsa::PublicKey {
        &self.key
    }

    /// Modulus size in bytes (signature and ciphertext length).
    pub fn size(&self) -> usize {
        self.key.size()
    }

    /// Verifies an RSASSA-PSS-SHA256 signature over `msg` (hashed here), auto-detecting the salt
    /// length as Go's `rsa.VerifyPSS` with `PSSSaltLengthAuto` does.
    pub fn verify_pss(&self, msg: &[u8], sig: &[u8]) -> Result<(), RsaKeyError> {
        if sig.len() != self.size() {
            return Err(RsaKeyError::SignatureLength {
                expected: self.size(),
                got: sig.len(),
            });
        }
        let hashed = Sha256::digest(msg);
        let scheme = Pss::<Sha256> {
            blinded: false,
            digest: Sha256::new(),
            salt_len: None,
        };
        self.key
            .verify(scheme, &hashed, sig)
            .map_err(|_| RsaKeyError::BadSignature)
    }

    /// RSA PKCS#1 v1.5 encryption (how dkg-spec encrypts a share for its operator).
    pub fn encrypt_pkcs1v15(&self, plaintext: &[u8]) -> Result<Vec<u8>, RsaKeyError> {
        self.key
            .encrypt(&mut OsRng, Pkcs1v15Encrypt, plaintext)
            .map_err(|source| RsaKeyError::Rsa {
                op: "PKCS#1 v1.5 encryption",
                source,
            })
    }
}

/// An RSA private key (operator identity or ephemeral initiator key). Debug never prints it.
#[derive(Clone)]
pub struct OperatorPrivateKey {
    key: rsa::PrivateKey,
    public: OperatorPublicKey,
}

impl fmt::Debug for OperatorPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OperatorPrivateKey(public: {:?})", self.public)
    }
}

impl OperatorPrivateKey {
    /// Fresh key with public exponent 65537; ssv-dkg uses 2048 bits.
    pub fn generate(bits: usize) -> Result<Self, RsaKeyError> {
        let key = rsa::PrivateKey::new(&mut OsRng, bits).map_err(RsaKeyError::Generate)?;
        Self::from_rsa(key)
    }

    /// Wraps a parsed private key with its public half.
    pub fn from_rsa(key: rsa::PrivateKey) -> Result<Self, RsaKeyError> {
        let public = OperatorPublicKey::from_rsa(key.to_public_key())?;
        Ok(Self { key, public })
    }

    /// Parses a PKCS#1 `RSA PRIVATE KEY` PEM (the plaintext of an operator key file).
    pub fn from_pkcs1_pem(pem: &str) -> Result<Self, RsaKeyError> {
        let key =
            rsa::PrivateKey::from_pkcs1_pem(pem.trim()).map_err(|_| RsaKeyError::PrivateKey)?;
        Self::from_rsa(key)
    }

    /// PKCS#1 PEM with LF line endings, as Go's `pem.EncodeToMemory` writes it.
    pub fn to_pkcs1_pem(&self) -> Result<Zeroizing<String>, RsaKeyError> {
        self.key
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(RsaKeyError::EncodePrivate)
    }

    /// The public half.
    pub fn public_key(&self) -> &OperatorPublicKey {
        &self.public
    }

    /// The `rsa` crate's key (secret: keep it in this process).
    pub fn as_rsa(&self) -> &rsa::PrivateKey {
        &self.key
    }

    /// PSS salt length Go's `PSSSaltLengthAuto` picks when signing: the maximum,
    /// emLen - hLen - 2 with emLen = ceil((modBits - 1) / 8). 222 for 2048-bit keys.
    pub fn max_pss_salt_len(&self) -> usize {
        let mod_bits = self.key.n().bit_width() as usize;
        let em_len = mod_bits.saturating_sub(1).div_ceil(8);
        em_len.saturating_sub(32 + 2)
    }

    /// RSASSA-PSS-SHA256 over `msg` (hashed here) with the maximal salt length, like ssv-dkg.
    pub fn sign_pss(&self, msg: &[u8]) -> Result<Vec<u8>, RsaKeyError> {
        let hashed = Sha256::digest(msg);
        let scheme = Pss::<Sha256>::new_with_salt(self.max_pss_salt_len());
        self.key
            .sign_with_rng(&mut OsRng, scheme, &hashed)
            .map_err(|source| RsaKeyError::Rsa {
                op: "PSS signing",
                source,
            })
    }

    /// RSA PKCS#1 v1.5 decryption. The rsa crate uses implicit rejection: a ciphertext with bad
    /// padding yields deterministic garbage instead of an error, so callers must check the
    /// plaintext (a share is checked against its public share).
    pub fn decrypt_pkcs1v15(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, RsaKeyError> {
        if ciphertext.len() != self.public.size() {
            return Err(RsaKeyError::CiphertextLength {
                expected: self.public.size(),
                got: ciphertext.len(),
            });
        }
        self.key
            .decrypt_blinded(&mut OsRng, Pkcs1v15Encrypt, ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| RsaKeyError::Decrypt)
    }

    /// Reads an SSV operator key file (`encrypted_private_key.json`) with its password.
    pub fn from_keystore_json(json: &str, password: &str) -> Result<Self, RsaKeyError> {
        let plain = keystore::decrypt(json, password)?;
        let text = std::str::from_utf8(&plain).map_err(|_| RsaKeyError::PrivateKey)?;
        Self::from_pkcs1_pem(text)
    }

    /// Reads an operator key file and a password file (raw bytes; normalisation drops a
    /// trailing newline).
    pub fn read_keystore_files(key_file: &Path, password_file: &Path) -> Result<Self, RsaKeyError> {
        let json = std::fs::read_to_string(key_file).map_err(|source| RsaKeyError::File {
            path: key_file.to_owned(),
            source,
        })?;
        let password =
            Zeroizing::new(std::fs::read_to_string(password_file).map_err(|source| {
                RsaKeyError::File {
                    path: password_file.to_owned(),
                    source,
                }
            })?);
        Self::from_keystore_json(&json, &password)
    }

    /// Encrypts the key into the SSV operator key file shape (bare crypto module, PBKDF2).
    pub fn to_keystore(&self, password: &str, kdf: Kdf) -> Result<CryptoModule, RsaKeyError> {
        let pem = self.to_pkcs1_pem()?;
        Ok(keystore::encrypt_crypto(pem.as_bytes(), password, kdf)?)
    }

    /// Writes the operator key file with mode 0600 (created new or truncated).
    pub fn write_keystore_file(
        &self,
        path: &Path,
        password: &str,
        kdf: Kdf,
    ) -> Result<(), RsaKeyError> {
        let crypto = self.to_keystore(password, kdf)?;
        let json = serde_json::to_string(&crypto).map_err(|source| RsaKeyError::FileJson {
            path: path.to_owned(),
            source,
        })?;
        write_private_file(path, json.as_bytes()).map_err(|source| RsaKeyError::File {
            path: path.to_owned(),
            source,
        })
    }
}

/// Writes `data` to `path` with permissions 0600 from the moment of creation.
pub fn write_private_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    // An existing file keeps its old mode on open; force 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(data)?;
    f.sync_all()
}

/// The OS random generator as a rand_core 0.10 source for the rsa crate.
struct OsRng;

/// The OS random generator failed.
#[derive(Debug, thiserror::Error)]
#[error("OS random number generator failed: {0}")]
struct RngFailure(#[source] getrandom::Error);

impl rsa::rand_core::TryRng for OsRng {
    type Error = RngFailure;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        getrandom::fill(dst).map_err(RngFailure)
    }
}

impl rsa::rand_core::TryCryptoRng for OsRng {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn examples() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/ssv-dkg/examples")
    }

    fn operators_info() -> Vec<(u64, String)> {
        let p = examples().join("initiator/operators_info.json");
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| {
            panic!("{}: {e}; ../shared must sit next to the repo", p.display())
        });
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["id"].as_u64().unwrap(),
                    o["public_key"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn operators_info_keys_reencode_byte_for_byte() {
        let info = operators_info();
        assert_eq!(info.len(), 13);
        for (id, b64) in info {
            let k = OperatorPublicKey::from_base64_pem(&b64).unwrap();
            assert_eq!(k.to_base64_pem(), b64, "operator {id}");
            assert_eq!(b64.len(), 612);
            assert_eq!(k.size(), 256);
        }
    }

    #[test]
    fn example_operator_key_files_match_their_ids() {
        let info = operators_info();
        for (dir, id) in [
            ("operator1", 11u64),
            ("operator2", 22),
            ("operator4", 44),
            ("operator13", 113),
        ] {
            let d = examples().join(dir);
            let k = OperatorPrivateKey::read_keystore_files(
                &d.join("encrypted_private_key.json"),
                &d.join("password"),
            )
            .unwrap();
            let listed = &info.iter().find(|(i, _)| *i == id).unwrap().1;
            assert_eq!(k.public_key().to_base64_pem(), listed, "{dir} -> {id}");
            assert!(!format!("{k:?}").contains("PRIVATE"));
        }
    }

    #[test]
    fn pss_sign_verify_salt_222_and_tamper() {
        let k = OperatorPrivateKey::generate(2048).unwrap();
        assert_eq!(k.max_pss_salt_len(), 222);
        let sig = k.sign_pss(b"hello").unwrap();
        assert_eq!(sig.len(), 256);
        k.public_key().verify_pss(b"hello", &sig).unwrap();
        assert!(k.public_key().verify_pss(b"hellO", &sig).is_err());
        let mut bad = sig.clone();
        bad[100] ^= 1;
        assert!(k.public_key().verify_pss(b"hello", &bad).is_err());
        // A 222-byte salt does not verify under the rsa crate's fixed 32-byte salt setting, which
        // proves the salt really is the maximal one.
        let hashed = Sha256::digest(b"hello");
        let fixed32 = Pss::<Sha256>::new_with_salt(32);
        assert!(
            k.public_key()
                .as_rsa()
                .verify(fixed32, &hashed, &sig)
                .is_err()
        );
        let fixed222 = Pss::<Sha256>::new_with_salt(222);
        k.public_key()
            .as_rsa()
            .verify(fixed222, &hashed, &sig)
            .unwrap();
    }

    #[test]
    fn pkcs1v15_roundtrip_and_keystore_roundtrip() {
        let k = OperatorPrivateKey::generate(2048).unwrap();
        let share = b"3f1c0a2b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
        let ct = k.public_key().encrypt_pkcs1v15(share).unwrap();
        assert_eq!(ct.len(), 256);
        assert_eq!(&k.decrypt_pkcs1v15(&ct).unwrap()[..], &share[..]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("encrypted_private_key.json");
        k.write_keystore_file(&path, "pässword", Kdf::Pbkdf2 { c: 1000 })
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let json = std::fs::read_to_string(&path).unwrap();
        assert!(json.starts_with("{\"checksum\":"));
        let back = OperatorPrivateKey::from_keystore_json(&json, "pässword").unwrap();
        assert_eq!(back.public_key(), k.public_key());
    }

    #[test]
    fn decrypts_recorded_share_of_operator_11() {
        // The derived file holds operator 11's share decrypted from the 4-operator ceremony.
        let d = examples().join("operator1");
        let k = OperatorPrivateKey::read_keystore_files(
            &d.join("encrypted_private_key.json"),
            &d.join("password"),
        )
        .unwrap();
        let proofs_dir = examples().join("../integration_test/stubs/bulk/4/ceremony-2024-10-21--09-56-54.375/000001-0x801bca4e379a2e240ed004acbe8f905a0a43f3322faa251fbb9c8d4d49af8ba9c669e930ea7caa234cb7d537d600e9ee/proofs.json");
        let proofs: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(proofs_dir).unwrap()).unwrap();
        let ct = hex::decode(proofs[0]["proof"]["encrypted_share"].as_str().unwrap()).unwrap();
        let plain = k.decrypt_pkcs1v15(&ct).unwrap();
        assert_eq!(plain.len(), 64);
        assert!(plain.iter().all(|c| c.is_ascii_hexdigit()));
        let derived = std::fs::read_to_string(
            examples().join("../derived/bulk4-09-56-54.375-000001-decrypted-shares.json"),
        )
        .unwrap();
        assert!(derived.contains(std::str::from_utf8(&plain).unwrap()));
    }

    #[test]
    fn rejects_garbage() {
        assert!(OperatorPublicKey::from_base64_pem("not base64!").is_err());
        assert!(OperatorPublicKey::from_base64_pem(&B64.encode("hello")).is_err());
        let bad = B64.encode(pem_wrap(PUB_LABEL, b"\x30\x03\x02\x01\x01"));
        assert!(matches!(
            OperatorPublicKey::from_base64_pem(&bad),
            Err(RsaKeyError::Der(_))
        ));
    }
}
