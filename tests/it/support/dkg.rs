//! Shared by the DKG ceremony tests: the ceremony parameters they all use, the independent
//! Python checker (tests/py/check_ceremony.py, py_ecc), which runs in CI through `.venv`, and the
//! real Go ssv-dkg v3.1.0 that scripts/test-all.sh builds from ../shared/peers/ssv-dkg.
#![allow(dead_code)] // each test target uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

use alloy::primitives::{Address, address};
use ssv_agent::dkg::verify::VerifyExpectations;

pub(crate) const OWNER: Address = address!("DCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9");
pub(crate) const WITHDRAW: Address = address!("81592c3de184a3e2c0dcb5a261bc107bfa91f494");
pub(crate) const AMOUNT_GWEI: u64 = 32_000_000_000;

/// A network other than mainnet, so a fork-version mix-up cannot pass unnoticed.
pub(crate) const HOODI_FORK: [u8; 4] = [0x10, 0x00, 0x09, 0x10];

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn expectations(
    nonce: u64,
    validators: usize,
    ids: &[u64],
    network: &str,
    amount_gwei: u64,
) -> VerifyExpectations {
    VerifyExpectations {
        validators: Some(validators),
        owner: Some(OWNER),
        nonce: Some(nonce),
        withdraw_address: Some(WITHDRAW),
        amount_gwei: Some(amount_gwei),
        network: Some(network.into()),
        operator_ids: Some(ids.to_vec()),
    }
}

/// Runs tests/py/check_ceremony.py on a ceremony folder and asserts it accepts exactly
/// `validators` validators. Fails with the install command when the venv is missing.
pub(crate) fn python_check(dir: &Path, nonce: u64, validators: usize, network: &str) {
    let python = repo().join(".venv/bin/python");
    assert!(
        python.exists(),
        "independent ceremony checker missing ({}): run scripts/install-py-checkers.sh \
         (python3 -m venv .venv && .venv/bin/pip install py_ecc==8.0.0 pycryptodome==3.23.0)",
        python.display()
    );
    let out = Command::new(&python)
        .arg(repo().join("tests/py/check_ceremony.py"))
        .arg(dir)
        .args(["--owner", &OWNER.to_string()])
        .args(["--nonce", &nonce.to_string()])
        .args(["--withdraw-address", &WITHDRAW.to_string()])
        .args(["--network", network])
        .output()
        .expect("run check_ceremony.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "check_ceremony.py rejected {}: {stdout}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        format!("OK {validators} validators"),
        "check_ceremony.py counted a different number of validators in {}",
        dir.display()
    );
}

/// `ssv-agent dkg verify` (the binary, as a user runs it) must accept the folder.
pub(crate) fn cli_verify(
    dir: &Path,
    nonce: u64,
    validators: usize,
    network: &str,
    amount_gwei: u64,
) {
    let out = Command::new(env!("CARGO_BIN_EXE_ssv-agent"))
        .args(["dkg", "verify", "--ceremony-dir"])
        .arg(dir)
        .args(["--validators", &validators.to_string()])
        .args(["--owner", &OWNER.to_string()])
        .args(["--nonce", &nonce.to_string()])
        .args(["--withdraw-address", &WITHDRAW.to_string()])
        .args(["--amount", &amount_gwei.to_string()])
        .args(["--network", network])
        .output()
        .expect("run ssv-agent dkg verify");
    assert!(
        out.status.success(),
        "ssv-agent dkg verify rejected {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How to get the Go peer, for failure messages.
pub(crate) const GO_SSV_DKG_HOW: &str = "install Go >= 1.24 and a C compiler (cgo), then build the peer with \
     `../shared/peers/ssv-dkg/build.sh \"$PWD/.cache/bin/ssv-dkg\"` from the repo root (absolute \
     path; idempotent; scripts/test-all.sh does this and exports SSV_DKG_BIN)";

/// The Go ssv-dkg v3.1.0 binary: `SSV_DKG_BIN`, else `.cache/bin/ssv-dkg`, canonicalised (the Go
/// processes run in temp dirs). Fails, saying how to build it, when it is missing or not v3.1.0.
pub(crate) fn go_ssv_dkg() -> PathBuf {
    let p = std::env::var_os("SSV_DKG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".cache/bin/ssv-dkg"));
    if !p.is_file() {
        let go = Command::new("go")
            .arg("version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        let toolchain = match go {
            Some(v) => format!("Go is installed ({v})"),
            None => "no Go toolchain on PATH".to_string(),
        };
        panic!(
            "Go ssv-dkg v3.1.0 not found at {} ({toolchain}): {GO_SSV_DKG_HOW}",
            p.display()
        );
    }
    let p = std::fs::canonicalize(&p).expect("canonical ssv-dkg path");
    let out = Command::new(&p)
        .arg("--version")
        .output()
        .expect("run ssv-dkg --version");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.split_whitespace().any(|w| w == "v3.1.0"),
        "{} reports {text:?}, not v3.1.0 (peers compare the version string byte for byte): {GO_SSV_DKG_HOW}",
        p.display()
    );
    p
}
