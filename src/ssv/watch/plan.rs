//! The watch service's decisions, as pure functions of what a tick read: which clusters need a
//! top-up or a reactivation and how much, within the spend caps. Every amount comes from
//! `ssv::fees`, the same maths `status` and `register` use.

use alloy::primitives::{Address, U256};
use serde::Serialize;

use crate::ssv::cluster_tx::{Action, Plan};
use crate::ssv::{cluster::ClusterState, views::FeeViews};

/// What the service may do.
#[derive(Debug, Clone)]
pub struct WatchPolicy {
    /// Top up under this runway.
    pub floor_days: u64,
    /// Top up (or reactivate) to this runway.
    pub target_days: u64,
    /// Largest single top-up.
    pub max_per_tx: U256,
    /// Largest total in any 24 h.
    pub max_per_day: U256,
    /// Reactivate liquidated clusters (else only report them).
    pub reactivate: bool,
}

/// A watch policy that contradicts itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The target is not above the floor.
    #[error(
        "target runway ({target} days) must be above the floor ({floor} days), or every top-up would trigger the next; raise watch.target_days / --target-days"
    )]
    TargetNotAboveFloor {
        /// Target days.
        target: u64,
        /// Floor days.
        floor: u64,
    },
}

impl WatchPolicy {
    /// The policy of the config's `[watch]` (flags already written over it), checked.
    pub fn from_config(w: &crate::config::WatchConfig) -> Result<Self, PolicyError> {
        if w.target_days <= w.floor_days {
            return Err(PolicyError::TargetNotAboveFloor {
                target: w.target_days,
                floor: w.floor_days,
            });
        }
        if w.max_topup_per_day.0 < w.max_topup_per_tx.0 {
            tracing::warn!(
                "max_topup_per_day is below max_topup_per_tx: the day cap is what limits"
            );
        }
        Ok(Self {
            floor_days: w.floor_days,
            target_days: w.target_days,
            max_per_tx: w.max_topup_per_tx.0,
            max_per_day: w.max_topup_per_day.0,
            reactivate: w.reactivate,
        })
    }
}

/// Why a cluster gets no transaction this tick although it is short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// Never created (no cluster event yet).
    Missing,
    /// Legacy SSV-billed cluster on v2: it can only be migrated to ETH.
    LegacySsv,
    /// Liquidated, and reactivation is off or not ours to do (the reason).
    Liquidated(String),
}

/// The need of one cluster, before the caps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Nothing to do.
    Fine,
    /// Held back for a reason.
    Hold(Hold),
    /// Send this.
    Send {
        /// The transaction.
        plan: Plan,
        /// The least that is worth sending (a reactivation below the collateral reverts).
        minimum: U256,
    },
}

/// Decides what one cluster needs. `signer` is the address that would send.
pub fn need(c: &ClusterState, policy: &WatchPolicy, signer: Option<Address>, bpd: u64) -> Need {
    let Some(snapshot) = c.snapshot.clone() else {
        return Need::Hold(Hold::Missing);
    };
    if c.views == FeeViews::V2Ssv {
        return Need::Hold(Hold::LegacySsv);
    }
    let plan = |action, amount| Plan {
        action,
        cluster_id: c.cluster_id,
        owner: c.owner,
        operator_ids: c.operator_ids.clone(),
        snapshot: snapshot.clone(),
        amount,
    };
    // One extra block of burn: the transaction lands at least one block after the read.
    let one_block = c.params.burn_rate(c.load);
    if c.is_liquidated() {
        let reason = if !policy.reactivate {
            "reactivation is off (report only): enable watch.reactivate / --reactivate, or run `ssv-agent reactivate`"
        } else if snapshot.validatorCount == 0 {
            "it has no validators; nothing to reactivate"
        } else if signer != Some(c.owner) {
            "only its owner can reactivate it and this signer is not the owner"
        } else {
            let amount = c.params.balance_for_runway(c.load, policy.target_days, bpd) + one_block;
            return Need::Send {
                plan: plan(Action::Reactivate, amount),
                minimum: c.params.liquidation_collateral(c.load),
            };
        };
        return Need::Hold(Hold::Liquidated(reason.into()));
    }
    match c.runway_days(bpd) {
        Some(d) if d < policy.floor_days as f64 => {
            let amount = c
                .params
                .top_up_for_runway(c.balance, c.load, policy.target_days, bpd)
                + one_block;
            Need::Send {
                plan: plan(Action::TopUp, amount),
                minimum: U256::ZERO,
            }
        }
        _ => Need::Fine,
    }
}

/// What the caps allow of `wanted`, given what was spent in the last 24 h; `None` when nothing
/// worth sending is left (zero, or not above `minimum`).
pub fn within_caps(
    wanted: U256,
    minimum: U256,
    policy: &WatchPolicy,
    spent_today: U256,
) -> Option<U256> {
    let left_today = policy.max_per_day.saturating_sub(spent_today);
    let allowed = wanted.min(policy.max_per_tx).min(left_today);
    (!allowed.is_zero() && allowed > minimum).then_some(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> WatchPolicy {
        WatchPolicy {
            floor_days: 30,
            target_days: 60,
            max_per_tx: U256::from(200u64),
            max_per_day: U256::from(500u64),
            reactivate: true,
        }
    }

    #[test]
    fn caps_cut_per_transaction_and_per_day() {
        let p = policy();
        assert_eq!(
            within_caps(U256::from(1000u64), U256::ZERO, &p, U256::ZERO),
            Some(U256::from(200u64))
        );
        assert_eq!(
            within_caps(U256::from(1000u64), U256::ZERO, &p, U256::from(400u64)),
            Some(U256::from(100u64))
        );
        assert_eq!(
            within_caps(U256::from(1000u64), U256::ZERO, &p, U256::from(500u64)),
            None
        );
        // A reactivation the caps cut below the collateral is not worth sending.
        assert_eq!(
            within_caps(U256::from(1000u64), U256::from(300u64), &p, U256::ZERO),
            None
        );
    }
}
