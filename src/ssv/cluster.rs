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
    /// An earlier exact reading to carry forward instead of reading balance and burn rate again
    /// (`watch`): used only while the contract version and the cluster's fees are unchanged.
    pub carried: Option<CarriedFigures>,
}

/// The figures of an exact reading of an active cluster that stay true, or fall linearly, until
/// the cluster has an event or its fees change (`watch` carries them between ticks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedFigures {
    /// Block of the reading.
    pub block: u64,
    /// Contract generation then.
    pub version: SsvVersion,
    /// Fees then (their `billing` is the cluster's).
    pub params: FeeParams,
    /// Settled balance at `block`.
    pub balance: U256,
    /// Validators and vUnits (they change only with the cluster's own events).
    pub load: Load,
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
            carried: None,
        }
    }

    /// The same key, marked as known ETH-billed (on v2) or not.
    pub fn with_eth_billed(mut self, known: bool) -> Self {
        self.eth_billed = known;
        self
    }

    /// The same key, carrying an earlier exact reading forward (or not).
    pub fn with_carried(mut self, carried: Option<CarriedFigures>) -> Self {
        self.carried = carried;
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
    /// Block of the exact balance reading: `block`, or earlier when `watch` carried the figures
    /// forward (then `balance` is a lower bound from `FeeParams::balance_after`).
    pub measured_at: u64,
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

    /// Whether the balance was read at `block` rather than carried forward.
    pub fn is_exact(&self) -> bool {
        self.measured_at == self.block
    }

    /// The figures to carry forward: an exact reading of an active cluster.
    pub fn carried(&self) -> Option<CarriedFigures> {
        (self.is_active() && self.is_exact()).then(|| CarriedFigures {
            block: self.block,
            version: self.version,
            params: self.params.clone(),
            balance: self.balance,
            load: self.load,
        })
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
        operator_fees: charged_fees(operators),
        network_fee: results.get::<V::getNetworkFeeCall>(p.network_fee, "getNetworkFee")?,
        liquidation_threshold_period: results
            .get::<V::getLiquidationThresholdPeriodCall>(p.ltp, "getLiquidationThresholdPeriod")?,
        minimum_liquidation_collateral: results.get::<V::getMinimumLiquidationCollateralCall>(
            p.mlc,
            "getMinimumLiquidationCollateral",
        )?,
    })
}

/// The fees the operators charge: removed operators do not (the contract skips them too).
fn charged_fees(operators: &[OnChainOperator]) -> U256 {
    operators
        .iter()
        .filter(|o| o.exists)
        .fold(U256::ZERO, |acc, o| acc + o.fee)
}

/// A round's operator and parameter answers decoded once each, however many clusters share
/// them (10 000 clusters over a dozen operators would otherwise decode each one 10 000 times).
/// An answer that does not decode is left out: the cluster's own decode then reports it.
#[derive(Debug, Default)]
struct Shared {
    operators: BTreeMap<(FeeViews, u64), OnChainOperator>,
    params: BTreeMap<FeeViews, FeeParams>,
}

impl Shared {
    fn decode(
        results: &Results,
        operators: &BTreeMap<(FeeViews, u64), (usize, Option<usize>)>,
        params: &BTreeMap<FeeViews, ParamSlots>,
    ) -> Self {
        let operators = operators
            .iter()
            .filter_map(|(&(v, id), slots)| {
                let mut one = decode_operators(results, &[id], &[*slots]).ok()?;
                Some(((v, id), one.pop()?))
            })
            .collect();
        let params = params
            .iter()
            .filter_map(|(&v, &p)| Some((v, decode_params(results, p, v, &[]).ok()?)))
            .collect();
        Self { operators, params }
    }

    /// The key's operators and fees from the shared answers, or from its own decode (which
    /// reports what failed).
    fn for_key(
        &self,
        results: &Results,
        key: &ClusterKey,
        v: FeeViews,
        slots: &BTreeMap<(FeeViews, u64), (usize, Option<usize>)>,
        p: ParamSlots,
    ) -> Result<(Vec<OnChainOperator>, FeeParams), ChainError> {
        let known: Option<Vec<OnChainOperator>> = key
            .operator_ids
            .iter()
            .map(|id| self.operators.get(&(v, *id)).cloned())
            .collect();
        let ops = match known {
            Some(ops) => ops,
            None => {
                let own: Vec<_> = key.operator_ids.iter().map(|id| slots[&(v, *id)]).collect();
                decode_operators(results, &key.operator_ids, &own)?
            }
        };
        let fee_params = match self.params.get(&v) {
            Some(base) => FeeParams {
                operator_fees: charged_fees(&ops),
                ..base.clone()
            },
            None => decode_params(results, p, v, &ops)?,
        };
        Ok((ops, fee_params))
    }
}

/// Reads every key at `block` in two batched rounds. A key carrying an earlier reading skips
/// its balance and burn-rate calls while the version and its fees are unchanged (checked against
/// this read); one whose fees changed is read again exactly in a third round.
pub async fn read_clusters(
    chain: &Chain,
    keys: &[ClusterKey],
    block: u64,
) -> Result<ClusterReads, ChainError> {
    let (first, version, mut round_trips) = read_round(chain, keys, block).await?;
    let stale: Vec<ClusterKey> = keys
        .iter()
        .zip(&first)
        .filter(|(_, row)| matches!(row, Ok(None)))
        .map(|(k, _)| k.clone().with_carried(None))
        .collect();
    let mut again = Vec::new().into_iter();
    if !stale.is_empty() {
        let (rows, _, trips) = read_round(chain, &stale, block).await?;
        round_trips += trips;
        again = rows.into_iter();
    }
    let clusters = first
        .into_iter()
        .map(|row| {
            let row = match row {
                Ok(None) => again.next().unwrap_or(Ok(None)),
                other => other,
            };
            row?.ok_or_else(|| ChainError::Unexpected {
                what: "cluster reading".into(),
                detail: "an exact reading came back carried".into(),
            })
        })
        .collect();
    Ok(ClusterReads {
        clusters,
        version,
        round_trips,
    })
}

/// One round's rows: `Ok(None)` for a key whose carried reading no longer applies (its fees
/// changed), with the contract version and the round trips.
type Round = (
    Vec<Result<Option<ClusterState>, ChainError>>,
    SsvVersion,
    u64,
);

/// Where a key's balance and load come from in a round.
#[derive(Debug, Clone, Copy)]
enum Figures {
    /// No cluster: nothing to read.
    None,
    /// Read now: the burn-rate call and, for an active cluster, the balance call.
    Read { burn: usize, balance: Option<usize> },
    /// Carried forward from an earlier reading.
    Carried,
}

/// The earlier reading of `key` if it still applies under `version` and `views`.
fn usable_carry(key: &ClusterKey, version: SsvVersion, views: FeeViews) -> Option<&CarriedFigures> {
    key.carried
        .as_ref()
        .filter(|_| key.snapshot.as_ref().is_some_and(|s| s.active))
        .filter(|c| {
            c.version == version && FeeViews::for_cluster(version, Some(c.params.billing)) == views
        })
}

async fn read_round(chain: &Chain, keys: &[ClusterKey], block: u64) -> Result<Round, ChainError> {
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
        per_key.push(match &key.snapshot {
            None => Figures::None,
            Some(_) if usable_carry(key, version, *v).is_some() => Figures::Carried,
            Some(c) => Figures::Read {
                burn: batch.push(at, v.burn_rate(key.owner, &key.operator_ids, c)),
                balance: c
                    .active
                    .then(|| batch.push(at, v.balance(key.owner, &key.operator_ids, c))),
            },
        });
    }
    let (results, t) = batch.run(chain, block).await?;
    trips += t;
    let shared = Shared::decode(&results, &operators, &params);
    let clusters = keys
        .iter()
        .zip(views)
        .zip(billings)
        .zip(per_key)
        .map(|(((key, v), billing), figures)| {
            let billing = billing?;
            let (ops, fee_params) = shared.for_key(&results, key, v, &operators, params[&v])?;
            let (balance, load, measured_at) = match (&key.snapshot, figures) {
                (Some(c), Figures::Read { burn, balance }) => {
                    let burn = results.get::<V::getBurnRateCall>(burn, "getBurnRate")?;
                    let balance = match balance {
                        Some(i) => results.get::<V::getBalanceCall>(i, "getBalance")?,
                        None => U256::ZERO,
                    };
                    let load = match v {
                        FeeViews::V2Eth => {
                            Load::from_burn_rate(c.validatorCount, burn, fee_params.unit_fee())
                        }
                        _ => Load::validators(c.validatorCount),
                    };
                    (balance, load, block)
                }
                (Some(_), Figures::Carried) => {
                    let was = usable_carry(key, version, v).expect("checked when queued");
                    if !fee_params.same_burn(&was.params) {
                        return Ok(None);
                    }
                    let blocks = block.saturating_sub(was.block);
                    let balance = fee_params.balance_after(was.balance, was.load, blocks);
                    (balance, was.load, was.block)
                }
                _ => (U256::ZERO, Load::validators(0), block),
            };
            Ok(Some(ClusterState {
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
                measured_at,
            }))
        })
        .collect();
    Ok((clusters, version, trips))
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
    // `Some(Err(billing))`: an existing cluster whose billing is known, not asked again.
    let asset_at: Vec<Option<Result<usize, Billing>>> = keys
        .iter()
        .map(|k| {
            k.snapshot.as_ref().map(|_| {
                if k.eth_billed {
                    return Err(Billing::Eth);
                }
                if let Some(c) = &k.carried {
                    return Err(c.params.billing);
                }
                Ok(batch.push(
                    chain.profile().ssv_views,
                    V::getClusterAssetTypeCall {
                        owner: k.owner,
                        operatorIds: k.operator_ids.clone(),
                    }
                    .abi_encode(),
                ))
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
            (Some(Err(known)), SsvVersion::V2) => Ok(Some(known)),
            (Some(Ok(i)), SsvVersion::V2) => {
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
