//! After "funded", on the real SSVNetwork code: `withdraw` refuses an amount that would leave the
//! cluster liquidatable (and the contract agrees: the same withdrawal sent raw reverts), a rerun
//! does not withdraw twice; `remove` then `withdraw --all` empties the cluster; `reactivate`
//! brings back a cluster a third party liquidated; `migrate` moves a legacy cluster to ETH;
//! `fee-recipient` is set and read back from its event.

use crate::support::ssv::*;
use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use ssv_agent::{
    chain::{Chain, ChainError, contracts::SSVNetwork, reads::cluster_id, send::send},
    devnet::{Devnet, SsvMode, dev_account},
    journal::{ActionJournal, StateFile, cluster_dir, owner_dir},
    ssv::{
        actions::ActionOutcome,
        cluster::read_cluster,
        lifecycle::{self, Amount, LifecycleError, Selection},
        register::register,
        views::FeeViews,
    },
};

const IDS: [u64; 4] = [1, 2, 3, 4];

async fn registered(d: &Devnet, chain: &Chain, count: usize, days: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut state = StateFile::open(&dir.path().join("v")).unwrap();
    let mut o = opts();
    o.runway_days = days;
    register(
        chain,
        &keyshares(d, staker(), 0, count, &IDS),
        &mut state,
        &o,
    )
    .await
    .expect("register");
    dir
}

fn journal(root: &std::path::Path) -> ActionJournal {
    ActionJournal::open(&cluster_dir(root, cluster_id(staker(), &IDS))).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn withdraw_keeps_the_runway_the_contract_agrees_and_a_rerun_sends_nothing() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = registered(&d, &chain, 1, 100).await;
    let c = read_cluster(&chain, staker(), &IDS).await.unwrap();
    // Withdrawing all but half the collateral would leave the cluster liquidatable.
    let too_much = c.balance - c.params.liquidation_collateral(c.load) / U256::from(2u8);
    let mut j = journal(dir.path());
    let err = lifecycle::withdraw(
        &chain,
        &mut j,
        staker(),
        &IDS,
        Amount::Exact(too_much),
        0,
        false,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, LifecycleError::WouldUnderfund { .. }),
        "{err}"
    );
    // The contract agrees: sent raw, it reverts with InsufficientBalance.
    let raw = TransactionRequest::default()
        .with_to(d.profile().ssv_network)
        .with_from(staker())
        .with_input(
            SSVNetwork::withdrawCall {
                operatorIds: IDS.to_vec(),
                amount: too_much,
                cluster: c.snapshot.clone().unwrap(),
            }
            .abi_encode(),
        );
    let revert = ssv_agent::chain::send::simulate(&chain, "withdraw", &raw)
        .await
        .unwrap_err();
    assert!(
        matches!(&revert, ChainError::Revert { revert, .. } if revert.name() == Some("InsufficientBalance")),
        "{revert}"
    );
    // Above the minimum runway: refused although the contract would take it.
    let err = lifecycle::withdraw(
        &chain,
        &mut j,
        staker(),
        &IDS,
        Amount::Exact(c.balance / U256::from(2u8)),
        60,
        false,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, LifecycleError::WouldUnderfund { .. }),
        "{err}"
    );
    // A tenth is fine; the same command again sends nothing.
    let tenth = c.balance / U256::from(10u8);
    let before = tx_count(&chain, staker()).await;
    let r = lifecycle::withdraw(
        &chain,
        &mut j,
        staker(),
        &IDS,
        Amount::Exact(tenth),
        30,
        false,
    )
    .await
    .unwrap();
    assert!(matches!(r.outcomes[0], ActionOutcome::Sent { .. }), "{r:?}");
    let r = lifecycle::withdraw(
        &chain,
        &mut j,
        staker(),
        &IDS,
        Amount::Exact(tenth),
        30,
        false,
    )
    .await
    .unwrap();
    assert!(
        matches!(r.outcomes[0], ActionOutcome::AlreadyDone { .. }),
        "{r:?}"
    );
    assert_eq!(tx_count(&chain, staker()).await, before + 1);
    // --all refuses while a validator runs.
    let err = lifecycle::withdraw(&chain, &mut j, staker(), &IDS, Amount::All, 30, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, LifecycleError::StillRunning { validators: 1, .. }),
        "{err}"
    );

    // Remove (the validator never reached the beacon chain), then --all empties the cluster.
    drop(j);
    let root = dir.path().to_owned();
    let mut journals = |id| ActionJournal::open(&cluster_dir(&root, id));
    let reports = lifecycle::remove(
        &chain,
        None,
        &mut journals,
        staker(),
        &Selection::Cluster(IDS.to_vec()),
        true,
    )
    .await
    .unwrap();
    assert_eq!(reports.len(), 1);
    let mut j = journal(dir.path());
    let wallet = chain.provider().get_balance(staker()).await.unwrap();
    let left = read_cluster(&chain, staker(), &IDS).await.unwrap().balance;
    lifecycle::withdraw(&chain, &mut j, staker(), &IDS, Amount::All, 30, false)
        .await
        .unwrap();
    let after = read_cluster(&chain, staker(), &IDS).await.unwrap();
    assert_eq!(after.balance, U256::ZERO);
    assert_eq!(after.load.validator_count, 0);
    let gained =
        chain.provider().get_balance(staker()).await.unwrap() + U256::from(10u64.pow(16)) - wallet;
    assert!(
        gained > left,
        "the balance came back to the owner (minus gas)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reactivate_a_cluster_a_third_party_liquidated() {
    let d = fast_devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = registered(&d, &chain, 1, 40).await;
    let c = read_cluster(&chain, staker(), &IDS).await.unwrap();
    let mut j = journal(dir.path());
    let err = lifecycle::reactivate(&chain, &mut j, staker(), &IDS, 40, 30)
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::NotLiquidated(_)), "{err}");
    d.mine(
        c.params
            .blocks_until_liquidatable(c.balance, c.load)
            .unwrap()
            + 1,
    )
    .await
    .unwrap();
    let liquidator = Chain::connect(d.rpc_url(), d.profile(), Some(dev_account(7)))
        .await
        .unwrap();
    let snap = chain
        .cluster_snapshot(staker(), &IDS)
        .await
        .unwrap()
        .unwrap();
    let tx = TransactionRequest::default()
        .with_to(d.profile().ssv_network)
        .with_input(
            SSVNetwork::liquidateCall {
                clusterOwner: staker(),
                operatorIds: IDS.to_vec(),
                cluster: snap,
            }
            .abi_encode(),
        );
    send(&liquidator, "liquidate", tx, |_| Ok(()))
        .await
        .unwrap();
    assert!(
        read_cluster(&chain, staker(), &IDS)
            .await
            .unwrap()
            .is_liquidated()
    );
    lifecycle::reactivate(&chain, &mut j, staker(), &IDS, 40, 30)
        .await
        .unwrap();
    let c = read_cluster(&chain, staker(), &IDS).await.unwrap();
    assert!(c.is_active());
    let days = c.runway_days(d.profile().blocks_per_day).unwrap();
    assert!((39.5..=40.0).contains(&days), "{days}");
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_a_legacy_cluster_to_eth() {
    let mut d = devnet(SsvMode::V1).await;
    let chain = staker_chain(&d).await;
    let dir = registered(&d, &chain, 1, 100).await;
    d.upgrade_to_v2().await.unwrap();
    let before = read_cluster(&chain, staker(), &IDS).await.unwrap();
    assert_eq!(before.views, FeeViews::V2Ssv);
    let token = ssv_agent::chain::contracts::SSVToken::new(d.profile().ssv_token, chain.provider());
    let ssv_before = token.balanceOf(staker()).call().await.unwrap();
    let mut j = journal(dir.path());
    let (report, plan) = lifecycle::migrate(&chain, &mut j, staker(), &IDS, 90, 30)
        .await
        .unwrap();
    assert!(report.notes[0].contains("refunds"), "{report:?}");
    let after = read_cluster(&chain, staker(), &IDS).await.unwrap();
    assert_eq!(after.views, FeeViews::V2Eth);
    assert_eq!(
        after.balance, plan.eth_deposit,
        "the ETH cluster starts with what was sent"
    );
    let refunded = token.balanceOf(staker()).call().await.unwrap() - ssv_before;
    assert!(
        refunded > U256::ZERO && refunded <= plan.ssv_refund,
        "{refunded} vs {}",
        plan.ssv_refund
    );
    let days = after.runway_days(d.profile().blocks_per_day).unwrap();
    assert!((89.5..=90.0).contains(&days), "{days}");
    let err = lifecycle::migrate(&chain, &mut j, staker(), &IDS, 90, 30)
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::NotLegacy(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fee_recipient_is_set_and_read_back_from_its_event() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let (now, block) = lifecycle::fee_recipient(&chain, staker()).await.unwrap();
    assert_eq!((now, block), (staker(), None), "never set: the owner");
    let to = Address::repeat_byte(0x77);
    let mut j = ActionJournal::open(&owner_dir(dir.path(), staker())).unwrap();
    let r = lifecycle::set_fee_recipient(&chain, &mut j, staker(), to)
        .await
        .unwrap();
    assert!(matches!(r.outcomes[0], ActionOutcome::Sent { .. }));
    let (now, block) = lifecycle::fee_recipient(&chain, staker()).await.unwrap();
    assert_eq!(now, to);
    assert!(block.is_some());
    let before = tx_count(&chain, staker()).await;
    let r = lifecycle::set_fee_recipient(&chain, &mut j, staker(), to)
        .await
        .unwrap();
    assert!(
        r.outcomes.is_empty() && r.notes[0].contains("already"),
        "{r:?}"
    );
    assert_eq!(tx_count(&chain, staker()).await, before);
}
