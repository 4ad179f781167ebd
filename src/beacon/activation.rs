//! Follows a deposited validator on a beacon node until it is `active_ongoing`: refuses a node that
//! is syncing or on another network, rides out restarts and timeouts with backoff, reports status
//! and ETA on every poll, and stops with a clear error on `exited_*`, `withdrawal_*` or slashing.

use std::time::{Duration, Instant};

use super::client::{BeaconClient, BeaconError};
use super::eta::{ChainNow, ChainParams, Eta, QueueAhead, estimate};
use super::types::{FAR_FUTURE_EPOCH, Genesis, ValidatorInfo, ValidatorStatus};
use crate::network::NetworkProfile;

/// Polling behaviour.
#[derive(Debug, Clone, Copy)]
pub struct FollowOptions {
    /// Pause between polls.
    pub poll: Duration,
    /// Longest pause after repeated failures.
    pub max_backoff: Duration,
    /// Give up after the node has been unusable this long (`None`: never).
    pub outage_limit: Option<Duration>,
    /// Give up after this long overall (`None`: never).
    pub deadline: Option<Duration>,
    /// A node further behind than this many slots counts as syncing.
    pub max_sync_distance: u64,
}

impl Default for FollowOptions {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(12),
            max_backoff: Duration::from_secs(120),
            outage_limit: Some(Duration::from_secs(3600)),
            deadline: None,
            max_sync_distance: 4,
        }
    }
}

/// Why following stopped without an active validator.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// A non-transient API failure (bad URL, unreadable JSON).
    #[error(transparent)]
    Beacon(#[from] BeaconError),
    /// The node is syncing: its view of the validator cannot be trusted yet.
    #[error(
        "beacon node {url} is syncing (head slot {head_slot}, {distance} slots behind); wait until it is synced or use another node"
    )]
    Syncing {
        /// Node URL.
        url: String,
        /// Head slot.
        head_slot: u64,
        /// Sync distance.
        distance: u64,
    },
    /// The node is on another network.
    #[error(
        "beacon node {url} is on another network: {field} is {got}, but the `{network}` profile expects {expected}"
    )]
    WrongNetwork {
        /// Node URL.
        url: String,
        /// Profile name.
        network: String,
        /// What differs (`genesis fork version`, `deposit contract`, `deposit chain id`).
        field: &'static str,
        /// Profile's value.
        expected: String,
        /// Node's value.
        got: String,
    },
    /// The validator left the active set or was slashed.
    #[error(
        "validator {pubkey} (index {index}) is `{status}`: it will not become active_ongoing; {advice}"
    )]
    Ended {
        /// Pubkey.
        pubkey: String,
        /// Index.
        index: u64,
        /// Status.
        status: String,
        /// What it means.
        advice: &'static str,
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
    #[error("validator {pubkey} not active after {secs} s (last status: {last_status})")]
    Deadline {
        /// Pubkey.
        pubkey: String,
        /// Seconds waited.
        secs: u64,
        /// Last status seen.
        last_status: String,
    },
}

/// What one poll saw.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Status, or `None` while the deposit is not yet in the beacon state.
    pub status: Option<ValidatorStatus>,
    /// Validator index once assigned.
    pub index: Option<u64>,
    /// Activation estimate.
    pub eta: Option<Eta>,
    /// A transient problem being retried (node restarting, timeout).
    pub retrying: Option<String>,
}

/// The validator is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activated {
    /// Validator index.
    pub index: u64,
    /// Activation epoch.
    pub activation_epoch: u64,
}

/// What the preflight learned about the node.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// Genesis data.
    pub genesis: Genesis,
    /// Timing and churn constants.
    pub params: ChainParams,
}

/// Checks the node is synced and on the profile's network (genesis fork version, deposit contract).
pub async fn preflight(
    client: &BeaconClient,
    profile: &NetworkProfile,
    max_sync_distance: u64,
) -> Result<NodeInfo, ActivationError> {
    let url = client.display_url();
    let genesis = client.genesis().await?;
    let wrong = |field, expected: String, got: String| ActivationError::WrongNetwork {
        url: url.clone(),
        network: profile.name.clone(),
        field,
        expected,
        got,
    };
    if genesis.genesis_fork_version != profile.genesis_fork_version {
        return Err(wrong(
            "genesis fork version",
            format!("0x{}", hex::encode(profile.genesis_fork_version)),
            format!("0x{}", hex::encode(genesis.genesis_fork_version)),
        ));
    }
    let dc = client.deposit_contract().await?;
    if dc.address != profile.deposit_contract {
        return Err(wrong(
            "deposit contract",
            profile.deposit_contract.to_string(),
            dc.address.to_string(),
        ));
    }
    if dc.chain_id != profile.chain_id {
        return Err(wrong(
            "deposit chain id",
            profile.chain_id.to_string(),
            dc.chain_id.to_string(),
        ));
    }
    check_synced(client, max_sync_distance).await?;
    let params = ChainParams::from_spec(&client.spec().await?)?;
    Ok(NodeInfo { genesis, params })
}

/// The node's head slot, refusing a node that is syncing or further behind than `max_distance`.
pub(crate) async fn check_synced(
    client: &BeaconClient,
    max_distance: u64,
) -> Result<u64, ActivationError> {
    let s = client.syncing().await?;
    if s.is_syncing || s.sync_distance > max_distance {
        return Err(ActivationError::Syncing {
            url: client.display_url(),
            head_slot: s.head_slot,
            distance: s.sync_distance,
        });
    }
    Ok(s.head_slot)
}

/// Validators / deposits ahead of this one, from whatever the node serves.
async fn queue_ahead(
    client: &BeaconClient,
    params: &ChainParams,
    current_epoch: u64,
    pubkey: &str,
    v: Option<&ValidatorInfo>,
) -> Result<QueueAhead, BeaconError> {
    let mut q = QueueAhead::default();
    if params.is_electra(current_epoch) {
        if v.is_none()
            && let Some(pending) = client.pending_deposits("head").await?
        {
            let pos = pending
                .iter()
                .position(|d| d.pubkey.eq_ignore_ascii_case(pubkey))
                .unwrap_or(pending.len());
            q.deposits = pos as u64;
            q.deposit_gwei = pending[..pos].iter().map(|d| d.amount).sum();
        }
        return Ok(q);
    }
    let Some(v) = v else { return Ok(q) };
    if v.validator.activation_epoch != FAR_FUTURE_EPOCH {
        return Ok(q);
    }
    let queued = client
        .validators_by_status("head", &["pending_queued"])
        .await?;
    let mine = (v.validator.activation_eligibility_epoch, v.index);
    q.validators = queued
        .iter()
        .filter(|o| (o.validator.activation_eligibility_epoch, o.index) < mine)
        .count() as u64;
    if q.validators > 0 {
        // Only worth the (possibly large) request when someone is ahead.
        q.active_validators = Some(
            client
                .validators_by_status("head", &["active"])
                .await?
                .len() as u64,
        );
    }
    Ok(q)
}

enum Poll {
    Done(Activated),
    Waiting(Progress, String),
}

async fn poll_once(
    client: &BeaconClient,
    info: &NodeInfo,
    pubkey: &str,
    max_sync_distance: u64,
    deposit_time: u64,
) -> Result<Poll, ActivationError> {
    let head_slot = check_synced(client, max_sync_distance).await?;
    let p = &info.params;
    let current_epoch = head_slot / p.slots_per_epoch.max(1);
    let v = client.validator("head", pubkey).await?;
    let status = match &v {
        None => None,
        Some(v) => Some(ValidatorStatus::parse(&v.status).ok_or_else(|| {
            ActivationError::UnknownStatus {
                pubkey: pubkey.to_string(),
                status: v.status.clone(),
            }
        })?),
    };
    if let (Some(s), Some(v)) = (status, &v) {
        let ended = |advice| ActivationError::Ended {
            pubkey: pubkey.to_string(),
            index: v.index,
            status: s.as_str().to_string(),
            advice,
        };
        match s {
            ValidatorStatus::ActiveOngoing => {
                return Ok(Poll::Done(Activated {
                    index: v.index,
                    activation_epoch: v.validator.activation_epoch,
                }));
            }
            ValidatorStatus::ActiveSlashed | ValidatorStatus::ExitedSlashed => {
                return Err(ended(
                    "it was slashed; check the operators and the SSV cluster now",
                ));
            }
            ValidatorStatus::ActiveExiting => {
                return Err(ended("a voluntary or forced exit is already scheduled"));
            }
            ValidatorStatus::ExitedUnslashed => return Err(ended("it has exited")),
            ValidatorStatus::WithdrawalPossible | ValidatorStatus::WithdrawalDone => {
                return Err(ended("it has exited and is withdrawable"));
            }
            ValidatorStatus::PendingInitialized | ValidatorStatus::PendingQueued => {}
        }
    }
    let finalized_epoch = client.finality("head").await?.finalized.epoch;
    let mut queue = queue_ahead(client, p, current_epoch, pubkey, v.as_ref()).await?;
    queue.deposit_time = Some(deposit_time);
    let now = ChainNow {
        current_epoch,
        finalized_epoch,
        genesis_time: info.genesis.genesis_time,
    };
    let eta = estimate(p, &now, v.as_ref(), &queue);
    let label = status.map_or("not yet in the beacon state".to_string(), |s| {
        s.as_str().to_string()
    });
    Ok(Poll::Waiting(
        Progress {
            status,
            index: v.as_ref().map(|v| v.index),
            eta: Some(eta),
            retrying: None,
        },
        label,
    ))
}

fn transient(e: &ActivationError) -> Option<String> {
    match e {
        ActivationError::Beacon(b) if b.is_transient() => Some(b.to_string()),
        // A node that restarts re-syncs briefly; treat as an outage rather than a refusal.
        ActivationError::Syncing { .. } => Some(e.to_string()),
        _ => None,
    }
}

/// Runs the preflight, then polls until `active_ongoing`; `on_progress` sees every poll.
pub async fn follow(
    client: &BeaconClient,
    profile: &NetworkProfile,
    pubkey: &str,
    opts: FollowOptions,
    mut on_progress: impl FnMut(&Progress),
) -> Result<Activated, ActivationError> {
    let pubkey = pubkey.to_ascii_lowercase();
    let started = Instant::now();
    // Following starts once the deposit is mined, so its eth1 follow distance counts from here (a
    // resumed run starts later: the ETA is then late, never early).
    let deposit_time = crate::journal::now_secs();
    // The first syncing answer is a refusal (wrong node to ask); later ones are outages.
    let info = loop {
        match preflight(client, profile, opts.max_sync_distance).await {
            Ok(i) => break i,
            Err(ActivationError::Beacon(b)) if b.is_transient() => {
                if opts.outage_limit.is_some_and(|l| started.elapsed() > l) {
                    return Err(ActivationError::Outage {
                        url: client.display_url(),
                        secs: started.elapsed().as_secs(),
                        last_error: b.to_string(),
                    });
                }
                on_progress(&Progress {
                    status: None,
                    index: None,
                    eta: None,
                    retrying: Some(b.to_string()),
                });
                tokio::time::sleep(opts.poll).await;
            }
            Err(e) => return Err(e),
        }
    };
    let mut last_ok = Instant::now();
    let mut backoff = opts.poll;
    let mut last_status: String;
    loop {
        match poll_once(client, &info, &pubkey, opts.max_sync_distance, deposit_time).await {
            Ok(Poll::Done(a)) => return Ok(a),
            Ok(Poll::Waiting(progress, label)) => {
                last_ok = Instant::now();
                backoff = opts.poll;
                last_status = label;
                on_progress(&progress);
            }
            Err(e) => {
                let Some(msg) = transient(&e) else {
                    return Err(e);
                };
                if opts.outage_limit.is_some_and(|l| last_ok.elapsed() > l) {
                    return Err(ActivationError::Outage {
                        url: client.display_url(),
                        secs: last_ok.elapsed().as_secs(),
                        last_error: msg,
                    });
                }
                on_progress(&Progress {
                    status: None,
                    index: None,
                    eta: None,
                    retrying: Some(format!("{msg}; retrying in {} s", backoff.as_secs_f32())),
                });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(opts.max_backoff);
                continue;
            }
        }
        if let Some(d) = opts.deadline
            && started.elapsed() > d
        {
            return Err(ActivationError::Deadline {
                pubkey: pubkey.clone(),
                secs: started.elapsed().as_secs(),
                last_status,
            });
        }
        tokio::time::sleep(opts.poll).await;
    }
}
