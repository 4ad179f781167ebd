//! Follows a validator whose exit was requested until it has left: `active_ongoing` (the SSV
//! operators still have to sign its voluntary exit) -> `active_exiting` -> `exited_unslashed` ->
//! `withdrawal_possible` / `withdrawal_done`, with an ETA from the exit queue and churn on every
//! poll, as [`super::activation`] does for entry. Rides out node restarts with backoff, refuses a
//! syncing node or one on another network, and stops with a clear error on slashing, on a
//! validator that is not active at all, and when the operators never sign.

use std::time::{Duration, Instant};

use super::activation::{ActivationError, FollowOptions, check_synced, preflight};
use super::client::{BeaconClient, BeaconError};
use super::eta::ChainNow;
use super::exit_eta::{ExitEta, ExitParams, ExitQueue, ScheduledExit, estimate_exit};
use super::types::{FAR_FUTURE_EPOCH, Genesis, ValidatorStatus};
use crate::network::NetworkProfile;

/// Epochs the ETA allows the operators to sign an exit and a block to include it.
pub const SIGNING_EPOCHS: u64 = 1;

/// Where following stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExitTarget {
    /// `exited_unslashed`: no longer validating.
    Exited,
    /// `withdrawal_possible` or `withdrawal_done`: the balance can be (or was) paid out.
    #[default]
    Withdrawable,
}

impl ExitTarget {
    /// Whether `status` is at or past this target.
    pub fn reached(self, status: ValidatorStatus) -> bool {
        use ValidatorStatus::*;
        match self {
            Self::Exited => matches!(
                status,
                ExitedUnslashed | WithdrawalPossible | WithdrawalDone
            ),
            Self::Withdrawable => matches!(status, WithdrawalPossible | WithdrawalDone),
        }
    }

    /// The status name of the target, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Exited => "exited_unslashed",
            Self::Withdrawable => "withdrawal_possible",
        }
    }
}

/// How to follow an exit.
#[derive(Debug, Clone, Copy)]
pub struct ExitFollowOptions {
    /// Polling, backoff, outage and overall limits (as for activation).
    pub follow: FollowOptions,
    /// Where to stop.
    pub target: ExitTarget,
    /// Give up when the validator is still `active_ongoing` this long after following started
    /// (the operators did not sign); `None`: never.
    pub sign_deadline: Option<Duration>,
}

impl Default for ExitFollowOptions {
    fn default() -> Self {
        Self {
            follow: FollowOptions::default(),
            target: ExitTarget::default(),
            sign_deadline: Some(Duration::from_secs(3600)),
        }
    }
}

/// What one poll saw.
#[derive(Debug, Clone)]
pub struct ExitProgress {
    /// Status (`None` only while retrying).
    pub status: Option<ValidatorStatus>,
    /// Validator index.
    pub index: Option<u64>,
    /// The estimate.
    pub eta: Option<ExitEta>,
    /// A transient problem being retried.
    pub retrying: Option<String>,
}

/// The validator reached the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitReached {
    /// Validator index.
    pub index: u64,
    /// The status it was seen in.
    pub status: ValidatorStatus,
    /// Its exit epoch.
    pub exit_epoch: u64,
    /// Its withdrawable epoch.
    pub withdrawable_epoch: u64,
}

/// Why following an exit stopped short of the target.
#[derive(Debug, thiserror::Error)]
pub enum ExitFollowError {
    /// The node is unusable (syncing, on another network, bad answers).
    #[error(transparent)]
    Node(#[from] ActivationError),
    /// A non-transient API failure.
    #[error(transparent)]
    Beacon(#[from] BeaconError),
    /// The pubkey is not in the beacon state.
    #[error(
        "validator {pubkey} is not on the beacon chain: its deposit has not been processed, so there is nothing to exit"
    )]
    NotOnChain {
        /// Pubkey.
        pubkey: String,
    },
    /// Not active yet.
    #[error(
        "validator {pubkey} (index {index}) is `{status}`, not active: a validator can only exit once it is active"
    )]
    NotActive {
        /// Pubkey.
        pubkey: String,
        /// Index.
        index: u64,
        /// Status.
        status: String,
    },
    /// Slashed while exiting.
    #[error(
        "validator {pubkey} (index {index}) is `{status}`: it was slashed; its exit is forced and its balance is withdrawable later than a voluntary exit's"
    )]
    Slashed {
        /// Pubkey.
        pubkey: String,
        /// Index.
        index: u64,
        /// Status.
        status: String,
    },
    /// The operators did not sign within the deadline.
    #[error(
        "validator {pubkey} (index {index}) is still active_ongoing {secs} s after its exit was requested: its SSV operators have not signed and broadcast the voluntary exit"
    )]
    NotSigned {
        /// Pubkey.
        pubkey: String,
        /// Index.
        index: u64,
        /// Seconds waited.
        secs: u64,
    },
    /// A status string outside the Beacon API's list.
    #[error("validator {pubkey}: unknown status `{status}` from the beacon node")]
    UnknownStatus {
        /// Pubkey.
        pubkey: String,
        /// The string.
        status: String,
    },
    /// The node stayed unusable for too long.
    #[error("beacon node {url} unusable for {secs} s, giving up: {last_error}")]
    Outage {
        /// Node URL.
        url: String,
        /// Seconds without a good answer.
        secs: u64,
        /// The last error.
        last_error: String,
    },
    /// The overall deadline passed.
    #[error("validator {pubkey} not {target} after {secs} s (last status: {last_status})")]
    Deadline {
        /// Pubkey.
        pubkey: String,
        /// The target status.
        target: &'static str,
        /// Seconds waited.
        secs: u64,
        /// Last status seen.
        last_status: String,
    },
}

impl ExitFollowError {
    fn transient(&self) -> Option<String> {
        match self {
            Self::Beacon(b) if b.is_transient() => Some(b.to_string()),
            Self::Node(ActivationError::Beacon(b)) if b.is_transient() => Some(b.to_string()),
            // A node that restarts re-syncs briefly: an outage, not a refusal.
            Self::Node(ActivationError::Syncing { .. }) => Some(self.to_string()),
            _ => None,
        }
    }
}

/// The node facts an exit needs: genesis, and the exit constants.
#[derive(Debug, Clone)]
pub struct ExitNode {
    /// Genesis data.
    pub genesis: Genesis,
    /// Timing, churn and delays.
    pub params: ExitParams,
}

/// Checks the node (synced, on the profile's network) and reads its exit constants.
pub async fn exit_node(
    client: &BeaconClient,
    profile: &NetworkProfile,
    max_sync_distance: u64,
) -> Result<ExitNode, ExitFollowError> {
    let info = preflight(client, profile, max_sync_distance).await?;
    let params = ExitParams::from_spec(&client.spec().await?)?;
    Ok(ExitNode {
        genesis: info.genesis,
        params,
    })
}

/// The exits already scheduled after `current_epoch`, and the active count when the churn decides
/// the answer (that list can be large, so it is only fetched when someone is ahead).
pub async fn read_exit_queue(
    client: &BeaconClient,
    p: &ExitParams,
    current_epoch: u64,
) -> Result<ExitQueue, BeaconError> {
    let exiting = client
        .validators_by_status("head", &["active_exiting", "active_slashed"])
        .await?;
    let scheduled: Vec<ScheduledExit> = exiting
        .iter()
        .filter(|v| v.validator.exit_epoch != FAR_FUTURE_EPOCH)
        .filter(|v| v.validator.exit_epoch > current_epoch)
        .map(|v| ScheduledExit {
            exit_epoch: v.validator.exit_epoch,
            effective_balance_gwei: v.validator.effective_balance,
        })
        .collect();
    let tail = scheduled.iter().map(|s| s.exit_epoch).max();
    let at_tail = scheduled
        .iter()
        .filter(|s| Some(s.exit_epoch) == tail)
        .count() as u64;
    let mut queue = ExitQueue {
        scheduled,
        ..Default::default()
    };
    let churn_matters = if p.chain.is_electra(current_epoch) {
        !queue.scheduled.is_empty()
    } else {
        at_tail >= p.chain.min_churn
    };
    if churn_matters {
        let active = client.validators_by_status("head", &["active"]).await?;
        queue.active_validators = Some(active.len() as u64);
        queue.total_active_gwei = Some(active.iter().map(|v| v.validator.effective_balance).sum());
    }
    Ok(queue)
}

enum Poll {
    Done(ExitReached),
    Waiting(ExitProgress, String),
}

async fn poll_once(
    client: &BeaconClient,
    node: &ExitNode,
    pubkey: &str,
    opts: &ExitFollowOptions,
    started: Instant,
) -> Result<Poll, ExitFollowError> {
    let p = &node.params;
    let head_slot = check_synced(client, opts.follow.max_sync_distance).await?;
    let current_epoch = head_slot / p.chain.slots_per_epoch.max(1);
    let Some(v) = client.validator("head", pubkey).await? else {
        return Err(ExitFollowError::NotOnChain {
            pubkey: pubkey.to_string(),
        });
    };
    let status =
        ValidatorStatus::parse(&v.status).ok_or_else(|| ExitFollowError::UnknownStatus {
            pubkey: pubkey.to_string(),
            status: v.status.clone(),
        })?;
    use ValidatorStatus::*;
    match status {
        PendingInitialized | PendingQueued => {
            return Err(ExitFollowError::NotActive {
                pubkey: pubkey.to_string(),
                index: v.index,
                status: v.status.clone(),
            });
        }
        ActiveSlashed | ExitedSlashed => {
            return Err(ExitFollowError::Slashed {
                pubkey: pubkey.to_string(),
                index: v.index,
                status: v.status.clone(),
            });
        }
        ActiveOngoing => {
            if let Some(d) = opts.sign_deadline
                && started.elapsed() > d
            {
                return Err(ExitFollowError::NotSigned {
                    pubkey: pubkey.to_string(),
                    index: v.index,
                    secs: started.elapsed().as_secs(),
                });
            }
        }
        s if opts.target.reached(s) => {
            return Ok(Poll::Done(ExitReached {
                index: v.index,
                status: s,
                exit_epoch: v.validator.exit_epoch,
                withdrawable_epoch: v.validator.withdrawable_epoch,
            }));
        }
        _ => {}
    }
    let queue = if v.validator.exit_epoch == FAR_FUTURE_EPOCH {
        read_exit_queue(client, p, current_epoch).await?
    } else {
        ExitQueue::default()
    };
    let finalized_epoch = client.finality("head").await?.finalized.epoch;
    let now = ChainNow {
        current_epoch,
        finalized_epoch,
        genesis_time: node.genesis.genesis_time,
    };
    let eta = estimate_exit(p, &now, &v, &queue, SIGNING_EPOCHS);
    Ok(Poll::Waiting(
        ExitProgress {
            status: Some(status),
            index: Some(v.index),
            eta: Some(eta),
            retrying: None,
        },
        status.as_str().to_string(),
    ))
}

/// Checks the node, then polls `pubkey` until it reaches `opts.target`; `on_progress` sees every
/// poll. Call it after the exit was requested (the `active_ongoing` wait counts toward
/// `sign_deadline` from the start).
pub async fn follow_exit(
    client: &BeaconClient,
    profile: &NetworkProfile,
    pubkey: &str,
    opts: ExitFollowOptions,
    mut on_progress: impl FnMut(&ExitProgress),
) -> Result<ExitReached, ExitFollowError> {
    let pubkey = pubkey.to_ascii_lowercase();
    let started = Instant::now();
    let f = opts.follow;
    let outage = |secs: u64, last_error: String| ExitFollowError::Outage {
        url: client.display_url(),
        secs,
        last_error,
    };
    let retrying = |msg: String| ExitProgress {
        status: None,
        index: None,
        eta: None,
        retrying: Some(msg),
    };
    let node = loop {
        match exit_node(client, profile, f.max_sync_distance).await {
            Ok(n) => break n,
            Err(e) => {
                // The first syncing answer is a refusal (wrong node to ask); transport errors wait.
                let Some(msg) = e.transient().filter(|_| {
                    !matches!(e, ExitFollowError::Node(ActivationError::Syncing { .. }))
                }) else {
                    return Err(e);
                };
                if f.outage_limit.is_some_and(|l| started.elapsed() > l) {
                    return Err(outage(started.elapsed().as_secs(), msg));
                }
                on_progress(&retrying(msg));
                tokio::time::sleep(f.poll).await;
            }
        }
    };
    let mut last_ok = Instant::now();
    let mut backoff = f.poll;
    let mut last_status: String;
    loop {
        match poll_once(client, &node, &pubkey, &opts, started).await {
            Ok(Poll::Done(r)) => return Ok(r),
            Ok(Poll::Waiting(progress, label)) => {
                last_ok = Instant::now();
                backoff = f.poll;
                last_status = label;
                on_progress(&progress);
            }
            Err(e) => {
                let Some(msg) = e.transient() else {
                    return Err(e);
                };
                if f.outage_limit.is_some_and(|l| last_ok.elapsed() > l) {
                    return Err(outage(last_ok.elapsed().as_secs(), msg));
                }
                on_progress(&retrying(format!(
                    "{msg}; retrying in {} s",
                    backoff.as_secs_f32()
                )));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(f.max_backoff);
                continue;
            }
        }
        if let Some(d) = f.deadline
            && started.elapsed() > d
        {
            return Err(ExitFollowError::Deadline {
                pubkey: pubkey.clone(),
                target: opts.target.name(),
                secs: started.elapsed().as_secs(),
                last_status,
            });
        }
        tokio::time::sleep(f.poll).await;
    }
}
