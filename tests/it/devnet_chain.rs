//! The chain layer against the devnet double: fee accrual, the liquidation flip, nonce counting,
//! snapshot reconstruction, the v1 -> v2 story and the real contract's reverts. Each test brings up
//! its own devnet on a free loopback port.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use ssv_agent::{
    chain::{
        Chain, ChainError,
        contracts::{Cluster, SSVNetwork, SSVNetworkV1, SSVNetworkViews, SSVToken},
        reads::{Billing, SsvVersion, decode_cluster_log},
        send::{send, simulate},
    },
    devnet::{Devnet, DevnetOptions, DevnetSSVNetwork, STAKER_ACCOUNT, SsvMode, dev_account},
    network::NetworkProfile,
    ssv::{
        cluster::fee_params,
        fees::FeeParams,
        views::{FeeViews, read_operator},
    },
};

const OPS: [u64; 4] = [1, 2, 3, 4];

async fn devnet(mode: SsvMode) -> Devnet {
    let opts = DevnetOptions {
        mode,
        operators: 13,
        ..Default::default()
    };
    Devnet::start(opts)
        .await
        .expect("devnet starts (needs `cd anvil && npm ci`)")
}

async fn staker_chain(d: &Devnet) -> Chain {
    Chain::connect(d.rpc_url(), d.profile(), Some(dev_account(STAKER_ACCOUNT)))
        .await
        .unwrap()
        .with_log_chunk(1_000)
}

fn pubkey(i: u8) -> Bytes {
    let mut k = vec![0xa0 ^ i; 48];
    k[0] = 0x80 | i;
    Bytes::from(k)
}

/// Sends `data` to `to` with `value` from the chain's signer and returns the cluster carried by
/// the last cluster event of the receipt.
async fn send_tx(
    chain: &Chain,
    what: &str,
    to: Address,
    data: Vec<u8>,
    value: U256,
) -> Option<Cluster> {
    let tx = TransactionRequest::default()
        .with_to(to)
        .with_input(data)
        .with_value(value);
    let (_, receipt) = send(chain, what, tx, |_| Ok(()))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    receipt
        .inner
        .logs()
        .iter()
        .filter_map(decode_cluster_log)
        .last()
        .map(|(_, c)| c)
}

async fn register_v2(chain: &Chain, i: u8, cluster: Cluster, value: U256) -> Cluster {
    let call = SSVNetwork::registerValidatorCall {
        publicKey: pubkey(i),
        operatorIds: OPS.to_vec(),
        sharesData: Bytes::from(vec![7u8; 96 + 304 * 4]),
        cluster,
    };
    let net = chain.profile().ssv_network;
    send_tx(chain, "register", net, call.abi_encode(), value)
        .await
        .unwrap()
}

fn eth(milli: u64) -> U256 {
    U256::from(milli) * U256::from(1_000_000_000_000_000u64)
}

/// Σ operator fees + network fee, wei per block, from the views (one 32 ETH validator = 1 vUnit).
async fn burn_per_validator(chain: &Chain) -> U256 {
    eth_params(chain).await.unit_fee()
}

async fn eth_params(chain: &Chain) -> FeeParams {
    let head = chain.head().await.unwrap();
    fee_params(chain, FeeViews::V2Eth, &OPS, head)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn devnet_imitates_hoodi_and_mainnet() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    assert_eq!(chain.provider().get_chain_id().await.unwrap(), 560_048);
    assert_eq!(chain.ssv_version_string().await.unwrap(), "v2.0.0");
    assert_eq!(chain.ssv_version().await.unwrap(), SsvVersion::V2);
    assert_eq!(d.operators().len(), 13);
    for op in d.operators() {
        let on_chain = read_operator(&chain, op.id).await.unwrap();
        assert!(on_chain.exists);
        assert_eq!(on_chain.fee, op.fee);
        assert_eq!(on_chain.is_private, op.private);
        let key = chain.operator_public_key(op.id).await.unwrap().unwrap();
        assert_eq!(key, op.public_key);
        // The keystore the devnet wrote opens and holds the registered key.
        let sk = ssv_agent::crypto::rsa_keys::OperatorPrivateKey::read_keystore_files(
            &op.keystore,
            &op.password_file,
        )
        .unwrap();
        assert_eq!(sk.public_key().to_base64_pem(), op.public_key);
    }
    assert!(!read_operator(&chain, 14).await.unwrap().exists);
    drop(d);

    let mainnet = Devnet::start(DevnetOptions {
        profile: NetworkProfile::mainnet(),
        operators: 4,
        ..Default::default()
    })
    .await
    .unwrap();
    let chain = Chain::connect(mainnet.rpc_url(), &NetworkProfile::mainnet(), None)
        .await
        .unwrap();
    assert_eq!(chain.provider().get_chain_id().await.unwrap(), 1);
    let code = chain
        .provider()
        .get_code_at(NetworkProfile::mainnet().ssv_network)
        .await
        .unwrap();
    assert!(
        code.len() > 20_000,
        "SSVNetwork double placed at the mainnet address"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_chain_and_unreachable_rpc_are_clear_errors() {
    let d = devnet(SsvMode::V2).await;
    let err = Chain::connect(d.rpc_url(), &NetworkProfile::mainnet(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChainError::WrongChain {
                expected: 1,
                actual: 560_048,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("chain id 560048"), "{err}");
    let port = ssv_agent::devnet::anvil::free_port().unwrap();
    let err = Chain::connect(
        &format!("http://127.0.0.1:{port}"),
        &NetworkProfile::hoodi(),
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ChainError::Unreachable { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fees_accrue_per_block_as_computed_by_hand() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let owner = chain.signer_address().unwrap();
    let cluster = register_v2(&chain, 1, Cluster::empty(), eth(100)).await;
    assert_eq!(cluster.validatorCount, 1);
    assert_eq!(cluster.balance, eth(100));
    let burn = burn_per_validator(&chain).await;
    let views = SSVNetworkViews::new(chain.profile().ssv_views, chain.provider());
    assert_eq!(
        views
            .getBurnRate(owner, OPS.to_vec(), cluster.clone())
            .call()
            .await
            .unwrap(),
        burn
    );
    let start = chain.head().await.unwrap();
    d.mine(1_000).await.unwrap();
    let now = chain.head().await.unwrap();
    let expected = eth(100) - burn * U256::from(now - start);
    let balance = views
        .getBalance(owner, OPS.to_vec(), cluster)
        .call()
        .await
        .unwrap();
    assert_eq!(
        balance,
        expected,
        "balance after {} blocks at {burn} wei/block",
        now - start
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn liquidation_flips_exactly_at_the_threshold() {
    let d = devnet(SsvMode::V2).await;
    let dao = dev_account(0).address();
    let net = DevnetSSVNetwork::new(d.profile().ssv_network, d.provider());
    // A short threshold period so the flip is a few hundred blocks away.
    net.devnetSetLiquidationThresholdPeriods(100, 100_800)
        .from(dao)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let chain = staker_chain(&d).await;
    let owner = chain.signer_address().unwrap();
    let burn = burn_per_validator(&chain).await;
    let params = eth_params(&chain).await;
    let ltp = U256::from(params.liquidation_threshold_period);
    let mlc = params.minimum_liquidation_collateral;
    let threshold = (burn * ltp).max(mlc);
    let deposit = threshold + burn * U256::from(300u64);
    let cluster = register_v2(&chain, 1, Cluster::empty(), deposit).await;
    let registered_at = chain.head().await.unwrap();
    // balance(b) = deposit - burn*(b - registered_at); liquidatable once balance < threshold.
    let flip = registered_at + 301;
    let views = SSVNetworkViews::new(chain.profile().ssv_views, chain.provider());
    d.mine(flip - 1 - registered_at).await.unwrap();
    assert_eq!(chain.head().await.unwrap(), flip - 1);
    assert!(
        !views
            .isLiquidatable(owner, OPS.to_vec(), cluster.clone())
            .call()
            .await
            .unwrap(),
        "one block early"
    );
    d.mine(1).await.unwrap();
    assert!(
        views
            .isLiquidatable(owner, OPS.to_vec(), cluster.clone())
            .call()
            .await
            .unwrap(),
        "at the flip block"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nonce_counts_removed_validators_and_snapshots_follow_every_event() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let owner = chain.signer_address().unwrap();
    let net = chain.profile().ssv_network;
    assert_eq!(chain.owner_nonce(owner).await.unwrap(), 0);
    assert_eq!(chain.cluster_snapshot(owner, &OPS).await.unwrap(), None);

    let mut c = register_v2(&chain, 1, Cluster::empty(), eth(50)).await;
    c = register_v2(&chain, 2, c, eth(10)).await;
    c = register_v2(&chain, 3, c, U256::ZERO).await;
    assert_eq!(
        chain.cluster_snapshot(owner, &OPS).await.unwrap().as_ref(),
        Some(&c)
    );
    let remove = SSVNetwork::removeValidatorCall {
        publicKey: pubkey(2),
        operatorIds: OPS.to_vec(),
        cluster: c,
    };
    c = send_tx(&chain, "remove", net, remove.abi_encode(), U256::ZERO)
        .await
        .unwrap();
    assert_eq!(c.validatorCount, 2);
    assert_eq!(
        chain.owner_nonce(owner).await.unwrap(),
        3,
        "removed validators still count"
    );
    assert!(chain.validator_exists(owner, &pubkey(1)).await.unwrap());
    assert!(!chain.validator_exists(owner, &pubkey(2)).await.unwrap());

    let dep = SSVNetwork::depositCall {
        clusterOwner: owner,
        operatorIds: OPS.to_vec(),
        cluster: c,
    };
    c = send_tx(&chain, "deposit", net, dep.abi_encode(), eth(5))
        .await
        .unwrap();
    assert_eq!(
        chain.cluster_snapshot(owner, &OPS).await.unwrap().as_ref(),
        Some(&c)
    );
    let wd = SSVNetwork::withdrawCall {
        operatorIds: OPS.to_vec(),
        amount: eth(1),
        cluster: c,
    };
    c = send_tx(&chain, "withdraw", net, wd.abi_encode(), U256::ZERO)
        .await
        .unwrap();
    assert_eq!(
        chain.cluster_snapshot(owner, &OPS).await.unwrap().as_ref(),
        Some(&c)
    );
    let liq = SSVNetwork::liquidateCall {
        clusterOwner: owner,
        operatorIds: OPS.to_vec(),
        cluster: c,
    };
    c = send_tx(&chain, "liquidate", net, liq.abi_encode(), U256::ZERO)
        .await
        .unwrap();
    assert!(!c.active);
    assert_eq!(
        chain.cluster_snapshot(owner, &OPS).await.unwrap().as_ref(),
        Some(&c)
    );
    let re = SSVNetwork::reactivateCall {
        operatorIds: OPS.to_vec(),
        cluster: c,
    };
    c = send_tx(&chain, "reactivate", net, re.abi_encode(), eth(20))
        .await
        .unwrap();
    assert!(c.active);
    let snap = chain.cluster_snapshot(owner, &OPS).await.unwrap().unwrap();
    assert_eq!(snap, c);
    // The contract accepts the reconstructed snapshot (its hash matches the stored one).
    let views = SSVNetworkViews::new(chain.profile().ssv_views, chain.provider());
    assert!(
        !views
            .isLiquidated(owner, OPS.to_vec(), snap)
            .call()
            .await
            .unwrap()
    );

    // Another cluster of the same owner does not disturb this one's snapshot; the nonce counts both.
    let other = SSVNetwork::registerValidatorCall {
        publicKey: pubkey(9),
        operatorIds: vec![5, 6, 7, 8],
        sharesData: Bytes::from(vec![1u8; 96 + 304 * 4]),
        cluster: Cluster::empty(),
    };
    send_tx(&chain, "register other", net, other.abi_encode(), eth(10)).await;
    assert_eq!(chain.cluster_snapshot(owner, &OPS).await.unwrap(), Some(c));
    assert_eq!(chain.owner_nonce(owner).await.unwrap(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_cache_resumes_from_the_cached_height() {
    let d = devnet(SsvMode::V2).await;
    let cache = tempfile::tempdir().unwrap();
    let chain = staker_chain(&d)
        .await
        .with_scan_cache(Some(cache.path().to_owned()));
    let owner = chain.signer_address().unwrap();
    let c = register_v2(&chain, 1, Cluster::empty(), eth(50)).await;
    d.mine(200).await.unwrap();
    assert_eq!(chain.owner_nonce(owner).await.unwrap(), 1);
    assert_eq!(
        chain.cluster_snapshot(owner, &OPS).await.unwrap(),
        Some(c.clone())
    );
    assert!(cache.path().join("scan-cache.json").exists());
    let c2 = register_v2(&chain, 2, c, U256::ZERO).await;
    // A fresh Chain with the same cache sees the event that came after the cached height.
    let again = staker_chain(&d)
        .await
        .with_scan_cache(Some(cache.path().to_owned()));
    assert_eq!(again.owner_nonce(owner).await.unwrap(), 2);
    assert_eq!(again.cluster_snapshot(owner, &OPS).await.unwrap(), Some(c2));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_operator_lists_and_stale_snapshots_revert_like_the_real_contract() {
    let d = devnet(SsvMode::V2).await;
    let chain = staker_chain(&d).await;
    let net = chain.profile().ssv_network;
    let owner = chain.signer_address().unwrap();
    let try_register = |ids: Vec<u64>, cluster: Cluster| {
        let call = SSVNetwork::registerValidatorCall {
            publicKey: pubkey(1),
            operatorIds: ids,
            sharesData: Bytes::from(vec![0u8; 96 + 304 * 4]),
            cluster,
        };
        TransactionRequest::default()
            .with_from(owner)
            .with_to(net)
            .with_input(call.abi_encode())
            .with_value(eth(10))
    };
    for (ids, expected) in [
        (vec![1, 2, 3], "InvalidOperatorIdsLength"),
        (vec![1, 2, 3, 4, 5], "InvalidOperatorIdsLength"),
        (vec![2, 1, 3, 4], "UnsortedOperatorsList"),
        (vec![1, 2, 2, 4], "OperatorsListNotUnique"),
        (vec![1, 2, 3, 99], "OperatorDoesNotExist"),
        (vec![1, 2, 3, 12], "CallerNotWhitelistedWithData"),
    ] {
        let err = simulate(
            &chain,
            "register",
            &try_register(ids.clone(), Cluster::empty()),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, ChainError::Revert { revert, .. } if revert.name() == Some(expected)),
            "{ids:?}: {err}"
        );
    }
    let c = register_v2(&chain, 1, Cluster::empty(), eth(10)).await;
    let stale = Cluster {
        balance: c.balance + U256::from(1),
        ..c.clone()
    };
    let mut call = try_register(OPS.to_vec(), stale);
    call.input = SSVNetwork::registerValidatorCall {
        publicKey: pubkey(2),
        operatorIds: OPS.to_vec(),
        sharesData: Bytes::from(vec![0u8; 96 + 304 * 4]),
        cluster: Cluster {
            balance: c.balance + U256::from(1),
            ..c.clone()
        },
    }
    .abi_encode()
    .into();
    let err = simulate(&chain, "register", &call).await.unwrap_err();
    assert!(
        matches!(&err, ChainError::Revert { revert, .. } if revert.name() == Some("IncorrectClusterState")),
        "{err}"
    );
    let dup = try_register(OPS.to_vec(), c);
    let err = simulate(&chain, "register", &dup).await.unwrap_err();
    assert!(
        matches!(&err, ChainError::Revert { revert, .. } if revert.name() == Some("ValidatorAlreadyExistsWithData")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_cluster_refuses_v2_calls_until_migrated() {
    let d = devnet(SsvMode::V1).await;
    let chain = staker_chain(&d).await;
    let owner = chain.signer_address().unwrap();
    let p = chain.profile().clone();
    assert_eq!(chain.ssv_version().await.unwrap(), SsvVersion::V1);
    let amount = U256::from(50u64) * U256::from(10u64).pow(U256::from(18));
    let approve = SSVToken::approveCall {
        spender: p.ssv_network,
        amount,
    };
    send_tx(
        &chain,
        "approve",
        p.ssv_token,
        approve.abi_encode(),
        U256::ZERO,
    )
    .await;
    let reg = SSVNetworkV1::registerValidatorCall {
        publicKey: pubkey(1),
        operatorIds: OPS.to_vec(),
        sharesData: Bytes::from(vec![3u8; 96 + 304 * 4]),
        amount,
        cluster: Cluster::empty(),
    };
    let c = send_tx(
        &chain,
        "register v1",
        p.ssv_network,
        reg.abi_encode(),
        U256::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(c.balance, amount);
    assert_eq!(
        chain.cluster_billing(owner, &OPS).await.unwrap(),
        Some(Billing::Ssv)
    );

    let dao = dev_account(0).address();
    DevnetSSVNetwork::new(p.ssv_network, d.provider())
        .devnetSetVersion(2)
        .from(dao)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(chain.ssv_version().await.unwrap(), SsvVersion::V2);
    assert_eq!(
        chain.cluster_billing(owner, &OPS).await.unwrap(),
        Some(Billing::Ssv)
    );
    let snap = chain.cluster_snapshot(owner, &OPS).await.unwrap().unwrap();
    let dep = SSVNetwork::depositCall {
        clusterOwner: owner,
        operatorIds: OPS.to_vec(),
        cluster: snap.clone(),
    };
    let tx = TransactionRequest::default()
        .with_from(owner)
        .with_to(p.ssv_network)
        .with_input(dep.abi_encode())
        .with_value(eth(1));
    let err = simulate(&chain, "deposit", &tx).await.unwrap_err();
    assert!(
        matches!(&err, ChainError::Revert { revert, .. } if revert.name() == Some("IncorrectClusterVersion")),
        "{err}"
    );

    let mig = SSVNetwork::migrateClusterToETHCall {
        operatorIds: OPS.to_vec(),
        cluster: snap,
    };
    let migrated = send_tx(&chain, "migrate", p.ssv_network, mig.abi_encode(), eth(20))
        .await
        .unwrap();
    assert_eq!(migrated.balance, eth(20));
    assert_eq!(
        chain.cluster_billing(owner, &OPS).await.unwrap(),
        Some(Billing::Eth)
    );
    assert_eq!(
        chain.cluster_snapshot(owner, &OPS).await.unwrap(),
        Some(migrated.clone())
    );
    let dep = SSVNetwork::depositCall {
        clusterOwner: owner,
        operatorIds: OPS.to_vec(),
        cluster: migrated,
    };
    let after = send_tx(&chain, "deposit", p.ssv_network, dep.abi_encode(), eth(1))
        .await
        .unwrap();
    assert_eq!(after.balance, eth(21));
}

/// Anvil persists old states under the devnet's own folder (`--cache-path`), not in
/// `~/.foundry/anvil/tmp`, which nothing ever cleans, and stopping the devnet removes them.
#[tokio::test(flavor = "multi_thread")]
async fn anvil_keeps_its_persisted_states_in_the_devnet_folder_and_stopping_removes_them() {
    use ssv_agent::devnet::ANVIL_CACHE_DIR;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("devnet");
    let d = Devnet::start(DevnetOptions {
        dir: Some(dir.clone()),
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("devnet failed to start: {e} (install: `cd anvil && npm ci`)"));
    // Enough blocks that anvil moves states out of memory.
    d.mine(1_000).await.unwrap();
    let cache = dir.join(ANVIL_CACHE_DIR);
    let states: Vec<_> = std::fs::read_dir(&cache)
        .unwrap_or_else(|e| panic!("{} missing: {e}", cache.display()))
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("anvil-state-"))
        .collect();
    assert_eq!(
        states.len(),
        1,
        "one state folder of this anvil in {cache:?}"
    );
    let persisted = std::fs::read_dir(states[0].path()).unwrap().count();
    assert!(persisted > 0, "anvil persisted no state after 1 000 blocks");
    drop(d);
    assert!(!cache.exists(), "{cache:?} left behind");
    assert!(
        dir.join("anvil.log").exists(),
        "the devnet's own files stay"
    );
}
