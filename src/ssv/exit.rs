//! The exit request: asks SSVNetwork to exit validators of the owner (`exitValidator`, or
//! `bulkExitValidator` for several of one cluster). The contract call is only a signal: the
//! cluster's SSV nodes see `ValidatorExited` and sign the voluntary exit with their key shares, so
//! the call is refused unless the beacon chain would accept that exit now (validator active, no
//! exit scheduled, active for `SHARD_COMMITTEE_PERIOD`) and unless the validator is this owner's.
//!
//! Sending goes through the one send path, journaled in every named validator's state file
//! (`journal::validator_dir`) before broadcast. A rerun resumes a recorded transaction instead of
//! signing a new one, and a validator whose `ValidatorExited` is already on chain is not asked
//! again, so a crash at any point sends nothing twice. A dry run is this same code on a fork.

use std::{collections::HashMap, fmt, path::Path, path::PathBuf};

use alloy::{
    consensus::{Transaction, TxEnvelope},
    eips::{BlockNumberOrTag, Decodable2718},
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::types::{Filter, Log, TransactionRequest},
    sol_types::{SolCall, SolEvent},
};
use serde::Serialize;

use crate::{
    beacon::{
        activation::check_synced,
        client::{BeaconClient, BeaconError},
        eta::ChainNow,
        exit::{ExitFollowError, ExitNode, SIGNING_EPOCHS, read_exit_queue},
        exit_eta::{ExitEta, ExitQueue, Exitability, estimate_exit, exitability},
        types::ValidatorInfo,
    },
    chain::{
        Chain, ChainError, Sender,
        contracts::SSVNetwork,
        logs::Flow,
        send::{outbox::Outbox, resume, send},
    },
    journal::{ExitRecord, JournalError, StateFile, TxRecord, TxStatus, now_secs, validator_dir},
};

/// Validators per `bulkExitValidator` (keeps one transaction's gas and calldata modest).
pub const MAX_BULK: usize = 50;

/// Which validators to exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These (one or several; each must be the owner's).
    Validators(Vec<[u8; 48]>),
    /// Every validator of the owner's cluster on these operators.
    Cluster(Vec<u64>),
}

/// What to exit and where the journals are.
#[derive(Debug, Clone)]
pub struct ExitRequest {
    /// The validators.
    pub selection: Selection,
    /// With [`Selection::Validators`]: the cluster they must be in (else each one's own).
    pub operator_ids: Option<Vec<u64>>,
    /// Root of the state files.
    pub state_root: PathBuf,
}

/// What the owner's SSVNetwork events say about one validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// Operators of its latest registration.
    pub operator_ids: Vec<u64>,
    /// Block of that `ValidatorAdded`.
    pub added_block: u64,
    /// Removed since.
    pub removed: bool,
    /// A `ValidatorExited` since that registration: transaction and block.
    pub exit_requested: Option<(B256, u64)>,
}

/// Why a validator is not exited; nothing is sent while any of these stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    /// SSVNetwork has no such validator for this owner.
    NotRegistered {
        /// Validator.
        pubkey: String,
        /// The owner asked about.
        owner: Address,
    },
    /// It was registered by this owner, then removed.
    Removed {
        /// Validator.
        pubkey: String,
        /// The owner.
        owner: Address,
    },
    /// It is in another cluster than the one named.
    OtherCluster {
        /// Validator.
        pubkey: String,
        /// Its operators.
        operator_ids: Vec<u64>,
        /// The operators named.
        wanted: Vec<u64>,
    },
    /// The beacon chain does not know it.
    NotOnBeaconChain {
        /// Validator.
        pubkey: String,
    },
    /// Not active yet.
    NotActive {
        /// Validator.
        pubkey: String,
        /// Beacon status.
        status: String,
    },
    /// Active, but not long enough for a voluntary exit.
    TooYoung {
        /// Validator.
        pubkey: String,
        /// Activation epoch.
        activation_epoch: u64,
        /// First epoch its exit is valid.
        eligible_epoch: u64,
        /// Seconds until then.
        seconds: u64,
    },
    /// An exit is already scheduled or done on the beacon chain.
    AlreadyExiting {
        /// Validator.
        pubkey: String,
        /// Beacon status.
        status: String,
        /// Exit epoch.
        exit_epoch: u64,
    },
    /// Slashed: its exit is forced.
    Slashed {
        /// Validator.
        pubkey: String,
        /// Beacon status.
        status: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRegistered { pubkey, owner } => write!(
                f,
                "{pubkey}: not registered on SSVNetwork by {owner}; only the account that registered a validator can exit it (run with that account's key)"
            ),
            Self::Removed { pubkey, owner } => write!(
                f,
                "{pubkey}: was removed from SSV by {owner}; its operators no longer hold it, so SSV cannot exit it (sign the voluntary exit with the validator key instead)"
            ),
            Self::OtherCluster {
                pubkey,
                operator_ids,
                wanted,
            } => write!(
                f,
                "{pubkey}: is in the cluster of operators {operator_ids:?}, not {wanted:?}"
            ),
            Self::NotOnBeaconChain { pubkey } => write!(
                f,
                "{pubkey}: not on the beacon chain yet (deposit not processed); a validator can only exit once it is active"
            ),
            Self::NotActive { pubkey, status } => write!(
                f,
                "{pubkey}: is `{status}`, not active; a validator can only exit once it is active (follow it with `ssv-agent activation`)"
            ),
            Self::TooYoung {
                pubkey,
                activation_epoch,
                eligible_epoch,
                seconds,
            } => write!(
                f,
                "{pubkey}: active since epoch {activation_epoch}; the beacon chain accepts its voluntary exit from epoch {eligible_epoch} (SHARD_COMMITTEE_PERIOD), in about {seconds} s; run exit again then"
            ),
            Self::AlreadyExiting {
                pubkey,
                status,
                exit_epoch,
            } => write!(
                f,
                "{pubkey}: already exiting (`{status}`, exit epoch {exit_epoch}); nothing to do"
            ),
            Self::Slashed { pubkey, status } => write!(
                f,
                "{pubkey}: is `{status}` (slashed); its exit is forced and already scheduled"
            ),
        }
    }
}

/// Why the exit request did not go out.
#[derive(Debug, thiserror::Error)]
pub enum ExitError {
    /// One or more validators cannot be exited; nothing was sent.
    #[error("refusing to exit, nothing sent:\n  {}", join(refusals))]
    Refused {
        /// Every reason.
        refusals: Vec<Refusal>,
    },
    /// `--all` on a cluster without validators.
    #[error("{owner} has no registered validator in the cluster of operators {operator_ids:?}")]
    EmptyCluster {
        /// Owner.
        owner: Address,
        /// Operators.
        operator_ids: Vec<u64>,
    },
    /// Registered (the view says so) but no `ValidatorAdded` names its operators.
    #[error(
        "{pubkey} is registered by {owner} but no ValidatorAdded event was found from block {from}; check rpc.url serves logs that far back"
    )]
    NoRegistrationEvent {
        /// Validator.
        pubkey: String,
        /// Owner.
        owner: Address,
        /// First block scanned.
        from: u64,
    },
    /// A mined exit transaction without the expected `ValidatorExited` events.
    #[error("transaction {tx_hash} was mined without ValidatorExited for {missing:?}")]
    NoEvent {
        /// The transaction.
        tx_hash: B256,
        /// Validators without an event.
        missing: Vec<String>,
    },
    /// The chain (reads, simulation, sending).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A state file.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The beacon node is unusable.
    #[error(transparent)]
    Node(#[from] ExitFollowError),
    /// A Beacon API call.
    #[error(transparent)]
    Beacon(#[from] BeaconError),
}

fn join(r: &[Refusal]) -> String {
    r.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// What happened to one validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Asked now.
    Sent {
        /// The transaction.
        tx_hash: B256,
    },
    /// A transaction recorded by an earlier run, followed to its receipt (nothing new signed).
    Resumed {
        /// The transaction.
        tx_hash: B256,
    },
    /// Its `ValidatorExited` was already on chain; nothing sent.
    AlreadyRequested {
        /// The transaction that asked.
        tx_hash: B256,
        /// Its block.
        block: u64,
    },
    /// `--all` only: already exiting or exited on the beacon chain.
    Skipped {
        /// Beacon status.
        status: String,
    },
}

/// One validator of the request.
#[derive(Debug, Clone, Serialize)]
pub struct ExitedValidator {
    /// 0x pubkey.
    pub pubkey: String,
    /// Its cluster's operators.
    pub operator_ids: Vec<u64>,
    /// Beacon index.
    pub validator_index: Option<u64>,
    /// What happened (`outcome` and its fields, flattened into the validator's JSON).
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Its state folder.
    pub state_dir: PathBuf,
    /// Exit ETA at request time (`None` when skipped).
    #[serde(skip)]
    pub eta: Option<ExitEta>,
}

/// A transaction of the request.
#[derive(Debug, Clone, Serialize)]
pub struct ExitTx {
    /// `exit` or `bulk_exit`.
    pub kind: String,
    /// Hash (on the fork in a dry run).
    pub tx_hash: B256,
    /// Status.
    pub status: TxStatus,
    /// Block.
    pub block: Option<u64>,
    /// The validators it asks to exit.
    pub pubkeys: Vec<String>,
}

/// What the cluster's operators must do for the exits to happen.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorDuty {
    /// The cluster's operators.
    pub operator_ids: Vec<u64>,
    /// Partial signatures needed.
    pub threshold: usize,
    /// The instruction, in words.
    pub instruction: String,
}

/// The request's result.
#[derive(Debug, Clone, Serialize)]
pub struct ExitReport {
    /// The owner.
    pub owner: Address,
    /// Every validator, in request order.
    pub validators: Vec<ExitedValidator>,
    /// Every transaction sent or resumed.
    pub transactions: Vec<ExitTx>,
    /// Per cluster: what its operators must do.
    pub operators: Vec<OperatorDuty>,
    /// A dry run on a fork.
    pub rehearsal: bool,
}

/// The owner's validators and their exit requests, from one scan of its `ValidatorAdded`,
/// `ValidatorRemoved` and `ValidatorExited` events (chronological).
pub async fn owner_history(
    chain: &Chain,
    owner: Address,
) -> Result<HashMap<[u8; 48], History>, ChainError> {
    let head = chain.head().await?;
    let from = chain.profile().registry_sync_offset;
    let filter = Filter::new()
        .address(chain.profile().ssv_network)
        .event_signature(vec![
            SSVNetwork::ValidatorAdded::SIGNATURE_HASH,
            SSVNetwork::ValidatorRemoved::SIGNATURE_HASH,
            SSVNetwork::ValidatorExited::SIGNATURE_HASH,
        ])
        .topic1(owner.into_word());
    let mut out: HashMap<[u8; 48], History> = HashMap::new();
    chain
        .log_scanner()
        .scan_forward(&filter, from, head, |logs| {
            for log in logs {
                apply_event(&mut out, log);
            }
            Flow::Continue
        })
        .await?;
    Ok(out)
}

fn apply_event(out: &mut HashMap<[u8; 48], History>, log: &Log) {
    let key = |pk: &Bytes| <[u8; 48]>::try_from(pk.as_ref()).ok();
    let block = log.block_number.unwrap_or(0);
    if let Ok(e) = SSVNetwork::ValidatorAdded::decode_log(&log.inner) {
        if let Some(k) = key(&e.publicKey) {
            out.insert(
                k,
                History {
                    operator_ids: e.data.operatorIds,
                    added_block: block,
                    removed: false,
                    exit_requested: None,
                },
            );
        }
    } else if let Ok(e) = SSVNetwork::ValidatorRemoved::decode_log(&log.inner) {
        if let Some(h) = key(&e.publicKey).and_then(|k| out.get_mut(&k)) {
            h.removed = true;
        }
    } else if let Ok(e) = SSVNetwork::ValidatorExited::decode_log(&log.inner)
        && let Some(h) = key(&e.publicKey).and_then(|k| out.get_mut(&k))
        && !h.removed
        && h.exit_requested.is_none()
    {
        h.exit_requested = Some((log.transaction_hash.unwrap_or_default(), block));
    }
}

/// One validator being worked on.
struct Target {
    pubkey: [u8; 48],
    hex: String,
    operator_ids: Vec<u64>,
    state: StateFile,
    index: Option<u64>,
    eta: Option<ExitEta>,
    outcome: Option<Outcome>,
}

/// A validator picked for the request and its cluster's operators.
type Chosen = ([u8; 48], Vec<u64>);

/// Resolves the selection against the owner's history: the validators to work on, or refusals.
fn resolve(
    owner: Address,
    history: &HashMap<[u8; 48], History>,
    selection: &Selection,
    wanted: Option<&[u64]>,
) -> Result<Vec<Chosen>, ExitError> {
    let hex_of = |pk: &[u8; 48]| format!("0x{}", hex::encode(pk));
    match selection {
        Selection::Cluster(ids) => {
            let mut ids = ids.clone();
            ids.sort_unstable();
            let mut found: Vec<(&[u8; 48], &History)> = history
                .iter()
                .filter(|(_, h)| h.operator_ids == ids && !h.removed)
                .collect();
            found.sort_by_key(|(pk, h)| (h.added_block, **pk));
            if found.is_empty() {
                return Err(ExitError::EmptyCluster {
                    owner,
                    operator_ids: ids,
                });
            }
            Ok(found
                .into_iter()
                .map(|(pk, h)| (*pk, h.operator_ids.clone()))
                .collect())
        }
        Selection::Validators(pks) => {
            let mut refusals = Vec::new();
            let mut out = Vec::new();
            for pk in pks {
                if out.iter().any(|(p, _)| p == pk) {
                    continue;
                }
                let pubkey = hex_of(pk);
                match history.get(pk) {
                    None => refusals.push(Refusal::NotRegistered { pubkey, owner }),
                    Some(h) if h.removed => refusals.push(Refusal::Removed { pubkey, owner }),
                    Some(h) if wanted.is_some_and(|w| w != h.operator_ids.as_slice()) => refusals
                        .push(Refusal::OtherCluster {
                            pubkey,
                            operator_ids: h.operator_ids.clone(),
                            wanted: wanted.unwrap_or_default().to_vec(),
                        }),
                    Some(h) => out.push((*pk, h.operator_ids.clone())),
                }
            }
            if refusals.is_empty() {
                Ok(out)
            } else {
                Err(ExitError::Refused { refusals })
            }
        }
    }
}

/// The beacon verdict on one validator that has neither a journaled nor an on-chain request.
enum Verdict {
    Go,
    Skip(String),
    Refuse(Refusal),
}

fn judge(
    node: &ExitNode,
    current_epoch: u64,
    pubkey: &str,
    v: Option<&ValidatorInfo>,
    cluster_wide: bool,
) -> Verdict {
    let pubkey = pubkey.to_string();
    match exitability(&node.params, current_epoch, v) {
        Exitability::Ready => Verdict::Go,
        Exitability::NotOnChain => Verdict::Refuse(Refusal::NotOnBeaconChain { pubkey }),
        Exitability::Pending { status } => Verdict::Refuse(Refusal::NotActive { pubkey, status }),
        Exitability::TooYoung {
            activation_epoch,
            eligible_epoch,
        } => Verdict::Refuse(Refusal::TooYoung {
            pubkey,
            activation_epoch,
            eligible_epoch,
            seconds: (eligible_epoch - current_epoch)
                .saturating_mul(node.params.chain.epoch_secs()),
        }),
        // Asking for every validator of a cluster must not fail on the ones already gone.
        Exitability::AlreadyExiting { status, .. } | Exitability::Slashed { status }
            if cluster_wide =>
        {
            Verdict::Skip(status)
        }
        Exitability::AlreadyExiting { status, exit_epoch } => {
            Verdict::Refuse(Refusal::AlreadyExiting {
                pubkey,
                status,
                exit_epoch,
            })
        }
        Exitability::Slashed { status } => Verdict::Refuse(Refusal::Slashed { pubkey, status }),
    }
}

/// Partial signatures a cluster of `n` operators needs (3f+1 operators tolerate f faults):
/// `n - (n - 1) / 3`.
pub fn threshold(n: usize) -> usize {
    n - n.saturating_sub(1) / 3
}

/// The words for what a cluster's operators must do.
pub fn operator_duty(operator_ids: &[u64], ssv_network: Address) -> OperatorDuty {
    let t = threshold(operator_ids.len());
    OperatorDuty {
        operator_ids: operator_ids.to_vec(),
        threshold: t,
        instruction: format!(
            "operators {operator_ids:?}: each one's SSV node must see ValidatorExited on SSVNetwork \
             {ssv_network} and sign the validator's voluntary exit with its key share; {t} of {} \
             must do so, and their nodes broadcast the combined exit to the beacon chain. Nothing \
             else is needed from the owner; if the validator is still active_ongoing a few epochs \
             from now, contact these operators.",
            operator_ids.len()
        ),
    }
}

/// Requests the exits: checks every validator (ownership, cluster, beacon status), refuses before
/// sending anything if one fails, resumes journaled transactions, then sends one transaction per
/// cluster (`bulkExitValidator` for several). `open` opens a validator's state file (the real one,
/// or a dry run's scratch copy).
pub async fn request_exits(
    chain: &Chain,
    beacon: &BeaconClient,
    node: &ExitNode,
    req: &ExitRequest,
    mut open: impl FnMut(&Path) -> Result<StateFile, JournalError>,
) -> Result<ExitReport, ExitError> {
    let owner = chain
        .sender()
        .address()
        .ok_or(ChainError::NoSigner("requesting an exit"))?;
    let history = owner_history(chain, owner).await?;
    let wanted = req.operator_ids.as_ref().map(|ids| {
        let mut ids = ids.clone();
        ids.sort_unstable();
        ids
    });
    let chosen = resolve(owner, &history, &req.selection, wanted.as_deref())?;
    let cluster_wide = matches!(req.selection, Selection::Cluster(_));

    let head_slot = check_synced(beacon, 8)
        .await
        .map_err(ExitFollowError::from)?;
    let current_epoch = head_slot / node.params.chain.slots_per_epoch.max(1);
    let now = ChainNow {
        current_epoch,
        finalized_epoch: beacon.finality("head").await?.finalized.epoch,
        genesis_time: node.genesis.genesis_time,
    };
    // The queue only feeds the ETA: a node that keeps failing that (large) query leaves the ETA
    // unknown rather than stopping an exit the checks allow.
    let queue: Option<ExitQueue> = match read_exit_queue(beacon, &node.params, current_epoch).await
    {
        Ok(queue) => Some(queue),
        Err(e) if e.is_transient() => {
            tracing::warn!(error = %e, "exit queue unreadable; no ETA this run");
            None
        }
        Err(e) => return Err(e.into()),
    };

    let mut targets = Vec::with_capacity(chosen.len());
    let mut refusals = Vec::new();
    for (pubkey, operator_ids) in chosen {
        let hex = format!("0x{}", hex::encode(pubkey));
        let dir = validator_dir(&req.state_root, &hex)?;
        let state = open(&dir)?;
        let v = beacon.validator("head", &hex).await?;
        let mut t = Target {
            pubkey,
            hex: hex.clone(),
            operator_ids,
            state,
            index: v.as_ref().map(|v| v.index),
            eta: v
                .as_ref()
                .zip(queue.as_ref())
                .map(|(v, queue)| estimate_exit(&node.params, &now, v, queue, SIGNING_EPOCHS)),
            outcome: None,
        };
        let journaled = t.state.get().exit.as_ref().and_then(|e| e.tx.clone());
        let on_chain = history.get(&pubkey).and_then(|h| h.exit_requested);
        if journaled.is_none() {
            if let Some((tx_hash, block)) = on_chain {
                t.outcome = Some(Outcome::AlreadyRequested { tx_hash, block });
            } else {
                match judge(node, current_epoch, &hex, v.as_ref(), cluster_wide) {
                    Verdict::Go => {}
                    Verdict::Skip(status) => t.outcome = Some(Outcome::Skipped { status }),
                    Verdict::Refuse(r) => refusals.push(r),
                }
            }
        }
        targets.push(t);
    }
    if !refusals.is_empty() {
        return Err(ExitError::Refused { refusals });
    }

    let mut transactions = Vec::new();
    adopt_unmined(chain, owner, &mut targets).await?;
    resume_journaled(chain, &mut targets, &mut transactions).await?;
    note_found_on_chain(&mut targets)?;
    send_new(chain, &mut targets, &mut transactions).await?;

    let mut clusters: Vec<Vec<u64>> = Vec::new();
    for t in &targets {
        if !clusters.contains(&t.operator_ids) {
            clusters.push(t.operator_ids.clone());
        }
    }
    let ssv_network = chain.profile().ssv_network;
    Ok(ExitReport {
        owner,
        validators: targets
            .into_iter()
            .map(|t| ExitedValidator {
                pubkey: t.hex,
                operator_ids: t.operator_ids,
                validator_index: t.index,
                outcome: t.outcome.unwrap_or(Outcome::Skipped {
                    status: "unknown".into(),
                }),
                state_dir: t
                    .state
                    .path()
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
                eta: t.eta,
            })
            .collect(),
        transactions,
        operators: clusters
            .iter()
            .map(|ids| operator_duty(ids, ssv_network))
            .collect(),
        rehearsal: matches!(chain.sender(), Sender::Impersonated(_)),
    })
}

/// Writes `record` into the exit record of every target named by `pubkeys`.
fn journal_tx(
    targets: &mut [Target],
    pubkeys: &[String],
    operator_ids: &[u64],
    record: &TxRecord,
) -> Result<(), JournalError> {
    for t in targets.iter_mut().filter(|t| pubkeys.contains(&t.hex)) {
        t.state.update(|s| {
            let prev = s.exit.take();
            s.exit = Some(ExitRecord {
                tx: Some(record.clone()),
                pubkeys: pubkeys.to_vec(),
                operator_ids: operator_ids.to_vec(),
                block: record.block,
                updated_at: now_secs(),
                ..prev.unwrap_or(ExitRecord {
                    tx: None,
                    pubkeys: Vec::new(),
                    operator_ids: Vec::new(),
                    block: None,
                    status: None,
                    validator_index: None,
                    exit_epoch: None,
                    withdrawable_epoch: None,
                    updated_at: 0,
                })
            });
        })?;
    }
    Ok(())
}

/// Exit transactions this agent signed for `owner` that are not mined yet, from the account's
/// outbox: the validators each asks to exit, its operators, and a record to resume it with.
async fn unmined_exits(
    chain: &Chain,
    owner: Address,
) -> Result<Vec<(TxRecord, Vec<String>, Vec<u64>)>, ChainError> {
    let latest = chain
        .provider()
        .get_transaction_count(owner)
        .block_id(BlockNumberOrTag::Latest.into())
        .await
        .map_err(chain.rpc_err("eth_getTransactionCount(latest)"))?;
    let entries = Outbox::open(chain, owner).await?.entries().to_vec();
    let hex_of = |b: &Bytes| format!("0x{}", hex::encode(b));
    let mut out = Vec::new();
    for e in entries.into_iter().filter(|e| e.nonce >= latest) {
        let Ok(env) = TxEnvelope::decode_2718(&mut e.raw_tx.as_ref()) else {
            continue;
        };
        let input = env.input();
        let (pubkeys, ids) = if let Ok(c) = SSVNetwork::exitValidatorCall::abi_decode(input) {
            (vec![hex_of(&c.publicKey)], c.operatorIds)
        } else if let Ok(c) = SSVNetwork::bulkExitValidatorCall::abi_decode(input) {
            (c.publicKeys.iter().map(hex_of).collect(), c.operatorIds)
        } else {
            continue;
        };
        let record = TxRecord {
            kind: e.kind.clone(),
            status: TxStatus::Signed,
            chain_id: chain.profile().chain_id,
            from: owner,
            to: chain.profile().ssv_network,
            nonce: e.nonce,
            value: U256::ZERO,
            tx_hash: e.tx_hash,
            raw_tx: e.raw_tx.clone(),
            block: None,
            updated_at: now_secs(),
            replaced: e.replaced.clone(),
        };
        out.push((record, pubkeys, ids));
    }
    Ok(out)
}

/// A bulk exit is journaled in each of its validators' state files one after another; a crash
/// between two of those writes leaves a validator whose file lacks the record. Its transaction is
/// still in the account's outbox, so it is adopted from there instead of being asked again.
async fn adopt_unmined(
    chain: &Chain,
    owner: Address,
    targets: &mut [Target],
) -> Result<(), ExitError> {
    if !matches!(chain.sender(), Sender::Local(_)) {
        return Ok(());
    }
    let orphans = |t: &Target| t.outcome.is_none() && t.state.get().exit.is_none();
    if !targets.iter().any(orphans) {
        return Ok(());
    }
    for (record, pubkeys, ids) in unmined_exits(chain, owner).await? {
        let adopt: Vec<String> = targets
            .iter()
            .filter(|t| orphans(t) && pubkeys.contains(&t.hex))
            .map(|t| t.hex.clone())
            .collect();
        if !adopt.is_empty() {
            tracing::warn!(tx = %record.tx_hash, validators = ?adopt,
                "an exit transaction signed by an earlier run is not in these state files; resuming it");
            // Only the files that lack it: the others hold the fresher record.
            for t in targets.iter_mut().filter(|t| adopt.contains(&t.hex)) {
                journal_tx(std::slice::from_mut(t), &pubkeys, &ids, &record)?;
            }
        }
    }
    Ok(())
}

/// Follows every transaction an earlier run journaled (each once, whichever state files hold it).
async fn resume_journaled(
    chain: &Chain,
    targets: &mut [Target],
    transactions: &mut Vec<ExitTx>,
) -> Result<(), ExitError> {
    let mut records: Vec<(TxRecord, Vec<String>, Vec<u64>)> = Vec::new();
    for t in targets.iter() {
        if let Some(e) = t.state.get().exit.as_ref()
            && let Some(tx) = &e.tx
            && !records.iter().any(|(r, _, _)| r.tx_hash == tx.tx_hash)
        {
            records.push((tx.clone(), e.pubkeys.clone(), e.operator_ids.clone()));
        }
    }
    for (record, pubkeys, ids) in records {
        let receipt = if record.status == TxStatus::Confirmed {
            None
        } else {
            Some(resume(chain, &record, |r| journal_tx(targets, &pubkeys, &ids, r)).await?)
        };
        let block = receipt
            .as_ref()
            .and_then(|r| r.block_number)
            .or(record.block);
        for t in targets.iter_mut().filter(|t| pubkeys.contains(&t.hex)) {
            t.outcome = Some(Outcome::Resumed {
                tx_hash: record.tx_hash,
            });
        }
        transactions.push(ExitTx {
            kind: record.kind.clone(),
            tx_hash: record.tx_hash,
            status: TxStatus::Confirmed,
            block,
            pubkeys,
        });
    }
    Ok(())
}

/// Records in the state file a request found on chain but not in the journal.
fn note_found_on_chain(targets: &mut [Target]) -> Result<(), JournalError> {
    for t in targets.iter_mut() {
        if let Some(Outcome::AlreadyRequested { tx_hash, block }) = t.outcome
            && t.state.get().exit.is_none()
        {
            let (hex, ids) = (t.hex.clone(), t.operator_ids.clone());
            t.state.update(|s| {
                s.exit = Some(ExitRecord {
                    tx: None,
                    pubkeys: vec![hex],
                    operator_ids: ids,
                    block: Some(block),
                    status: None,
                    validator_index: None,
                    exit_epoch: None,
                    withdrawable_epoch: None,
                    updated_at: now_secs(),
                });
                s.note(format!(
                    "exit already requested on chain in {tx_hash} (block {block}); nothing sent"
                ));
            })?;
        }
    }
    Ok(())
}

/// One transaction per cluster (and per [`MAX_BULK`] validators) for the targets still to ask.
async fn send_new(
    chain: &Chain,
    targets: &mut [Target],
    transactions: &mut Vec<ExitTx>,
) -> Result<(), ExitError> {
    let mut groups: Vec<(Vec<u64>, Vec<usize>)> = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        if t.outcome.is_some() {
            continue;
        }
        match groups
            .iter_mut()
            .find(|(ids, g)| *ids == t.operator_ids && g.len() < MAX_BULK)
        {
            Some((_, g)) => g.push(i),
            None => groups.push((t.operator_ids.clone(), vec![i])),
        }
    }
    let net = chain.profile().ssv_network;
    for (ids, members) in groups {
        let keys: Vec<Bytes> = members
            .iter()
            .map(|&i| Bytes::copy_from_slice(&targets[i].pubkey))
            .collect();
        let pubkeys: Vec<String> = members.iter().map(|&i| targets[i].hex.clone()).collect();
        let (kind, input) = if keys.len() == 1 {
            (
                "exit",
                SSVNetwork::exitValidatorCall {
                    publicKey: keys[0].clone(),
                    operatorIds: ids.clone(),
                }
                .abi_encode(),
            )
        } else {
            (
                "bulk_exit",
                SSVNetwork::bulkExitValidatorCall {
                    publicKeys: keys,
                    operatorIds: ids.clone(),
                }
                .abi_encode(),
            )
        };
        let tx = TransactionRequest::default().with_to(net).with_input(input);
        let (record, receipt) =
            send(chain, kind, tx, |r| journal_tx(targets, &pubkeys, &ids, r)).await?;
        check_events(receipt.inner.logs(), &pubkeys, record.tx_hash)?;
        for &i in &members {
            targets[i].outcome = Some(Outcome::Sent {
                tx_hash: record.tx_hash,
            });
        }
        transactions.push(ExitTx {
            kind: kind.to_string(),
            tx_hash: record.tx_hash,
            status: record.status,
            block: record.block,
            pubkeys,
        });
    }
    Ok(())
}

/// Every asked validator has its `ValidatorExited` in the receipt.
fn check_events(logs: &[Log], pubkeys: &[String], tx_hash: B256) -> Result<(), ExitError> {
    let seen: Vec<String> = logs
        .iter()
        .filter_map(|l| SSVNetwork::ValidatorExited::decode_log(&l.inner).ok())
        .map(|e| format!("0x{}", hex::encode(&e.publicKey)))
        .collect();
    let missing: Vec<String> = pubkeys
        .iter()
        .filter(|p| !seen.contains(p))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ExitError::NoEvent { tx_hash, missing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::{
        eta::ChainParams,
        exit_eta::ExitParams,
        types::{FAR_FUTURE_EPOCH, Genesis, ValidatorFields},
    };
    use alloy::primitives::address;

    const OWNER: Address = address!("00000000000000000000000000000000000000aa");

    fn node() -> ExitNode {
        ExitNode {
            genesis: Genesis {
                genesis_time: 0,
                genesis_validators_root: "0x00".into(),
                genesis_fork_version: [0; 4],
            },
            params: ExitParams {
                chain: ChainParams {
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
                },
                shard_committee_period: 4,
                min_withdrawability_delay: 4,
                capella_fork_epoch: FAR_FUTURE_EPOCH,
                max_withdrawals_per_payload: 16,
            },
        }
    }

    fn info(status: &str, activation: u64, exit: u64) -> ValidatorInfo {
        ValidatorInfo {
            index: 8,
            balance: 32_000_000_000,
            status: status.into(),
            validator: ValidatorFields {
                pubkey: "0x00".into(),
                withdrawal_credentials: "0x00".into(),
                effective_balance: 32_000_000_000,
                slashed: false,
                activation_eligibility_epoch: 1,
                activation_epoch: activation,
                exit_epoch: exit,
                withdrawable_epoch: FAR_FUTURE_EPOCH,
            },
        }
    }

    fn history(ids: &[u64], removed: bool) -> History {
        History {
            operator_ids: ids.to_vec(),
            added_block: 10,
            removed,
            exit_requested: None,
        }
    }

    #[test]
    fn a_pending_validator_is_refused_with_the_words_to_say() {
        let n = node();
        let v = info("pending_queued", 12, FAR_FUTURE_EPOCH);
        let Verdict::Refuse(r) = judge(&n, 10, "0xab", Some(&v), false) else {
            panic!("a pending validator must be refused");
        };
        let text = r.to_string();
        assert!(text.contains("`pending_queued`, not active"), "{text}");
        assert!(text.contains("can only exit once it is active"), "{text}");
        // Even with --all: pending is a refusal, not a skip.
        assert!(matches!(
            judge(&n, 10, "0xab", Some(&v), true),
            Verdict::Refuse(_)
        ));
        let Verdict::Refuse(r) = judge(&n, 10, "0xab", None, false) else {
            panic!("unknown to the beacon chain must be refused");
        };
        assert!(r.to_string().contains("not on the beacon chain"), "{r}");
    }

    #[test]
    fn too_young_says_when_and_already_exiting_says_nothing_to_do() {
        let n = node();
        let v = info("active_ongoing", 8, FAR_FUTURE_EPOCH);
        let Verdict::Refuse(r) = judge(&n, 10, "0xab", Some(&v), false) else {
            panic!("young validator");
        };
        assert_eq!(
            r,
            Refusal::TooYoung {
                pubkey: "0xab".into(),
                activation_epoch: 8,
                eligible_epoch: 12,
                seconds: 16
            }
        );
        assert!(matches!(
            judge(&n, 12, "0xab", Some(&v), false),
            Verdict::Go
        ));
        let v = info("active_exiting", 2, 20);
        let Verdict::Refuse(r) = judge(&n, 12, "0xab", Some(&v), false) else {
            panic!("exiting validator named explicitly is refused");
        };
        assert!(r.to_string().contains("already exiting"), "{r}");
        assert!(matches!(
            judge(&n, 12, "0xab", Some(&v), true),
            Verdict::Skip(s) if s == "active_exiting"
        ));
    }

    #[test]
    fn ownership_and_cluster_are_checked_against_the_owners_events() {
        let a = [1u8; 48];
        let b = [2u8; 48];
        let c = [3u8; 48];
        let mut h = HashMap::new();
        h.insert(a, history(&[1, 2, 3, 4], false));
        h.insert(b, history(&[1, 2, 3, 4], true));
        let err = resolve(
            OWNER,
            &h,
            &Selection::Validators(vec![a, b, c]),
            Some(&[1, 2, 3, 5]),
        )
        .unwrap_err();
        let ExitError::Refused { refusals } = &err else {
            panic!("{err}")
        };
        assert_eq!(refusals.len(), 3, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("not {:?}".replace("{:?}", "[1, 2, 3, 5]").as_str()),
            "{text}"
        );
        assert!(text.contains("was removed from SSV"), "{text}");
        assert!(text.contains("not registered on SSVNetwork by"), "{text}");
        // The cluster selection finds the live ones only, in registration order.
        let got = resolve(OWNER, &h, &Selection::Cluster(vec![4, 3, 2, 1]), None).unwrap();
        assert_eq!(got, vec![(a, vec![1, 2, 3, 4])]);
        assert!(matches!(
            resolve(OWNER, &h, &Selection::Cluster(vec![5, 6, 7, 8]), None),
            Err(ExitError::EmptyCluster { .. })
        ));
        // A repeated pubkey is one validator.
        let got = resolve(OWNER, &h, &Selection::Validators(vec![a, a]), None).unwrap();
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn the_operator_duty_names_the_threshold() {
        let d = operator_duty(&[1, 2, 3, 4], Address::ZERO);
        assert_eq!(d.threshold, 3);
        assert!(d.instruction.contains("3 of 4"), "{}", d.instruction);
        assert!(
            d.instruction.contains("ValidatorExited"),
            "{}",
            d.instruction
        );
    }
}
