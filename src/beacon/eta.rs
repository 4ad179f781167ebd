//! Activation ETA from the queue and the churn limit, as pure arithmetic over what the Beacon API
//! reports (so it is testable without a node). Pre-Electra the activation queue is churn-limited
//! per validator; from Electra on the churn is applied to the pending-deposit queue in gwei and
//! eligible validators activate at finality without a further queue.

use super::client::Spec;
use super::types::{FAR_FUTURE_EPOCH, ValidatorInfo, ValidatorStatus};

/// Chain timing and churn constants, read from `/eth/v1/config/spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainParams {
    /// `SECONDS_PER_SLOT`.
    pub seconds_per_slot: u64,
    /// `SLOTS_PER_EPOCH`.
    pub slots_per_epoch: u64,
    /// `MAX_SEED_LOOKAHEAD` (activation is this + 1 epochs after the finalizing epoch).
    pub max_seed_lookahead: u64,
    /// `MIN_PER_EPOCH_CHURN_LIMIT` (validators).
    pub min_churn: u64,
    /// `CHURN_LIMIT_QUOTIENT`.
    pub churn_quotient: u64,
    /// `MAX_PER_EPOCH_ACTIVATION_CHURN_LIMIT` (Deneb+, validators).
    pub max_activation_churn: Option<u64>,
    /// `MIN_PER_EPOCH_CHURN_LIMIT_ELECTRA` (gwei).
    pub min_churn_electra_gwei: Option<u64>,
    /// `MAX_PER_EPOCH_ACTIVATION_EXIT_CHURN_LIMIT` (gwei).
    pub max_activation_exit_churn_gwei: Option<u64>,
    /// `MAX_PENDING_DEPOSITS_PER_EPOCH`.
    pub max_pending_deposits_per_epoch: Option<u64>,
    /// `ELECTRA_FORK_EPOCH` (FAR_FUTURE when not scheduled).
    pub electra_fork_epoch: u64,
    /// `ETH1_FOLLOW_DISTANCE` × `SECONDS_PER_ETH1_BLOCK`, pre-Electra delay before a deposit is seen.
    pub eth1_delay_secs: u64,
    /// `EPOCHS_PER_ETH1_VOTING_PERIOD`.
    pub eth1_voting_epochs: u64,
}

impl ChainParams {
    /// Reads the constants; mainnet defaults stand in for optional ones a node may omit.
    pub fn from_spec(spec: &Spec) -> Result<Self, super::client::BeaconError> {
        Ok(Self {
            seconds_per_slot: spec.require("SECONDS_PER_SLOT")?,
            slots_per_epoch: spec.require("SLOTS_PER_EPOCH")?,
            max_seed_lookahead: spec.u64("MAX_SEED_LOOKAHEAD").unwrap_or(4),
            min_churn: spec.u64("MIN_PER_EPOCH_CHURN_LIMIT").unwrap_or(4),
            churn_quotient: spec.u64("CHURN_LIMIT_QUOTIENT").unwrap_or(65_536).max(1),
            max_activation_churn: spec.u64("MAX_PER_EPOCH_ACTIVATION_CHURN_LIMIT"),
            min_churn_electra_gwei: spec.u64("MIN_PER_EPOCH_CHURN_LIMIT_ELECTRA"),
            max_activation_exit_churn_gwei: spec.u64("MAX_PER_EPOCH_ACTIVATION_EXIT_CHURN_LIMIT"),
            max_pending_deposits_per_epoch: spec.u64("MAX_PENDING_DEPOSITS_PER_EPOCH"),
            electra_fork_epoch: spec.u64("ELECTRA_FORK_EPOCH").unwrap_or(FAR_FUTURE_EPOCH),
            eth1_delay_secs: spec.u64("ETH1_FOLLOW_DISTANCE").unwrap_or(2048)
                * spec.u64("SECONDS_PER_ETH1_BLOCK").unwrap_or(14),
            eth1_voting_epochs: spec.u64("EPOCHS_PER_ETH1_VOTING_PERIOD").unwrap_or(64),
        })
    }

    /// Seconds per epoch.
    pub fn epoch_secs(&self) -> u64 {
        self.seconds_per_slot.saturating_mul(self.slots_per_epoch)
    }

    /// Whether `epoch` runs Electra rules.
    pub fn is_electra(&self, epoch: u64) -> bool {
        epoch >= self.electra_fork_epoch
    }

    /// Pre-Electra activation churn (validators per epoch) given the active validator count.
    pub fn activation_churn(&self, active_validators: Option<u64>) -> u64 {
        // Unknown count: the floor, so the ETA is an upper bound rather than optimistic.
        let churn = active_validators
            .map(|n| n / self.churn_quotient)
            .unwrap_or(0)
            .max(self.min_churn);
        self.max_activation_churn
            .map_or(churn, |cap| churn.min(cap))
            .max(1)
    }

    /// Electra activation churn in gwei per epoch given the total active balance.
    pub fn activation_churn_gwei(&self, total_active_gwei: Option<u64>) -> u64 {
        let min = self.min_churn_electra_gwei.unwrap_or(128_000_000_000);
        let max = self
            .max_activation_exit_churn_gwei
            .unwrap_or(256_000_000_000);
        let churn = total_active_gwei
            .map(|b| b / self.churn_quotient)
            .unwrap_or(0)
            .max(min);
        churn.min(max).max(1)
    }
}

/// Where the chain is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainNow {
    /// Epoch of the head slot.
    pub current_epoch: u64,
    /// Last finalized epoch.
    pub finalized_epoch: u64,
    /// Genesis time (unix seconds).
    pub genesis_time: u64,
}

/// The queue ahead of the validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueAhead {
    /// Pre-Electra: validators eligible before this one and not yet activated.
    pub validators: u64,
    /// Electra: pending deposits before this validator's deposit (count, gwei).
    pub deposits: u64,
    /// Electra: gwei of those deposits.
    pub deposit_gwei: u64,
    /// Active validator count, if counted (pre-Electra churn).
    pub active_validators: Option<u64>,
    /// Total active balance in gwei, if known (Electra churn).
    pub total_active_gwei: Option<u64>,
    /// Unix time by which the deposit was on the execution chain (pre-Electra: the eth1 follow
    /// distance counts from it). `None`: the start of the current epoch.
    pub deposit_time: Option<u64>,
}

/// An activation estimate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eta {
    /// Epochs from the current epoch until activation.
    pub epochs: u64,
    /// The same in seconds.
    pub seconds: u64,
    /// Unix time of activation, when the activation epoch is known.
    pub activation_time: Option<u64>,
    /// The activation epoch is scheduled on chain (not an estimate).
    pub exact: bool,
    /// How the number was reached, for people.
    pub basis: String,
}

fn div_ceil(a: u64, b: u64) -> u64 {
    a.div_ceil(b.max(1))
}

/// Epochs from now to activation for a validator eligible at `eligibility`. The registry update
/// at the end of epoch E dequeues it once `finalized_epoch >= eligibility`, with activation at
/// `E + 1 + MAX_SEED_LOOKAHEAD`; on a healthy chain the justification run just before it has
/// finalized E - 1 (both E - 1 and E justified), so E = eligibility + 1. Measured on the devnet
/// Lodestar: `pending_queued` to `active_ongoing` in 3 epochs with a lookahead of 1.
fn after_eligibility(p: &ChainParams, now: &ChainNow, eligibility: u64) -> u64 {
    let dequeue_epoch = if now.finalized_epoch >= eligibility {
        now.current_epoch
    } else {
        now.current_epoch.max(eligibility.saturating_add(1))
    };
    let activation_epoch = dequeue_epoch + 1 + p.max_seed_lookahead;
    activation_epoch.saturating_sub(now.current_epoch)
}

/// Pre-Electra: the epoch whose block includes a deposit made at `deposit_time`. Its block must be
/// `ETH1_FOLLOW_DISTANCE` blocks old at the start of a voting period (`get_eth1_vote` only
/// considers blocks with `timestamp + SECONDS_PER_ETH1_BLOCK * ETH1_FOLLOW_DISTANCE <=
/// period_start`), and the new `eth1_data` wins in the block that brings its votes past half of
/// the period's slots; that block processes the deposit.
fn eth1_inclusion_epoch(p: &ChainParams, genesis_time: u64, deposit_time: u64) -> u64 {
    let epoch_secs = p.epoch_secs().max(1);
    let period_epochs = p.eth1_voting_epochs.max(1);
    let candidate_at = deposit_time
        .saturating_add(p.eth1_delay_secs)
        .saturating_sub(genesis_time);
    let period = div_ceil(candidate_at, period_epochs * epoch_secs);
    let majority_slot = period_epochs * p.slots_per_epoch / 2;
    period * period_epochs + majority_slot / p.slots_per_epoch.max(1)
}

/// Estimates activation for a validator (or `None` for a deposit not yet in the registry).
pub fn estimate(
    p: &ChainParams,
    now: &ChainNow,
    validator: Option<&ValidatorInfo>,
    queue: &QueueAhead,
) -> Eta {
    let electra = p.is_electra(now.current_epoch);
    let mk = |epochs: u64, exact: bool, basis: String| Eta {
        epochs,
        seconds: epochs.saturating_mul(p.epoch_secs()),
        activation_time: exact.then(|| {
            now.genesis_time.saturating_add(
                now.current_epoch
                    .saturating_add(epochs)
                    .saturating_mul(p.epoch_secs()),
            )
        }),
        exact,
        basis,
    };
    let Some(v) = validator else {
        return if electra {
            let churn = p.activation_churn_gwei(queue.total_active_gwei);
            let by_gwei = div_ceil(queue.deposit_gwei, churn);
            let by_count = p
                .max_pending_deposits_per_epoch
                .map_or(0, |m| div_ceil(queue.deposits + 1, m));
            let queue_epochs = by_gwei.max(by_count);
            let epochs = after_eligibility(p, now, now.current_epoch + queue_epochs + 1);
            mk(
                epochs,
                false,
                format!(
                    "{} pending deposits ({} gwei) ahead, churn {} gwei/epoch",
                    queue.deposits, queue.deposit_gwei, churn
                ),
            )
        } else {
            // Eth1 follow distance, the next voting period's majority, then the epoch transition
            // (eligibility) and finality.
            let deposit_time = queue.deposit_time.unwrap_or_else(|| {
                now.genesis_time
                    .saturating_add(now.current_epoch.saturating_mul(p.epoch_secs()))
            });
            let included =
                eth1_inclusion_epoch(p, now.genesis_time, deposit_time).max(now.current_epoch);
            let epochs = after_eligibility(p, now, included + 1);
            mk(
                epochs,
                false,
                format!(
                    "deposit not yet in the beacon state: eth1 follow distance {} s, then a majority \
                     of a {}-epoch voting period (inclusion expected in epoch {included})",
                    p.eth1_delay_secs, p.eth1_voting_epochs
                ),
            )
        };
    };
    let f = &v.validator;
    if f.activation_epoch != FAR_FUTURE_EPOCH {
        let epochs = f.activation_epoch.saturating_sub(now.current_epoch);
        return mk(
            epochs,
            true,
            format!("activation scheduled for epoch {}", f.activation_epoch),
        );
    }
    let status = ValidatorStatus::parse(&v.status);
    let eligibility = if f.activation_eligibility_epoch == FAR_FUTURE_EPOCH {
        now.current_epoch + 1
    } else {
        f.activation_eligibility_epoch
    };
    let base = after_eligibility(p, now, eligibility);
    if electra {
        let what = if status == Some(ValidatorStatus::PendingInitialized) {
            "eligibility"
        } else {
            "finality"
        };
        return mk(
            base,
            false,
            format!("waiting for {what}; no activation churn after Electra's deposit queue"),
        );
    }
    let churn = p.activation_churn(queue.active_validators);
    let queue_epochs = queue.validators / churn;
    mk(
        base + queue_epochs,
        false,
        format!(
            "{} validators ahead in the activation queue, churn {} per epoch",
            queue.validators, churn
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::types::ValidatorFields;

    fn params() -> ChainParams {
        ChainParams {
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
        }
    }

    fn validator(status: &str, eligibility: u64, activation: u64) -> ValidatorInfo {
        ValidatorInfo {
            index: 9,
            balance: 32_000_000_000,
            status: status.into(),
            validator: ValidatorFields {
                pubkey: "0x00".into(),
                withdrawal_credentials: "0x00".into(),
                effective_balance: 32_000_000_000,
                slashed: false,
                activation_eligibility_epoch: eligibility,
                activation_epoch: activation,
                exit_epoch: FAR_FUTURE_EPOCH,
                withdrawable_epoch: FAR_FUTURE_EPOCH,
            },
        }
    }

    #[test]
    fn churn_follows_the_spec_formulas() {
        let p = params();
        assert_eq!(p.activation_churn(None), 4);
        assert_eq!(p.activation_churn(Some(65_536 * 6)), 6);
        assert_eq!(p.activation_churn(Some(65_536 * 20)), 8, "Deneb cap");
        assert_eq!(p.activation_churn_gwei(None), 128_000_000_000);
        assert_eq!(
            p.activation_churn_gwei(Some(34_000_000 * 1_000_000_000)),
            256_000_000_000
        );
    }

    #[test]
    fn scheduled_activation_is_exact() {
        let p = params();
        let now = ChainNow {
            current_epoch: 100,
            finalized_epoch: 98,
            genesis_time: 1_000,
        };
        let eta = estimate(
            &p,
            &now,
            Some(&validator("pending_queued", 95, 105)),
            &QueueAhead::default(),
        );
        assert!(eta.exact);
        assert_eq!(eta.epochs, 5);
        assert_eq!(eta.seconds, 5 * 384);
        assert_eq!(eta.activation_time, Some(1_000 + 105 * 384));
    }

    #[test]
    fn queue_position_adds_epochs_by_churn() {
        let p = params();
        let now = ChainNow {
            current_epoch: 100,
            finalized_epoch: 100,
            genesis_time: 0,
        };
        let v = validator("pending_queued", 99, FAR_FUTURE_EPOCH);
        let empty = estimate(&p, &now, Some(&v), &QueueAhead::default());
        // Already finalized: dequeued at the end of this epoch, active 1 + MAX_SEED_LOOKAHEAD later.
        assert_eq!(empty.epochs, 1 + 4);
        let q = QueueAhead {
            validators: 400,
            active_validators: Some(65_536 * 6),
            ..Default::default()
        };
        let long = estimate(&p, &now, Some(&v), &q);
        assert_eq!(long.epochs, 5 + 400 / 6);
        assert!(
            long.basis.contains("400 validators ahead"),
            "{}",
            long.basis
        );
    }

    /// The devnet's `/eth/v1/config/spec` (Lodestar 1.5.1, `DevTiming::fast`) as the node serves it.
    fn devnet_params() -> ChainParams {
        ChainParams {
            seconds_per_slot: 1,
            slots_per_epoch: 8,
            max_seed_lookahead: 1,
            min_churn: 4,
            churn_quotient: 32,
            max_activation_churn: None,
            min_churn_electra_gwei: None,
            max_activation_exit_churn_gwei: None,
            max_pending_deposits_per_epoch: None,
            electra_fork_epoch: FAR_FUTURE_EPOCH,
            eth1_delay_secs: 8,
            eth1_voting_epochs: 1,
        }
    }

    /// Against the activations measured on the devnet Lodestar (`../shared/notes/beacon-devnet.md`,
    /// run B: deposit -> `pending_queued` 21.2 s -> `active_ongoing` 45.3 s, 1 s slots): the ETA at
    /// the deposit is within one epoch of what the node did, wherever in the epoch the deposit fell.
    #[test]
    fn devnet_eta_matches_the_measured_activation() {
        let p = devnet_params();
        let genesis_time = 1_000;
        for offset in 0..8 {
            // Deposit at second `offset` of epoch 10; the follower polls in the same epoch.
            let deposit_time = genesis_time + 10 * 8 + offset;
            let now = ChainNow {
                current_epoch: 10,
                finalized_epoch: 8,
                genesis_time,
            };
            let q = QueueAhead {
                deposit_time: Some(deposit_time),
                ..Default::default()
            };
            let eta = estimate(&p, &now, None, &q);
            let predicted_active = genesis_time + (10 + eta.epochs) * 8;
            let secs = predicted_active - deposit_time;
            // Follow distance 8 s, next voting period start, majority at its 5th slot, eligibility
            // at the epoch's end, 3 epochs to activation: 40..=48 s after the deposit.
            assert!((40..=48).contains(&secs), "offset {offset}: {secs} s");
            assert!(
                secs.abs_diff(45) <= 8,
                "offset {offset}: {secs} s vs 45.3 s measured"
            );
        }
        // pending_queued (eligibility set to the next epoch): 3 epochs, measured 45.3 - 21.2 = 24 s.
        let now = ChainNow {
            current_epoch: 12,
            finalized_epoch: 10,
            genesis_time,
        };
        let queued = estimate(
            &p,
            &now,
            Some(&validator("pending_queued", 12, FAR_FUTURE_EPOCH)),
            &QueueAhead::default(),
        );
        assert_eq!(queued.seconds, 24);
    }

    #[test]
    fn mainnet_pre_electra_waits_for_the_follow_distance_and_half_a_voting_period() {
        let p = params();
        let now = ChainNow {
            current_epoch: 1_000,
            finalized_epoch: 998,
            genesis_time: 0,
        };
        let q = QueueAhead {
            deposit_time: Some(1_000 * 384),
            ..Default::default()
        };
        let eta = estimate(&p, &now, None, &q);
        // 2048 * 14 s = 74.7 epochs of follow distance, rounded to the next 64-epoch period
        // (epoch 1088), majority 32 epochs in (1120), eligible 1121, active 1121 + 2 + 4.
        assert_eq!(now.current_epoch + eta.epochs, 1_127);
        assert!(eta.basis.contains("epoch 1120"), "{}", eta.basis);
    }

    #[test]
    fn electra_deposit_queue_is_measured_in_gwei() {
        let mut p = params();
        p.electra_fork_epoch = 0;
        let now = ChainNow {
            current_epoch: 10,
            finalized_epoch: 8,
            genesis_time: 0,
        };
        let q = QueueAhead {
            deposits: 20,
            deposit_gwei: 1_280_000_000_000,
            ..Default::default()
        };
        let eta = estimate(&p, &now, None, &q);
        // 1280 ETH at 128 ETH/epoch = 10 epochs of queue, eligible the epoch after (21), dequeued
        // once 21 is finalized (end of epoch 22), active 1 + MAX_SEED_LOOKAHEAD after that.
        assert_eq!(eta.epochs, (10 + 10 + 1 + 1 - 10) + 1 + 4);
        assert!(!eta.exact);
        let short = estimate(&p, &now, None, &QueueAhead::default());
        assert!(short.epochs < eta.epochs);
    }
}
