//! The devnet's exit double stays bounded when the beacon node hangs: an exit it cannot finish
//! (every Beacon API call times out) is given up with the reason after `give_up_after`, the task
//! keeps ticking, and the devnet is never held up. Needs anvil (`cd anvil && npm ci`).

use std::{
    io::Read,
    net::TcpListener,
    time::{Duration, Instant},
};

use alloy::{
    network::TransactionBuilder,
    primitives::{Bytes, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use ssv_agent::{
    chain::contracts::{Cluster, SSVNetwork},
    devnet::{
        Devnet, DevnetOptions, STAKER_ACCOUNT, dev_account,
        exit_double::{ExitDouble, ExitDoubleConfig, ExitOutcomeKind},
    },
    ssv::keyshares::shares_data_len,
};

/// A "beacon node" that accepts connections and never answers.
fn hung_beacon() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
            let _ = stream.read(&mut buf);
            held.push(stream);
        }
    });
    url
}

async fn send(d: &Devnet, input: Vec<u8>, value: U256) {
    let tx = TransactionRequest::default()
        .with_from(dev_account(STAKER_ACCOUNT).address())
        .with_to(d.profile().ssv_network)
        .with_input(input)
        .with_value(value);
    let r = d
        .provider()
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_beacon_node_makes_the_double_give_up_in_bounded_time() {
    let d = Devnet::start(DevnetOptions {
        operators: 4,
        ..Default::default()
    })
    .await
    .expect("devnet starts (needs `cd anvil && npm ci`)");
    let mut cfg = ExitDoubleConfig::for_devnet(&ssv_agent::devnet::DevnetInfo {
        beacon_url: Some(hung_beacon()),
        ..d.info().clone()
    })
    .unwrap();
    cfg.poll = Duration::from_millis(200);
    cfg.request_timeout = Duration::from_millis(500);
    cfg.give_up_after = Duration::from_secs(3);
    let double = ExitDouble::spawn(cfg).await.unwrap();

    let pubkey = [0xa5u8; 48];
    let ids = vec![1u64, 2, 3, 4];
    send(
        &d,
        SSVNetwork::registerValidatorCall {
            publicKey: Bytes::copy_from_slice(&pubkey),
            operatorIds: ids.clone(),
            sharesData: vec![0u8; shares_data_len(4)].into(),
            cluster: Cluster::empty(),
        }
        .abi_encode(),
        U256::from(10u64).pow(U256::from(18u64)),
    )
    .await;
    let asked = Instant::now();
    send(
        &d,
        SSVNetwork::exitValidatorCall {
            publicKey: Bytes::copy_from_slice(&pubkey),
            operatorIds: ids,
        }
        .abi_encode(),
        U256::ZERO,
    )
    .await;

    let hex = format!("0x{}", hex::encode(pubkey));
    let outcome = loop {
        if let Some(o) = double.outcomes().into_iter().find(|o| o.pubkey == hex) {
            break o;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(20),
            "the double never gave up on an exit it could not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let waited = asked.elapsed();
    println!("gave up after {waited:?}: {outcome:?}");
    let ExitOutcomeKind::Failed { reason } = &outcome.kind else {
        panic!("expected a failure, got {outcome:?}");
    };
    // Either the client's own timeout or the double's bound, whichever fires first.
    assert!(
        reason.contains("timed out") || reason.contains("no answer within"),
        "{reason}"
    );
    assert!(
        waited >= Duration::from_secs(3),
        "gave up before give_up_after"
    );
    // The devnet still answers at once.
    let t = Instant::now();
    d.provider().get_block_number().await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
}
