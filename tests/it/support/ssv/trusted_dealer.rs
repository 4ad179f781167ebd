//! TEST-ONLY trusted dealer: splits a validator key the test already knows into SSV keyshares for
//! any operator set (Shamir at x = operator id, owner-nonce signature, RSA-encrypted shares).
//!
//! It stands in for the reshare ceremony in the chain-side `change_operators` test only: that test
//! is about what `change-operators` sends (remove, wait, register, withdraw), not about how the new
//! shares are made. The real ceremony (old operators reshare, nobody ever holds the key) is the
//! DKG initiator's job (`dkg reshare`, issue 13) and is tested against the Go ssv-dkg there.

use alloy::primitives::Address;
use ssv_agent::crypto::{
    bls::{self, Dst, G1, Scalar},
    rsa_keys::OperatorPublicKey,
};
use ssv_agent::ssv::keyshares::owner_nonce_digest;

fn eval(coeffs: &[Scalar], x: u64) -> Scalar {
    let x = Scalar::from_u64(x);
    coeffs
        .iter()
        .rev()
        .fold(Scalar::zero(), |acc, c| acc.mul(&x).add(c))
}

/// A v1.1.0 keyshares JSON for the validator whose secret key is `sk`, split for `operators`
/// ((id, base64 PEM)) with a fresh random polynomial, signed for `owner` at `nonce`.
pub(crate) fn trusted_dealer_keyshares(
    sk: &blst::min_pk::SecretKey,
    owner: Address,
    nonce: u64,
    operators: &[(u64, String)],
) -> String {
    let n = operators.len();
    let t = n - (n - 1) / 3;
    let secret = Scalar::from_be_bytes(&sk.to_bytes()).expect("secret scalar");
    let mut coeffs = vec![secret];
    coeffs.extend((1..t).map(|_| Scalar::random().expect("rng")));
    let pk = bls::public_key(sk);
    let sig = bls::sign(sk, &owner_nonce_digest(owner, nonce), Dst::Pop);
    let mut data = sig.to_vec();
    let mut enc = Vec::new();
    for (id, key) in operators {
        let share = eval(&coeffs, *id);
        data.extend_from_slice(&G1::generator().mul(&share).compress());
        let plain = format!("0x{}", hex::encode(share.to_be_bytes()));
        let rsa = OperatorPublicKey::from_base64_pem(key).expect("operator key");
        enc.extend(rsa.encrypt_pkcs1v15(plain.as_bytes()).expect("encrypt"));
    }
    data.extend(enc);
    let pkhex = format!("0x{}", hex::encode(pk));
    serde_json::json!({
        "version": "v1.1.0",
        "createdAt": "2026-01-01T00:00:00Z",
        "shares": [{
            "data": {
                "ownerNonce": nonce,
                "ownerAddress": owner.to_checksum(None),
                "publicKey": pkhex,
                "operators": operators.iter().map(|(id, key)| serde_json::json!({"id": id, "operatorKey": key})).collect::<Vec<_>>(),
            },
            "payload": {
                "publicKey": pkhex,
                "operatorIds": operators.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
                "sharesData": format!("0x{}", hex::encode(data)),
            }
        }]
    })
    .to_string()
}
