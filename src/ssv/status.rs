//! `status`: each cluster of an owner (found from events, or given) with its operators,
//! validators, balance, burn rate, liquidation collateral, runway and the block (and estimated
//! date) it would become liquidatable — as a table or JSON.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256, U256},
    rpc::types::Filter,
};
use serde::Serialize;

use super::{
    cluster::{ClusterKey, ClusterState, read_clusters},
    fees::Billing,
};
use crate::chain::{
    Chain, ChainError,
    contracts::Cluster,
    logs::Flow,
    reads::{cluster_event_topics, decode_cluster_log},
};

/// Seconds per block used for the date estimate (post-merge slots).
pub const SECONDS_PER_BLOCK: u64 = 12;

/// One cluster's line.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    /// Cluster key.
    pub cluster_id: B256,
    /// Owner.
    pub owner: Address,
    /// Sorted operator ids.
    pub operator_ids: Vec<u64>,
    /// ETH or SSV.
    pub billing: Option<Billing>,
    /// False once liquidated.
    pub active: bool,
    /// Validators.
    pub validators: u32,
    /// Effective balance billed, whole ETH (32 per validator unless the oracle reported more).
    pub effective_balance_eth: u64,
    /// Settled balance (wei or SSV wei).
    pub balance: U256,
    /// Burn per block.
    pub burn_rate_per_block: U256,
    /// Liquidation collateral (the threshold balance).
    pub liquidation_collateral: U256,
    /// Liquidation threshold period, blocks.
    pub liquidation_threshold_period: u64,
    /// Runway above the collateral, days (`None` = infinite).
    pub runway_days: Option<f64>,
    /// First block at which the cluster is liquidatable (`None` = never).
    pub liquidatable_at_block: Option<u64>,
    /// Estimated unix time of that block.
    pub liquidatable_at_unix: Option<u64>,
    /// Liquidatable now.
    pub liquidatable_now: bool,
    /// Block the figures were read at.
    pub block: u64,
}

impl ClusterStatus {
    /// Derives the figures from a cluster read (all through `ssv::fees`); `now_unix` dates the
    /// liquidation block.
    pub fn from_state(c: &ClusterState, blocks_per_day: u64, now_unix: u64) -> Self {
        let active = c.is_active();
        let at_block = active
            .then(|| c.params.blocks_until_liquidatable(c.balance, c.load))
            .flatten()
            .map(|b| c.block + b);
        Self {
            cluster_id: c.cluster_id,
            owner: c.owner,
            operator_ids: c.operator_ids.clone(),
            billing: c.billing,
            active,
            validators: c.load.validator_count,
            effective_balance_eth: c.load.effective_balance_eth(),
            balance: c.balance,
            burn_rate_per_block: c.params.burn_rate(c.load),
            liquidation_collateral: c.params.liquidation_collateral(c.load),
            liquidation_threshold_period: c.params.liquidation_threshold_period,
            runway_days: c.runway_days(blocks_per_day),
            liquidatable_at_block: at_block,
            liquidatable_at_unix: at_block
                .map(|b| now_unix + b.saturating_sub(c.block).saturating_mul(SECONDS_PER_BLOCK)),
            liquidatable_now: active && c.params.is_liquidatable(c.balance, c.load),
            block: c.block,
        }
    }
}

/// Every cluster the owner ever had, from one scan of its cluster-bearing events up to `head`:
/// each operator set with its newest snapshot.
pub async fn discover_clusters(
    chain: &Chain,
    owner: Address,
    head: u64,
) -> Result<Vec<ClusterKey>, ChainError> {
    let filter = Filter::new()
        .address(chain.profile().ssv_network)
        .event_signature(cluster_event_topics())
        .topic1(owner.into_word());
    let mut newest: BTreeMap<Vec<u64>, Cluster> = BTreeMap::new();
    chain
        .log_scanner()
        .scan_forward(
            &filter,
            chain.profile().registry_sync_offset,
            head,
            |logs| {
                // Logs come oldest first, so the last one seen per set is its newest.
                for (ids, c) in logs.iter().filter_map(decode_cluster_log) {
                    newest.insert(ids, c);
                }
                Flow::Continue
            },
        )
        .await?;
    Ok(newest
        .into_iter()
        .map(|(ids, c)| ClusterKey::new(owner, &ids, Some(c)))
        .collect())
}

/// Status of the given clusters, or of every cluster of `owner` when `clusters` is empty; every
/// figure is read at one block.
pub async fn status(
    chain: &Chain,
    owner: Address,
    clusters: &[Vec<u64>],
    now_unix: u64,
) -> Result<Vec<ClusterStatus>, ChainError> {
    let head = chain.head().await?;
    let found = discover_clusters(chain, owner, head).await?;
    let keys: Vec<ClusterKey> = if clusters.is_empty() {
        found
    } else {
        clusters
            .iter()
            .map(|ids| {
                let key = ClusterKey::new(owner, ids, None);
                found
                    .iter()
                    .find(|k| k.operator_ids == key.operator_ids)
                    .cloned()
                    .unwrap_or(key)
            })
            .collect()
    };
    let reads = read_clusters(chain, &keys, head).await?;
    reads
        .clusters
        .into_iter()
        .map(|c| c.map(|c| ClusterStatus::from_state(&c, chain.profile().blocks_per_day, now_unix)))
        .collect()
}

/// Formats wei (or SSV wei) as a decimal with 6 fraction digits.
pub fn fmt_units(v: U256) -> String {
    let one = U256::from(10u64).pow(U256::from(18));
    let whole = v / one;
    let frac = (v % one) / U256::from(1_000_000_000_000u64);
    format!("{whole}.{frac:0>6}")
}

/// A plain-text table, one row per cluster.
pub fn render_table(rows: &[ClusterStatus]) -> String {
    let mut s = format!(
        "{:<20} {:<5} {:<7} {:>4} {:>14} {:>16} {:>14} {:>10} {:>14}\n",
        "operators",
        "asset",
        "state",
        "vals",
        "balance",
        "burn/block(wei)",
        "collateral",
        "runway(d)",
        "liq. block"
    );
    for r in rows {
        let ids = r
            .operator_ids
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let asset = match r.billing {
            Some(Billing::Eth) => "ETH",
            Some(Billing::Ssv) => "SSV",
            None => "-",
        };
        let state = if !r.active {
            "liquid."
        } else if r.liquidatable_now {
            "AT RISK"
        } else {
            "active"
        };
        s.push_str(&format!(
            "{:<20} {:<5} {:<7} {:>4} {:>14} {:>16} {:>14} {:>10} {:>14}\n",
            ids,
            asset,
            state,
            r.validators,
            fmt_units(r.balance),
            r.burn_rate_per_block,
            fmt_units(r.liquidation_collateral),
            r.runway_days.map_or("inf".into(), |d| format!("{d:.1}")),
            r.liquidatable_at_block
                .map_or("never".into(), |b| b.to_string()),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_format() {
        assert_eq!(fmt_units(U256::from(940_000_000_000_000u64)), "0.000940");
        assert_eq!(
            fmt_units(U256::from(1_500_000_000_000_000_000u64)),
            "1.500000"
        );
    }
}
