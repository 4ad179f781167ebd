//! End-to-end ceremonies on loopback between the Rust initiator and Rust operator servers, with
//! every output checked by `dkg::verify` (the `ssv-dkg verify` rules) and by the independent
//! py_ecc checker tests/py/check_ceremony.py (needs `.venv`: scripts/install-py-checkers.sh). The
//! Go interop runs are in `dkg_interop_go.rs`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::{Address, address};
use ssv_agent::crypto::rsa_keys::OperatorPrivateKey;
use ssv_agent::dkg::initiator::{CeremonyRequest, ClientTls, Initiator, OperatorInfo};
use ssv_agent::dkg::operator::{OperatorState, RunningOperator, TlsMaterial, serve};
use ssv_agent::dkg::verify::{VerifyExpectations, verify_ceremony_dir};

const OWNER: Address = address!("DCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9");
const WITHDRAW: Address = address!("81592c3de184a3e2c0dcb5a261bc107bfa91f494");

struct Cluster {
    servers: Vec<RunningOperator>,
    infos: Vec<OperatorInfo>,
}

async fn start_cluster(ids: &[u64], version: &str) -> Cluster {
    let versions = vec![version; ids.len()];
    start_cluster_versions(ids, &versions).await
}

/// One operator per id, each advertising its own wire version.
async fn start_cluster_versions(ids: &[u64], versions: &[&str]) -> Cluster {
    let tls = TlsMaterial::self_signed(&[]).expect("self-signed cert");
    let mut servers = Vec::new();
    let mut infos = Vec::new();
    for (id, version) in ids.iter().zip(versions) {
        let key = tokio::task::spawn_blocking(|| OperatorPrivateKey::generate(2048))
            .await
            .expect("join")
            .expect("rsa key");
        let public = key.public_key().clone();
        let state = Arc::new(OperatorState::new(*id, key, version.to_string()));
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let s = serve(state, addr, &tls).await.expect("serve");
        infos.push(OperatorInfo {
            id: *id,
            key: public,
            url: s.url(),
        });
        servers.push(s);
    }
    Cluster { servers, infos }
}

fn request(nonce: u64, validators: usize, network: &str) -> CeremonyRequest {
    CeremonyRequest {
        owner: OWNER,
        nonce,
        withdraw_address: WITHDRAW,
        compounding: false,
        amount_gwei: 32_000_000_000,
        network_name: network.into(),
        fork_version: match network {
            "hoodi" => crate::support::dkg::HOODI_FORK,
            _ => [0, 0, 0, 0],
        },
        validators,
    }
}

fn insecure() -> ClientTls {
    ClientTls {
        ca_certs_pem: vec![],
        insecure: true,
    }
}

fn expectations(nonce: u64, validators: usize, ids: &[u64], network: &str) -> VerifyExpectations {
    VerifyExpectations {
        validators: Some(validators),
        owner: Some(OWNER),
        nonce: Some(nonce),
        withdraw_address: Some(WITHDRAW),
        amount_gwei: Some(32_000_000_000),
        network: Some(network.into()),
        operator_ids: Some(ids.to_vec()),
    }
}

async fn ceremony_ok(ids: &[u64], nonce: u64, validators: usize) {
    ceremony_on(ids, nonce, validators, "mainnet").await;
}

async fn ceremony_on(ids: &[u64], nonce: u64, validators: usize, network: &str) {
    let cluster = start_cluster(ids, "v3.1.0").await;
    let init = Arc::new(Initiator::new(cluster.infos.clone(), &insecure()).expect("initiator"));
    let out = tempfile::tempdir().expect("tmp");
    let t = Instant::now();
    let dir = init
        .run_and_write(&request(nonce, validators, network), out.path())
        .await
        .expect("ceremony succeeds");
    eprintln!(
        "{} operators x {validators} validators: {:?}",
        ids.len(),
        t.elapsed()
    );
    let verified = verify_ceremony_dir(&dir, &expectations(nonce, validators, ids, network))
        .expect("output verifies");
    assert_eq!(verified.validators.len(), validators);
    // A second opinion from code that shares nothing with ours (py_ecc, pycryptodome).
    crate::support::dkg::python_check(&dir, nonce, validators, network);
    crate::support::dkg::cli_verify(&dir, nonce, validators, network, 32_000_000_000);
    drop(cluster.servers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_initiator_four_rust_operators() {
    ceremony_ok(&[11, 22, 33, 44], 1, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_operators_large_nonce_and_ids() {
    // Ids that are not multiples of one another and a nonce above u16.
    ceremony_ok(&[3, 17, 40, 111, 112, 113, 500], 70_000, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirteen_operators() {
    let ids: Vec<u64> = (1..=13).map(|i| i * 7 + 1).collect();
    ceremony_ok(&ids, 5, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_ten_validators() {
    ceremony_ok(&[1, 2, 3, 4], 0, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hoodi_deposit_signed_under_hoodi_fork() {
    // The checker verifies the deposit signature under the fork version of the named network.
    ceremony_on(&[5, 6, 7, 8], 3, 1, "hoodi").await;
}

/// Operators on the network run ssv-dkg v3.1.x: a patch release is accepted (each operator gets its
/// own version string), an older major or an unparseable version is refused before any ceremony,
/// naming the operator and what it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_v3_1_operator_is_accepted_older_or_unknown_versions_are_named() {
    let ids = [11, 22, 33, 44, 55, 66];
    let versions = [
        "v3.1.0",
        "v3.1.0",
        "v3.1.0",
        "v3.1.1",
        "v2.1.0",
        "not-a-version",
    ];
    let cluster = start_cluster_versions(&ids, &versions).await;
    let pick = |want: &[u64]| -> Vec<OperatorInfo> {
        cluster
            .infos
            .iter()
            .filter(|o| want.contains(&o.id))
            .cloned()
            .collect()
    };
    let out = tempfile::tempdir().expect("tmp");
    let init = Arc::new(Initiator::new(pick(&[11, 22, 33, 44]), &insecure()).expect("initiator"));
    let dir = init
        .run_and_write(&request(4, 1, "mainnet"), out.path())
        .await
        .expect("a v3.1.1 operator among v3.1.0 ones runs the ceremony");
    verify_ceremony_dir(&dir, &expectations(4, 1, &[11, 22, 33, 44], "mainnet"))
        .expect("output verifies");

    for (set, named) in [
        (vec![11, 22, 33, 55], vec![("operator 55", "\"v2.1.0\"")]),
        (
            vec![11, 22, 55, 66],
            vec![
                ("operator 55", "\"v2.1.0\""),
                ("operator 66", "\"not-a-version\""),
            ],
        ),
    ] {
        let init = Arc::new(Initiator::new(pick(&set), &insecure()).expect("initiator"));
        let out = tempfile::tempdir().expect("tmp");
        let e = init
            .run_and_write(&request(4, 1, "mainnet"), out.path())
            .await
            .expect_err("unsupported operator version");
        let text = e.to_string();
        for (who, version) in named {
            assert!(text.contains(who) && text.contains(version), "{text}");
        }
        assert!(text.contains("upgrade"), "says what to do: {text}");
        assert!(
            !text.contains("operator 11"),
            "names only the culprits: {text}"
        );
        assert_eq!(std::fs::read_dir(out.path()).expect("out").count(), 0);
    }
    drop(cluster.servers);
}
