//! The money bugs the real SSVNetwork v2.0.0 code exposed (issue 9), each held against the real
//! contracts: a legacy SSV-billed cluster on v2 is priced from the SSV views; a removed operator
//! is refused before any transaction, by the dry run as by the real run; a liquidated cluster with
//! an oracle-raised effective balance keeps its stored vUnits; one report reads one block.
//! Each test prints the figure the old code gave next to the new one and the contract's.

use crate::support::ssv::*;
use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use ssv_agent::{
    chain::{
        Chain,
        contracts::{SSVNetwork, SSVNetworkViews},
        send::send,
    },
    devnet::{Contracts, Devnet, DevnetOptions, SsvMode, dev_account},
    journal::StateFile,
    ssv::{
        cluster::read_cluster,
        register::{RegisterError, register},
        status::status,
        views::FeeViews,
    },
};

const IDS: [u64; 4] = [1, 2, 3, 4];

fn views<'a>(
    d: &Devnet,
    chain: &'a Chain,
) -> SSVNetworkViews::SSVNetworkViewsInstance<&'a alloy::providers::DynProvider> {
    SSVNetworkViews::new(d.profile().ssv_views, chain.provider())
}

async fn snapshot(chain: &Chain) -> ssv_agent::chain::contracts::Cluster {
    chain
        .cluster_snapshot(staker(), &IDS)
        .await
        .unwrap()
        .expect("cluster exists")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_legacy_ssv_cluster_on_v2_is_priced_from_the_ssv_views() {
    let mut d = devnet(SsvMode::V1).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let mut state = StateFile::open(dir.path()).unwrap();
    register(
        &chain,
        &keyshares(&d, staker(), 0, 2, &IDS),
        &mut state,
        &opts(),
    )
    .await
    .expect("v1 registration");
    d.upgrade_to_v2().await.unwrap();
    d.mine(50).await.unwrap();

    let rows = status(&chain, staker(), &[], 1_700_000_000).await.unwrap();
    let row = &rows[0];
    let v = views(&d, &chain);
    let snap = snapshot(&chain).await;
    let at = alloy::eips::BlockId::number(row.block);
    let contract_burn = v
        .getBurnRateSSV(staker(), IDS.to_vec(), snap.clone())
        .block(at)
        .call()
        .await
        .unwrap();
    let contract_balance = v
        .getBalanceSSV(staker(), IDS.to_vec(), snap.clone())
        .block(at)
        .call()
        .await
        .unwrap();
    // What the old code summed: the v2 operator view's fee (the *ETH* fee) plus the SSV network fee.
    let mut eth_fees = U256::ZERO;
    for id in IDS {
        eth_fees += v.getOperatorById(id).block(at).call().await.unwrap().fee;
    }
    let old_burn = (eth_fees + v.getNetworkFeeSSV().block(at).call().await.unwrap())
        * U256::from(row.validators);
    println!(
        "legacy cluster on v2: burn old {old_burn} / agent {} / contract getBurnRateSSV {contract_burn}; runway {:?} days",
        row.burn_rate_per_block, row.runway_days
    );
    assert_ne!(
        old_burn, contract_burn,
        "the bug this test guards against shows here"
    );
    assert_eq!(row.billing, Some(ssv_agent::ssv::fees::Billing::Ssv));
    assert_eq!(row.burn_rate_per_block, contract_burn);
    assert_eq!(row.balance, contract_balance);
    // The liquidation rule is the SSV one, and the contract agrees on "not now".
    assert!(!row.liquidatable_now);
    assert!(
        !v.isLiquidatableSSV(staker(), IDS.to_vec(), snap)
            .block(at)
            .call()
            .await
            .unwrap()
    );
    // register and watch read the same figures.
    let c = read_cluster(&chain, staker(), &IDS).await.unwrap();
    assert_eq!(c.views, FeeViews::V2Ssv);
    assert_eq!(
        c.params.burn_rate(c.load),
        v.getBurnRateSSV(staker(), IDS.to_vec(), c.snapshot.clone().unwrap())
            .block(alloy::eips::BlockId::number(c.block))
            .call()
            .await
            .unwrap()
    );
    // Adding a validator needs the migration, and says so.
    let err = register(
        &chain,
        &keyshares(&d, staker(), 2, 1, &IDS),
        &mut state,
        &opts(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RegisterError::LegacyCluster { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_operator_is_refused_by_the_dry_run_as_by_the_real_run() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    // Operator 4's company removes it: the owner stays, both fee snapshots are reset.
    let owner4 = d.operators()[3].owner;
    let company = (1..=4)
        .map(dev_account)
        .find(|a| a.address() == owner4)
        .unwrap();
    let op_chain = Chain::connect(d.rpc_url(), d.profile(), Some(company))
        .await
        .unwrap();
    let tx = TransactionRequest::default()
        .with_to(d.profile().ssv_network)
        .with_input(SSVNetwork::removeOperatorCall { operatorId: 4 }.abi_encode());
    send(&op_chain, "removeOperator", tx, |_| Ok(()))
        .await
        .unwrap();
    let data = views(&d, &chain).getOperatorById(4).call().await.unwrap();
    assert_ne!(data.owner, Address::ZERO, "removal keeps the owner");
    println!(
        "removed operator 4: owner {} fee {} isActive {} (the old check, owner != 0, passed it)",
        data.owner, data.fee, data.isActive
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "network = \"hoodi\"\n[rpc]\nurl = \"{}\"\n[validators]\noutput_dir = \"{}\"\n[deposit]\nconfirmations = 1\n",
            d.rpc_url(),
            dir.path().join("out").display()
        ),
    )
    .unwrap();
    let file = dir.path().join("keyshares.json");
    std::fs::write(&file, keyshares_json(staker(), 0, 1, &ops(&d, &IDS))).unwrap();
    let key = format!("0x{}", hex::encode(dev_account(5).to_bytes()));
    let before = tx_count(&chain, staker()).await;
    for extra in [&["--dry-run"][..], &[][..]] {
        let mut args = vec!["register", "--keyshares", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_ssv-agent"))
            .arg("--config")
            .arg(&config)
            .args(&args)
            .env("SSV_AGENT_PRIVATE_KEY", &key)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{extra:?} must refuse: {err}");
        assert!(
            err.contains("operator 4 does not exist on SSVNetwork"),
            "{extra:?}: {err}"
        );
    }
    assert_eq!(tx_count(&chain, staker()).await, before, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_liquidated_cluster_keeps_its_oracle_effective_balance() {
    let d = fast_devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let mut state = StateFile::open(dir.path()).unwrap();
    let mut o = opts();
    o.runway_days = 40;
    register(&chain, &keyshares(&d, staker(), 0, 2, &IDS), &mut state, &o)
        .await
        .unwrap();
    // Two validators whose effective balance the oracles report as 130 ETH (vUnits 40 625).
    d.set_effective_balance(staker(), &IDS, 130).await.unwrap();
    let active = read_cluster(&chain, staker(), &IDS).await.unwrap();
    assert_eq!(active.load.v_units(), 40_625, "{:?}", active.load);
    // Run it down and let a third party liquidate it.
    let until = active
        .params
        .blocks_until_liquidatable(active.balance, active.load)
        .unwrap();
    d.mine(until + 1).await.unwrap();
    let liquidator = Chain::connect(d.rpc_url(), d.profile(), Some(dev_account(7)))
        .await
        .unwrap();
    let tx = TransactionRequest::default()
        .with_to(d.profile().ssv_network)
        .with_input(
            SSVNetwork::liquidateCall {
                clusterOwner: staker(),
                operatorIds: IDS.to_vec(),
                cluster: snapshot(&chain).await,
            }
            .abi_encode(),
        );
    send(&liquidator, "liquidate", tx, |_| Ok(()))
        .await
        .unwrap();

    let rows = status(&chain, staker(), &[], 1_700_000_000).await.unwrap();
    let row = &rows[0];
    assert!(!row.active);
    let snap = snapshot(&chain).await;
    let contract_burn = views(&d, &chain)
        .getBurnRate(staker(), IDS.to_vec(), snap)
        .block(alloy::eips::BlockId::number(row.block))
        .call()
        .await
        .unwrap();
    let c = read_cluster(&chain, staker(), &IDS).await.unwrap();
    let implicit = ssv_agent::ssv::fees::Load::validators(2);
    println!(
        "liquidated EB cluster: burn old (implicit vUnits) {} / agent {} / contract {contract_burn}; collateral old {} / agent {}",
        c.params.burn_rate(implicit),
        row.burn_rate_per_block,
        c.params.liquidation_collateral(implicit),
        row.liquidation_collateral
    );
    assert_eq!(row.burn_rate_per_block, contract_burn);
    assert_eq!(row.effective_balance_eth, 130);
    assert_ne!(
        c.params.burn_rate(implicit),
        contract_burn,
        "the old figure differs"
    );
    // A reactivation must bring at least the collateral at the stored vUnits: the contract agrees.
    let short = row.liquidation_collateral - U256::from(100_000u64);
    let tx = |value| {
        TransactionRequest::default()
            .with_to(d.profile().ssv_network)
            .with_input(
                SSVNetwork::reactivateCall {
                    operatorIds: IDS.to_vec(),
                    cluster: c.snapshot.clone().unwrap(),
                }
                .abi_encode(),
            )
            .with_value(value)
            .with_from(staker())
    };
    assert!(
        chain.provider().call(tx(short)).await.is_err(),
        "below the collateral"
    );
    chain
        .provider()
        .call(tx(row.liquidation_collateral + U256::from(100_000u64)))
        .await
        .expect("at the collateral the contract reactivates");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_report_reads_one_block_while_blocks_are_mined() {
    let d = Devnet::start(DevnetOptions {
        operators: 4,
        block_time: Some(1),
        contracts: Contracts::Real,
        ..Default::default()
    })
    .await
    .unwrap();
    let chain = staker_chain(&d).await;
    let dir = tempfile::tempdir().unwrap();
    let mut state = StateFile::open(dir.path()).unwrap();
    register(
        &chain,
        &keyshares(&d, staker(), 0, 1, &IDS),
        &mut state,
        &opts(),
    )
    .await
    .unwrap();
    // Reads slowed down by a proxy, so several blocks pass while the report is read.
    let proxy = crate::support::ssv::proxy::Proxy::start(d.rpc_url()).await;
    proxy.set_delay(std::time::Duration::from_millis(700));
    let slow = staker_chain_at(&d, &proxy.url()).await;
    let head_before = chain.head().await.unwrap();
    let row = status(&slow, staker(), &[], 1_700_000_000)
        .await
        .unwrap()
        .remove(0);
    let head_after = chain.head().await.unwrap();
    assert!(head_after > head_before + 1, "blocks were mined meanwhile");
    let balance_at = views(&d, &chain)
        .getBalance(staker(), IDS.to_vec(), snapshot(&chain).await)
        .block(alloy::eips::BlockId::number(row.block))
        .call()
        .await
        .unwrap();
    assert_eq!(
        row.balance, balance_at,
        "the balance is the one at the report's block"
    );
}
