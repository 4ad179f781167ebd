//! What an ssv-dkg operator keeps after `/results`: the initiator's deposit data, keyshares and
//! proofs for its one validator, checked like `ssv-dkg verify` and written as a single-validator
//! ceremony folder `<output>/ceremony-<ts>--<8 hex>/<nonce>-0x<pk>/` (Go's operator adds the random
//! suffix so concurrent ceremonies never share a folder).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use alloy::primitives::Address;

use crate::deposit::json::DepositDataJson;
use crate::dkg::outputs::{
    OutputError, SignedProofJson, ValidatorFiles, ceremony_dir_name, go_rfc3339_nano,
    write_ceremony_named,
};
use crate::dkg::verify::{VerifyError, VerifyExpectations, verify_validator};
use crate::dkg::wire::{Init, ResultData};
use crate::network::dkg_network_for_fork;
use crate::ssv::keyshares::{ExactJsonError, KeysharesJson, from_slice_exact};

/// Why an operator refuses (or cannot keep) the files of a `/results` message.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// One of the three JSON documents does not parse (or has fields ssv-dkg does not write).
    #[error("results {what} JSON: {source}")]
    Json {
        /// `deposit data`, `keyshares` or `proofs`.
        what: &'static str,
        /// The parser's refusal.
        #[source]
        source: ExactJsonError,
    },
    /// The files fail `dkg verify`'s checks against this operator's own view of the ceremony.
    #[error("results do not verify: {0}")]
    Verify(#[source] VerifyError),
    /// The verified files could not be written.
    #[error("writing the results: {0}")]
    Write(#[source] OutputError),
    /// The OS random generator failed (for the folder's random suffix).
    #[error("random folder suffix: {0}")]
    Rng(#[source] getrandom::Error),
    /// The message or the keyshares name operators (ids or keys) other than the ceremony's.
    #[error("results name other operators than the ceremony: {0}")]
    Operators(String),
}

/// The operators (ids and keys) the files and the message name must be exactly the ceremony's:
/// the proofs are checked under the keys the keyshares list, so a keyshares file that swapped in
/// another key (with a proof signed by it) would otherwise pass.
fn check_operators(
    init: &Init,
    rd: &ResultData,
    keyshares: &KeysharesJson,
) -> Result<(), SaveError> {
    let want: Vec<(u64, &[u8])> = init
        .operators
        .iter()
        .map(|o| (o.id, o.pubkey.as_slice()))
        .collect();
    let sent: Vec<(u64, &[u8])> = rd
        .operators
        .iter()
        .map(|o| (o.id, o.pubkey.as_slice()))
        .collect();
    if sent != want {
        return Err(SaveError::Operators(
            "the result message's operator list differs from the ceremony's".into(),
        ));
    }
    for share in &keyshares.shares {
        let listed: Vec<(u64, &[u8])> = share
            .data
            .operators
            .iter()
            .map(|o| (o.id, o.operator_key.as_bytes()))
            .collect();
        if listed != want {
            let which = listed
                .iter()
                .zip(&want)
                .find(|(a, b)| a != b)
                .map(|(a, _)| format!("operator {}", a.0))
                .unwrap_or_else(|| format!("{} operators", listed.len()));
            return Err(SaveError::Operators(format!(
                "keyshares list {which} with a key or id that is not the ceremony's"
            )));
        }
    }
    Ok(())
}

/// Parses the three JSON documents of a `/results` message (deposit data as one object, as the
/// Go initiator sends it, or a one-element array).
pub fn parse_result_files(
    rd: &ResultData,
) -> Result<(Vec<DepositDataJson>, KeysharesJson, Vec<SignedProofJson>), SaveError> {
    let json_err = |what| move |source| SaveError::Json { what, source };
    let deposits: Vec<DepositDataJson> =
        serde_json::from_slice::<DepositDataJson>(&rd.deposit_data)
            .map(|d| vec![d])
            .or_else(|_| serde_json::from_slice(&rd.deposit_data))
            .map_err(|e| json_err("deposit data")(ExactJsonError::Json(e)))?;
    let keyshares: KeysharesJson =
        from_slice_exact(&rd.keyshares_data).map_err(json_err("keyshares"))?;
    let proofs: Vec<SignedProofJson> = from_slice_exact(&rd.proofs).map_err(json_err("proofs"))?;
    Ok((deposits, keyshares, proofs))
}

/// Verifies the files against what this operator itself agreed to in `init` (owner, nonce,
/// credentials, amount, network, operators and their keys) and the key its DKG produced, then
/// writes them. Returns the ceremony folder.
pub fn save_results(
    output: &Path,
    init: &Init,
    validator_pubkey: [u8; 48],
    rd: &ResultData,
) -> Result<PathBuf, SaveError> {
    let files = check_results(init, validator_pubkey, rd)?;
    let now = SystemTime::now();
    let mut suffix = [0u8; 4];
    getrandom::fill(&mut suffix).map_err(SaveError::Rng)?;
    let name = format!("{}--{}", ceremony_dir_name(now), hex::encode(suffix));
    write_ceremony_named(output, &name, &[files], &go_rfc3339_nano(now)).map_err(SaveError::Write)
}

/// [`save_results`]'s checks without writing anything; returns the parsed files.
pub fn check_results(
    init: &Init,
    validator_pubkey: [u8; 48],
    rd: &ResultData,
) -> Result<ValidatorFiles, SaveError> {
    let (deposits, keyshares, proofs) = parse_result_files(rd)?;
    check_operators(init, rd, &keyshares)?;
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
        network: dkg_network_for_fork(init.fork).map(str::to_string),
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
    .map_err(SaveError::Verify)?;
    Ok(ValidatorFiles {
        nonce: init.nonce,
        pubkey: validator_pubkey,
        deposit: deposits,
        keyshares,
        proofs,
    })
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use alloy::primitives::address;

    use super::*;
    use crate::crypto::rsa_keys::OperatorPrivateKey;
    use crate::deposit::data::withdrawal_credentials;
    use crate::dkg::initiator::{CeremonyRequest, ClientTls, Initiator, OperatorInfo};
    use crate::dkg::operator::{OperatorState, TlsMaterial, serve};
    use crate::dkg::verify::verify_ceremony_dir;
    use crate::dkg::wire::Operator;

    const OWNER: Address = address!("DCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9");
    const WITHDRAW: Address = address!("81592c3de184a3e2c0dcb5a261bc107bfa91f494");

    fn only_entry(dir: &Path) -> PathBuf {
        let entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        entries.into_iter().next().expect("one entry")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_operator_saves_a_verifiable_single_validator_ceremony() {
        let tls = TlsMaterial::self_signed(&[]).expect("cert");
        let outs: Vec<tempfile::TempDir> =
            (0..4).map(|_| tempfile::tempdir().expect("tmp")).collect();
        let mut servers = Vec::new();
        let mut infos = Vec::new();
        for (i, out) in outs.iter().enumerate() {
            let id = 11 * (i as u64 + 1);
            let key = OperatorPrivateKey::generate(2048).expect("key");
            let public = key.public_key().clone();
            let state = OperatorState::new(id, key, "v3.1.0".into()).with_output_path(out.path());
            let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
            let s = serve(Arc::new(state), addr, &tls).await.expect("serve");
            infos.push(OperatorInfo {
                id,
                key: public,
                url: s.url(),
            });
            servers.push(s);
        }
        let init = Arc::new(
            Initiator::new(
                infos.clone(),
                &ClientTls {
                    ca_certs_pem: vec![],
                    insecure: true,
                },
            )
            .expect("initiator"),
        );
        let req = CeremonyRequest {
            owner: OWNER,
            nonce: 5,
            withdraw_address: WITHDRAW,
            compounding: false,
            amount_gwei: 32_000_000_000,
            network_name: "mainnet".into(),
            fork_version: [0; 4],
            validators: 1,
        };
        let files = init.run(&req).await.expect("ceremony");
        let pubkey = files[0].pubkey;
        let exp = VerifyExpectations {
            validators: Some(1),
            owner: Some(OWNER),
            nonce: Some(5),
            withdraw_address: Some(WITHDRAW),
            amount_gwei: Some(32_000_000_000),
            network: Some("mainnet".into()),
            operator_ids: Some(vec![11, 22, 33, 44]),
        };
        for out in &outs {
            let ceremony = only_entry(out.path());
            let name = ceremony
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_string();
            // ceremony-YYYY-MM-DD--HH-MM-SS.mmm--<8 hex>
            let suffix = name.rsplit("--").next().expect("suffix");
            assert!(name.starts_with("ceremony-"), "{name}");
            assert!(
                suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
                "{name}"
            );
            let v = verify_ceremony_dir(&ceremony, &exp).expect("operator's copy verifies");
            assert_eq!(v.validators.len(), 1);
            assert_eq!(v.validators[0].pubkey, pubkey);
            let folder = only_entry(&ceremony);
            for f in ["deposit_data.json", "keyshares.json", "proofs.json"] {
                let meta = std::fs::metadata(folder.join(f)).expect(f);
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f}");
            }
        }

        // The same files tampered with are refused and nothing is written.
        let f = &files[0];
        let init_msg = Init {
            operators: infos
                .iter()
                .map(|o| Operator {
                    id: o.id,
                    pubkey: o.key.to_base64_pem().as_bytes().to_vec(),
                })
                .collect(),
            t: 3,
            withdrawal_credentials: withdrawal_credentials(WITHDRAW, false).to_vec(),
            fork: [0; 4],
            owner: OWNER.into_array(),
            nonce: 5,
            amount: 32_000_000_000,
        };
        let good = ResultData {
            operators: init_msg.operators.clone(),
            identifier: [1; 24],
            deposit_data: serde_json::to_vec(&f.deposit[0]).expect("json"),
            keyshares_data: serde_json::to_vec(&f.keyshares).expect("json"),
            proofs: serde_json::to_vec(&f.proofs).expect("json"),
        };
        let fresh = tempfile::tempdir().expect("tmp");
        save_results(fresh.path(), &init_msg, pubkey, &good).expect("untampered copy saves");
        let mut tampered_proof = f.proofs.clone();
        tampered_proof[2].signature[9] ^= 1;
        let mut other_nonce = init_msg.clone();
        other_nonce.nonce = 6;
        let cases: Vec<(&str, Init, ResultData)> = vec![
            (
                "proof signature",
                init_msg.clone(),
                ResultData {
                    proofs: serde_json::to_vec(&tampered_proof).expect("json"),
                    ..good.clone()
                },
            ),
            (
                "nonce this operator did not agree to",
                other_nonce,
                good.clone(),
            ),
            (
                "not JSON",
                init_msg,
                ResultData {
                    keyshares_data: b"{".to_vec(),
                    ..good
                },
            ),
        ];
        for (what, init_c, rd) in cases {
            let dir = tempfile::tempdir().expect("tmp");
            assert!(
                save_results(dir.path(), &init_c, pubkey, &rd).is_err(),
                "{what} accepted"
            );
            assert_eq!(
                std::fs::read_dir(dir.path())
                    .map(|d| d.count())
                    .unwrap_or(0),
                0,
                "{what}: something was written"
            );
        }
        drop(servers);
    }
}
