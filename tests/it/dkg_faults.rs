//! Faulty operators and bad requests: each must fail with an error naming the operator, and leave
//! no ceremony folder behind.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, address};
use ssv_agent::crypto::rsa_keys::OperatorPrivateKey;
use ssv_agent::dkg::initiator::{
    CeremonyRequest, ClientTls, Initiator, InitiatorError, OperatorInfo,
};
use ssv_agent::dkg::operator::{
    Fault, OperatorError, OperatorState, RunningOperator, TlsMaterial, serve,
};
use ssv_agent::dkg::transport::sign_transport;
use ssv_agent::dkg::wire::{Init, Operator, Ssz, Transport, TransportType};

const OWNER: Address = address!("DCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9");

async fn key() -> OperatorPrivateKey {
    tokio::task::spawn_blocking(|| OperatorPrivateKey::generate(2048))
        .await
        .expect("join")
        .expect("rsa")
}

async fn cluster(
    ids: &[u64],
    faults: &[(u64, Fault)],
) -> (Vec<RunningOperator>, Vec<OperatorInfo>) {
    let tls = TlsMaterial::self_signed(&[]).expect("cert");
    let mut servers = Vec::new();
    let mut infos = Vec::new();
    for id in ids {
        let k = key().await;
        let public = k.public_key().clone();
        let fault = faults
            .iter()
            .find(|(f, _)| f == id)
            .map(|(_, f)| *f)
            .unwrap_or_default();
        let state = Arc::new(OperatorState::new(*id, k, "v3.1.0".into()).with_fault(fault));
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let s = serve(state, addr, &tls).await.expect("serve");
        infos.push(OperatorInfo {
            id: *id,
            key: public,
            url: s.url(),
        });
        servers.push(s);
    }
    (servers, infos)
}

fn request() -> CeremonyRequest {
    CeremonyRequest {
        owner: OWNER,
        nonce: 1,
        withdraw_address: address!("81592c3de184a3e2c0dcb5a261bc107bfa91f494"),
        compounding: true,
        amount_gwei: 32_000_000_000,
        network_name: "hoodi".into(),
        fork_version: [0x10, 0x00, 0x09, 0x10],
        validators: 1,
    }
}

fn tls() -> ClientTls {
    ClientTls {
        ca_certs_pem: vec![],
        insecure: true,
    }
}

fn assert_nothing_written(dir: &Path) {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .map(|r| r.flatten().collect())
        .unwrap_or_default();
    assert!(
        entries.is_empty(),
        "output left behind: {:?}",
        entries.iter().map(|e| e.path()).collect::<Vec<_>>()
    );
}

async fn run_expect_err(infos: Vec<OperatorInfo>, timeout: Duration) -> String {
    let init = Arc::new(Initiator::with_timeout(infos, &tls(), timeout).expect("initiator"));
    let out = tempfile::tempdir().expect("tmp");
    let err = init
        .run_and_write(&request(), out.path())
        .await
        .expect_err("ceremony must fail");
    assert_nothing_written(out.path());
    err.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_down_is_named() {
    let (mut servers, infos) = cluster(&[1, 2, 3, 4], &[]).await;
    servers.remove(2).stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let msg = run_expect_err(infos, Duration::from_secs(5)).await;
    assert!(msg.contains("operator 3"), "{msg}");
    assert!(
        msg.contains("unreachable") || msg.contains("connection"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_stalling_mid_ceremony_is_named() {
    let (_servers, infos) = cluster(&[1, 2, 3, 4], &[(4, Fault::StallOnDeals)]).await;
    let msg = run_expect_err(infos, Duration::from_secs(3)).await;
    assert!(
        msg.contains("operator 4") && msg.contains("in time"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reply_signature_is_named() {
    let (_servers, infos) = cluster(&[1, 2, 3, 4], &[(2, Fault::BadReplySignature)]).await;
    let msg = run_expect_err(infos, Duration::from_secs(10)).await;
    assert!(
        msg.contains("operator 2") && msg.contains("signature"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_share_is_named() {
    // Operator 3's first deal (for operator 1) does not match its commitments; operator 1 refuses
    // and names the dealer.
    let (_servers, infos) = cluster(&[1, 2, 3, 4], &[(3, Fault::WrongShare)]).await;
    let msg = run_expect_err(infos, Duration::from_secs(10)).await;
    assert!(
        msg.contains("operator 3") && msg.contains("commitments"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_differing_from_registered_is_named() {
    let (_servers, mut infos) = cluster(&[1, 2, 3, 4], &[]).await;
    infos[1].key = key().await.public_key().clone();
    let msg = run_expect_err(infos, Duration::from_secs(10)).await;
    assert!(msg.contains("operator 2") && msg.contains("key"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_or_six_operators_are_refused() {
    for n in [5u64, 6] {
        let infos: Vec<OperatorInfo> = {
            let k = key().await;
            (1..=n)
                .map(|id| OperatorInfo {
                    id,
                    key: k.public_key().clone(),
                    url: format!("https://127.0.0.1:{}", 1000 + id),
                })
                .collect()
        };
        let err = Initiator::new(infos, &tls()).expect_err("refused");
        assert!(matches!(err, InitiatorError::Request(_)));
        assert!(err.to_string().contains(&format!("{n} operators")), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_mismatch_is_refused_by_the_operator() {
    let op_key = key().await;
    let op_pub = op_key.public_key().clone();
    let state = OperatorState::new(1, op_key, "v3.1.0".into());
    let initiator = key().await;
    let others: Vec<OperatorPrivateKey> = vec![key().await, key().await, key().await];
    let mut operators = vec![Operator {
        id: 1,
        pubkey: op_pub.to_base64_pem().as_bytes().to_vec(),
    }];
    for (i, k) in others.iter().enumerate() {
        operators.push(Operator {
            id: i as u64 + 2,
            pubkey: k.public_key().to_base64_pem().as_bytes().to_vec(),
        });
    }
    let mut wc = vec![0u8; 32];
    wc[0] = 1;
    let init = Init {
        operators,
        t: 3,
        withdrawal_credentials: wc,
        fork: [0; 4],
        owner: [7; 20],
        nonce: 0,
        amount: 32_000_000_000,
    };
    let send = |version: &str| {
        let t = Transport {
            kind: TransportType::Init,
            identifier: [1; 24],
            data: init.to_ssz(),
            version: version.as_bytes().to_vec(),
        };
        state.handle_init(&sign_transport(&initiator, t).expect("sign").to_ssz())
    };
    match send("v3.0.3") {
        Err(OperatorError::Version { remote, local }) => {
            assert_eq!(remote, "v3.0.3");
            assert_eq!(local, "v3.1.0");
        }
        other => panic!("expected a version error, got {:?}", other.map(|_| ())),
    }
    // Same request with the right version is accepted, and a replay is refused as a duplicate.
    send("v3.1.0").expect("accepted");
    assert!(matches!(send("v3.1.0"), Err(OperatorError::Duplicate(_))));
}
