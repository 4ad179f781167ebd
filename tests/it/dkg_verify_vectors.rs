//! `dkg verify` against the real ssv-dkg ceremony outputs in ../shared/vectors/ssv-dkg: every
//! recorded ceremony is accepted, `invalid_proofs.json` and single flipped bytes are rejected, the
//! writer reproduces the recorded files byte for byte, and the two outside checkers (Go
//! `ssv-dkg verify`, tests/py/check_ceremony.py) agree on the same folders.

use alloy::primitives::{Address, address};
use ssv_agent::deposit::json::{DepositDataJson, parse_deposit_json};
use ssv_agent::dkg::outputs::{
    SignedProofJson, ValidatorFiles, write_ceremony_named, write_validator_dir,
};
use ssv_agent::dkg::verify::{
    CeremonyLayout, VerifyError, VerifyExpectations, parse_validator_dir_name, verify_ceremony_dir,
};
use ssv_agent::ssv::keyshares::KeysharesJson;
use std::path::{Path, PathBuf};
use std::process::Command;

const OWNER: Address = address!("DCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9");
const WITHDRAW: Address = address!("81592c3de184a3e2c0dcb5a261bc107bfa91f494");
const HOLESKY_OWNER: Address = address!("5cC0DdE14E7256340CC820415a6022a7d1c93A35");

fn vectors() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/ssv-dkg");
    assert!(
        p.is_dir(),
        "{} missing: ../shared must sit next to the repository",
        p.display()
    );
    p
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every recorded ceremony folder (named ceremony-* or results--*), with what it was made for.
fn ceremonies() -> Vec<(PathBuf, VerifyExpectations)> {
    let mut found = Vec::new();
    let mut stack = vec![vectors()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if !e.file_type().unwrap().is_dir() {
                continue;
            }
            if name.starts_with("ceremony-") || name.starts_with("results--") {
                found.push(e.path());
            } else {
                stack.push(e.path());
            }
        }
    }
    found.sort();
    found
        .into_iter()
        .map(|p| {
            let holesky = p.to_string_lossy().contains("results--valid-1");
            let count = count_validators(&p);
            let exp = if holesky {
                VerifyExpectations {
                    validators: Some(count),
                    owner: Some(HOLESKY_OWNER),
                    nonce: Some(2731),
                    withdraw_address: Some(HOLESKY_OWNER),
                    amount_gwei: Some(32_000_000_000),
                    network: Some("holesky".into()),
                    operator_ids: Some((60..=72).collect()),
                }
            } else {
                VerifyExpectations {
                    validators: Some(count),
                    owner: Some(OWNER),
                    nonce: Some(1),
                    withdraw_address: Some(WITHDRAW),
                    amount_gwei: None,
                    network: Some("mainnet".into()),
                    operator_ids: None,
                }
            };
            (p, exp)
        })
        .collect()
}

fn count_validators(dir: &Path) -> usize {
    let folders = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            parse_validator_dir_name(&e.as_ref().unwrap().file_name().to_string_lossy()).is_some()
        })
        .count();
    if folders > 0 {
        return folders;
    }
    let text = std::fs::read_to_string(dir.join("deposit_data.json")).unwrap();
    parse_deposit_json(&text, dir).unwrap().len()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::write(&target, std::fs::read(e.path()).unwrap()).unwrap();
        }
    }
}

#[test]
fn accepts_every_recorded_ceremony() {
    let all = ceremonies();
    assert!(
        all.len() >= 4,
        "expected at least 4 recorded ceremonies, found {}",
        all.len()
    );
    let mut validators = 0;
    for (dir, exp) in &all {
        let v = verify_ceremony_dir(dir, exp).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(v.validators.len(), exp.validators.unwrap());
        for (i, val) in v.validators.iter().enumerate() {
            assert_eq!(val.nonce, exp.nonce.unwrap() + i as u64);
            assert_eq!(Some(val.owner), exp.owner);
        }
        validators += v.validators.len();
    }
    assert_eq!(validators, 13, "1 + 1 + 10 + 1 recorded validators");
}

#[test]
fn cli_verify_reports_json_with_expected_operator_ids() {
    // The recorded 13-operator Holesky ceremony, through the binary as a user runs it.
    let (dir, exp) = ceremonies()
        .into_iter()
        .find(|(p, _)| p.to_string_lossy().contains("results--valid-1"))
        .expect("the Holesky vector");
    let ids: Vec<String> = exp
        .operator_ids
        .clone()
        .unwrap()
        .iter()
        .map(u64::to_string)
        .collect();
    let run = |ids: &str| {
        Command::new(env!("CARGO_BIN_EXE_ssv-agent"))
            .args(["--json", "dkg", "verify", "--ceremony-dir"])
            .arg(&dir)
            .args(["--network", "holesky", "--operator-ids", ids])
            .output()
            .expect("run ssv-agent dkg verify")
    };
    let out = run(&ids.join(","));
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(v["event"], "dkg_verify");
    let validators = v["validators"].as_array().expect("validators");
    assert_eq!(validators.len(), exp.validators.unwrap());
    assert_eq!(validators[0]["nonce"], 2731);
    assert_eq!(validators[0]["network"], "holesky");
    assert_eq!(
        validators[0]["operator_ids"],
        serde_json::json!(exp.operator_ids.unwrap())
    );
    // Other operator ids than the ceremony's are refused.
    let out = run("1,2,3,4");
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("operator ids"),
        "{out:?}"
    );
}

#[test]
fn aggregate_only_folder_is_recognised() {
    let dir = vectors().join("integration_test/stubs/bulk/4/ceremony-2024-10-21--09-57-15.038");
    let v = verify_ceremony_dir(&dir, &VerifyExpectations::default()).unwrap();
    assert_eq!(v.layout, CeremonyLayout::AggregatesOnly);
    assert_eq!(v.validators.len(), 10);
    // A wrong expected owner, nonce, withdrawal address or network is refused.
    for exp in [
        VerifyExpectations {
            owner: Some(WITHDRAW),
            ..Default::default()
        },
        VerifyExpectations {
            nonce: Some(2),
            ..Default::default()
        },
        VerifyExpectations {
            withdraw_address: Some(OWNER),
            ..Default::default()
        },
        VerifyExpectations {
            network: Some("hoodi".into()),
            ..Default::default()
        },
        VerifyExpectations {
            amount_gwei: Some(64_000_000_000),
            ..Default::default()
        },
        VerifyExpectations {
            validators: Some(9),
            ..Default::default()
        },
    ] {
        assert!(verify_ceremony_dir(&dir, &exp).is_err(), "{exp:?} accepted");
    }
}

fn four_op_folder() -> (PathBuf, String) {
    let c = vectors().join("integration_test/stubs/bulk/4/ceremony-2024-10-21--09-56-54.375");
    let name = std::fs::read_dir(&c)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| parse_validator_dir_name(n).is_some())
        .unwrap();
    (c, name)
}

#[test]
fn rejects_invalid_proofs_json() {
    let (c, name) = four_op_folder();
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("ceremony");
    copy_dir(&c, &dst);
    let f = dst.join(&name);
    std::fs::rename(f.join("invalid_proofs.json"), f.join("proofs.json")).unwrap();
    let err = verify_ceremony_dir(&dst, &VerifyExpectations::default()).unwrap_err();
    // The tampered owner is caught by the proof/keyshares comparison before the RSA check.
    assert!(
        matches!(
            err,
            VerifyError::Operator { operator: 11, .. }
                | VerifyError::ProofSignature { operator: 11, .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("operator 11"), "{err}");
}

/// Flips one bit of one hex-encoded byte at `byte` inside the string value `s` (keeping a `0x`).
fn flip_hex(s: &str, byte: usize) -> String {
    let (prefix, body) = s.strip_prefix("0x").map(|b| ("0x", b)).unwrap_or(("", s));
    let mut bytes = hex::decode(body).unwrap();
    bytes[byte] ^= 0x01;
    format!("{prefix}{}", hex::encode(bytes))
}

/// A place in the files holding hex: (file, JSON pointer, byte length).
fn hex_fields(n: usize) -> Vec<(&'static str, String, usize)> {
    let mut f: Vec<(&'static str, String, usize)> = vec![
        ("deposit_data.json", "/0/signature".into(), 96),
        ("deposit_data.json", "/0/deposit_message_root".into(), 32),
        ("deposit_data.json", "/0/deposit_data_root".into(), 32),
        ("deposit_data.json", "/0/withdrawal_credentials".into(), 32),
        ("deposit_data.json", "/0/pubkey".into(), 48),
        (
            "keyshares.json",
            "/shares/0/payload/sharesData".into(),
            96 + 304 * n,
        ),
        ("keyshares.json", "/shares/0/payload/publicKey".into(), 48),
        ("keyshares.json", "/shares/0/data/publicKey".into(), 48),
        ("keyshares.json", "/shares/0/data/ownerAddress".into(), 20),
    ];
    for i in 0..n {
        f.push(("proofs.json", format!("/{i}/signature"), 256));
        f.push(("proofs.json", format!("/{i}/proof/encrypted_share"), 256));
        f.push(("proofs.json", format!("/{i}/proof/share_pub"), 48));
        f.push(("proofs.json", format!("/{i}/proof/validator"), 48));
        f.push(("proofs.json", format!("/{i}/proof/owner"), 20));
    }
    f
}

fn rejects_flips_in(ceremony: &Path, n: usize) -> usize {
    let name = std::fs::read_dir(ceremony)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| parse_validator_dir_name(n).is_some())
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("ceremony");
    copy_dir(ceremony, &dst);
    let folder = dst.join(&name);
    verify_ceremony_dir(&dst, &VerifyExpectations::default()).expect("untouched copy verifies");
    let mut cases = 0;
    for (file, pointer, len) in hex_fields(n) {
        let path = folder.join(file);
        let original = std::fs::read_to_string(&path).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&original).unwrap();
        let value = doc.pointer(&pointer).unwrap().as_str().unwrap().to_string();
        // First, last and a middle byte; for sharesData one byte in every segment.
        let mut positions = vec![0, len / 2, len - 1];
        if pointer.ends_with("sharesData") {
            positions.extend((0..n).map(|i| 96 + 48 * i + 7));
            positions.extend((0..n).map(|i| 96 + 48 * n + 256 * i + 100));
        }
        for byte in positions {
            let mut d = doc.clone();
            *d.pointer_mut(&pointer).unwrap() = serde_json::Value::String(flip_hex(&value, byte));
            let mut text = serde_json::to_string(&d).unwrap();
            text.push('\n');
            std::fs::write(&path, text).unwrap();
            let r = verify_ceremony_dir(&dst, &VerifyExpectations::default());
            assert!(
                r.is_err(),
                "flip of byte {byte} in {file} {pointer} was accepted"
            );
            cases += 1;
        }
        std::fs::write(&path, &original).unwrap();
    }
    // Same share flipped consistently in sharesData and the proof: only the RSA proof signature
    // (and the share's secrecy) can catch it.
    let ks_path = folder.join("keyshares.json");
    let pr_path = folder.join("proofs.json");
    let mut ks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ks_path).unwrap()).unwrap();
    let mut pr: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&pr_path).unwrap()).unwrap();
    let sd = ks
        .pointer("/shares/0/payload/sharesData")
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    *ks.pointer_mut("/shares/0/payload/sharesData").unwrap() =
        serde_json::Value::String(flip_hex(&sd, 96 + 48 * n + 5));
    let es = pr
        .pointer("/0/proof/encrypted_share")
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    *pr.pointer_mut("/0/proof/encrypted_share").unwrap() =
        serde_json::Value::String(flip_hex(&es, 5));
    std::fs::write(&ks_path, serde_json::to_string(&ks).unwrap()).unwrap();
    std::fs::write(&pr_path, serde_json::to_string(&pr).unwrap()).unwrap();
    let err = verify_ceremony_dir(&dst, &VerifyExpectations::default()).unwrap_err();
    assert!(
        matches!(err, VerifyError::ProofSignature { operator: _, .. }),
        "{err}"
    );
    cases + 1
}

#[test]
fn rejects_any_single_flipped_byte_4_operators() {
    let (c, _) = four_op_folder();
    let cases = rejects_flips_in(&c, 4);
    assert!(cases > 70, "{cases} flip cases");
}

#[test]
fn rejects_any_single_flipped_byte_13_operators() {
    let c = vectors().join("integration_test/stubs/bulk/13/ceremony-2024-10-21--10-35-00.463");
    let cases = rejects_flips_in(&c, 13);
    assert!(cases > 200, "{cases} flip cases");
}

#[test]
fn rejects_layout_problems() {
    let (c, name) = four_op_folder();
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("ceremony");
    copy_dir(&c, &dst);
    // A stray file at the ceremony level.
    std::fs::write(dst.join("FAILED"), "boom").unwrap();
    assert!(matches!(
        verify_ceremony_dir(&dst, &VerifyExpectations::default()),
        Err(VerifyError::UnexpectedEntry { .. })
    ));
    std::fs::remove_file(dst.join("FAILED")).unwrap();
    // Aggregates with a single validator.
    std::fs::copy(dst.join(&name).join("proofs.json"), dst.join("proofs.json")).unwrap();
    assert!(matches!(
        verify_ceremony_dir(&dst, &VerifyExpectations::default()),
        Err(VerifyError::Aggregates { .. })
    ));
    std::fs::remove_file(dst.join("proofs.json")).unwrap();
    // Folder nonce that disagrees with ownerNonce.
    let renamed = name.replacen("000001", "000002", 1);
    std::fs::rename(dst.join(&name), dst.join(&renamed)).unwrap();
    let err = verify_ceremony_dir(&dst, &VerifyExpectations::default()).unwrap_err();
    assert!(err.to_string().contains("ownerNonce"), "{err}");
    // Expected nonce differs from the folder.
    std::fs::rename(dst.join(&renamed), dst.join(&name)).unwrap();
    let err = verify_ceremony_dir(
        &dst,
        &VerifyExpectations {
            nonce: Some(0),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::NonceSequence { .. }), "{err}");
}

fn read_validator(folder: &Path) -> ValidatorFiles {
    let name = folder.file_name().unwrap().to_string_lossy().into_owned();
    let (nonce, pubkey) = parse_validator_dir_name(&name).unwrap();
    let deposit: Vec<DepositDataJson> = parse_deposit_json(
        &std::fs::read_to_string(folder.join("deposit_data.json")).unwrap(),
        folder,
    )
    .unwrap();
    let keyshares: KeysharesJson =
        serde_json::from_str(&std::fs::read_to_string(folder.join("keyshares.json")).unwrap())
            .unwrap();
    let proofs: Vec<SignedProofJson> =
        serde_json::from_str(&std::fs::read_to_string(folder.join("proofs.json")).unwrap())
            .unwrap();
    ValidatorFiles {
        nonce,
        pubkey,
        deposit,
        keyshares,
        proofs,
    }
}

#[test]
fn writer_reproduces_recorded_single_validator_files() {
    for c in [
        vectors().join("integration_test/stubs/bulk/4/ceremony-2024-10-21--09-56-54.375"),
        vectors().join("integration_test/stubs/bulk/13/ceremony-2024-10-21--10-35-00.463"),
    ] {
        let folder = std::fs::read_dir(&c)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir())
            .unwrap();
        let v = read_validator(&folder);
        let tmp = tempfile::tempdir().unwrap();
        let written = write_validator_dir(tmp.path(), &v).unwrap();
        assert_eq!(written.file_name(), folder.file_name());
        for f in ["deposit_data.json", "keyshares.json", "proofs.json"] {
            let a = std::fs::read(folder.join(f)).unwrap();
            let b = std::fs::read(written.join(f)).unwrap();
            assert!(
                a == b,
                "{} differs from the recorded file",
                written.join(f).display()
            );
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(written.join(f))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777;
                assert_eq!(mode, 0o600, "{f}");
            }
        }
    }
}

/// Splits the recorded 10-validator aggregates into a full ceremony folder with the writer.
fn rebuild_bulk_ceremony(parent: &Path) -> PathBuf {
    let agg = vectors().join("integration_test/stubs/bulk/4/ceremony-2024-10-21--09-57-15.038");
    let deposits = parse_deposit_json(
        &std::fs::read_to_string(agg.join("deposit_data.json")).unwrap(),
        &agg,
    )
    .unwrap();
    let keyshares: KeysharesJson =
        serde_json::from_str(&std::fs::read_to_string(agg.join("keyshares.json")).unwrap())
            .unwrap();
    let proofs: Vec<Vec<SignedProofJson>> =
        serde_json::from_str(&std::fs::read_to_string(agg.join("proofs.json")).unwrap()).unwrap();
    let validators: Vec<ValidatorFiles> = (0..deposits.len())
        .map(|i| ValidatorFiles {
            nonce: keyshares.shares[i].data.owner_nonce,
            pubkey: deposits[i].pubkey,
            deposit: vec![deposits[i].clone()],
            keyshares: KeysharesJson {
                version: keyshares.version.clone(),
                created_at: keyshares.created_at.clone(),
                shares: vec![keyshares.shares[i].clone()],
            },
            proofs: proofs[i].clone(),
        })
        .rev() // the writer sorts by nonce
        .collect();
    let dir = write_ceremony_named(
        parent,
        "ceremony-2024-10-21--09-57-15.038",
        &validators,
        &keyshares.created_at,
    )
    .unwrap();
    for f in ["deposit_data.json", "keyshares.json", "proofs.json"] {
        assert!(
            std::fs::read(agg.join(f)).unwrap() == std::fs::read(dir.join(f)).unwrap(),
            "aggregate {f} differs from the recorded one"
        );
    }
    dir
}

#[test]
fn writer_rebuilds_bulk_ceremony_that_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = rebuild_bulk_ceremony(tmp.path());
    let exp = VerifyExpectations {
        validators: Some(10),
        owner: Some(OWNER),
        nonce: Some(1),
        ..Default::default()
    };
    let v = verify_ceremony_dir(&dir, &exp).unwrap();
    assert_eq!(v.layout, CeremonyLayout::Folders);
    assert_eq!(v.validators.len(), 10);
    assert!(
        !tmp.path()
            .join(".ceremony-2024-10-21--09-57-15.038.partial")
            .exists()
    );
    // Aggregates that disagree with the folders are refused.
    let text = std::fs::read_to_string(dir.join("deposit_data.json")).unwrap();
    let mut d: Vec<DepositDataJson> = parse_deposit_json(&text, &dir).unwrap();
    d.swap(0, 1);
    std::fs::write(
        dir.join("deposit_data.json"),
        ssv_agent::deposit::json::to_deposit_json(&d),
    )
    .unwrap();
    let err = verify_ceremony_dir(&dir, &exp).unwrap_err();
    assert!(
        matches!(err, VerifyError::AggregateMismatch { .. }),
        "{err}"
    );
    let _ = ssv_agent::ssv::keyshares::KEYSHARES_VERSION;
}

// ---- the outside checkers --------------------------------------------------------------------

/// The Go ssv-dkg v3.1.0 (built by scripts/test-all.sh); fails saying how to build it.
fn ssv_dkg_bin() -> PathBuf {
    crate::support::dkg::go_ssv_dkg()
}

fn python() -> PathBuf {
    let py = repo().join(".venv/bin/python");
    assert!(
        py.is_file(),
        "{} missing: run `bash scripts/install-py-checkers.sh`",
        py.display()
    );
    py
}

fn run_go_verify(
    dir: &Path,
    validators: usize,
    owner: Address,
    nonce: u64,
    withdraw: Address,
) -> (bool, String) {
    // ssv-dkg wants relative, non-escaping paths: run it from the parent folder.
    let out = Command::new(ssv_dkg_bin())
        .current_dir(dir.parent().unwrap())
        .args([
            "verify",
            "--ceremonyDir",
            &dir.file_name().unwrap().to_string_lossy(),
            "--validators",
            &validators.to_string(),
            "--owner",
            &owner.to_checksum(None),
            "--nonce",
            &nonce.to_string(),
            "--withdrawAddress",
            &withdraw.to_checksum(None),
        ])
        .output()
        .expect("run ssv-dkg");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn run_py_check(dir: &Path, extra: &[String]) -> (bool, String) {
    let out = Command::new(python())
        .arg(repo().join("tests/py/check_ceremony.py"))
        .arg(dir)
        .args(extra)
        .output()
        .expect("run python checker");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Copies of the vector ceremonies in the layout ssv-dkg verify expects (the 10-validator one
/// rebuilt into folders), each with its expectations.
fn checker_inputs(tmp: &Path) -> Vec<(PathBuf, VerifyExpectations)> {
    let mut out = Vec::new();
    for (dir, exp) in ceremonies() {
        if count_validators(&dir) > 1
            && !dir.read_dir().unwrap().any(|e| e.unwrap().path().is_dir())
        {
            let parent = tmp.join("bulk");
            std::fs::create_dir_all(&parent).unwrap();
            out.push((rebuild_bulk_ceremony(&parent), exp));
        } else {
            let dst = tmp
                .join(format!("c{}", out.len()))
                .join(dir.file_name().unwrap());
            copy_dir(&dir, &dst);
            // Stray test material inside a validator folder is not part of a ceremony.
            for e in std::fs::read_dir(&dst).unwrap() {
                let _ = std::fs::remove_file(e.unwrap().path().join("invalid_proofs.json"));
            }
            out.push((dst, exp));
        }
    }
    out
}

#[test]
fn go_ssv_dkg_verify_agrees_on_vectors() {
    let bin = ssv_dkg_bin();
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).contains("v3.1.0"),
        "ssv-dkg is not v3.1.0"
    );
    let tmp = tempfile::tempdir().unwrap();
    let inputs = checker_inputs(tmp.path());
    for (dir, exp) in &inputs {
        let (owner, withdraw) = (exp.owner.unwrap(), exp.withdraw_address.unwrap());
        let (ok, text) = run_go_verify(
            dir,
            exp.validators.unwrap(),
            owner,
            exp.nonce.unwrap(),
            withdraw,
        );
        assert!(ok, "ssv-dkg verify rejected {}: {text}", dir.display());
        verify_ceremony_dir(dir, exp).unwrap();
        // And both refuse a wrong owner.
        let stranger = address!("00000000000000000000000000000000000000aa");
        let wrong = VerifyExpectations {
            owner: Some(stranger),
            ..exp.clone()
        };
        assert!(verify_ceremony_dir(dir, &wrong).is_err());
        let (ok, _) = run_go_verify(
            dir,
            exp.validators.unwrap(),
            stranger,
            exp.nonce.unwrap(),
            withdraw,
        );
        assert!(
            !ok,
            "ssv-dkg verify accepted a wrong owner for {}",
            dir.display()
        );
    }
    // The tampered proofs are rejected by Go as well.
    let (c, name) = four_op_folder();
    let (dir, exp) = inputs
        .iter()
        .find(|(d, _)| d.join(&name).is_dir())
        .expect("the 4-operator ceremony is among the inputs");
    std::fs::copy(
        c.join(&name).join("invalid_proofs.json"),
        dir.join(&name).join("proofs.json"),
    )
    .unwrap();
    let (ok, text) = run_go_verify(dir, 1, OWNER, 1, WITHDRAW);
    assert!(!ok, "ssv-dkg verify accepted invalid proofs: {text}");
    assert!(verify_ceremony_dir(dir, exp).is_err());
}

#[test]
fn python_checker_agrees_on_vectors() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = checker_inputs(tmp.path());
    for (dir, exp) in &inputs {
        let args = vec![
            "--owner".to_string(),
            exp.owner.unwrap().to_checksum(None),
            "--nonce".into(),
            exp.nonce.unwrap().to_string(),
            "--withdraw-address".into(),
            exp.withdraw_address.unwrap().to_checksum(None),
            "--network".into(),
            exp.network.clone().unwrap(),
        ];
        let (ok, text) = run_py_check(dir, &args);
        assert!(ok, "python checker rejected {}: {text}", dir.display());
        assert!(
            text.contains(&format!("OK {} validators", exp.validators.unwrap())),
            "{text}"
        );
    }
    // The checker itself must catch tampering: a flipped deposit signature byte, a share public key
    // and a wrong nonce.
    let (dir, _) = &inputs[0];
    let folder = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let dep_path = folder.join("deposit_data.json");
    let original = std::fs::read_to_string(&dep_path).unwrap();
    let mut d: serde_json::Value = serde_json::from_str(&original).unwrap();
    let sig = d[0]["signature"].as_str().unwrap().to_string();
    d[0]["signature"] = serde_json::Value::String(flip_hex(&sig, 40));
    std::fs::write(&dep_path, serde_json::to_string(&d).unwrap()).unwrap();
    let (ok, text) = run_py_check(dir, &[]);
    assert!(
        !ok,
        "python checker accepted a flipped deposit signature: {text}"
    );
    std::fs::write(&dep_path, &original).unwrap();
    let ks_path = folder.join("keyshares.json");
    let ks_orig = std::fs::read_to_string(&ks_path).unwrap();
    let mut ks: serde_json::Value = serde_json::from_str(&ks_orig).unwrap();
    let sd = ks["shares"][0]["payload"]["sharesData"]
        .as_str()
        .unwrap()
        .to_string();
    ks["shares"][0]["payload"]["sharesData"] = serde_json::Value::String(flip_hex(&sd, 96 + 10));
    std::fs::write(&ks_path, serde_json::to_string(&ks).unwrap()).unwrap();
    let (ok, text) = run_py_check(dir, &[]);
    assert!(
        !ok,
        "python checker accepted a flipped share public key: {text}"
    );
    std::fs::write(&ks_path, &ks_orig).unwrap();
    let (ok, text) = run_py_check(dir, &["--nonce".into(), "5".into()]);
    assert!(!ok, "python checker accepted a wrong nonce: {text}");
    let (ok, text) = run_py_check(dir, &[]);
    assert!(ok, "restored folder must pass again: {text}");
}
