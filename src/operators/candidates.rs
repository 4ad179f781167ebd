//! An operator as the agent judges it: the SSV API's description with the chain's facts laid over
//! it. Fees, validator counts, privacy, existence and the owner's whitelist come from the views
//! (one batched round at one block), never from the API: the API lags the chain, and the chain is
//! what a cluster pays. Where the two differ the difference is kept so it can be shown.

use alloy::primitives::{Address, U256};
use serde::Serialize;

use super::api::ApiOperator;
use crate::{
    chain::{Chain, ChainError, reads::SsvVersion},
    ssv::views::{Batch, FeeViews, OnChainOperator, decode_operators},
};

/// What the chain says about an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainFacts {
    /// It can join a cluster (owner and a fee snapshot; a removed operator cannot).
    pub exists: bool,
    /// ETH fee per block (SSVNetwork v2; `None` on v1).
    pub eth_fee: Option<U256>,
    /// SSV fee per block (legacy clusters; v1's only fee).
    pub ssv_fee: U256,
    /// Validators it runs, ETH and legacy SSV clusters together.
    pub validators: u64,
    /// Private: only whitelisted owners may use it.
    pub is_private: bool,
}

/// Whether the owner may put the operator in a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// A public operator.
    Public,
    /// Private, and its whitelist on chain includes the owner.
    Allowed,
    /// Private, and the owner is not on its whitelist.
    NotAllowed,
    /// Private, and no owner was given to check.
    Unknown,
}

impl Access {
    /// Whether a cluster of the owner may include it.
    pub fn usable(self) -> bool {
        matches!(self, Self::Public | Self::Allowed)
    }

    /// A short word for tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Allowed => "private: allows you",
            Self::NotAllowed => "private: not you",
            Self::Unknown => "private",
        }
    }
}

/// A fee the API reports differently from the chain (the chain's is used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeDifference {
    /// `ETH` or `SSV`.
    pub currency: &'static str,
    /// What the API says, per block.
    pub api: U256,
    /// What the chain says, per block.
    pub chain: U256,
}

/// An operator with both descriptions.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// The API's description.
    pub api: ApiOperator,
    /// The chain's facts.
    pub chain: ChainFacts,
    /// Whether the owner may use it.
    pub access: Access,
}

impl Candidate {
    /// Operator id.
    pub fn id(&self) -> u64 {
        self.api.id
    }

    /// The fee a new cluster pays per block: ETH on v2, SSV on v1.
    pub fn fee(&self) -> U256 {
        self.chain.eth_fee.unwrap_or(self.chain.ssv_fee)
    }

    /// Fees the API reports differently from the chain.
    pub fn fee_differences(&self) -> Vec<FeeDifference> {
        let mut out = Vec::new();
        if let (Some(api), Some(chain)) = (self.api.eth_fee, self.chain.eth_fee)
            && api != chain
        {
            out.push(FeeDifference {
                currency: "ETH",
                api,
                chain,
            });
        }
        if let Some(api) = self.api.ssv_fee
            && api != self.chain.ssv_fee
        {
            out.push(FeeDifference {
                currency: "SSV",
                api,
                chain: self.chain.ssv_fee,
            });
        }
        out
    }
}

/// Reads the chain's facts for `operators` at `block` in one batched round, and the whitelist of
/// the private ones for `owner`.
pub async fn read_candidates(
    chain: &Chain,
    operators: Vec<ApiOperator>,
    owner: Option<Address>,
    block: u64,
) -> Result<Vec<Candidate>, ChainError> {
    let ids: Vec<u64> = operators.iter().map(|o| o.id).collect();
    let facts = read_facts(chain, &ids, block).await?;
    let access = read_access(chain, &ids, &facts, owner).await?;
    Ok(operators
        .into_iter()
        .zip(facts)
        .zip(access)
        .map(|((api, chain), access)| Candidate { api, chain, access })
        .collect())
}

/// Whether `owner` may use each operator: public ones always; private ones when the chain's
/// whitelist (`getWhitelistedOperators`, which also asks whitelisting contracts) includes it.
pub async fn read_access(
    chain: &Chain,
    ids: &[u64],
    facts: &[ChainFacts],
    owner: Option<Address>,
) -> Result<Vec<Access>, ChainError> {
    let private: Vec<u64> = ids
        .iter()
        .zip(facts)
        .filter(|(_, f)| f.is_private && f.exists)
        .map(|(id, _)| *id)
        .collect();
    let allowed = match owner {
        Some(o) if !private.is_empty() => chain.whitelisted_operators(&private, o).await?,
        _ => Vec::new(),
    };
    Ok(ids
        .iter()
        .zip(facts)
        .map(|(id, f)| match (f.is_private, owner) {
            (false, _) => Access::Public,
            (true, None) => Access::Unknown,
            (true, Some(_)) if allowed.contains(id) => Access::Allowed,
            (true, Some(_)) => Access::NotAllowed,
        })
        .collect())
}

/// Both currencies' operator views for each id (v2), or v1's single view.
pub async fn read_facts(
    chain: &Chain,
    ids: &[u64],
    block: u64,
) -> Result<Vec<ChainFacts>, ChainError> {
    let at = chain.profile().ssv_views;
    let mut batch = Batch::default();
    match chain.ssv_version().await? {
        SsvVersion::V1 => {
            let slots: Vec<_> = ids
                .iter()
                .map(|id| (batch.push(at, FeeViews::V1.operator(*id)), None))
                .collect();
            let (results, _) = batch.run(chain, block).await?;
            let ssv = decode_operators(&results, ids, &slots)?;
            Ok(ssv.iter().map(|s| facts(None, s)).collect())
        }
        SsvVersion::V2 => {
            let pairs: Vec<(usize, usize)> = ids
                .iter()
                .map(|id| {
                    (
                        batch.push(at, FeeViews::V2Eth.operator(*id)),
                        batch.push(at, FeeViews::V2Ssv.operator(*id)),
                    )
                })
                .collect();
            let (results, _) = batch.run(chain, block).await?;
            let eth_slots: Vec<_> = pairs.iter().map(|(e, s)| (*e, Some(*s))).collect();
            let ssv_slots: Vec<_> = pairs.iter().map(|(e, s)| (*s, Some(*e))).collect();
            let eth = decode_operators(&results, ids, &eth_slots)?;
            let ssv = decode_operators(&results, ids, &ssv_slots)?;
            Ok(eth
                .iter()
                .zip(&ssv)
                .map(|(e, s)| facts(Some(e), s))
                .collect())
        }
    }
}

fn facts(eth: Option<&OnChainOperator>, ssv: &OnChainOperator) -> ChainFacts {
    ChainFacts {
        exists: eth.map_or(ssv.exists, |e| e.exists),
        eth_fee: eth.map(|e| e.fee),
        ssv_fee: ssv.fee,
        validators: u64::from(ssv.validator_count)
            + eth.map_or(0, |e| u64::from(e.validator_count)),
        is_private: eth.map_or(ssv.is_private, |e| e.is_private),
    }
}
