//! Reading clusters' financial state from the chain, any number of them in two batched rounds at
//! one block: the contract version and each cluster's asset type, then every view the cluster's
//! [`FeeViews`] set needs (operators, protocol parameters, settled balance, burn rate). `status`,
//! `register`, `fund` and `watch` all read through here, so they compute from the same numbers,
//! and `ssv::fees` turns them into runway.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256, U256},
    sol_types::SolCall,
};
use serde::Serialize;

use super::{
    fees::{Billing, FeeParams, Load},
    views::{Batch, FeeViews, OnChainOperator, Results, decode_operators},
};
use crate::chain::{
    Chain, ChainError,
    contracts::{Cluster, SSVNetwork, SSVNetworkViews as V},
    reads::{SsvVersion, cluster_id},
};

/// A cluster to read: its key and its latest snapshot (`None` if it was never created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterKey {
    /// Owner.
    pub owner: Address,
    /// Sorted operator ids.
    pub operator_ids: Vec<u64>,
    /// Latest snapshot from events.
    pub snapshot: Option<Cluster>,
    /// An earlier read found it ETH-billed on a v2 contract, so its asset type is not asked again:
    /// ETH billing is final there (clusters only migrate SSV -> ETH).
    pub eth_billed: bool,
}

impl ClusterKey {
    /// A key with the ids sorted.
    pub fn new(owner: Address, ids: &[u64], snapshot: Option<Cluster>) -> Self {
        let mut operator_ids = ids.to_vec();
        operator_ids.sort_unstable();
        Self {
            owner,
            operator_ids,
            snapshot,
            eth_billed: false,
        }
    }

    /// The same key, marked as known ETH-billed (on v2) or not.
    pub fn with_eth_billed(mut self, known: bool) -> Self {
        self.eth_billed = known;
        self
    }
}

/// A cluster as the chain sees it at `block`.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterState {
    /// Owner.
    pub owner: Address,
    /// Sorted operator ids.
    pub operator_ids: Vec<u64>,
    /// keccak256(owner ‖ ids), the contract's key.
    pub cluster_id: B256,
    /// Contract generation.
    pub version: SsvVersion,
    /// The views the figures come from.
    pub views: FeeViews,
    /// Latest snapshot, `None` if the cluster was never created.
    #[serde(skip)]
    pub snapshot: Option<Cluster>,
    /// Billing of the existing cluster (`None` if it does not exist).
    pub billing: Option<Billing>,
    /// Operators as the views report them, in id order.
    pub operators: Vec<OnChainOperator>,
    /// Fees that apply to the cluster (ETH for a new cluster on v2).
    pub params: FeeParams,
    /// Balance settled to `block` (0 for new or liquidated clusters).
    pub balance: U256,
    /// Validators and vUnits (stored vUnits for liquidated clusters).
    pub load: Load,
    /// Block the numbers were read at.
    pub block: u64,
}

impl ClusterState {
    /// Whether the cluster exists and is liquidated.
    pub fn is_liquidated(&self) -> bool {
        self.snapshot.as_ref().is_some_and(|c| !c.active)
    }

    /// Whether the cluster exists and is active.
    pub fn is_active(&self) -> bool {
        self.snapshot.as_ref().is_some_and(|c| c.active)
    }

    /// The snapshot to pass to the contract: the stored one, or `{0,0,0,true,0}` for a new cluster.
    pub fn snapshot_or_empty(&self) -> Cluster {
        self.snapshot.clone().unwrap_or_else(Cluster::empty)
    }

    /// Runway in days at `blocks_per_day` (`None` = unlimited or liquidated).
    pub fn runway_days(&self, blocks_per_day: u64) -> Option<f64> {
        if !self.is_active() {
            return None;
        }
        self.params
            .runway_days(self.balance, self.load, blocks_per_day)
    }

    /// The same cluster's figures as if billed by `views` (a migration to ETH: same operators).
    pub async fn params_as(&self, chain: &Chain, views: FeeViews) -> Result<FeeParams, ChainError> {
        fee_params(chain, views, &self.operator_ids, self.block).await
    }
}

/// The fees a cluster of these operators pays under `views`, read at `block`.
pub async fn fee_params(
    chain: &Chain,
    views: FeeViews,
    operator_ids: &[u64],
    block: u64,
) -> Result<FeeParams, ChainError> {
    let operators = super::views::read_operators(chain, views, operator_ids, block).await?;
    let mut batch = Batch::default();
    let p = queue_params(&mut batch, chain, views);
    let (results, _) = batch.run(chain, block).await?;
    decode_params(&results, p, views, &operators)
}

/// What a batched read found: one result per key (a cluster's own failure does not fail the
/// others) and the JSON-RPC round trips used.
#[derive(Debug)]
pub struct ClusterReads {
    /// In the order of the keys.
    pub clusters: Vec<Result<ClusterState, ChainError>>,
    /// The version the contract reported.
    pub version: SsvVersion,
    /// Round trips used.
    pub round_trips: u64,
}

/// Reads one cluster at the current head (its snapshot from events, then its views).
pub async fn read_cluster(
    chain: &Chain,
    owner: Address,
    operator_ids: &[u64],
) -> Result<ClusterState, ChainError> {
    let block = chain.head().await?;
    let snapshot = chain
        .cluster_snapshot_at(owner, operator_ids, block)
        .await?;
    let key = ClusterKey::new(owner, operator_ids, snapshot);
    read_clusters(chain, &[key], block)
        .await?
        .clusters
        .pop()
        .expect("one key, one result")
}

/// Indices of one view set's protocol parameters in a batch.
#[derive(Debug, Clone, Copy)]
struct ParamSlots {
    network_fee: usize,
    ltp: usize,
    mlc: usize,
}

fn queue_params(batch: &mut Batch, chain: &Chain, views: FeeViews) -> ParamSlots {
    let at = chain.profile().ssv_views;
    ParamSlots {
        network_fee: batch.push(at, views.network_fee()),
        ltp: batch.push(at, views.liquidation_threshold_period()),
        mlc: batch.push(at, views.minimum_liquidation_collateral()),
    }
}

fn decode_params(
    results: &Results,
    p: ParamSlots,
    views: FeeViews,
    operators: &[OnChainOperator],
) -> Result<FeeParams, ChainError> {
    Ok(FeeParams {
        billing: views.billing(),
        // Removed operators do not charge (the contract skips them too).
        operator_fees: operators
            .iter()
            .filter(|o| o.exists)
            .fold(U256::ZERO, |acc, o| acc + o.fee),
        network_fee: results.get::<V::getNetworkFeeCall>(p.network_fee, "getNetworkFee")?,
        liquidation_threshold_period: results
            .get::<V::getLiquidationThresholdPeriodCall>(p.ltp, "getLiquidationThresholdPeriod")?,
        minimum_liquidation_collateral: results.get::<V::getMinimumLiquidationCollateralCall>(
            p.mlc,
            "getMinimumLiquidationCollateral",
        )?,
    })
}

/// Reads every key at `block` in two batched rounds.
pub async fn read_clusters(
    chain: &Chain,
    keys: &[ClusterKey],
    block: u64,
) -> Result<ClusterReads, ChainError> {
    let (version, billings, mut trips) = read_versions(chain, keys, block).await?;
    let at = chain.profile().ssv_views;
    let mut batch = Batch::default();
    let views: Vec<FeeViews> = billings
        .iter()
        .map(|b| FeeViews::for_cluster(version, b.as_ref().ok().copied().flatten()))
        .collect();
    let mut params: BTreeMap<FeeViews, ParamSlots> = BTreeMap::new();
    let mut operators: BTreeMap<(FeeViews, u64), (usize, Option<usize>)> = BTreeMap::new();
    let mut per_key = Vec::with_capacity(keys.len());
    for (key, v) in keys.iter().zip(&views) {
        params
            .entry(*v)
            .or_insert_with(|| queue_params(&mut batch, chain, *v));
        for id in &key.operator_ids {
            operators.entry((*v, *id)).or_insert_with(|| {
                let own = batch.push(at, v.operator(*id));
                let other = match v {
                    FeeViews::V1 => None,
                    FeeViews::V2Eth => Some(batch.push(at, FeeViews::V2Ssv.operator(*id))),
                    FeeViews::V2Ssv => Some(batch.push(at, FeeViews::V2Eth.operator(*id))),
                };
                (own, other)
            });
        }
        per_key.push(key.snapshot.as_ref().map(|c| {
            let burn = batch.push(at, v.burn_rate(key.owner, &key.operator_ids, c));
            let balance = c
                .active
                .then(|| batch.push(at, v.balance(key.owner, &key.operator_ids, c)));
            (burn, balance)
        }));
    }
    let (results, t) = batch.run(chain, block).await?;
    trips += t;
    let clusters = keys
        .iter()
        .zip(views)
        .zip(billings)
        .zip(per_key)
        .map(|(((key, v), billing), slots)| {
            let billing = billing?;
            let slots_ops: Vec<_> = key
                .operator_ids
                .iter()
                .map(|id| operators[&(v, *id)])
                .collect();
            let ops = decode_operators(&results, &key.operator_ids, &slots_ops)?;
            let fee_params = decode_params(&results, params[&v], v, &ops)?;
            let (balance, load) = match (&key.snapshot, slots) {
                (Some(c), Some((burn_at, balance_at))) => {
                    let burn = results.get::<V::getBurnRateCall>(burn_at, "getBurnRate")?;
                    let balance = match balance_at {
                        Some(i) => results.get::<V::getBalanceCall>(i, "getBalance")?,
                        None => U256::ZERO,
                    };
                    let load = match v {
                        FeeViews::V2Eth => {
                            Load::from_burn_rate(c.validatorCount, burn, fee_params.unit_fee())
                        }
                        _ => Load::validators(c.validatorCount),
                    };
                    (balance, load)
                }
                _ => (U256::ZERO, Load::validators(0)),
            };
            Ok(ClusterState {
                owner: key.owner,
                cluster_id: cluster_id(key.owner, &key.operator_ids),
                operator_ids: key.operator_ids.clone(),
                version,
                views: v,
                snapshot: key.snapshot.clone(),
                billing,
                operators: ops,
                params: fee_params,
                balance,
                load,
                block,
            })
        })
        .collect();
    Ok(ClusterReads {
        clusters,
        version,
        round_trips: trips,
    })
}

/// Round one: the contract version, and each existing cluster's asset type (v2).
async fn read_versions(
    chain: &Chain,
    keys: &[ClusterKey],
    block: u64,
) -> Result<(SsvVersion, Vec<Result<Option<Billing>, ChainError>>, u64), ChainError> {
    let mut batch = Batch::default();
    let version_at = batch.push(
        chain.profile().ssv_network,
        SSVNetwork::getVersionCall {}.abi_encode(),
    );
    // `Some(None)`: an existing cluster known ETH-billed, not asked again.
    let asset_at: Vec<Option<Option<usize>>> = keys
        .iter()
        .map(|k| {
            k.snapshot.as_ref().map(|_| {
                if k.eth_billed {
                    return None;
                }
                Some(
                    batch.push(
                        chain.profile().ssv_views,
                        V::getClusterAssetTypeCall {
                            owner: k.owner,
                            operatorIds: k.operator_ids.clone(),
                        }
                        .abi_encode(),
                    ),
                )
            })
        })
        .collect();
    let (results, trips) = batch.run(chain, block).await?;
    let text = results.get::<SSVNetwork::getVersionCall>(version_at, "SSVNetwork.getVersion")?;
    let version = SsvVersion::parse(&text)?;
    let billings = asset_at
        .into_iter()
        .map(|slot| match (slot, version) {
            (None, _) => Ok(None),
            (Some(_), SsvVersion::V1) => Ok(Some(Billing::Ssv)),
            (Some(None), SsvVersion::V2) => Ok(Some(Billing::Eth)),
            (Some(Some(i)), SsvVersion::V2) => {
                if results.revert(i).is_some_and(|r| r.is_cluster_missing()) {
                    return Ok(None);
                }
                match results.get::<V::getClusterAssetTypeCall>(i, "getClusterAssetType")? {
                    0 => Ok(Some(Billing::Ssv)),
                    1 => Ok(Some(Billing::Eth)),
                    other => Err(ChainError::Unexpected {
                        what: "getClusterAssetType".into(),
                        detail: format!("unknown asset type {other}"),
                    }),
                }
            }
        })
        .collect();
    Ok((version, billings, trips))
}
