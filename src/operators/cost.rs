//! Cost and runway before committing (the seed's "validator operational runway"): for a chosen
//! set of operators, the cluster's yearly fee, the funding for N days of runway plus the
//! liquidation collateral, and what the wallet must hold for the whole run (deposits, funding,
//! gas). The numbers are read from the chain (`ssv::cluster::read_cluster`, which knows an existing
//! cluster's balance and billing) and computed only by `ssv::fees`.

use alloy::primitives::{Address, U256};
use serde::Serialize;

use crate::{
    chain::{Chain, ChainError},
    ssv::{
        cluster::read_cluster,
        fees::{Billing, FundingError, FundingPlan, fee_per_year, plan_funding},
    },
};

/// Gas budgeted per transaction (deposit ~60k, register ~400k, with margin).
pub const GAS_PER_TX: u64 = 500_000;

/// A cost that cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// A chain read failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The runway policy cannot be met.
    #[error("the funding policy")]
    Funding(#[source] FundingError),
}

/// What a cluster of these operators costs and needs.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterCost {
    /// Sorted operator ids.
    pub operator_ids: Vec<u64>,
    /// How the cluster pays (ETH for a new cluster on v2).
    pub billing: Billing,
    /// Each operator's fee per block, as the chain says.
    pub operator_fees: Vec<(u64, U256)>,
    /// The network fee per block (per 32 ETH, or per validator for SSV).
    pub network_fee: U256,
    /// Operators plus network for one 32 ETH validator, per year.
    pub yearly_per_validator: U256,
    /// The whole cluster after the new validators, per year.
    pub yearly_cluster: U256,
    /// Whether the cluster exists already (its balance counts).
    pub exists: bool,
    /// Its settled balance now.
    pub balance: U256,
    /// Days of runway asked for.
    pub runway_days: u64,
    /// Validators added.
    pub new_validators: u32,
    /// The funding: target balance, collateral, amount to send.
    pub funding: FundingPlan,
}

/// Reads the cluster of `owner` on `operator_ids` and plans funding for `new_validators` more and
/// `runway_days` of runway (refusing plans under `min_days`).
pub async fn cluster_cost(
    chain: &Chain,
    owner: Address,
    operator_ids: &[u64],
    new_validators: u32,
    runway_days: u64,
    min_days: u64,
) -> Result<ClusterCost, CostError> {
    let cluster = read_cluster(chain, owner, operator_ids).await?;
    let bpd = chain.profile().blocks_per_day;
    let funding = plan_funding(
        &cluster.params,
        cluster.balance,
        cluster.load,
        new_validators,
        runway_days,
        min_days,
        bpd,
    )
    .map_err(CostError::Funding)?;
    Ok(ClusterCost {
        operator_ids: cluster.operator_ids.clone(),
        billing: cluster.params.billing,
        operator_fees: cluster.operators.iter().map(|o| (o.id, o.fee)).collect(),
        network_fee: cluster.params.network_fee,
        yearly_per_validator: fee_per_year(cluster.params.unit_fee(), bpd),
        yearly_cluster: fee_per_year(funding.burn_rate_after, bpd),
        exists: cluster.snapshot.is_some(),
        balance: cluster.balance,
        runway_days,
        new_validators,
        funding,
    })
}

/// What the wallet must hold for a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunCost {
    /// Deposits still to make.
    pub deposits_left: u64,
    /// Their ETH.
    pub deposits: U256,
    /// Cluster funding in ETH (ETH-billed clusters).
    pub funding_eth: U256,
    /// Cluster funding in SSV (legacy SSV-billed clusters).
    pub funding_ssv: U256,
    /// Transactions budgeted for gas.
    pub transactions: u64,
    /// The gas price budgeted, wei.
    pub gas_price: u128,
    /// Gas budget in ETH.
    pub gas: U256,
    /// ETH the wallet must hold: deposits + ETH funding + gas.
    pub total_eth: U256,
}

impl RunCost {
    /// `deposits_left` deposits of `amount_wei`, the funding of `cluster` (for the validators not
    /// yet registered; `None` when all are), and gas for each of their transactions at `gas_price`.
    pub fn new(
        amount_wei: U256,
        deposits_left: u64,
        cluster: Option<&ClusterCost>,
        gas_price: u128,
    ) -> Self {
        let registrations = cluster.map_or(0, |c| u64::from(c.new_validators));
        let (funding_eth, funding_ssv) = match cluster {
            Some(c) if c.billing == Billing::Eth => (c.funding.deposit, U256::ZERO),
            Some(c) => (U256::ZERO, c.funding.deposit),
            None => (U256::ZERO, U256::ZERO),
        };
        let deposits = amount_wei * U256::from(deposits_left);
        let transactions = deposits_left + registrations + 1;
        let gas = U256::from(gas_price) * U256::from(GAS_PER_TX) * U256::from(transactions);
        Self {
            deposits_left,
            deposits,
            funding_eth,
            funding_ssv,
            transactions,
            gas_price,
            gas,
            total_eth: deposits + funding_eth + gas,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssv::fees::Load;

    fn cost(billing: Billing, deposit: u64) -> ClusterCost {
        ClusterCost {
            operator_ids: vec![1, 2, 3, 4],
            billing,
            operator_fees: vec![],
            network_fee: U256::ZERO,
            yearly_per_validator: U256::ZERO,
            yearly_cluster: U256::ZERO,
            exists: false,
            balance: U256::ZERO,
            runway_days: 30,
            new_validators: 2,
            funding: FundingPlan {
                load_after: Load::validators(2),
                burn_rate_after: U256::ZERO,
                collateral_after: U256::ZERO,
                target_balance: U256::from(deposit),
                deposit: U256::from(deposit),
                runway_blocks_after: None,
            },
        }
    }

    #[test]
    fn the_wallet_covers_deposits_funding_and_gas() {
        let eth = U256::from(10u64).pow(U256::from(18));
        let c = RunCost::new(eth * U256::from(32), 2, Some(&cost(Billing::Eth, 5)), 10);
        assert_eq!(c.transactions, 5);
        assert_eq!(c.gas, U256::from(10 * GAS_PER_TX * 5));
        assert_eq!(
            c.total_eth,
            eth * U256::from(64) + U256::from(5) + U256::from(10u64 * GAS_PER_TX * 5)
        );
        // SSV funding is not ETH the wallet needs.
        let s = RunCost::new(eth, 0, Some(&cost(Billing::Ssv, 7)), 1);
        assert_eq!((s.funding_eth, s.funding_ssv), (U256::ZERO, U256::from(7)));
        assert_eq!(s.total_eth, U256::from(GAS_PER_TX * 3));
    }
}
