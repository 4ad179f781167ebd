//! Which SSVNetwork views apply to a cluster, chosen once, and batched reads of them at one block.
//!
//! Three view sets exist: v1.2.0 (SSV everything), v2.0.0 for ETH clusters, and v2.0.0 for legacy
//! SSV clusters (the `...SSV` views: on v2 `getOperatorById().fee` is the operator's *ETH* fee,
//! so reading it for an SSV cluster gives a burn rate several times too low). [`FeeViews`] builds
//! each call for its set; [`Batch`] sends any number of them in one JSON-RPC round at one block.

use alloy::{
    primitives::{Address, Bytes, U256},
    sol_types::SolCall,
};
use serde::Serialize;

use crate::chain::{
    Chain, ChainError, Revert,
    contracts::{Cluster, OperatorData, SSVNetworkViews as V},
    reads::{Billing, SsvVersion},
};

/// The views that hold a cluster's money figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeViews {
    /// SSVNetwork v1.x: SSV-billed clusters, the plain views.
    V1,
    /// SSVNetwork v2.x, ETH-billed (or new) cluster: the plain views, in ETH.
    V2Eth,
    /// SSVNetwork v2.x, legacy SSV-billed cluster: the `...SSV` views.
    V2Ssv,
}

impl FeeViews {
    /// The set for a cluster of `billing` (`None` = not created yet) on a `version` contract.
    pub fn for_cluster(version: SsvVersion, billing: Option<Billing>) -> Self {
        match (version, billing) {
            (SsvVersion::V1, _) => Self::V1,
            (SsvVersion::V2, Some(Billing::Ssv)) => Self::V2Ssv,
            (SsvVersion::V2, _) => Self::V2Eth,
        }
    }

    /// The currency of the figures.
    pub fn billing(self) -> Billing {
        match self {
            Self::V2Eth => Billing::Eth,
            Self::V1 | Self::V2Ssv => Billing::Ssv,
        }
    }

    /// `getNetworkFee` / `getNetworkFeeSSV`.
    pub fn network_fee(self) -> Vec<u8> {
        match self {
            Self::V2Ssv => V::getNetworkFeeSSVCall {}.abi_encode(),
            _ => V::getNetworkFeeCall {}.abi_encode(),
        }
    }

    /// `getLiquidationThresholdPeriod` / `...SSV`.
    pub fn liquidation_threshold_period(self) -> Vec<u8> {
        match self {
            Self::V2Ssv => V::getLiquidationThresholdPeriodSSVCall {}.abi_encode(),
            _ => V::getLiquidationThresholdPeriodCall {}.abi_encode(),
        }
    }

    /// `getMinimumLiquidationCollateral` / `...SSV`.
    pub fn minimum_liquidation_collateral(self) -> Vec<u8> {
        match self {
            Self::V2Ssv => V::getMinimumLiquidationCollateralSSVCall {}.abi_encode(),
            _ => V::getMinimumLiquidationCollateralCall {}.abi_encode(),
        }
    }

    /// `getOperatorById` / `getOperatorByIdSSV`: the operator with its fee in this set's currency.
    pub fn operator(self, id: u64) -> Vec<u8> {
        match self {
            Self::V2Ssv => V::getOperatorByIdSSVCall { operatorId: id }.abi_encode(),
            _ => V::getOperatorByIdCall { operatorId: id }.abi_encode(),
        }
    }

    /// The settled balance: `getBalance` / `getBalanceSSV`.
    pub fn balance(self, owner: Address, ids: &[u64], c: &Cluster) -> Vec<u8> {
        let (o, i, c) = (owner, ids.to_vec(), c.clone());
        match self {
            Self::V2Ssv => V::getBalanceSSVCall::new((o, i, c)).abi_encode(),
            _ => V::getBalanceCall::new((o, i, c)).abi_encode(),
        }
    }

    /// The cluster's burn rate: `getBurnRate` / `getBurnRateSSV`. It answers for liquidated
    /// clusters too, with their stored vUnits (`getEffectiveBalance` reverts for them).
    pub fn burn_rate(self, owner: Address, ids: &[u64], c: &Cluster) -> Vec<u8> {
        let (o, i, c) = (owner, ids.to_vec(), c.clone());
        match self {
            Self::V2Ssv => V::getBurnRateSSVCall::new((o, i, c)).abi_encode(),
            _ => V::getBurnRateCall::new((o, i, c)).abi_encode(),
        }
    }
}

/// An operator as the views report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnChainOperator {
    /// Operator id.
    pub id: u64,
    /// Owner (kept after removal).
    pub owner: Address,
    /// Fee per block in the view set's currency (wei or SSV wei).
    pub fee: U256,
    /// Validators it runs in that currency's clusters.
    pub validator_count: u32,
    /// Legacy single whitelisted address (zero when none).
    pub whitelisted: Address,
    /// Private operators only take whitelisted owners.
    pub is_private: bool,
    /// Whether the contract would accept it in a cluster: an owner and an initialised fee
    /// snapshot in either currency (`ensureOperatorExist`). Removal resets both snapshots.
    pub exists: bool,
}

impl OnChainOperator {
    fn from_views(id: u64, own: OperatorData, other_active: bool) -> Self {
        Self {
            id,
            owner: own.owner,
            fee: own.fee,
            validator_count: own.validatorCount,
            whitelisted: own.whitelistedAddress,
            is_private: own.isPrivate,
            exists: own.owner != Address::ZERO && (own.isActive || other_active),
        }
    }
}

/// Many `eth_call`s, sent together at one block.
#[derive(Debug, Default)]
pub struct Batch {
    calls: Vec<(Address, Vec<u8>)>,
}

impl Batch {
    /// Queues a call; returns its index in the results.
    pub fn push(&mut self, to: Address, data: Vec<u8>) -> usize {
        self.calls.push((to, data));
        self.calls.len() - 1
    }

    /// Sends every queued call at `block`; returns the results and the round trips used.
    pub async fn run(self, chain: &Chain, block: u64) -> Result<(Results, u64), ChainError> {
        let (raw, trips) = crate::chain::reads::eth_call_batch(chain, &self.calls, block).await?;
        Ok((Results { raw }, trips))
    }
}

/// The answers of a [`Batch`], decoded on demand.
#[derive(Debug)]
pub struct Results {
    raw: Vec<Result<Bytes, ChainError>>,
}

impl Results {
    /// Decodes result `i` as the return of call `C` (the plain and `...SSV` twins return the
    /// same types); a revert or node error comes back as the `ChainError`.
    pub fn get<C: SolCall>(&self, i: usize, what: &str) -> Result<C::Return, ChainError> {
        let bytes = match self.raw.get(i) {
            Some(Ok(b)) => b,
            Some(Err(e)) => return Err(relabel(e, what)),
            None => {
                return Err(ChainError::Unexpected {
                    what: what.to_string(),
                    detail: "no answer in the batch response".into(),
                });
            }
        };
        C::abi_decode_returns(bytes).map_err(|e| ChainError::Unexpected {
            what: what.to_string(),
            detail: format!("undecodable answer: {e}"),
        })
    }

    /// The decoded revert of result `i`, if it reverted.
    pub fn revert(&self, i: usize) -> Option<&Revert> {
        self.raw.get(i)?.as_ref().err()?.revert()
    }
}

fn relabel(e: &ChainError, what: &str) -> ChainError {
    match e {
        ChainError::Revert { revert, .. } => ChainError::Revert {
            what: what.to_string(),
            revert: revert.clone(),
        },
        other => ChainError::Unexpected {
            what: what.to_string(),
            detail: other.to_string(),
        },
    }
}

/// Reads operators in one batch at `block`: the fee in `views`' currency, and existence from both
/// currencies' snapshots on v2.
pub async fn read_operators(
    chain: &Chain,
    views: FeeViews,
    ids: &[u64],
    block: u64,
) -> Result<Vec<OnChainOperator>, ChainError> {
    let at = chain.profile().ssv_views;
    let mut batch = Batch::default();
    let slots: Vec<(usize, Option<usize>)> = ids
        .iter()
        .map(|id| {
            let own = batch.push(at, views.operator(*id));
            let other = match views {
                FeeViews::V1 => None,
                FeeViews::V2Eth => Some(batch.push(at, FeeViews::V2Ssv.operator(*id))),
                FeeViews::V2Ssv => Some(batch.push(at, FeeViews::V2Eth.operator(*id))),
            };
            (own, other)
        })
        .collect();
    let (results, _) = batch.run(chain, block).await?;
    decode_operators(&results, ids, &slots)
}

/// One operator, in the currency a new cluster on this chain pays (ETH on v2), at the head.
pub async fn read_operator(chain: &Chain, id: u64) -> Result<OnChainOperator, ChainError> {
    let block = chain.head().await?;
    let views = FeeViews::for_cluster(chain.ssv_version().await?, None);
    let mut ops = read_operators(chain, views, &[id], block).await?;
    Ok(ops.remove(0))
}

/// Decodes operators queued as `(own view, other currency's view)` index pairs.
pub fn decode_operators(
    results: &Results,
    ids: &[u64],
    slots: &[(usize, Option<usize>)],
) -> Result<Vec<OnChainOperator>, ChainError> {
    ids.iter()
        .zip(slots)
        .map(|(id, (own, other))| {
            let what = format!("getOperatorById({id})");
            let own = results.get::<V::getOperatorByIdCall>(*own, &what)?;
            let other_active = match other {
                Some(i) => results.get::<V::getOperatorByIdCall>(*i, &what)?.isActive,
                None => false,
            };
            Ok(OnChainOperator::from_views(*id, own, other_active))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_follows_version_and_billing() {
        assert_eq!(FeeViews::for_cluster(SsvVersion::V1, None), FeeViews::V1);
        assert_eq!(FeeViews::for_cluster(SsvVersion::V2, None), FeeViews::V2Eth);
        assert_eq!(
            FeeViews::for_cluster(SsvVersion::V2, Some(Billing::Ssv)),
            FeeViews::V2Ssv
        );
        // Legacy clusters on v2 read the SSV twins, never the ETH operator fee.
        assert_eq!(
            &FeeViews::V2Ssv.operator(1)[..4],
            &V::getOperatorByIdSSVCall::SELECTOR
        );
        assert_eq!(
            &FeeViews::V2Eth.operator(1)[..4],
            &V::getOperatorByIdCall::SELECTOR
        );
        assert_eq!(FeeViews::V2Ssv.billing(), Billing::Ssv);
    }

    #[test]
    fn removed_operators_do_not_exist() {
        let data = |owner: Address, active: bool| OperatorData {
            owner,
            fee: U256::ZERO,
            validatorCount: 0,
            whitelistedAddress: Address::ZERO,
            isPrivate: false,
            isActive: active,
        };
        let owner = Address::repeat_byte(1);
        // removeOperator keeps the owner and resets both snapshots.
        assert!(!OnChainOperator::from_views(1, data(owner, false), false).exists);
        // A legacy operator not yet touched by an ETH action exists through its SSV snapshot.
        assert!(OnChainOperator::from_views(1, data(owner, false), true).exists);
        assert!(!OnChainOperator::from_views(1, data(Address::ZERO, true), true).exists);
    }
}
