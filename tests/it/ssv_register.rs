//! `register` on the devnet double: the three paths (v2 payable, v1 approve, migrate-then-register),
//! new and existing clusters, and every refusal with a clear message and no transaction.

use crate::support::ssv::*;
use alloy::{
    primitives::{Bytes, U256},
    providers::Provider,
};
use ssv_agent::{
    chain::contracts::{SSVNetworkViews, SSVToken},
    devnet::{SsvMode, dev_account},
    journal::{StateFile, TxStatus},
    ssv::{
        cluster::read_cluster,
        register::{RegisterError, RegisterPath, register},
    },
};

const IDS: [u64; 4] = [1, 2, 3, 4];

#[tokio::test(flavor = "multi_thread")]
async fn v2_new_cluster_then_existing_cluster_then_rerun_sends_nothing() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let mut state = StateFile::open(dir.path()).unwrap();

    // New cluster, two validators in one bulk call.
    let ks = keyshares(&d, staker(), 0, 2, &IDS);
    let r = register(&chain, &ks, &mut state, &opts())
        .await
        .expect("register into new cluster");
    assert_eq!(r.path, Some(RegisterPath::EthPayable));
    assert_eq!(r.registered.len(), 2);
    assert_eq!(r.transactions.len(), 1, "one bulkRegisterValidator");
    let plan = r.funding.clone().unwrap();
    let views = SSVNetworkViews::new(d.profile().ssv_views, chain.provider());
    for s in &ks.shares {
        assert!(
            views
                .getValidator(staker(), Bytes::copy_from_slice(&s.public_key))
                .call()
                .await
                .unwrap()
        );
    }
    // The cluster now holds exactly the planned deposit minus one block of burn at most.
    let c = read_cluster(&chain, staker(), &IDS).await.unwrap();
    assert_eq!(c.load.validator_count, 2);
    assert!(
        c.balance <= plan.deposit && plan.deposit - c.balance <= plan.burn_rate_after,
        "{} vs {}",
        c.balance,
        plan.deposit
    );
    let days = c
        .params
        .runway_days(c.balance, c.load, d.profile().blocks_per_day)
        .unwrap();
    assert!((181.9..=182.0).contains(&days), "runway {days}");
    let journaled = &state.get().registration;
    assert_eq!(journaled.len(), 1);
    assert_eq!(journaled[0].status, TxStatus::Confirmed);
    assert_eq!(journaled[0].value, plan.deposit);

    // Existing cluster: a third validator (nonce 2) tops the cluster up to 182 days for 3.
    let ks3 = keyshares(&d, staker(), 2, 1, &IDS);
    let r3 = register(&chain, &ks3, &mut state, &opts())
        .await
        .expect("register into existing cluster");
    assert_eq!(r3.registered.len(), 1);
    let c3 = read_cluster(&chain, staker(), &IDS).await.unwrap();
    assert_eq!(c3.load.validator_count, 3);
    let days = c3
        .params
        .runway_days(c3.balance, c3.load, d.profile().blocks_per_day)
        .unwrap();
    assert!(
        (181.9..=182.0).contains(&days),
        "runway after adding {days}"
    );

    // Rerun with the same file: already registered, success, no transaction.
    let before = tx_count(&chain, staker()).await;
    let again = register(&chain, &ks, &mut state, &opts())
        .await
        .expect("rerun succeeds");
    assert_eq!(again.already_registered.len(), 2);
    assert!(again.registered.is_empty() && again.transactions.is_empty());
    assert_eq!(
        tx_count(&chain, staker()).await,
        before,
        "no transaction on rerun"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_send_nothing() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let mut state = StateFile::open(dir.path()).unwrap();
    let before = tx_count(&chain, staker()).await;

    // Nonce mismatch: signed for nonce 3 while the chain expects 0.
    let ks = keyshares(&d, staker(), 3, 1, &IDS);
    let err = register(&chain, &ks, &mut state, &opts())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RegisterError::Nonce(m) if m.expected == 0 && m.file_nonce == 3),
        "{err}"
    );
    assert!(err.to_string().contains("chain expects nonce 0"), "{err}");

    // Foreign operator key: operator 3's key replaced by operator 5's in the file.
    let mut operators = ops(&d, &IDS);
    operators[2].1 = ops(&d, &[5])[0].1.clone();
    let json = keyshares_json(staker(), 0, 1, &operators);
    let ks = ssv_agent::ssv::keyshares::validate(
        &ssv_agent::ssv::keyshares::KeysharesFile::parse(&json).unwrap(),
    )
    .unwrap();
    let err = register(&chain, &ks, &mut state, &opts())
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegisterError::ForeignOperatorKey { id: 3 }),
        "{err}"
    );

    // Private operator 12 does not whitelist the staker.
    let ks = keyshares(&d, staker(), 0, 1, &[1, 2, 3, 12]);
    let err = register(&chain, &ks, &mut state, &opts())
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegisterError::PrivateOperator { id: 12, .. }),
        "{err}"
    );

    // Owner is not the signer.
    let other = dev_account(7).address();
    let ks = keyshares(&d, other, 0, 1, &IDS);
    let err = register(&chain, &ks, &mut state, &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, RegisterError::OwnerMismatch { .. }), "{err}");

    // A fixed amount that would leave the cluster liquidatable.
    let ks = keyshares(&d, staker(), 0, 1, &IDS);
    let mut o = opts();
    o.amount = Some(U256::from(1_000u64));
    let err = register(&chain, &ks, &mut state, &o).await.unwrap_err();
    assert!(err.to_string().contains("days of runway"), "{err}");
    assert!(matches!(err, RegisterError::Funding(_)), "{err}");

    // A cap below the needed funding.
    let mut o = opts();
    o.max_deposit = Some(U256::from(1_000u64));
    let err = register(&chain, &ks, &mut state, &o).await.unwrap_err();
    assert!(err.to_string().contains("cap"), "{err}");

    assert_eq!(
        tx_count(&chain, staker()).await,
        before,
        "no refusal may send a transaction"
    );
    assert!(state.get().registration.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_approves_exactly_then_migration_path_on_v2() {
    let mut d = devnet(SsvMode::V1).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let mut state = StateFile::open(dir.path()).unwrap();
    let token = SSVToken::new(d.profile().ssv_token, chain.provider());
    let ssv_before = token.balanceOf(staker()).call().await.unwrap();

    let ks = keyshares(&d, staker(), 0, 1, &IDS);
    let r = register(&chain, &ks, &mut state, &opts())
        .await
        .expect("v1 register");
    assert_eq!(r.path, Some(RegisterPath::SsvApprove));
    let kinds: Vec<_> = r.transactions.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, ["approve", "register"]);
    let deposit = r.funding.unwrap().deposit;
    // Exactly the amount was approved and pulled: nothing left approved.
    assert_eq!(
        token
            .allowance(staker(), d.profile().ssv_network)
            .call()
            .await
            .unwrap(),
        U256::ZERO
    );
    assert_eq!(
        ssv_before - token.balanceOf(staker()).call().await.unwrap(),
        deposit
    );

    // The chain upgrades to v2: the cluster becomes a legacy SSV cluster.
    d.upgrade_to_v2().await.unwrap();

    let ks2 = keyshares(&d, staker(), 1, 1, &IDS);
    let before = tx_count(&chain, staker()).await;
    let err = register(&chain, &ks2, &mut state, &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, RegisterError::LegacyCluster { .. }), "{err}");
    assert_eq!(tx_count(&chain, staker()).await, before);

    let mut o = opts();
    o.allow_migration = true;
    let r = register(&chain, &ks2, &mut state, &o)
        .await
        .expect("migrate then register");
    assert_eq!(r.path, Some(RegisterPath::MigrateThenRegister));
    let kinds: Vec<_> = r.transactions.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, ["migrate", "register"]);
    let c = read_cluster(&chain, staker(), &IDS).await.unwrap();
    assert_eq!(c.billing, Some(ssv_agent::chain::reads::Billing::Eth));
    assert_eq!(c.load.validator_count, 2);
    let days = c
        .params
        .runway_days(c.balance, c.load, d.profile().blocks_per_day)
        .unwrap();
    assert!(
        (181.9..=182.0).contains(&days),
        "runway after migration {days}"
    );
    let _ = chain.provider().get_block_number().await.unwrap();
}
