//! Shared pieces of the SSV integration tests: a devnet, a connected chain for the staker, and a
//! keyshares builder that produces genuine shares (Shamir at x = operator id, owner-nonce signature,
//! RSA-encrypted share secrets) for the devnet's operators.

#![allow(dead_code)]

pub(crate) mod proxy;
pub(crate) mod trusted_dealer;

use alloy::primitives::{Address, U256};
use ssv_agent::{
    chain::Chain,
    crypto::{
        bls::{self, Dst, G1, Scalar},
        rsa_keys::OperatorPublicKey,
    },
    devnet::{
        Contracts, Devnet, DevnetOptions, DevnetParams, STAKER_ACCOUNT, SsvMode, dev_account,
    },
    network::NetworkProfile,
    ssv::{
        keyshares::{KeysharesFile, ValidatedKeyshares, owner_nonce_digest, validate},
        register::RegisterOptions,
    },
};

/// The agent's flows are tested against the real SSVNetwork code (built from ../shared/peers by
/// scripts/build-real-contracts.sh); the double is held against it by `real_contracts`.
pub(crate) const CONTRACTS: Contracts = Contracts::Real;

/// Starts a devnet; fails with install instructions when anvil is missing.
pub(crate) async fn devnet(mode: SsvMode) -> Devnet {
    Devnet::start(DevnetOptions {
        mode,
        contracts: CONTRACTS,
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("devnet failed to start: {e} (install: `cd anvil && npm ci`)"))
}

/// Blocks per "day" on the fast devnet: anvil mines only a few thousand blocks a second here
/// (and slower as the chain grows), so runway tests use short days instead of 7 200 blocks.
pub(crate) const FAST_BLOCKS_PER_DAY: u64 = 10;

/// A devnet whose profile counts [`FAST_BLOCKS_PER_DAY`] blocks a day, with a 100-block
/// liquidation threshold period, so a month of runway is a few hundred blocks.
pub(crate) async fn fast_devnet(mode: SsvMode) -> Devnet {
    Devnet::start(DevnetOptions {
        mode,
        profile: NetworkProfile {
            blocks_per_day: FAST_BLOCKS_PER_DAY,
            ..NetworkProfile::hoodi()
        },
        params: DevnetParams {
            liquidation_threshold_period: 100,
            ..Default::default()
        },
        contracts: CONTRACTS,
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("devnet failed to start: {e} (install: `cd anvil && npm ci`)"))
}

/// A staker connection through another URL (e.g. a proxy) to the devnet's chain.
pub(crate) async fn staker_chain_at(d: &Devnet, url: &str) -> Chain {
    Chain::connect(url, d.profile(), Some(dev_account(STAKER_ACCOUNT)))
        .await
        .expect("connect to devnet")
        .with_confirmations(1)
}

/// The staker's connection (dev account #5).
pub(crate) async fn staker_chain(d: &Devnet) -> Chain {
    Chain::connect(d.rpc_url(), d.profile(), Some(dev_account(STAKER_ACCOUNT)))
        .await
        .expect("connect to devnet")
        .with_confirmations(1)
}

/// The staker's address.
pub(crate) fn staker() -> Address {
    dev_account(STAKER_ACCOUNT).address()
}

/// Default options: 182 days, min 30, no caps.
pub(crate) fn opts() -> RegisterOptions {
    RegisterOptions {
        runway_days: 182,
        min_runway_days: 30,
        allow_migration: false,
        max_deposit: None,
        amount: None,
    }
}

fn eval(coeffs: &[Scalar], x: u64) -> Scalar {
    // Horner's rule over Fr.
    let x = Scalar::from_u64(x);
    coeffs
        .iter()
        .rev()
        .fold(Scalar::zero(), |acc, c| acc.mul(&x).add(c))
}

/// Builds a v1.1.0 keyshares JSON for `count` fresh validators with nonces `first_nonce..`.
pub(crate) fn keyshares_json(
    owner: Address,
    first_nonce: u64,
    count: usize,
    operators: &[(u64, String)],
) -> String {
    let n = operators.len();
    let t = n - (n - 1) / 3;
    let mut shares = Vec::new();
    for k in 0..count {
        let coeffs: Vec<Scalar> = (0..t).map(|_| Scalar::random().expect("rng")).collect();
        let sk = coeffs[0].to_secret_key().expect("sk");
        let pk = G1::generator().mul(&coeffs[0]).compress();
        let nonce = first_nonce + k as u64;
        let sig = bls::sign(&sk, &owner_nonce_digest(owner, nonce), Dst::Pop);
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
        shares.push(serde_json::json!({
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
        }));
    }
    serde_json::json!({"version": "v1.1.0", "createdAt": "2026-01-01T00:00:00Z", "shares": shares})
        .to_string()
}

/// The devnet operators with these ids as (id, base64 PEM).
pub(crate) fn ops(d: &Devnet, ids: &[u64]) -> Vec<(u64, String)> {
    ids.iter()
        .map(|id| {
            let op = d
                .operators()
                .iter()
                .find(|o| o.id == *id)
                .expect("devnet operator");
            (op.id, op.public_key.clone())
        })
        .collect()
}

/// Builds and validates keyshares for the devnet operators `ids`.
pub(crate) fn keyshares(
    d: &Devnet,
    owner: Address,
    first_nonce: u64,
    count: usize,
    ids: &[u64],
) -> ValidatedKeyshares {
    let json = keyshares_json(owner, first_nonce, count, &ops(d, ids));
    validate(&KeysharesFile::parse(&json).expect("parse")).expect("generated keyshares are valid")
}

/// Number of transactions the address has sent (its mined nonce).
pub(crate) async fn tx_count(chain: &Chain, who: Address) -> u64 {
    use alloy::providers::Provider;
    chain
        .provider()
        .get_transaction_count(who)
        .await
        .expect("nonce")
}

/// Wei as U256.
pub(crate) fn wei(v: u128) -> U256 {
    U256::from(v)
}
