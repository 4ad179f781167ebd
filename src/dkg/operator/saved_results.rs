//! What an ssv-dkg operator keeps after `/results`: the initiator's deposit data, keyshares and
//! proofs for its one validator, checked like `ssv-dkg verify` and written as a single-validator
//! ceremony folder `<output>/ceremony-<ts>--<8 hex>/<nonce>-0x<pk>/` (Go's operator adds the random
//! suffix so concurrent ceremonies never share a folder).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use alloy::primitives::Address;

use crate::deposit::json::DepositDataJson;
use crate::dkg::outputs::{
    KeysharesJson, SignedProofJson, ValidatorFiles, ceremony_dir_name, go_rfc3339_nano,
    write_ceremony_named,
};
use crate::dkg::verify::{VerifyExpectations, network_for_fork, verify_validator};
use crate::dkg::wire::{Init, ResultData};

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("results {what} JSON: {reason}")]
    Json { what: &'static str, reason: String },
    #[error("results do not verify: {0}")]
    Verify(String),
    #[error("writing the results: {0}")]
    Write(String),
    #[error("random folder suffix: {0}")]
    Rng(String),
}

/// Parses the three JSON documents of a `/results` message (deposit data as one object, as the
/// Go initiator sends it, or a one-element array).
pub fn parse_result_files(
    rd: &ResultData,
) -> Result<(Vec<DepositDataJson>, KeysharesJson, Vec<SignedProofJson>), SaveError> {
    let deposits: Vec<DepositDataJson> =
        serde_json::from_slice::<DepositDataJson>(&rd.deposit_data)
            .map(|d| vec![d])
            .or_else(|_| serde_json::from_slice(&rd.deposit_data))
            .map_err(|e| SaveError::Json {
                what: "deposit data",
                reason: e.to_string(),
            })?;
    let keyshares: KeysharesJson =
        serde_json::from_slice(&rd.keyshares_data).map_err(|e| SaveError::Json {
            what: "keyshares",
            reason: e.to_string(),
        })?;
    let proofs: Vec<SignedProofJson> =
        serde_json::from_slice(&rd.proofs).map_err(|e| SaveError::Json {
            what: "proofs",
            reason: e.to_string(),
        })?;
    Ok((deposits, keyshares, proofs))
}

/// Verifies the files against what this operator itself agreed to in `init` (owner, nonce,
/// credentials, amount, network, operators) and the key its DKG produced, then writes them.
/// Returns the ceremony folder.
pub fn save_results(
    output: &Path,
    init: &Init,
    validator_pubkey: [u8; 48],
    rd: &ResultData,
) -> Result<PathBuf, SaveError> {
    let (deposits, keyshares, proofs) = parse_result_files(rd)?;
    let mut address = [0u8; 20];
    if let Some(tail) = init.withdrawal_credentials.get(12..32) {
        address.copy_from_slice(tail);
    }
    let exp = VerifyExpectations {
        validators: Some(1),
        owner: Some(Address::from(init.owner)),
        nonce: Some(init.nonce),
        withdraw_address: Some(Address::from(address)),
        amount_gwei: Some(init.amount),
        network: network_for_fork(init.fork).map(str::to_string),
        operator_ids: Some(init.operators.iter().map(|o| o.id).collect()),
    };
    verify_validator(
        "results",
        Some(validator_pubkey),
        Some(init.nonce),
        &deposits,
        &keyshares,
        &proofs,
        &exp,
    )
    .map_err(|e| SaveError::Verify(e.to_string()))?;
    let now = SystemTime::now();
    let mut suffix = [0u8; 4];
    getrandom::fill(&mut suffix).map_err(|e| SaveError::Rng(e.to_string()))?;
    let name = format!("{}--{}", ceremony_dir_name(now), hex::encode(suffix));
    let files = ValidatorFiles {
        nonce: init.nonce,
        pubkey: validator_pubkey,
        deposit: deposits,
        keyshares,
        proofs,
    };
    write_ceremony_named(output, &name, &[files], &go_rfc3339_nano(now))
        .map_err(|e| SaveError::Write(e.to_string()))
}
