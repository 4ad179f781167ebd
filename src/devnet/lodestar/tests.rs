use std::{
    process::Command,
    time::{Duration, Instant},
};

use alloy::primitives::address;
use sha2::Digest;

use super::interop::{deposit_tree_root, interop_deposit, interop_secret_key};
use super::*;
use crate::crypto::bls;

const HOODI_FORK: [u8; 4] = [0x10, 0x00, 0x09, 0x10];

fn opts(dir: &Path) -> LodestarOptions {
    let mut o = LodestarOptions::new(
        Url::parse("http://127.0.0.1:8545").unwrap(),
        560_048,
        address!("00000000219ab540356cBB839Cbe05303d7705Fa"),
        HOODI_FORK,
        dir.join("data"),
    );
    o.install_dir = dir.join("beacon-devnet");
    o
}

// Keys 0 and 1 of the consensus-specs interop key list (tests/core/pyspec keys, also Lodestar's).
#[test]
fn interop_keys_match_the_published_list() {
    let cases = [
        (
            0,
            "25295f0d1d592a90b333e26e85149708208e9f8e8bc18f6c77bd62f8ad7a6866",
            "a99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c",
        ),
        (
            1,
            "51d0b65185db6989ab0b560d6deed19c7ead0e24b9b6372cbecb1f26bdfad000",
            "b89bebc699769726a318c8e9971bd3171297c61aea4a6578a7a4f94b547dcba5bac16a89108b6b6a1fe3695d1a874a0b",
        ),
    ];
    for (i, sk_hex, pk_hex) in cases {
        let sk = interop_secret_key(i).unwrap();
        assert_eq!(hex::encode(sk.to_bytes()), sk_hex, "secret key {i}");
        assert_eq!(hex::encode(bls::public_key(&sk)), pk_hex, "public key {i}");
    }
}

#[test]
fn interop_deposit_is_signed_for_the_given_fork_with_bls_credentials() {
    let d = interop_deposit(3, HOODI_FORK).unwrap();
    assert_eq!(d.message.withdrawal_credentials[0], 0x00);
    let digest: [u8; 32] = sha2::Sha256::digest(d.message.pubkey).into();
    assert_eq!(d.message.withdrawal_credentials[1..], digest[1..]);
    assert_eq!(d.message.amount_gwei, 32_000_000_000);
    let root = crate::deposit::data::deposit_signing_root(&d.message, HOODI_FORK);
    bls::verify(&d.message.pubkey, &root, &d.signature, bls::Dst::Pop).unwrap();
    let mainnet_root = crate::deposit::data::deposit_signing_root(&d.message, [0; 4]);
    assert!(
        bls::verify(
            &d.message.pubkey,
            &mainnet_root,
            &d.signature,
            bls::Dst::Pop
        )
        .is_err()
    );
    assert_eq!(
        d.data_root,
        crate::deposit::data::deposit_data_root(&d.message, &d.signature)
    );
}

#[test]
fn deposit_tree_root_of_no_deposits_is_the_contracts_empty_root() {
    // get_deposit_root() of a fresh mainnet deposit contract.
    assert_eq!(
        hex::encode(deposit_tree_root(&[])),
        "d70a234731285c6804c2a4f56711ddb8c82c99740f207854891028af34e27e5e"
    );
}

#[test]
fn deposit_tree_root_depends_on_every_leaf_and_on_order() {
    let a = [1u8; 32];
    let b = [2u8; 32];
    let ab = deposit_tree_root(&[a, b]);
    assert_ne!(ab, deposit_tree_root(&[b, a]));
    assert_ne!(ab, deposit_tree_root(&[a]));
    assert_ne!(
        ab,
        deposit_tree_root(&[a, b, [0u8; 32]]),
        "length is mixed in"
    );
}

#[test]
fn missing_install_names_the_install_script() {
    let dir = tempfile::tempdir().unwrap();
    let err = check_installed(&dir.path().join("beacon-devnet")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("scripts/install-lodestar.sh"), "{text}");
    assert!(text.contains("lodestar.mjs"), "{text}");
}

#[tokio::test]
async fn start_without_install_fails_before_spawning() {
    let dir = tempfile::tempdir().unwrap();
    let err = Lodestar::start(&opts(dir.path())).await.unwrap_err();
    assert!(matches!(err, LodestarError::NotInstalled { .. }), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created for a missing install"
    );
}

#[test]
fn stock_timing_with_a_short_follow_distance_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.timing = DevTiming {
        eth1_follow_distance: 8,
        ..DevTiming::stock()
    };
    let err = check_options(&o).unwrap_err();
    assert!(err.to_string().contains(">= 64 s"), "{err}");
    o.timing = DevTiming::stock();
    check_options(&o).unwrap();
    o.timing = DevTiming {
        seconds_per_slot: 0,
        ..DevTiming::fast()
    };
    assert!(
        check_options(&o)
            .unwrap_err()
            .to_string()
            .contains("seconds_per_slot")
    );
}

#[test]
fn dev_args_carry_the_chain_and_stay_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let args = dev_args(&o, 40001, 40002);
    let value = |flag: &str| {
        let i = args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag} missing"));
        args[i + 1].clone()
    };
    assert_eq!(args[0], "dev");
    assert_eq!(value("--params.GENESIS_FORK_VERSION"), "0x10000910");
    assert_eq!(value("--params.DEPOSIT_CHAIN_ID"), "560048");
    assert_eq!(
        value("--params.DEPOSIT_CONTRACT_ADDRESS"),
        "0x00000000219ab540356cbb839cbe05303d7705fa"
    );
    assert_eq!(value("--eth1.providerUrls"), "http://127.0.0.1:8545/");
    assert_eq!(value("--startValidators"), "0..7");
    assert_eq!(value("--rest.port"), "40001");
    assert_eq!(value("--beaconNodes"), "http://127.0.0.1:40001");
    assert_eq!(value("--port"), "40002");
    assert_eq!(value("--rest.address"), "127.0.0.1");
    assert_eq!(value("--listenAddress"), "127.0.0.1");
    assert_eq!(value("--discv5"), "false");
    // Exits within minutes: the config values the chain uses, and the preset copies the spec
    // endpoint shows, agree.
    assert_eq!(value("--params.SHARD_COMMITTEE_PERIOD"), "4");
    assert_eq!(value("--params.MIN_VALIDATOR_WITHDRAWABILITY_DELAY"), "4");
    let env = timing_env(&o.timing);
    assert!(env.contains(&("SSV_DEVNET_SHARD_COMMITTEE_PERIOD", "4".to_string())));
    assert!(env.contains(&(
        "SSV_DEVNET_MIN_VALIDATOR_WITHDRAWABILITY_DELAY",
        "4".to_string()
    )));
}

#[test]
fn timing_env_sets_patch_knobs_only_when_patched() {
    let fast = timing_env(&DevTiming::fast());
    assert!(fast.contains(&("SSV_DEVNET_ETH1_MIN_FOLLOW", "8".to_string())));
    assert!(fast.contains(&("SSV_DEVNET_ETH1_UPDATE_MS", "1000".to_string())));
    assert!(
        fast.iter()
            .any(|(k, v)| *k == "SSV_DEVNET_SLOT_IMPORT_TOLERANCE"
                && v.parse::<u64>().unwrap() > 1000)
    );
    assert!(fast.contains(&("SSV_DEVNET_MAX_SEED_LOOKAHEAD", "1".to_string())));
    let stock = timing_env(&DevTiming::stock());
    assert!(
        stock
            .iter()
            .all(|(k, _)| !k.starts_with("SSV_DEVNET_ETH1_") && !k.contains("TOLERANCE")),
        "{stock:?}"
    );
    // Lodestar's yargs reads LODESTAR_* variables as arguments and rejects unknown ones.
    assert!(fast.iter().all(|(k, _)| !k.starts_with("LODESTAR_")));
}

#[test]
fn terminate_reports_a_graceful_exit_on_sigterm() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let started = Instant::now();
    let outcome = process::terminate(&mut child, Duration::from_secs(5)).unwrap();
    assert!(
        matches!(outcome, StopOutcome::Graceful(ref s) if s.contains("15")),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn terminate_kills_a_process_that_ignores_sigterm() {
    // The shell ignores TERM; `exec sleep` keeps the ignored disposition, so only SIGKILL ends it.
    let mut child = Command::new("sh")
        .args(["-c", "trap '' TERM; exec sleep 20"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let outcome = process::terminate(&mut child, Duration::from_millis(700)).unwrap();
    assert_eq!(outcome, StopOutcome::Killed);
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert!(child.try_wait().unwrap().is_some(), "reaped");
}

#[test]
fn free_ports_are_bindable() {
    let port = process::free_tcp_port("test").unwrap();
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}

#[test]
fn terminate_pid_refuses_a_process_that_is_not_ours_then_stops_the_right_one() {
    let mut child = Command::new("sleep").arg("31").spawn().unwrap();
    let pid = child.id();
    let err = process::terminate_pid(pid, "lodestar.mjs", Duration::from_secs(2)).unwrap_err();
    assert!(matches!(err, LodestarError::NotOurs { .. }), "{err}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "a refused pid is not signalled"
    );
    let outcome = process::terminate_pid(pid, "sleep 31", Duration::from_secs(5)).unwrap();
    assert!(matches!(outcome, StopOutcome::Graceful(_)), "{outcome:?}");
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15)
    );
    // Gone now: a second stop reports that instead of signalling anything.
    let again = process::terminate_pid(pid, "sleep 31", Duration::from_secs(1)).unwrap();
    assert_eq!(again, StopOutcome::AlreadyExited);
}

/// An install dir with the files `check_installed` looks for, and a fake `node` that logs one line,
/// counts its runs in `runs` and exits 1.
fn fake_install(dir: &Path, line: &str) -> LodestarOptions {
    use std::os::unix::fs::PermissionsExt;
    let install = dir.join("beacon-devnet");
    fs::create_dir_all(install.join("node_modules/@chainsafe/lodestar")).unwrap();
    fs::write(install.join(LAUNCHER), "").unwrap();
    let node = dir.join("fake-node");
    let script = format!(
        "#!/bin/sh\necho run >> '{}'\necho '{line}'\nexit 1\n",
        dir.join("runs").display()
    );
    fs::write(&node, script).unwrap();
    fs::set_permissions(&node, fs::Permissions::from_mode(0o755)).unwrap();
    let mut o = opts(dir);
    o.node = node;
    o
}

fn runs(dir: &Path) -> usize {
    fs::read_to_string(dir.join("runs"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[tokio::test]
async fn a_node_that_dies_at_start_is_reported_with_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let o = fake_install(
        dir.path(),
        "Error: Invalid values: Argument: rest.namespace",
    );
    let err = Lodestar::start(&o).await.unwrap_err();
    match &err {
        LodestarError::ExitedEarly { status, tail, .. } => {
            assert!(status.contains('1'), "{status}");
            assert!(tail.contains("rest.namespace"), "{tail}");
        }
        other => panic!("expected ExitedEarly, got {other}"),
    }
    assert_eq!(runs(dir.path()), 1, "an ordinary failure is not retried");
}

#[tokio::test]
async fn a_lost_port_race_is_retried_with_new_ports() {
    let dir = tempfile::tempdir().unwrap();
    let o = fake_install(
        dir.path(),
        "Error: listen EADDRINUSE: address already in use",
    );
    let err = Lodestar::start(&o).await.unwrap_err();
    assert!(matches!(err, LodestarError::ExitedEarly { .. }), "{err}");
    assert_eq!(runs(dir.path()), PORT_ATTEMPTS as usize);
}
