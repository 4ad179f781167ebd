//! Operator public keys as keyshares files and the chain carry them: base64 of a PEM labelled
//! `RSA PUBLIC KEY` whose body is really an X.509 SubjectPublicKeyInfo (ssv-contracts.md §7).
//! Comparisons use the DER body so that line wrapping or trailing newlines never matter.

use base64::{Engine, engine::general_purpose::STANDARD};

const BEGIN: &str = "-----BEGIN RSA PUBLIC KEY-----";
const END: &str = "-----END RSA PUBLIC KEY-----";
/// DER of the rsaEncryption object identifier 1.2.840.113549.1.1.1.
const RSA_OID: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

/// Decodes base64(PEM) to the SPKI DER; the error says what is wrong (never secret: public keys).
pub fn operator_key_der(base64_pem: &str) -> Result<Vec<u8>, String> {
    let pem_bytes = STANDARD
        .decode(base64_pem.trim())
        .map_err(|e| format!("not valid base64 ({e})"))?;
    let pem = std::str::from_utf8(&pem_bytes).map_err(|_| "base64 does not decode to PEM text")?;
    pem_body_der(pem)
}

/// Decodes the body of an `RSA PUBLIC KEY` PEM and checks it is a well-formed RSA SPKI.
pub(super) fn pem_body_der(pem: &str) -> Result<Vec<u8>, String> {
    let pem = pem.trim();
    let inner = pem
        .strip_prefix(BEGIN)
        .ok_or_else(|| format!("PEM does not start with `{BEGIN}`"))?
        .strip_suffix(END)
        .ok_or_else(|| format!("PEM does not end with `{END}`"))?;
    let body: String = inner.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD
        .decode(body)
        .map_err(|e| format!("PEM body is not base64 ({e})"))?;
    check_spki_shape(&der)?;
    Ok(der)
}

/// A structural check of the DER: one SEQUENCE spanning exactly the bytes, naming rsaEncryption.
/// Full RSA parsing happens where the key is used for encryption; here a truncated or edited key
/// must simply not pass.
fn check_spki_shape(der: &[u8]) -> Result<(), String> {
    let (len, header) = der_sequence_len(der).ok_or("DER does not start with a SEQUENCE")?;
    if header + len != der.len() {
        return Err(format!(
            "DER length field says {} bytes, body has {}",
            header + len,
            der.len()
        ));
    }
    if !der.windows(RSA_OID.len()).any(|w| w == RSA_OID) {
        return Err("DER is not an RSA SubjectPublicKeyInfo (no rsaEncryption OID)".into());
    }
    Ok(())
}

/// Returns (content length, header length) of a DER SEQUENCE.
fn der_sequence_len(der: &[u8]) -> Option<(usize, usize)> {
    if *der.first()? != 0x30 {
        return None;
    }
    let first = *der.get(1)?;
    if first < 0x80 {
        return Some((first as usize, 2));
    }
    let n = (first & 0x7f) as usize;
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | *der.get(2 + i)? as usize;
    }
    Some((len, 2 + n))
}

/// Decodes the `OperatorAdded.publicKey` / `getOperatorById` form: `abi.encode(string base64Pem)`.
/// Some tools store the raw base64 bytes instead; both are accepted.
pub fn onchain_key_der(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use alloy::sol_types::SolValue;
    match String::abi_decode(bytes) {
        Ok(s) => operator_key_der(&s),
        Err(_) => {
            let s = std::str::from_utf8(bytes)
                .map_err(|_| "on-chain key is neither an ABI string nor text")?;
            operator_key_der(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_length_forms() {
        assert_eq!(der_sequence_len(&[0x30, 0x05]), Some((5, 2)));
        assert_eq!(
            der_sequence_len(&[0x30, 0x82, 0x01, 0x22]),
            Some((0x122, 4))
        );
        assert_eq!(der_sequence_len(&[0x31, 0x05]), None);
        assert_eq!(der_sequence_len(&[0x30, 0x80]), None);
    }

    #[test]
    fn armor_is_required() {
        let pem = STANDARD.encode("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
        let err = operator_key_der(&pem).unwrap_err();
        assert!(err.contains("does not start with"), "{err}");
    }
}
