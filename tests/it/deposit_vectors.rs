//! Deposit data and checks against every ssv-dkg vector in ../shared/vectors, against bad input of
//! each kind the issue names, and against an independent implementation (ethstaker-deposit and a
//! py_ecc/ssz recomputation in tests/py/check_deposit.py).

use std::path::{Path, PathBuf};
use std::process::Command;

use alloy::primitives::Address;
use ssv_agent::deposit::checks::{
    Allowances, CheckContext, CheckFailure, DepositCheckError, NetworkMismatch, NodeFacts,
    check_deposits, check_entry, check_network,
};
use ssv_agent::deposit::data::{
    DepositDataJson, DepositMessage, deposit_data_root, deposit_signing_root,
    withdrawal_credentials,
};
use ssv_agent::deposit::json::{read_deposit_file, write_deposit_file};
use ssv_agent::network::NetworkProfile;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn vector_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.file_name().is_some_and(|n| n == "deposit_data.json") {
                out.push(path);
            }
        }
    }
    let root = repo().join("../shared/vectors");
    assert!(
        root.is_dir(),
        "{} missing: the shared vectors must sit next to the repository",
        root.display()
    );
    let mut out = Vec::new();
    walk(&root, &mut out);
    out.sort();
    out
}

fn profile_for(entry: &DepositDataJson) -> NetworkProfile {
    match hex::encode(entry.fork_version).as_str() {
        "00000000" => NetworkProfile::mainnet(),
        "01017000" => NetworkProfile::holesky(),
        other => panic!("vector with unexpected fork version {other}"),
    }
}

fn ctx<'a>(profile: &'a NetworkProfile, entry: &DepositDataJson) -> CheckContext<'a> {
    CheckContext {
        profile,
        withdrawal_address: Address::from_slice(&entry.withdrawal_credentials[12..]),
        compounding: None,
        amount_gwei: None,
        node: NodeFacts::default(),
        allow: Allowances::default(),
    }
}

#[test]
fn every_vector_entry_recomputes_and_verifies() {
    let files = vector_files();
    assert_eq!(
        files.len(),
        4,
        "expected the 4 ssv-dkg deposit files, found {files:?}"
    );
    let mut entries_seen = 0;
    for file in &files {
        let entries = read_deposit_file(file).unwrap();
        for e in &entries {
            entries_seen += 1;
            let rebuilt =
                DepositDataJson::new(&e.message(), &e.signature, e.fork_version, &e.network_name);
            assert_eq!(&rebuilt, e, "roots differ in {}", file.display());
            let profile = profile_for(e);
            let failures = check_entry(e, &ctx(&profile, e));
            if e.amount == 2_048_000_000_000 {
                // ssv-dkg allows 2048 ETH with 0x01 credentials; we refuse unless waived.
                assert_eq!(
                    failures,
                    vec![CheckFailure::AmountForCredentials { got: e.amount }]
                );
                let mut waived = ctx(&profile, e);
                waived.allow.excess_amount = true;
                assert_eq!(check_entry(e, &waived), vec![]);
            } else {
                assert_eq!(failures, vec![], "{}", file.display());
            }
        }
    }
    assert_eq!(entries_seen, 1 + 1 + 10 + 1);
}

fn vector_4op() -> DepositDataJson {
    let file = vector_files()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("000001-0x801bca4e"))
        .unwrap();
    read_deposit_file(&file).unwrap().remove(0)
}

#[test]
fn flipped_signature_byte_is_refused_even_with_a_consistent_root() {
    let mut e = vector_4op();
    e.signature[40] ^= 0x01;
    // Recompute the data root as an attacker or a buggy tool would: the contract would accept this.
    e.deposit_data_root = deposit_data_root(&e.message(), &e.signature);
    let profile = NetworkProfile::mainnet();
    let failures = check_entry(&e, &ctx(&profile, &e));
    assert_eq!(failures.len(), 1, "{failures:?}");
    let text = failures[0].to_string();
    assert!(
        matches!(failures[0], CheckFailure::Signature { .. }),
        "{text}"
    );
    assert!(
        text.contains("signature") && text.contains("00000000") && text.contains("mainnet"),
        "{text}"
    );
}

#[test]
fn wrong_fork_version_is_refused() {
    let e = vector_4op();
    let hoodi = NetworkProfile::hoodi();
    let failures = check_entry(&e, &ctx(&hoodi, &e));
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(matches!(failures[0], CheckFailure::Signature { .. }));
    assert_eq!(
        failures[1],
        CheckFailure::ForkVersion {
            network: "hoodi".into(),
            expected: "10000910".into(),
            got: "00000000".into()
        }
    );
    assert!(
        failures[1]
            .to_string()
            .contains("fork_version 0x00000000: expected 0x10000910")
    );
    assert!(matches!(failures[2], CheckFailure::NetworkName { .. }));
}

#[test]
fn wrong_deposit_data_root_is_refused() {
    let mut e = vector_4op();
    e.deposit_data_root[0] ^= 0xff;
    let profile = NetworkProfile::mainnet();
    let failures = check_entry(&e, &ctx(&profile, &e));
    assert_eq!(failures.len(), 1, "{failures:?}");
    let text = failures[0].to_string();
    assert!(
        text.starts_with("deposit_data_root 0xa89a3303") && text.contains("expected 0x579a3303"),
        "{text}"
    );
}

#[test]
fn wrong_message_root_is_refused() {
    let mut e = vector_4op();
    e.deposit_message_root[31] ^= 1;
    let profile = NetworkProfile::mainnet();
    let failures = check_entry(&e, &ctx(&profile, &e));
    assert!(
        matches!(failures.as_slice(), [CheckFailure::MessageRoot { .. }]),
        "{failures:?}"
    );
}

#[test]
fn other_withdrawal_address_is_refused() {
    let e = vector_4op();
    let profile = NetworkProfile::mainnet();
    let mut c = ctx(&profile, &e);
    let configured: Address = "0x000000000000000000000000000000000000dEaD"
        .parse()
        .unwrap();
    c.withdrawal_address = configured;
    let failures = check_entry(&e, &c);
    assert_eq!(failures.len(), 1, "{failures:?}");
    let text = failures[0].to_string();
    assert!(
        text.contains("0x81592c3DE184A3E2c0DCB5a261BC107Bfa91f494")
            && text.contains("0x000000000000000000000000000000000000dEaD"),
        "{text}"
    );
}

#[test]
fn credentials_type_and_amount_must_match_the_config() {
    let e = vector_4op();
    let profile = NetworkProfile::mainnet();
    let mut c = ctx(&profile, &e);
    c.compounding = Some(true);
    c.amount_gwei = Some(64_000_000_000);
    let failures = check_entry(&e, &c);
    assert_eq!(
        failures,
        vec![
            CheckFailure::CredentialsType {
                expected: 2,
                got: 1
            },
            CheckFailure::AmountConfigured {
                expected: 64_000_000_000,
                got: 32_000_000_000
            },
        ]
    );
}

#[test]
fn deposit_contract_and_chain_of_the_nodes_must_be_the_profiles() {
    let e = vector_4op();
    let profile = NetworkProfile::mainnet();
    let other: Address = "0x4242424242424242424242424242424242424242"
        .parse()
        .unwrap();

    let mut c = ctx(&profile, &e);
    c.node.beacon_deposit_contract = Some((1, other));
    let err = check_network(&c).unwrap_err();
    assert!(
        matches!(err, NetworkMismatch::BeaconDepositContract { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("0x4242424242424242424242424242424242424242")
    );

    c.node.beacon_deposit_contract = Some((1, profile.deposit_contract));
    c.node.el_chain_id = Some(560_048);
    let err = check_deposits(std::slice::from_ref(&e), &c).unwrap_err();
    assert!(
        matches!(
            err,
            DepositCheckError::Network(NetworkMismatch::ElChainId { got: 560_048, .. })
        ),
        "{err}"
    );

    // A custom profile that claims mainnet's chain id but another deposit contract.
    let mut custom = NetworkProfile::mainnet();
    custom.name = "my-mainnet".into();
    custom.deposit_contract = other;
    let c = ctx(&custom, &e);
    let err = check_network(&c).unwrap_err();
    assert!(
        matches!(err, NetworkMismatch::ProfileDepositContract { .. }),
        "{err}"
    );

    let mut ok = ctx(&profile, &e);
    ok.node = NodeFacts {
        el_chain_id: Some(1),
        beacon_deposit_contract: Some((1, profile.deposit_contract)),
        beacon_genesis_fork_version: Some([0; 4]),
    };
    check_deposits(std::slice::from_ref(&e), &ok).unwrap();
    ok.node.beacon_genesis_fork_version = Some([0x10, 0, 9, 0x10]);
    assert!(matches!(
        check_network(&ok),
        Err(NetworkMismatch::BeaconForkVersion { .. })
    ));
}

#[test]
fn duplicate_pubkeys_in_one_file_are_refused() {
    let e = vector_4op();
    let profile = NetworkProfile::mainnet();
    let err = check_deposits(&[e.clone(), e.clone()], &ctx(&profile, &e)).unwrap_err();
    assert!(
        matches!(
            err,
            DepositCheckError::DuplicatePubkey {
                first: 0,
                second: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn amount_outside_the_range_is_refused() {
    let mut e = vector_4op();
    e.amount = 31_000_000_000;
    let profile = NetworkProfile::mainnet();
    let failures = check_entry(&e, &ctx(&profile, &e));
    assert!(
        matches!(
            failures[0],
            CheckFailure::AmountRange {
                got: 31_000_000_000,
                ..
            }
        ),
        "{failures:?}"
    );
    // The roots and the signature cover the amount, so they fail as well.
    assert!(
        failures
            .iter()
            .any(|f| matches!(f, CheckFailure::Signature { .. }))
    );
}

// ---- independent implementation ----

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("SSV_AGENT_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "independent deposit checker missing: run scripts/install-py-checkers.sh (python3 -m venv .venv && \
         .venv/bin/pip install ethstaker-deposit==1.3.1 py_ecc==8.0.0), or set SSV_AGENT_PYTHON to a python with it"
    );
    venv
}

fn py_check(file: &Path, fork_version: Option<[u8; 4]>) -> Vec<serde_json::Value> {
    let mut cmd = Command::new(python());
    cmd.arg(repo().join("tests/py/check_deposit.py")).arg(file);
    if let Some(f) = fork_version {
        cmd.arg("--fork-version").arg(hex::encode(f));
    }
    let out = cmd.output().expect("python runs");
    assert!(
        out.status.success(),
        "check_deposit.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("checker prints JSON")
}

fn assert_agrees(file: &Path, fork: [u8; 4], expect_valid: bool) {
    let entries = read_deposit_file(file).unwrap();
    let py = py_check(file, Some(fork));
    assert_eq!(py.len(), entries.len());
    for (e, p) in entries.iter().zip(&py) {
        let msg = e.message();
        assert_eq!(p["pubkey"], hex::encode(e.pubkey));
        assert_eq!(
            p["deposit_message_root"],
            hex::encode(ssv_agent::deposit::data::deposit_message_root(&msg))
        );
        assert_eq!(
            p["deposit_data_root"],
            hex::encode(deposit_data_root(&msg, &e.signature))
        );
        assert_eq!(
            p["signing_root"],
            hex::encode(deposit_signing_root(&msg, fork))
        );
        let ours = ssv_agent::crypto::bls::verify(
            &e.pubkey,
            &deposit_signing_root(&msg, fork),
            &e.signature,
            ssv_agent::crypto::bls::Dst::Pop,
        )
        .is_ok()
            && e.deposit_data_root == deposit_data_root(&msg, &e.signature);
        let theirs = p["signature_ok"] == true && p["data_root_ok"] == true;
        assert_eq!(
            ours,
            theirs,
            "disagreement on {} in {}",
            hex::encode(e.pubkey),
            file.display()
        );
        assert_eq!(ours, expect_valid, "{}", file.display());
        if e.fork_version == fork {
            assert_eq!(
                p["ethstaker_valid"],
                expect_valid,
                "ethstaker validate_deposit on {}",
                file.display()
            );
        }
    }
}

#[test]
fn independent_checker_agrees_on_every_vector() {
    for file in vector_files() {
        let entries = read_deposit_file(&file).unwrap();
        assert_agrees(&file, entries[0].fork_version, true);
        // Under another network's fork version both must say no (single-entry files only: py_ecc
        // pairings take about a second each).
        if entries.len() == 1 {
            assert_agrees(&file, [0x10, 0, 9, 0x10], false);
        }
    }
}

#[test]
fn independent_checker_agrees_on_tampered_and_fresh_files() {
    let dir = tempfile::tempdir().unwrap();

    let mut bad = vector_4op();
    bad.signature[10] ^= 0x20;
    bad.deposit_data_root = deposit_data_root(&bad.message(), &bad.signature);
    let bad_path = dir.path().join("tampered.json");
    write_deposit_file(&bad_path, &[bad]).unwrap();
    assert_agrees(&bad_path, [0; 4], false);

    // A deposit the agent writes itself: fresh key, hoodi, 0x02 credentials, 2048 ETH.
    let ikm = [7u8; 32];
    let sk = blst::min_pk::SecretKey::key_gen(&ikm, &[]).unwrap();
    let address: Address = "0x00000000000000000000000000000000c0ffee01"
        .parse()
        .unwrap();
    let hoodi = NetworkProfile::hoodi();
    let msg = DepositMessage {
        pubkey: ssv_agent::crypto::bls::public_key(&sk),
        withdrawal_credentials: withdrawal_credentials(address, true),
        amount_gwei: 2_048_000_000_000,
    };
    let sig = ssv_agent::crypto::bls::sign(
        &sk,
        &deposit_signing_root(&msg, hoodi.genesis_fork_version),
        ssv_agent::crypto::bls::Dst::Pop,
    );
    let entry = DepositDataJson::new(&msg, &sig, hoodi.genesis_fork_version, "hoodi");
    let path = dir.path().join("deposit_data.json");
    write_deposit_file(&path, std::slice::from_ref(&entry)).unwrap();
    assert_agrees(&path, hoodi.genesis_fork_version, true);
    let c = CheckContext {
        profile: &hoodi,
        withdrawal_address: address,
        compounding: Some(true),
        amount_gwei: Some(2_048_000_000_000),
        node: NodeFacts::default(),
        allow: Allowances::default(),
    };
    check_deposits(&[entry], &c).unwrap();
}
