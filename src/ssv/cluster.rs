//! Reading one cluster's financial state from the chain: snapshot (from events), billing, settled
//! balance, operators and the fee parameters that apply to it. Shared by register and status so
//! both compute from the same numbers.

use alloy::primitives::{Address, B256, U256};

use super::fees::{Billing, FeeParams, Load};
use crate::chain::{
    Chain, ChainError,
    contracts::{Cluster, SSVNetworkViews},
    reads::{OperatorInfo, SsvVersion, call_err, cluster_id},
};

/// A cluster as the chain sees it now.
#[derive(Debug, Clone)]
pub struct ClusterState {
    /// Owner.
    pub owner: Address,
    /// Sorted operator ids.
    pub operator_ids: Vec<u64>,
    /// keccak256(owner ‖ ids), the contract's key.
    pub cluster_id: B256,
    /// Contract generation.
    pub version: SsvVersion,
    /// Latest snapshot, `None` if the cluster was never created.
    pub snapshot: Option<Cluster>,
    /// Billing of the existing cluster (`None` if it does not exist).
    pub billing: Option<Billing>,
    /// Operators as the views report them, in id order.
    pub operators: Vec<OperatorInfo>,
    /// Fees that apply to the cluster's billing (ETH for a new cluster on v2).
    pub params: FeeParams,
    /// Balance settled to the current block (0 for new or liquidated clusters).
    pub balance: U256,
    /// Validators and effective balance.
    pub load: Load,
    /// Block the numbers were read at.
    pub block: u64,
}

impl ClusterState {
    /// Whether the cluster exists and is liquidated.
    pub fn is_liquidated(&self) -> bool {
        self.snapshot.as_ref().is_some_and(|c| !c.active)
    }

    /// The snapshot to pass to the contract: the stored one, or `{0,0,0,true,0}` for a new cluster.
    pub fn snapshot_or_empty(&self) -> Cluster {
        self.snapshot.clone().unwrap_or_else(Cluster::empty)
    }
}

/// The billing a cluster's fees are computed in: its own, or what a new cluster would get.
pub fn effective_billing(version: SsvVersion, billing: Option<Billing>) -> Billing {
    match (version, billing) {
        (SsvVersion::V1, _) => Billing::Ssv,
        (SsvVersion::V2, Some(b)) => b,
        (SsvVersion::V2, None) => Billing::Eth,
    }
}

/// Fee parameters for `billing`, with the operator fees summed (removed operators do not charge).
pub async fn fee_params(
    chain: &Chain,
    billing: Billing,
    operators: &[OperatorInfo],
) -> Result<FeeParams, ChainError> {
    let operator_fees = operators
        .iter()
        .filter(|o| o.exists())
        .fold(U256::ZERO, |acc, o| acc + o.fee);
    Ok(FeeParams {
        billing,
        operator_fees,
        network_fee: chain.network_fee(billing).await?,
        liquidation_threshold_period: chain.liquidation_threshold_period(billing).await?,
        minimum_liquidation_collateral: chain.minimum_liquidation_collateral(billing).await?,
    })
}

/// Reads everything about the cluster `(owner, ids)`.
pub async fn read_cluster(
    chain: &Chain,
    owner: Address,
    operator_ids: &[u64],
) -> Result<ClusterState, ChainError> {
    let mut ids = operator_ids.to_vec();
    ids.sort_unstable();
    let block = chain.head().await?;
    let version = chain.ssv_version().await?;
    let snapshot = chain.cluster_snapshot(owner, &ids).await?;
    let billing = if snapshot.is_some() {
        chain.cluster_billing(owner, &ids).await?
    } else {
        None
    };
    let mut operators = Vec::with_capacity(ids.len());
    for id in &ids {
        operators.push(chain.operator(*id).await?);
    }
    let eff = effective_billing(version, billing);
    let params = fee_params(chain, eff, &operators).await?;
    let views = SSVNetworkViews::new(chain.profile().ssv_views, chain.provider());
    let (balance, load) = match &snapshot {
        Some(c) if c.active && billing.is_some() => {
            let balance = match (version, eff) {
                (SsvVersion::V2, Billing::Ssv) => {
                    views
                        .getBalanceSSV(owner, ids.clone(), c.clone())
                        .call()
                        .await
                }
                _ => views.getBalance(owner, ids.clone(), c.clone()).call().await,
            }
            .map_err(|e| call_err("SSVNetworkViews.getBalance", e))?;
            let mut load = Load::validators(c.validatorCount);
            if version == SsvVersion::V2 && eff == Billing::Eth && c.validatorCount > 0 {
                let eb = views
                    .getEffectiveBalance(owner, ids.clone(), c.clone())
                    .call()
                    .await
                    .map_err(|e| call_err("SSVNetworkViews.getEffectiveBalance", e))?;
                // Only an oracle-raised EB changes the fee; the implicit one is 32 per validator.
                if u64::from(eb) > 32 * u64::from(c.validatorCount) {
                    load.effective_balance_eth = Some(u64::from(eb));
                }
            }
            (balance, load)
        }
        Some(c) => (U256::ZERO, Load::validators(c.validatorCount)),
        None => (U256::ZERO, Load::validators(0)),
    };
    Ok(ClusterState {
        owner,
        cluster_id: cluster_id(owner, &ids),
        operator_ids: ids,
        version,
        snapshot,
        billing,
        operators,
        params,
        balance,
        load,
        block,
    })
}
