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
    validators::{OwnedValidator, owner_validators},
};
use crate::beacon::client::BeaconClient;
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
    discover_clusters_of(chain, &[owner], head).await
}

/// [`discover_clusters`] for several owners in one scan (the owners as one topic filter), ordered
/// by owner, then operator ids.
pub async fn discover_clusters_of(
    chain: &Chain,
    owners: &[Address],
    head: u64,
) -> Result<Vec<ClusterKey>, ChainError> {
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    let filter = Filter::new()
        .address(chain.profile().ssv_network)
        .event_signature(cluster_event_topics())
        .topic1(owners.iter().map(|o| o.into_word()).collect::<Vec<_>>());
    let mut newest: BTreeMap<(Address, Vec<u64>), Cluster> = BTreeMap::new();
    chain
        .log_scanner()
        .scan_forward(
            &filter,
            chain.profile().registry_sync_offset,
            head,
            |logs| {
                // Logs come oldest first, so the last one seen per set is its newest.
                for log in logs {
                    let (Some(owner), Some((ids, c))) =
                        (log.topics().get(1), decode_cluster_log(log))
                    else {
                        continue;
                    };
                    newest.insert((Address::from_word(*owner), ids), c);
                }
                Flow::Continue
            },
        )
        .await?;
    Ok(newest
        .into_iter()
        .map(|((owner, ids), c)| ClusterKey::new(owner, &ids, Some(c)))
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

/// One validator of the owner, with what the beacon node says of it.
#[derive(Debug, Clone, Serialize)]
pub struct ValidatorRow {
    /// The SSV view of it.
    #[serde(flatten)]
    pub ssv: OwnedValidator,
    /// Its beacon status (`None`: unknown to the beacon node, or no beacon node asked).
    pub beacon_status: Option<String>,
}

impl ValidatorRow {
    /// The validator no longer runs on the beacon chain (its balance may still be withdrawn).
    pub fn exited(&self) -> bool {
        self.beacon_status
            .as_deref()
            .is_some_and(|s| s.starts_with("exited") || s.starts_with("withdrawal"))
    }

    /// Running or about to run (operators must still sign for it).
    pub fn running(&self) -> bool {
        self.beacon_status
            .as_deref()
            .is_some_and(|s| s.starts_with("active") || s.starts_with("pending"))
    }
}

/// Every validator of `owner` (removed ones included) with its beacon status, when `beacon` is
/// given; a beacon failure leaves the statuses unknown and is returned as a note.
pub async fn validator_rows(
    chain: &Chain,
    beacon: Option<&BeaconClient>,
    owner: Address,
    head: u64,
) -> Result<(Vec<ValidatorRow>, Option<String>), ChainError> {
    let mut rows = Vec::new();
    let mut note = None;
    for v in owner_validators(chain, owner, head).await? {
        let beacon_status = match beacon {
            Some(b) if note.is_none() => match b.validator("head", &v.pubkey).await {
                Ok(found) => found.map(|i| i.status),
                Err(e) => {
                    note = Some(format!("beacon statuses unknown: {e}"));
                    None
                }
            },
            _ => None,
        };
        rows.push(ValidatorRow {
            ssv: v,
            beacon_status,
        });
    }
    Ok((rows, note))
}

/// What the owner should know beyond the money: clusters whose validators have all exited (remove
/// them, then withdraw the balance) and validators removed from SSV while still running.
pub fn lifecycle_flags(validators: &[ValidatorRow]) -> Vec<String> {
    let mut flags = Vec::new();
    let mut clusters: Vec<(B256, Vec<u64>)> = Vec::new();
    for v in validators {
        if !clusters.iter().any(|(id, _)| *id == v.ssv.cluster_id) {
            clusters.push((v.ssv.cluster_id, v.ssv.operator_ids.clone()));
        }
    }
    for (id, ids) in clusters {
        let live: Vec<&ValidatorRow> = validators
            .iter()
            .filter(|v| v.ssv.cluster_id == id && !v.ssv.removed)
            .collect();
        if !live.is_empty() && live.iter().all(|v| v.exited()) {
            flags.push(format!(
                "cluster {ids:?}: every validator has exited; remove them (`ssv-agent remove --cluster {}`), then `ssv-agent withdraw --all --cluster {}` returns the balance",
                join(&ids),
                join(&ids)
            ));
        }
    }
    for v in validators.iter().filter(|v| v.ssv.removed && v.running()) {
        flags.push(format!(
            "validator {} was removed from SSV but is still {} on the beacon chain: no operator signs for it; exit it with its withdrawal address (EIP-7002) or register it again",
            v.ssv.pubkey,
            v.beacon_status.as_deref().unwrap_or("?")
        ));
    }
    flags
}

fn join(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
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
    fn flags_name_exited_clusters_and_validators_removed_while_running() {
        let v = |pk: &str, ids: Vec<u64>, removed: bool, status: Option<&str>| ValidatorRow {
            ssv: OwnedValidator {
                pubkey: pk.into(),
                cluster_id: B256::repeat_byte(ids[0] as u8),
                operator_ids: ids,
                removed,
                exit_requested: false,
            },
            beacon_status: status.map(str::to_string),
        };
        let rows = vec![
            v("0xa", vec![1, 2, 3, 4], false, Some("exited_unslashed")),
            v("0xb", vec![1, 2, 3, 4], false, Some("withdrawal_possible")),
            v("0xc", vec![5, 6, 7, 8], false, Some("active_ongoing")),
            v("0xd", vec![5, 6, 7, 8], true, Some("active_ongoing")),
        ];
        let f = lifecycle_flags(&rows);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].contains("[1, 2, 3, 4]") && f[0].contains("withdraw --all --cluster 1,2,3,4"));
        assert!(
            f[1].contains("0xd") && f[1].contains("removed from SSV but is still active_ongoing")
        );
    }

    #[test]
    fn units_format() {
        assert_eq!(fmt_units(U256::from(940_000_000_000_000u64)), "0.000940");
        assert_eq!(
            fmt_units(U256::from(1_500_000_000_000_000_000u64)),
            "1.500000"
        );
    }
}
