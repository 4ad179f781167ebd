//! Exit ETA from the exit queue and the churn limit, as pure arithmetic over what the Beacon API
//! reports (testable without a node), the counterpart of [`super::eta`] for leaving.
//!
//! Pre-Electra (`initiate_validator_exit`): an exit processed in epoch `e` gets
//! `max(every scheduled exit epoch, e + 1 + MAX_SEED_LOOKAHEAD)`, one epoch later when that epoch
//! already holds `get_validator_churn_limit` exits (no Deneb cap: that one limits activations
//! only). From Electra on (`compute_exit_epoch_and_update_churn`) the churn is a gwei budget per
//! epoch. The validator is withdrawable `MIN_VALIDATOR_WITHDRAWABILITY_DELAY` epochs after its
//! exit epoch, and from Capella on the withdrawal sweep pays it out within one pass over the
//! registry.

use super::client::{BeaconError, Spec};
use super::eta::{ChainNow, ChainParams};
use super::types::{FAR_FUTURE_EPOCH, ValidatorInfo};

/// Timing and churn constants of exits, read from `/eth/v1/config/spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitParams {
    /// Slot timing, seed lookahead, churn and fork epochs shared with activation.
    pub chain: ChainParams,
    /// `SHARD_COMMITTEE_PERIOD`: epochs of activity before a voluntary exit is valid.
    pub shard_committee_period: u64,
    /// `MIN_VALIDATOR_WITHDRAWABILITY_DELAY`: epochs from exit to withdrawable.
    pub min_withdrawability_delay: u64,
    /// `CAPELLA_FORK_EPOCH` (FAR_FUTURE when not scheduled): withdrawals exist from here on.
    pub capella_fork_epoch: u64,
    /// `MAX_WITHDRAWALS_PER_PAYLOAD`: how far the sweep advances per slot at most.
    pub max_withdrawals_per_payload: u64,
}

impl ExitParams {
    /// Reads the constants; mainnet values stand in for ones a node omits.
    pub fn from_spec(spec: &Spec) -> Result<Self, BeaconError> {
        Ok(Self {
            chain: ChainParams::from_spec(spec)?,
            shard_committee_period: spec.u64("SHARD_COMMITTEE_PERIOD").unwrap_or(256),
            min_withdrawability_delay: spec
                .u64("MIN_VALIDATOR_WITHDRAWABILITY_DELAY")
                .unwrap_or(256),
            capella_fork_epoch: spec.u64("CAPELLA_FORK_EPOCH").unwrap_or(FAR_FUTURE_EPOCH),
            max_withdrawals_per_payload: spec
                .u64("MAX_WITHDRAWALS_PER_PAYLOAD")
                .unwrap_or(16)
                .max(1),
        })
    }

    /// `compute_activation_exit_epoch(epoch)`.
    pub fn activation_exit_epoch(&self, epoch: u64) -> u64 {
        epoch
            .saturating_add(1)
            .saturating_add(self.chain.max_seed_lookahead)
    }

    /// The first epoch a voluntary exit of a validator activated at `activation_epoch` is valid.
    pub fn exit_eligible_epoch(&self, activation_epoch: u64) -> u64 {
        activation_epoch.saturating_add(self.shard_committee_period)
    }

    /// Pre-Electra `get_validator_churn_limit` (exits per epoch) given the active validator count;
    /// the floor when the count is unknown, so the ETA errs late rather than early.
    pub fn exit_churn(&self, active_validators: Option<u64>) -> u64 {
        active_validators
            .map(|n| n / self.chain.churn_quotient)
            .unwrap_or(0)
            .max(self.chain.min_churn)
            .max(1)
    }

    fn epoch_time(&self, now: &ChainNow, epoch: u64) -> u64 {
        now.genesis_time
            .saturating_add(epoch.saturating_mul(self.chain.epoch_secs()))
    }

    fn milestone(&self, now: &ChainNow, epoch: u64, exact: bool) -> Milestone {
        let epochs = epoch.saturating_sub(now.current_epoch);
        Milestone {
            epoch,
            epochs,
            seconds: epochs.saturating_mul(self.chain.epoch_secs()),
            at: self.epoch_time(now, epoch),
            exact,
        }
    }
}

/// One exit the chain has already scheduled (a validator `active_exiting` or `active_slashed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledExit {
    /// Its exit epoch.
    pub exit_epoch: u64,
    /// Its effective balance (Electra's churn is counted in gwei).
    pub effective_balance_gwei: u64,
}

/// The exit queue ahead of a validator whose exit is not yet scheduled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExitQueue {
    /// Exits already scheduled for future epochs.
    pub scheduled: Vec<ScheduledExit>,
    /// Active validator count, if counted (pre-Electra churn; the sweep's length).
    pub active_validators: Option<u64>,
    /// Total active balance in gwei, if known (Electra churn).
    pub total_active_gwei: Option<u64>,
}

/// When a status is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Milestone {
    /// The epoch.
    pub epoch: u64,
    /// Epochs from the current epoch.
    pub epochs: u64,
    /// The same in seconds.
    pub seconds: u64,
    /// Unix time of the epoch's start.
    pub at: u64,
    /// Scheduled on chain (not an estimate).
    pub exact: bool,
}

/// An exit estimate: `exited_unslashed`, `withdrawal_possible` and (Capella+) `withdrawal_done`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitEta {
    /// Exit epoch (`exited_unslashed` from then).
    pub exited: Milestone,
    /// Withdrawable epoch (`withdrawal_possible` from then).
    pub withdrawable: Milestone,
    /// Latest epoch the withdrawal sweep pays it out (`withdrawal_done`); `None` before Capella,
    /// or when the registry size is unknown.
    pub withdrawn: Option<Milestone>,
    /// How the numbers were reached, for people.
    pub basis: String,
}

/// Estimates the exit of `v`. For an exit not yet scheduled, `signing_epochs` is the time the
/// operators need to sign it and a block to include it (from now, or from the first epoch the
/// exit is valid, whichever is later).
pub fn estimate_exit(
    p: &ExitParams,
    now: &ChainNow,
    v: &ValidatorInfo,
    queue: &ExitQueue,
    signing_epochs: u64,
) -> ExitEta {
    let f = &v.validator;
    let (exit_epoch, exact, basis) = if f.exit_epoch != FAR_FUTURE_EPOCH {
        (
            f.exit_epoch,
            true,
            format!("exit scheduled for epoch {}", f.exit_epoch),
        )
    } else {
        let processed = now
            .current_epoch
            .saturating_add(signing_epochs)
            .max(p.exit_eligible_epoch(f.activation_epoch));
        let (epoch, basis) = if p.chain.is_electra(processed) {
            electra_exit_epoch(p, processed, f.effective_balance, queue)
        } else {
            queued_exit_epoch(p, processed, queue)
        };
        (epoch, false, basis)
    };
    let withdrawable_epoch = if exact {
        f.withdrawable_epoch
    } else {
        exit_epoch.saturating_add(p.min_withdrawability_delay)
    };
    let withdrawn = (p.capella_fork_epoch != FAR_FUTURE_EPOCH)
        .then(|| sweep_epoch(p, withdrawable_epoch.max(p.capella_fork_epoch), queue))
        .flatten()
        .map(|e| p.milestone(now, e, false));
    ExitEta {
        exited: p.milestone(now, exit_epoch, exact),
        withdrawable: p.milestone(now, withdrawable_epoch, exact),
        withdrawn,
        basis,
    }
}

/// Pre-Electra: the exit queue's tail, or the earliest exit epoch, one later when the tail is full.
fn queued_exit_epoch(p: &ExitParams, processed: u64, queue: &ExitQueue) -> (u64, String) {
    let earliest = p.activation_exit_epoch(processed);
    let tail = queue
        .scheduled
        .iter()
        .map(|s| s.exit_epoch)
        .max()
        .unwrap_or(0);
    let mut epoch = earliest.max(tail);
    let at_epoch = queue
        .scheduled
        .iter()
        .filter(|s| s.exit_epoch == epoch)
        .count() as u64;
    let churn = p.exit_churn(queue.active_validators);
    if at_epoch >= churn {
        epoch += 1;
    }
    let basis = format!(
        "{} exits scheduled ahead (queue tail epoch {tail}), churn {churn} per epoch; exit \
         processed about epoch {processed}",
        queue.scheduled.len()
    );
    (epoch, basis)
}

/// Electra: the earliest exit epoch, pushed out by the gwei already scheduled at the queue's tail
/// and by this validator's own balance beyond one epoch's churn (an estimate: the state's exact
/// `exit_balance_to_consume` is not served by the Beacon API).
fn electra_exit_epoch(
    p: &ExitParams,
    processed: u64,
    balance_gwei: u64,
    queue: &ExitQueue,
) -> (u64, String) {
    let churn = p.chain.activation_churn_gwei(queue.total_active_gwei);
    let earliest = p.activation_exit_epoch(processed);
    let tail = queue.scheduled.iter().map(|s| s.exit_epoch).max();
    let (mut epoch, consumed) = match tail {
        Some(t) if t >= earliest => {
            let at_tail: u64 = queue
                .scheduled
                .iter()
                .filter(|s| s.exit_epoch == t)
                .map(|s| s.effective_balance_gwei)
                .sum();
            (t, at_tail.min(churn))
        }
        _ => (earliest, 0),
    };
    let budget = churn - consumed;
    if balance_gwei > budget {
        epoch += (balance_gwei - budget).div_ceil(churn.max(1));
    }
    let basis = format!(
        "{} exits scheduled ahead, churn {churn} gwei per epoch; exit processed about epoch \
         {processed}",
        queue.scheduled.len()
    );
    (epoch, basis)
}

/// The latest epoch the withdrawal sweep reaches a validator withdrawable at `from`: one pass over
/// the registry at `MAX_WITHDRAWALS_PER_PAYLOAD` validators per slot at least.
fn sweep_epoch(p: &ExitParams, from: u64, queue: &ExitQueue) -> Option<u64> {
    let validators = queue.active_validators?;
    let slots = validators.div_ceil(p.max_withdrawals_per_payload);
    Some(from.saturating_add(slots.div_ceil(p.chain.slots_per_epoch.max(1))))
}

/// Whether a validator's voluntary exit can be requested now, by its beacon record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exitability {
    /// Active, no exit scheduled, active long enough: the exit is valid now.
    Ready,
    /// The beacon chain does not know the pubkey (deposit not yet processed, or never made).
    NotOnChain,
    /// Deposit processed but not active yet.
    Pending {
        /// `pending_initialized` or `pending_queued`.
        status: String,
    },
    /// Active, but not for `SHARD_COMMITTEE_PERIOD` epochs yet.
    TooYoung {
        /// Its activation epoch.
        activation_epoch: u64,
        /// First epoch its exit is valid.
        eligible_epoch: u64,
    },
    /// An exit is already scheduled or done.
    AlreadyExiting {
        /// The status.
        status: String,
        /// Its exit epoch.
        exit_epoch: u64,
    },
    /// Slashed: its exit is forced and already scheduled.
    Slashed {
        /// The status.
        status: String,
    },
}

/// Classifies `v` at `current_epoch` the way `process_voluntary_exit` would judge an exit.
pub fn exitability(p: &ExitParams, current_epoch: u64, v: Option<&ValidatorInfo>) -> Exitability {
    let Some(v) = v else {
        return Exitability::NotOnChain;
    };
    let f = &v.validator;
    if f.slashed {
        return Exitability::Slashed {
            status: v.status.clone(),
        };
    }
    if f.exit_epoch != FAR_FUTURE_EPOCH {
        return Exitability::AlreadyExiting {
            status: v.status.clone(),
            exit_epoch: f.exit_epoch,
        };
    }
    if f.activation_epoch > current_epoch {
        return Exitability::Pending {
            status: v.status.clone(),
        };
    }
    let eligible_epoch = p.exit_eligible_epoch(f.activation_epoch);
    if current_epoch < eligible_epoch {
        return Exitability::TooYoung {
            activation_epoch: f.activation_epoch,
            eligible_epoch,
        };
    }
    Exitability::Ready
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::types::ValidatorFields;

    /// Mainnet-like numbers (32-slot epochs of 12 s, lookahead 4, churn floor 4).
    fn params() -> ExitParams {
        ExitParams {
            chain: ChainParams {
                seconds_per_slot: 12,
                slots_per_epoch: 32,
                max_seed_lookahead: 4,
                min_churn: 4,
                churn_quotient: 65_536,
                max_activation_churn: Some(8),
                min_churn_electra_gwei: Some(128_000_000_000),
                max_activation_exit_churn_gwei: Some(256_000_000_000),
                max_pending_deposits_per_epoch: Some(16),
                electra_fork_epoch: FAR_FUTURE_EPOCH,
                eth1_delay_secs: 2048 * 14,
                eth1_voting_epochs: 64,
            },
            shard_committee_period: 256,
            min_withdrawability_delay: 256,
            capella_fork_epoch: FAR_FUTURE_EPOCH,
            max_withdrawals_per_payload: 16,
        }
    }

    fn now(epoch: u64) -> ChainNow {
        ChainNow {
            current_epoch: epoch,
            finalized_epoch: epoch.saturating_sub(2),
            genesis_time: 1_000,
        }
    }

    fn validator(activation: u64, exit: u64, withdrawable: u64) -> ValidatorInfo {
        ValidatorInfo {
            index: 42,
            balance: 32_000_000_000,
            status: if exit == FAR_FUTURE_EPOCH {
                "active_ongoing"
            } else {
                "active_exiting"
            }
            .into(),
            validator: ValidatorFields {
                pubkey: "0x00".into(),
                withdrawal_credentials: "0x00".into(),
                effective_balance: 32_000_000_000,
                slashed: false,
                activation_eligibility_epoch: activation.saturating_sub(5),
                activation_epoch: activation,
                exit_epoch: exit,
                withdrawable_epoch: withdrawable,
            },
        }
    }

    fn scheduled(epochs: &[(u64, usize)]) -> Vec<ScheduledExit> {
        epochs
            .iter()
            .flat_map(|&(e, n)| {
                std::iter::repeat_n(
                    ScheduledExit {
                        exit_epoch: e,
                        effective_balance_gwei: 32_000_000_000,
                    },
                    n,
                )
            })
            .collect()
    }

    #[test]
    fn a_scheduled_exit_is_exact_and_timed_from_genesis() {
        let p = params();
        let v = validator(10, 1_010, 1_266);
        let eta = estimate_exit(&p, &now(1_000), &v, &ExitQueue::default(), 1);
        assert!(eta.exited.exact && eta.withdrawable.exact);
        assert_eq!((eta.exited.epoch, eta.exited.epochs), (1_010, 10));
        assert_eq!(eta.exited.seconds, 10 * 384);
        assert_eq!(eta.exited.at, 1_000 + 1_010 * 384);
        assert_eq!(eta.withdrawable.epoch, 1_266);
        assert!(eta.withdrawn.is_none(), "no withdrawals before Capella");
    }

    #[test]
    fn an_empty_queue_exits_after_signing_and_the_seed_lookahead() {
        let p = params();
        let v = validator(10, FAR_FUTURE_EPOCH, FAR_FUTURE_EPOCH);
        let eta = estimate_exit(&p, &now(1_000), &v, &ExitQueue::default(), 1);
        // Processed in epoch 1001, then compute_activation_exit_epoch: + 1 + MAX_SEED_LOOKAHEAD.
        assert_eq!(eta.exited.epoch, 1_001 + 1 + 4);
        assert!(!eta.exited.exact);
        assert_eq!(eta.withdrawable.epoch, 1_006 + 256);
    }

    #[test]
    fn the_queue_tail_and_a_full_churn_push_the_exit_out() {
        let p = params();
        let v = validator(10, FAR_FUTURE_EPOCH, FAR_FUTURE_EPOCH);
        let n = now(1_000);
        // Tail at 1100 with room (3 of 4): joins the tail.
        let q = ExitQueue {
            scheduled: scheduled(&[(1_050, 4), (1_100, 3)]),
            ..Default::default()
        };
        assert_eq!(estimate_exit(&p, &n, &v, &q, 1).exited.epoch, 1_100);
        // Tail full (4 of 4 at the churn floor): one epoch later.
        let q = ExitQueue {
            scheduled: scheduled(&[(1_100, 4)]),
            ..Default::default()
        };
        let eta = estimate_exit(&p, &n, &v, &q, 1);
        assert_eq!(eta.exited.epoch, 1_101);
        assert!(
            eta.basis.contains("4 exits scheduled ahead"),
            "{}",
            eta.basis
        );
        // A larger registry raises the churn (no Deneb cap on exits): 5 per epoch, room again.
        let q = ExitQueue {
            scheduled: scheduled(&[(1_100, 4)]),
            active_validators: Some(65_536 * 5),
            ..Default::default()
        };
        assert_eq!(estimate_exit(&p, &n, &v, &q, 1).exited.epoch, 1_100);
        assert_eq!(p.exit_churn(Some(65_536 * 20)), 20, "uncapped");
        // A tail already behind the earliest exit epoch does not matter.
        let q = ExitQueue {
            scheduled: scheduled(&[(1_003, 9)]),
            ..Default::default()
        };
        assert_eq!(estimate_exit(&p, &n, &v, &q, 1).exited.epoch, 1_006);
    }

    #[test]
    fn a_young_validator_waits_for_the_shard_committee_period() {
        let p = params();
        // Active since 900: its exit is valid from 1156, not now (1000).
        let v = validator(900, FAR_FUTURE_EPOCH, FAR_FUTURE_EPOCH);
        let eta = estimate_exit(&p, &now(1_000), &v, &ExitQueue::default(), 1);
        assert_eq!(eta.exited.epoch, 1_156 + 1 + 4);
    }

    #[test]
    fn electra_counts_the_churn_in_gwei() {
        let mut p = params();
        p.chain.electra_fork_epoch = 0;
        let n = now(1_000);
        let mut v = validator(10, FAR_FUTURE_EPOCH, FAR_FUTURE_EPOCH);
        // 128 ETH budget, 96 ETH already exiting at the tail: 32 ETH fits.
        let q = ExitQueue {
            scheduled: scheduled(&[(1_200, 3)]),
            ..Default::default()
        };
        assert_eq!(estimate_exit(&p, &n, &v, &q, 1).exited.epoch, 1_200);
        // 2048 ETH with 32 ETH of room: (2048 - 32) / 128 = 15.75 -> 16 more epochs.
        v.validator.effective_balance = 2_048_000_000_000;
        assert_eq!(estimate_exit(&p, &n, &v, &q, 1).exited.epoch, 1_216);
        // Empty queue, 2048 ETH: the earliest epoch plus (2048 - 128) / 128 = 15.
        let eta = estimate_exit(&p, &n, &v, &ExitQueue::default(), 1);
        assert_eq!(eta.exited.epoch, 1_006 + 15);
    }

    #[test]
    fn after_capella_the_sweep_bounds_the_payout() {
        let mut p = params();
        p.capella_fork_epoch = 0;
        let v = validator(10, 1_010, 1_266);
        let q = ExitQueue {
            active_validators: Some(1_024_000),
            ..Default::default()
        };
        let eta = estimate_exit(&p, &now(1_000), &v, &q, 1);
        // 1 024 000 validators / 16 per slot = 64 000 slots = 2000 epochs after withdrawable.
        let w = eta.withdrawn.expect("sweep milestone");
        assert_eq!(w.epoch, 1_266 + 2_000);
        assert!(!w.exact);
        let unknown = estimate_exit(&p, &now(1_000), &v, &ExitQueue::default(), 1);
        assert!(unknown.withdrawn.is_none(), "no registry size, no guess");
    }

    #[test]
    fn exitability_judges_as_process_voluntary_exit() {
        let p = params();
        assert_eq!(exitability(&p, 1_000, None), Exitability::NotOnChain);
        let mut v = validator(1_002, FAR_FUTURE_EPOCH, FAR_FUTURE_EPOCH);
        v.status = "pending_queued".into();
        assert_eq!(
            exitability(&p, 1_000, Some(&v)),
            Exitability::Pending {
                status: "pending_queued".into()
            }
        );
        let v = validator(900, FAR_FUTURE_EPOCH, FAR_FUTURE_EPOCH);
        assert_eq!(
            exitability(&p, 1_000, Some(&v)),
            Exitability::TooYoung {
                activation_epoch: 900,
                eligible_epoch: 1_156
            }
        );
        assert_eq!(exitability(&p, 1_156, Some(&v)), Exitability::Ready);
        let v = validator(10, 1_010, 1_266);
        assert!(matches!(
            exitability(&p, 1_000, Some(&v)),
            Exitability::AlreadyExiting {
                exit_epoch: 1_010,
                ..
            }
        ));
        let mut v = validator(10, 1_010, 1_266);
        v.validator.slashed = true;
        assert!(matches!(
            exitability(&p, 1_000, Some(&v)),
            Exitability::Slashed { .. }
        ));
    }
}
