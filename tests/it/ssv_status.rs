//! `status` numbers equal the contract's views after mined blocks, and the predicted liquidation
//! block is exact (not liquidatable one block before, liquidatable at it).

use crate::support::ssv::*;
use alloy::primitives::U256;
use ssv_agent::{
    chain::contracts::SSVNetworkViews,
    devnet::SsvMode,
    journal::StateFile,
    ssv::{
        register::register,
        status::{render_table, status},
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn status_matches_views_and_predicts_the_liquidation_block() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let mut state = StateFile::open(dir.path()).unwrap();
    let ids = [1u64, 2, 3, 4];
    let ks = keyshares(&d, staker(), 0, 1, &ids);

    // Fund 100 blocks above the collateral so the boundary is reachable by mining.
    let probe = ssv_agent::ssv::cluster::read_cluster(&chain, staker(), &ids)
        .await
        .unwrap();
    let load = probe.load.plus(1);
    let amount =
        probe.params.liquidation_collateral(load) + probe.params.burn_rate(load) * U256::from(100);
    let mut o = opts();
    o.runway_days = 0;
    o.min_runway_days = 0;
    o.amount = Some(amount);
    register(&chain, &ks, &mut state, &o)
        .await
        .expect("register");

    d.mine(37).await.unwrap();
    let rows = status(&chain, staker(), &[], 1_700_000_000).await.unwrap();
    assert_eq!(rows.len(), 1, "discovered from events");
    let r = &rows[0];
    assert_eq!(r.operator_ids, ids);
    let views = SSVNetworkViews::new(d.profile().ssv_views, chain.provider());
    let snap = ssv_agent::ssv::cluster::read_cluster(&chain, staker(), &ids)
        .await
        .unwrap()
        .snapshot
        .unwrap();
    let vb = views
        .getBalance(staker(), ids.to_vec(), snap.clone())
        .call()
        .await
        .unwrap();
    let vburn = views
        .getBurnRate(staker(), ids.to_vec(), snap.clone())
        .call()
        .await
        .unwrap();
    assert_eq!(r.balance, vb, "balance equals getBalance");
    assert_eq!(r.burn_rate_per_block, vburn, "burn rate equals getBurnRate");
    assert_eq!(r.validators, 1);
    assert!(!r.liquidatable_now);
    let table = render_table(&rows);
    assert!(
        table.contains("1,2,3,4") && table.contains("active"),
        "{table}"
    );
    serde_json::to_string(&rows).expect("JSON output");

    // Mine to one block before the predicted liquidation block, then to it.
    let at = r.liquidatable_at_block.expect("has a liquidation block");
    let head = chain.head().await.unwrap();
    d.mine(at - 1 - head).await.unwrap();
    assert!(
        !views
            .isLiquidatable(staker(), ids.to_vec(), snap.clone())
            .call()
            .await
            .unwrap(),
        "block before"
    );
    d.mine(1).await.unwrap();
    assert!(
        views
            .isLiquidatable(staker(), ids.to_vec(), snap.clone())
            .call()
            .await
            .unwrap(),
        "predicted block"
    );
    let rows = status(&chain, staker(), &[ids.to_vec()], 1_700_000_000)
        .await
        .unwrap();
    assert!(rows[0].liquidatable_now);
}
