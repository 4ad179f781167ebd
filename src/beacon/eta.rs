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

/// Epochs from now to activation for a validator eligible at `eligibility`: finality must reach
/// that epoch (about two epochs later on a healthy chain), then `1 + MAX_SEED_LOOKAHEAD`.
fn after_eligibility(p: &ChainParams, now: &ChainNow, eligibility: u64) -> u64 {
    let wait_final = if now.finalized_epoch >= eligibility {
        0
    } else {
        eligibility
            .saturating_add(2)
            .saturating_sub(now.current_epoch)
    };
    wait_final + 1 + p.max_seed_lookahead
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
            // Eth1 follow distance, then up to one voting period, then eligibility and finality.
            let eth1_epochs = div_ceil(p.eth1_delay_secs, p.epoch_secs()) + p.eth1_voting_epochs;
            let epochs = after_eligibility(p, now, now.current_epoch + eth1_epochs + 1);
            mk(
                epochs,
                false,
                "deposit not yet in the beacon state: eth1 follow distance and voting period"
                    .into(),
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
        // 1280 ETH at 128 ETH/epoch = 10 epochs of queue, then eligibility, finality, lookahead.
        assert_eq!(eta.epochs, (10 + 10 + 1 + 2 - 10) + 1 + 4);
        assert!(!eta.exact);
        let short = estimate(&p, &now, None, &QueueAhead::default());
        assert!(short.epochs < eta.epochs);
    }
}
