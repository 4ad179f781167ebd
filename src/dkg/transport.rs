//! RSA-PSS signed transports (every ssv-dkg message) and the small validations both sides share.

use crate::crypto::rsa_keys::OperatorPublicKey;
use crate::dkg::rsa_signer::{self, PssSigner, SignerError};
use crate::dkg::wire::{MultipleSignedTransports, SignedTransport, Ssz, Transport};

/// A transport or bundle that cannot be signed, or whose signature does not verify.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The signature does not verify under the key we trust for the sender.
    #[error("{who}: signature over the {what} does not verify")]
    BadSignature {
        /// The sender (`initiator`, `operator 3`).
        who: String,
        /// `transport` or `message bundle`.
        what: &'static str,
    },
    /// Our own signing failed.
    #[error("signing the {what}: {source}")]
    Sign {
        /// `transport` or `message bundle`.
        what: &'static str,
        /// The signer's failure.
        #[source]
        source: SignerError,
    },
}

/// Signs `message` with `key`; `Signer` carries the key's canonical base64-PEM text.
pub fn sign_transport<K: PssSigner + ?Sized>(
    key: &K,
    message: Transport,
) -> Result<SignedTransport, TransportError> {
    let signature = key
        .sign_pss(&message.to_ssz())
        .map_err(|source| TransportError::Sign {
            what: "transport",
            source,
        })?;
    Ok(SignedTransport {
        message,
        signer: key.public_key().to_base64_pem().as_bytes().to_vec(),
        signature,
    })
}

/// Verifies a transport's signature with a key we already trust (not the one it names).
pub fn verify_transport(
    st: &SignedTransport,
    key: &OperatorPublicKey,
    who: &str,
) -> Result<(), TransportError> {
    if rsa_signer::verify_pss(key, &st.message.to_ssz(), &st.signature) {
        Ok(())
    } else {
        Err(TransportError::BadSignature {
            who: who.to_string(),
            what: "transport",
        })
    }
}

/// Bundles operator replies for the next round, signed by the initiator.
pub fn sign_bundle<K: PssSigner + ?Sized>(
    key: &K,
    identifier: [u8; 24],
    messages: Vec<SignedTransport>,
) -> Result<MultipleSignedTransports, TransportError> {
    let signature = key
        .sign_pss(&MultipleSignedTransports::signed_payload(&messages))
        .map_err(|source| TransportError::Sign {
            what: "message bundle",
            source,
        })?;
    Ok(MultipleSignedTransports {
        identifier,
        messages,
        signature,
    })
}

/// Verifies the initiator's signature over a round's bundle.
pub fn verify_bundle(
    m: &MultipleSignedTransports,
    initiator: &OperatorPublicKey,
) -> Result<(), TransportError> {
    let payload = MultipleSignedTransports::signed_payload(&m.messages);
    if rsa_signer::verify_pss(initiator, &payload, &m.signature) {
        Ok(())
    } else {
        Err(TransportError::BadSignature {
            who: "initiator".into(),
            what: "message bundle",
        })
    }
}

/// Allowed cluster sizes and their thresholds (n = 3f + 1, t = 2f + 1), as dkg-spec enforces.
pub fn threshold_for(n: usize) -> Option<u64> {
    match n {
        4 | 7 | 10 | 13 => Some((n - (n - 1) / 3) as u64),
        _ => None,
    }
}
