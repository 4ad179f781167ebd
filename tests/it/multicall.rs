//! Large read batches through Multicall3 (`chain::multicall`, the devnet's double at the canonical
//! address) answer exactly what plain `eth_call` batches answer, call by call (values and
//! decoded reverts), in fewer round trips; where Multicall3 has no code the plain path answers.

use alloy::{
    primitives::{Address, Bytes},
    providers::Provider,
    sol_types::SolCall,
};
use ssv_agent::{
    chain::{
        Chain, ChainError,
        contracts::SSVNetworkViews as V,
        multicall::MULTICALL3,
        reads::{CALLS_PER_BATCH, eth_call_batch},
    },
    devnet::{Devnet, DevnetOptions},
};

async fn devnet() -> Devnet {
    Devnet::start(DevnetOptions::default())
        .await
        .expect("devnet starts (needs `cd anvil && npm ci`)")
}

/// `n` view calls: operators (ids past the last one included), the network fee, and asset types
/// of clusters that do not exist (each reverts `ClusterDoesNotExist`).
fn calls(views: Address, n: u64) -> Vec<(Address, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let data = match i % 3 {
                0 => V::getOperatorByIdCall {
                    operatorId: i % 20 + 1,
                }
                .abi_encode(),
                1 => V::getClusterAssetTypeCall {
                    owner: Address::with_last_byte((i % 251) as u8),
                    operatorIds: vec![1, 2, 3, 4],
                }
                .abi_encode(),
                _ => V::getNetworkFeeCall {}.abi_encode(),
            };
            (views, data)
        })
        .collect()
}

/// The same answer: equal return data, or reverts decoded to the same error.
fn same(a: &Result<Bytes, ChainError>, b: &Result<Bytes, ChainError>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        (Err(ChainError::Revert { revert: x, .. }), Err(ChainError::Revert { revert: y, .. })) => {
            x == y
        }
        _ => false,
    }
}

#[tokio::test]
async fn multicall_answers_exactly_as_plain_batches() {
    let d = devnet().await;
    let chain = Chain::connect(d.rpc_url(), d.profile(), None)
        .await
        .unwrap();
    let plain = chain.clone().with_multicall(false);
    let calls = calls(d.profile().ssv_views, 2_500);
    let head = chain.head().await.unwrap();
    let (via_multicall, trips) = eth_call_batch(&chain, &calls, head).await.unwrap();
    let (via_plain, plain_trips) = eth_call_batch(&plain, &calls, head).await.unwrap();
    assert_eq!(via_multicall.len(), calls.len());
    assert_eq!(via_plain.len(), calls.len());
    for (i, (a, b)) in via_multicall.iter().zip(&via_plain).enumerate() {
        assert!(same(a, b), "call {i}: multicall {a:?} vs plain {b:?}");
    }
    let reverts = via_plain.iter().filter(|r| r.is_err()).count();
    assert!(
        reverts > 800 && reverts < 2_000,
        "both values and reverts are compared ({reverts} reverts)"
    );
    // Plain: 1 000 calls per request. Multicall: the one eth_getCode, then one request.
    assert_eq!(plain_trips, calls.len().div_ceil(CALLS_PER_BATCH) as u64);
    assert_eq!(trips, 2);
    let (_, again) = eth_call_batch(&chain, &calls, head).await.unwrap();
    assert_eq!(
        again, 1,
        "the presence of Multicall3 is asked once per chain"
    );
}

#[tokio::test]
async fn without_multicall3_code_the_plain_path_answers() {
    let d = devnet().await;
    let _: serde_json::Value = d
        .provider()
        .raw_request("anvil_setCode".into(), (MULTICALL3, Bytes::new()))
        .await
        .unwrap();
    let chain = Chain::connect(d.rpc_url(), d.profile(), None)
        .await
        .unwrap();
    let calls = calls(d.profile().ssv_views, 1_500);
    let head = chain.head().await.unwrap();
    let (answers, trips) = eth_call_batch(&chain, &calls, head).await.unwrap();
    assert_eq!(answers.len(), calls.len());
    assert!(answers[2].is_ok() && answers[1].is_err());
    assert_eq!(trips, 1 + 2, "eth_getCode, then two plain batches");
}
