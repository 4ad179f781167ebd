//! End to end on the devnet with the real Lodestar 1.5.1 beacon node: the agent checks the beacon
//! node's network identity, deposits a new validator once, then follows it on the Beacon API from
//! unknown through pending_* to active_ongoing, with the ETA shrinking, and records it in the
//! validator's state file.
//!
//! Needs anvil (`cd anvil && npm ci`) and Lodestar (`scripts/install-lodestar.sh`); either missing
//! fails the test with that instruction. Takes one to three minutes.

use std::time::Duration;

use ssv_agent::{
    beacon::{
        activation::{FollowOptions, follow, preflight},
        client::BeaconClient,
        types::ValidatorStatus,
    },
    chain::Chain,
    crypto::bls::{self, Dst},
    deposit::{
        checks::Allowances,
        data::{DepositDataJson, DepositMessage, deposit_signing_root, withdrawal_credentials},
        json::write_deposit_file,
        send::{DepositJob, DepositRequest, Outcome, SendOptions, deposit_all},
    },
    devnet::{Devnet, DevnetOptions, STAKER_ACCOUNT, dev_account},
    journal::{ActivationRecord, Stage, StateFile, now_secs},
};

#[tokio::test]
async fn deposit_then_follow_to_active_on_lodestar() {
    let d = Devnet::start(DevnetOptions {
        operators: 4,
        block_time: Some(1),
        beacon: true,
        ..Default::default()
    })
    .await
    .expect(
        "devnet with Lodestar starts (needs `cd anvil && npm ci` and scripts/install-lodestar.sh)",
    );
    let beacon_url = d
        .beacon_url()
        .expect("devnet started a beacon node")
        .to_string();
    let beacon = BeaconClient::new(&beacon_url, Duration::from_secs(5)).unwrap();
    let profile = d.profile().clone();

    // The node must pass the same identity checks the agent applies to a real network.
    let info = preflight(&beacon, &profile, 4).await.unwrap();
    assert_eq!(
        info.genesis.genesis_fork_version,
        profile.genesis_fork_version
    );

    let staker = dev_account(STAKER_ACCOUNT);
    let sk = blst::min_pk::SecretKey::key_gen(&[0x5a; 32], &[]).unwrap();
    let msg = DepositMessage {
        pubkey: bls::public_key(&sk),
        withdrawal_credentials: withdrawal_credentials(staker.address(), false),
        amount_gwei: 32_000_000_000,
    };
    let sig = bls::sign(
        &sk,
        &deposit_signing_root(&msg, profile.genesis_fork_version),
        Dst::Pop,
    );
    let entry = DepositDataJson::new(&msg, &sig, profile.genesis_fork_version, &profile.name);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp
        .path()
        .join(format!("000001-0x{}", hex::encode(entry.pubkey)));
    std::fs::create_dir_all(&dir).unwrap();
    write_deposit_file(&dir.join("deposit_data.json"), std::slice::from_ref(&entry)).unwrap();

    let chain = Chain::connect(d.rpc_url(), &profile, Some(staker.clone()))
        .await
        .unwrap()
        .with_log_chunk(1_000);
    let req = DepositRequest {
        jobs: vec![DepositJob {
            entry: entry.clone(),
            state_dir: dir.clone(),
        }],
        withdrawal_address: staker.address(),
        compounding: Some(false),
        amount_gwei: Some(32_000_000_000),
        opts: SendOptions {
            allow: Allowances::default(),
        },
        scratch: None,
    };
    let mut lines = Vec::new();
    let out = deposit_all(&chain, Some(&beacon), &req, |l| lines.push(l))
        .await
        .unwrap();
    assert!(
        matches!(out[0], Outcome::Confirmed { resumed: false, .. }),
        "{out:?} {lines:?}"
    );

    let pubkey = entry.pubkey_hex();
    let mut state = StateFile::open(&dir).unwrap();
    let mut statuses: Vec<Option<ValidatorStatus>> = Vec::new();
    let mut progress_lines = Vec::new();
    let opts = FollowOptions {
        poll: Duration::from_millis(500),
        max_backoff: Duration::from_secs(4),
        outage_limit: Some(Duration::from_secs(60)),
        deadline: Some(Duration::from_secs(300)),
        max_sync_distance: 8,
    };
    let done = follow(&beacon, &profile, &pubkey, opts, |p| {
        if p.retrying.is_none() && statuses.last() != Some(&p.status) {
            statuses.push(p.status);
            progress_lines.push(format!(
                "{:?} eta {:?}",
                p.status,
                p.eta.as_ref().map(|e| (e.epochs, e.exact))
            ));
            if let Some(s) = p.status {
                let rec = ActivationRecord {
                    validator_index: p.index,
                    status: s.as_str().into(),
                    updated_at: now_secs(),
                };
                state.update(|st| st.activation = Some(rec)).unwrap();
            }
        }
    })
    .await
    .unwrap();
    state
        .update(|st| {
            st.activation = Some(ActivationRecord {
                validator_index: Some(done.index),
                status: "active_ongoing".into(),
                updated_at: now_secs(),
            });
            st.advance(Stage::Active);
        })
        .unwrap();
    println!("progress: {progress_lines:#?}");
    // The node reported the validator pending before active (it may already be pending at the first poll).
    assert!(
        statuses.iter().any(|s| matches!(
            s,
            Some(ValidatorStatus::PendingInitialized | ValidatorStatus::PendingQueued)
        )),
        "{progress_lines:?}"
    );
    assert!(
        done.index >= 8,
        "interop genesis validators hold 0..8, got {}",
        done.index
    );
    drop(state);
    let text = std::fs::read_to_string(dir.join("state.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["stage"], "active");
    assert_eq!(v["deposit"]["status"], "confirmed");
    assert_eq!(v["activation"]["status"], "active_ongoing");
    assert_eq!(v["activation"]["validator_index"], done.index);

    // Now the beacon node knows the validator: a second deposit run sends nothing.
    std::fs::remove_file(dir.join("state.json")).unwrap();
    let again = deposit_all(&chain, Some(&beacon), &req, |_| {})
        .await
        .unwrap();
    assert!(
        matches!(again[0], Outcome::AlreadyDeposited(_)),
        "{again:?}"
    );
}
