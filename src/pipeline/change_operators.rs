//! `change-operators`: move one registered validator to a new operator set without exiting it,
//! as one resumable, journaled flow:
//!
//! ```text
//! reshare (or supplied keyshares) -> verify -> removeValidator (old cluster)
//!   -> wait REMOVAL_WAIT_EPOCHS on the Beacon API head -> registerValidator (new cluster, funded)
//!   -> withdraw the old cluster's balance once it is empty
//! ```
//!
//! Each step asks the chain (not only the journal) whether it is done, so a rerun after a crash
//! at any point repeats no transaction: the transactions go through the one send path
//! (`ssv::actions::send_once`, `ssv::register::register`, `ssv::lifecycle::withdraw`), journaled
//! before broadcast. Everything that can refuse is checked before the removal, the first
//! transaction: after it the validator is offline until the registration lands.
//!
//! The reshare ceremony itself is one step behind [`ReshareCeremony`]: the command takes keyshares
//! made elsewhere (`--keyshares`, e.g. by the Go `ssv-dkg reshare`) or runs a ceremony through that
//! trait. A dry run is this same code on the rehearsal fork; it does not wait the epochs.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes},
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    beacon::client::{BeaconClient, BeaconError},
    chain::{Chain, ChainError, Sender, contracts::SSVNetwork, reads::cluster_id},
    dkg::{initiator::ClientTls, transport::threshold_for},
    journal::{ActionJournal, JournalError, StateFile, now_secs, validator_dir, write_atomic},
    operators::{
        health::{CheckOptions, check_all},
        select::targets,
    },
    rehearsal::Rehearsal,
    ssv::{
        actions::{ActionOutcome, finish_pending, send_once_with},
        cluster::read_cluster,
        keyshares::{KeysharesError, ValidatedKeyshares, load_and_validate},
        lifecycle::{Amount, LifecycleError, withdraw},
        register::{RegisterError, RegisterOptions, check_registration, register},
        validators::{OwnedValidator, owner_validators},
    },
};

/// Epochs to wait between the removal and the registration in the new cluster. The SSV docs'
/// reshare flow says "Remove old Key Shares -> Wait for 2-3 epochs -> Register new Key Shares"
/// (ssvlabs/gitbook-docs, docs/stakers/tools/ssv-dkg-client/
/// change-operator-set-and-reshare-validator-key-shares.md, "Flow of the Ceremony"): the old
/// operators must have processed the `ValidatorRemoved` event and stopped signing before the new
/// ones start, or the two sets could sign conflicting attestations. We take the upper bound, and
/// count whole epochs after the one in which the removal was seen (see [`wait_target`]).
pub const REMOVAL_WAIT_EPOCHS: u64 = 3;

/// The first head epoch at which the new operators may start: `REMOVAL_WAIT_EPOCHS` whole epochs
/// after `seen_epoch` (the head epoch when the removal was confirmed, which is at or after the
/// removal block's epoch), so the wait is never shorter than the docs ask.
pub const fn wait_target(seen_epoch: u64) -> u64 {
    seen_epoch + 1 + REMOVAL_WAIT_EPOCHS
}

/// The steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// New keyshares for the new set: the reshare ceremony, or a supplied file.
    Reshare,
    /// The new keyshares checked offline and against the chain.
    Verify,
    /// `removeValidator` from the old cluster.
    Remove,
    /// The epochs the old operators need to stop.
    Wait,
    /// `registerValidator` into the new cluster, funded.
    Register,
    /// The old cluster's balance withdrawn once it is empty.
    Withdraw,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Self; 6] = [
        Self::Reshare,
        Self::Verify,
        Self::Remove,
        Self::Wait,
        Self::Register,
        Self::Withdraw,
    ];

    /// Its name in output, journal and crash points.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reshare => "reshare",
            Self::Verify => "verify",
            Self::Remove => "remove",
            Self::Wait => "wait",
            Self::Register => "register",
            Self::Withdraw => "withdraw",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a test build may SIGKILL itself (`SSV_AGENT_TEST_KILL_AT=change.<step>` after a step is
/// persisted, `change.remove.signed` between journaling the removal and broadcasting it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKillPoint {
    /// After this step completed.
    After(Step),
    /// The removal signed and journaled, not yet broadcast.
    RemoveSigned,
}

impl std::str::FromStr for ChangeKillPoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("change.")
            .ok_or_else(|| format!("unknown change-operators kill point `{s}`"))?;
        if rest == "remove.signed" {
            return Ok(Self::RemoveSigned);
        }
        Step::ALL
            .into_iter()
            .find(|st| st.name() == rest)
            .map(Self::After)
            .ok_or_else(|| format!("unknown change-operators kill point `{s}`"))
    }
}

fn kill_point(wanted: Option<ChangeKillPoint>, here: ChangeKillPoint) {
    #[cfg(all(unix, feature = "test-hooks"))]
    if wanted == Some(here) {
        eprintln!("test hook: killing the process at {here:?}");
        // SAFETY: kill(2) on our own pid; SIGKILL is what the crash tests simulate.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
    #[cfg(not(all(unix, feature = "test-hooks")))]
    let _ = (wanted, here);
}

/// What a reshare ceremony is asked for. The ceremony itself is `dkg::reshare` (issue 13's
/// initiator work); this flow only needs its `keyshares.json`.
#[derive(Debug, Clone)]
pub struct ReshareJob {
    /// The validator, kept: the new shares interpolate to the same key.
    pub validator_pubkey: [u8; 48],
    /// The owner who signs the reshare message.
    pub owner: Address,
    /// The owner nonce the new keyshares must be signed for (the chain's nonce now).
    pub nonce: u64,
    /// The old cluster's operators.
    pub old_operator_ids: Vec<u64>,
    /// Its threshold: at least this many old operators must take part.
    pub old_threshold: u64,
    /// The new cluster's operators.
    pub new_operator_ids: Vec<u64>,
    /// Every operator of both sets with the endpoint the ping used.
    pub endpoints: Vec<(u64, String)>,
    /// The old ceremony's `proofs.json`, when given.
    pub proofs: Option<PathBuf>,
}

/// A failure of the ceremony behind the seam, cause kept.
pub type CeremonyError = Box<dyn std::error::Error + Send + Sync>;

/// The reshare ceremony as one step: writes ssv-dkg's files for the same validator key with the
/// new operator set under `out_dir` and returns the path of the new `keyshares.json`.
pub trait ReshareCeremony: Send + Sync + std::fmt::Debug {
    /// Runs the ceremony.
    fn reshare<'a>(
        &'a self,
        job: &'a ReshareJob,
        out_dir: &'a Path,
    ) -> BoxFuture<'a, Result<PathBuf, CeremonyError>>;
}

/// Where the new keyshares come from.
#[derive(Debug, Clone)]
pub enum NewShares {
    /// A keyshares file made elsewhere (Go `ssv-dkg reshare`, or `resign` after the nonce moved).
    File(PathBuf),
    /// The reshare ceremony, after pinging the operators of both sets.
    Ceremony(Arc<dyn ReshareCeremony>),
}

/// What to change.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    /// The validator.
    pub pubkey: [u8; 48],
    /// Its cluster now.
    pub old_operator_ids: Vec<u64>,
    /// The cluster to move it to.
    pub new_operator_ids: Vec<u64>,
    /// Where the new keyshares come from.
    pub shares: NewShares,
    /// DKG endpoints of the operators (both sets), for the ceremony's ping.
    pub endpoints: Vec<(u64, Option<String>)>,
    /// Operator TLS trust for the ping.
    pub tls: ClientTls,
    /// The old ceremony's `proofs.json` (for the ceremony).
    pub proofs: Option<PathBuf>,
    /// Funding of the new cluster (the runway policy).
    pub register: RegisterOptions,
    /// Root of the journals.
    pub state_root: PathBuf,
    /// Beacon head polling during the wait.
    pub poll: Duration,
    /// Test builds: where to SIGKILL.
    pub kill_at: Option<ChangeKillPoint>,
}

/// Progress for people and `--json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Progress {
    /// A step began.
    StepStarted {
        /// The step.
        step: Step,
    },
    /// A step finished now.
    StepDone {
        /// The step.
        step: Step,
        /// What it did.
        detail: String,
    },
    /// A step found done (chain or journal) or not needed; nothing sent.
    StepSkipped {
        /// The step.
        step: Step,
        /// Why.
        detail: String,
    },
    /// Dry run: what the real run would do here.
    StepPlanned {
        /// The step.
        step: Step,
        /// What.
        detail: String,
    },
    /// The wait, each time the head epoch moves.
    Waiting {
        /// Head epoch now.
        head_epoch: u64,
        /// First epoch at which the registration may be sent.
        target_epoch: u64,
        /// Seconds left at the chain's slot time.
        secs_left: u64,
    },
}

/// One step's outcome in the report.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The step.
    pub step: Step,
    /// `done`, `skipped` or `planned` (dry run).
    pub status: &'static str,
    /// What happened.
    pub detail: String,
}

/// What the command did.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeReport {
    /// 0x validator key.
    pub pubkey: String,
    /// Owner.
    pub owner: Address,
    /// Old operators.
    pub old_operator_ids: Vec<u64>,
    /// Old cluster key.
    pub old_cluster_id: B256,
    /// New operators.
    pub new_operator_ids: Vec<u64>,
    /// New cluster key.
    pub new_cluster_id: B256,
    /// Each step.
    pub steps: Vec<StepReport>,
    /// Transactions (sent now, or found done).
    pub transactions: Vec<TxReport>,
    /// True on the rehearsal fork.
    pub rehearsal: bool,
}

/// A transaction of the change.
#[derive(Debug, Clone, Serialize)]
pub struct TxReport {
    /// `remove`, `register`, `approve`, `migrate`, `withdraw`.
    pub kind: String,
    /// Its hash.
    pub tx_hash: B256,
    /// Its block.
    pub block: Option<u64>,
    /// Sent by this run (false: an earlier run's, resumed or found).
    pub sent_now: bool,
}

/// Why the change was refused or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// An operator set that is not a cluster.
    #[error("{what} operators {ids:?}: {reason}")]
    BadSet {
        /// "old" or "new".
        what: &'static str,
        /// The ids.
        ids: Vec<u64>,
        /// What is wrong.
        reason: &'static str,
    },
    /// Nothing to change.
    #[error("the new operator set {0:?} is the old one; nothing to change, nothing sent")]
    SameSet(Vec<u64>),
    /// The validator is not where the user says.
    #[error(
        "validator {pubkey} is not registered by {owner} in the cluster of operators {old:?} ({found}); nothing sent"
    )]
    NotInOldCluster {
        /// The validator.
        pubkey: String,
        /// Owner.
        owner: Address,
        /// The cluster given.
        old: Vec<u64>,
        /// Where it is instead.
        found: String,
    },
    /// A journal of another change of this validator.
    #[error(
        "a change of validator {pubkey} from {old:?} to {new:?} is journaled in {dir} and not finished; finish it (rerun with those operators) or move the folder away; nothing sent"
    )]
    OtherChange {
        /// The validator.
        pubkey: String,
        /// Its old ids.
        old: Vec<u64>,
        /// Its new ids.
        new: Vec<u64>,
        /// The journal folder.
        dir: PathBuf,
    },
    /// New operators that do not exist.
    #[error(
        "new operator(s) {ids:?} do not exist on SSVNetwork (never registered or removed); choose others; nothing sent"
    )]
    OperatorsMissing {
        /// The ids.
        ids: Vec<u64>,
    },
    /// Fewer than the old threshold of the old operators answer.
    #[error(
        "only {answered} of the old operators answer the ping, the reshare needs {threshold}: {}; nothing sent",
        describe(missing)
    )]
    TooFewOld {
        /// How many answered.
        answered: usize,
        /// The old threshold.
        threshold: u64,
        /// Who did not, and why.
        missing: Vec<(u64, String)>,
    },
    /// Every new operator must take part in the reshare.
    #[error(
        "new operator(s) do not answer the ping: {}; nothing sent",
        describe(missing)
    )]
    NewMissing {
        /// Who did not, and why.
        missing: Vec<(u64, String)>,
    },
    /// The ceremony failed.
    #[error("the reshare ceremony failed; nothing sent")]
    Ceremony(#[source] CeremonyError),
    /// The new keyshares are not for this change.
    #[error("the new keyshares {path} do not fit this change: {reason}; nothing sent")]
    WrongKeyshares {
        /// File.
        path: PathBuf,
        /// What does not fit.
        reason: String,
    },
    /// The keyshares file itself is bad.
    #[error(transparent)]
    Keyshares(#[from] KeysharesError),
    /// The owner nonce moved since the keyshares were signed.
    #[error(
        "the new keyshares are signed for owner nonce {file_nonce}, but the chain's nonce is now {chain_nonce}: the owner registered another validator since the reshare. Resign them for nonce {chain_nonce} (`ssv-dkg resign` with the new proofs) and rerun with --keyshares; {state}"
    )]
    ResignNeeded {
        /// The keyshares' nonce.
        file_nonce: u64,
        /// The chain's.
        chain_nonce: u64,
        /// Where the validator stands.
        state: &'static str,
    },
    /// The registration checks or sending failed.
    #[error(transparent)]
    Register(Box<RegisterError>),
    /// The withdrawal failed.
    #[error(transparent)]
    Withdraw(Box<LifecycleError>),
    /// The beacon node failed.
    #[error("the beacon node could not tell the head epoch")]
    Beacon(#[from] BeaconError),
    /// The beacon head stopped moving during the wait.
    #[error(
        "the beacon head stayed at epoch {head} for {secs} s while waiting for epoch {target}; the validator is removed from the old cluster: rerun when the beacon node follows the chain again"
    )]
    WaitStalled {
        /// Head epoch.
        head: u64,
        /// Target epoch.
        target: u64,
        /// How long it did not move.
        secs: u64,
    },
    /// Chain failure.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Journal failure.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl From<LifecycleError> for ChangeError {
    fn from(e: LifecycleError) -> Self {
        Self::Withdraw(Box::new(e))
    }
}

impl From<RegisterError> for ChangeError {
    fn from(e: RegisterError) -> Self {
        Self::Register(Box::new(e))
    }
}

fn describe(missing: &[(u64, String)]) -> String {
    missing
        .iter()
        .map(|(id, why)| format!("operator {id} {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn register_err(e: RegisterError, removed: bool) -> ChangeError {
    match e {
        RegisterError::Nonce(n) => ChangeError::ResignNeeded {
            file_nonce: n.file_nonce,
            chain_nonce: n.expected,
            state: if removed {
                "the validator is already removed from its old cluster and stays offline until it is registered"
            } else {
                "nothing was sent"
            },
        },
        other => other.into(),
    }
}

/// The journal of one change: `<root>/changes/<pubkey hex>/change.json` next to its
/// `actions.json` (the removal and the withdrawal) and the new `keyshares.json`. The folder name
/// has no `0x` so it is never taken for the validator's own state folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ChangeRecord {
    pubkey: String,
    owner: Address,
    old_operator_ids: Vec<u64>,
    new_operator_ids: Vec<u64>,
    /// sha256 of the keyshares file in use.
    keyshares_sha256: Option<String>,
    /// Head epoch when the removal was first seen confirmed.
    removal_seen_epoch: Option<u64>,
    /// Steps done: unix seconds and what.
    steps: BTreeMap<Step, (u64, String)>,
    started_at: u64,
}

/// The folder of a validator's change journal under the state root.
pub fn change_dir(root: &Path, pubkey: &[u8; 48]) -> PathBuf {
    root.join("changes").join(hex::encode(pubkey))
}

struct Journal {
    dir: PathBuf,
    actions: ActionJournal,
    record: Option<ChangeRecord>,
}

impl Journal {
    const FILE: &'static str = "change.json";
    const KEYSHARES: &'static str = "keyshares.json";

    fn open(real: &Path, rehearsal: Option<&Rehearsal>) -> Result<Self, JournalError> {
        let (dir, actions) = match rehearsal {
            Some(r) => {
                let scratch = r.scratch_dir(real);
                let a = ActionJournal::open_scratch(real, &scratch)?;
                for f in [Self::FILE, Self::KEYSHARES] {
                    if let Ok(bytes) = std::fs::read(real.join(f)) {
                        write_atomic(&scratch.join(f), &bytes, 0o600)?;
                    }
                }
                (scratch, a)
            }
            None => (real.to_path_buf(), ActionJournal::open(real)?),
        };
        let path = dir.join(Self::FILE);
        let record = match std::fs::read(&path) {
            Ok(b) => Some(
                serde_json::from_slice(&b).map_err(|e| JournalError::Corrupt {
                    path: path.clone(),
                    message: e.to_string(),
                })?,
            ),
            Err(_) => None,
        };
        Ok(Self {
            dir,
            actions,
            record,
        })
    }

    fn save(&self) -> Result<(), JournalError> {
        if let Some(r) = &self.record {
            let json = serde_json::to_vec_pretty(r).expect("change record serialises");
            write_atomic(&self.dir.join(Self::FILE), &json, 0o600)?;
        }
        Ok(())
    }

    fn keyshares(&self) -> PathBuf {
        self.dir.join(Self::KEYSHARES)
    }

    fn done(&mut self, step: Step, detail: &str) -> Result<(), JournalError> {
        if let Some(r) = self.record.as_mut() {
            r.steps.insert(step, (now_secs(), detail.to_string()));
        }
        self.save()
    }
}

/// What the chain says about the validator now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Old,
    New,
    Elsewhere,
    Removed,
    Unknown,
}

async fn locate(
    chain: &Chain,
    owner: Address,
    pubkey: &str,
    old: &[u64],
    new: &[u64],
) -> Result<(Where, Option<OwnedValidator>), ChainError> {
    let head = chain.head().await?;
    let v = owner_validators(chain, owner, head)
        .await?
        .into_iter()
        .find(|v| v.pubkey == pubkey);
    let w = match &v {
        None => Where::Unknown,
        Some(v) if v.removed => Where::Removed,
        Some(v) if v.operator_ids == old => Where::Old,
        Some(v) if v.operator_ids == new => Where::New,
        Some(_) => Where::Elsewhere,
    };
    Ok((w, v))
}

fn sorted_set(what: &'static str, ids: &[u64]) -> Result<Vec<u64>, ChangeError> {
    let mut s = ids.to_vec();
    s.sort_unstable();
    let bad = |reason| ChangeError::BadSet {
        what,
        ids: ids.to_vec(),
        reason,
    };
    if s.windows(2).any(|w| w[0] == w[1]) {
        return Err(bad("an id appears twice"));
    }
    if threshold_for(s.len()).is_none() {
        return Err(bad("a cluster has 4, 7, 10 or 13 operators"));
    }
    Ok(s)
}

/// The beacon head epoch and the seconds of one slot.
async fn head_epoch(beacon: &BeaconClient) -> Result<(u64, u64, u64), BeaconError> {
    let spec = beacon.spec().await?;
    let slots = spec.require("SLOTS_PER_EPOCH")?.max(1);
    let secs = spec.require("SECONDS_PER_SLOT")?.max(1);
    let head = beacon.syncing().await?.head_slot;
    Ok((head / slots, slots, secs))
}

struct Run<'a> {
    chain: &'a Chain,
    beacon: &'a BeaconClient,
    req: &'a ChangeRequest,
    rehearsal: Option<&'a Rehearsal>,
    owner: Address,
    pubkey: String,
    old: Vec<u64>,
    new: Vec<u64>,
    report: ChangeReport,
    progress: &'a mut (dyn FnMut(&Progress) + Send),
}

impl Run<'_> {
    fn started(&mut self, step: Step) {
        (self.progress)(&Progress::StepStarted { step });
    }

    fn finish(&mut self, step: Step, status: &'static str, detail: String) {
        let p = match status {
            "done" => Progress::StepDone {
                step,
                detail: detail.clone(),
            },
            "planned" => Progress::StepPlanned {
                step,
                detail: detail.clone(),
            },
            _ => Progress::StepSkipped {
                step,
                detail: detail.clone(),
            },
        };
        (self.progress)(&p);
        self.report.steps.push(StepReport {
            step,
            status,
            detail,
        });
    }

    fn dry(&self) -> bool {
        matches!(self.chain.sender(), Sender::Impersonated(_))
    }

    fn outcome(&mut self, kind: &str, o: &ActionOutcome) {
        let (tx_hash, block, sent_now) = match o {
            ActionOutcome::Sent { tx_hash, block } => (*tx_hash, Some(*block), true),
            ActionOutcome::AlreadyDone { tx_hash, block } => (*tx_hash, *block, false),
        };
        self.report.transactions.push(TxReport {
            kind: kind.to_string(),
            tx_hash,
            block,
            sent_now,
        });
    }
}

/// Runs (or resumes) the change. `progress` sees every step and the wait.
pub async fn change_operators(
    chain: &Chain,
    beacon: &BeaconClient,
    req: &ChangeRequest,
    rehearsal: Option<&Rehearsal>,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<ChangeReport, ChangeError> {
    let owner = chain.signer_address().ok_or(RegisterError::NoSigner)?;
    let old = sorted_set("old", &req.old_operator_ids)?;
    let new = sorted_set("new", &req.new_operator_ids)?;
    if old == new {
        return Err(ChangeError::SameSet(new));
    }
    let pubkey = format!("0x{}", hex::encode(req.pubkey));
    let report = ChangeReport {
        pubkey: pubkey.clone(),
        owner,
        old_operator_ids: old.clone(),
        old_cluster_id: cluster_id(owner, &old),
        new_operator_ids: new.clone(),
        new_cluster_id: cluster_id(owner, &new),
        steps: Vec::new(),
        transactions: Vec::new(),
        rehearsal: matches!(chain.sender(), Sender::Impersonated(_)),
    };
    let mut run = Run {
        chain,
        beacon,
        req,
        rehearsal,
        owner,
        pubkey,
        old,
        new,
        report,
        progress,
    };
    let real_dir = change_dir(&req.state_root, &req.pubkey);
    let mut j = Journal::open(&real_dir, rehearsal)?;
    if let Some(r) = &j.record
        && (r.old_operator_ids != run.old || r.new_operator_ids != run.new)
        && r.steps.contains_key(&Step::Remove)
        && !r.steps.contains_key(&Step::Register)
    {
        return Err(ChangeError::OtherChange {
            pubkey: run.pubkey.clone(),
            old: r.old_operator_ids.clone(),
            new: r.new_operator_ids.clone(),
            dir: real_dir,
        });
    }
    // A removal or withdrawal in doubt is settled before the chain is asked where things stand.
    finish_pending(chain, &mut j.actions).await?;
    let (at, found) = locate(chain, owner, &run.pubkey, &run.old, &run.new).await?;
    // This change's journal: same sets, and not a finished change of the same sets from an
    // earlier round trip (the validator is back in the old cluster after it registered).
    let ours = j.record.as_ref().is_some_and(|r| {
        r.old_operator_ids == run.old
            && r.new_operator_ids == run.new
            && !(at == Where::Old && r.steps.contains_key(&Step::Register))
    });
    let remove_args =
        |r: Option<&ChangeRecord>| format!("{} #{}", run.pubkey, r.map_or(0, |r| r.started_at));
    // Started: the removal is journaled (maybe only signed when the process died).
    let started = ours
        && (j
            .record
            .as_ref()
            .is_some_and(|r| r.steps.contains_key(&Step::Remove))
            || j.actions
                .actions()
                .iter()
                .any(|a| a.kind == "remove" && a.args == remove_args(j.record.as_ref())));
    if at != Where::Old && !(started && matches!(at, Where::Removed | Where::New)) {
        let found = match (at, found) {
            (Where::Unknown, _) | (_, None) => "it was never registered by this owner".to_string(),
            (Where::Removed, _) => "it was removed from SSV".to_string(),
            (_, Some(v)) => format!("it is in the cluster of operators {:?}", v.operator_ids),
        };
        return Err(ChangeError::NotInOldCluster {
            pubkey: run.pubkey.clone(),
            owner,
            old: run.old.clone(),
            found,
        });
    }
    if !ours {
        j.record = Some(ChangeRecord {
            pubkey: run.pubkey.clone(),
            owner,
            old_operator_ids: run.old.clone(),
            new_operator_ids: run.new.clone(),
            keyshares_sha256: None,
            removal_seen_epoch: None,
            steps: BTreeMap::new(),
            started_at: now_secs(),
        });
    }
    let registered_new = at == Where::New;
    if !registered_new {
        refuse_missing_operators(chain, owner, &run.new).await?;
    }

    let ks = match reshare_step(&mut run, &mut j, registered_new).await? {
        Shares::Ready(ks) => Some(ks),
        Shares::NotNeeded => None,
        Shares::Planned => {
            // A dry run does not run the ceremony (it would make real shares at the operators),
            // so the transactions that need its keyshares are listed, not rehearsed.
            plan_rest(&mut run);
            return Ok(run.report);
        }
    };
    if let Some(ks) = &ks {
        verify_step(&mut run, &mut j, ks, at).await?;
    } else {
        run.finish(
            Step::Verify,
            "skipped",
            "registered in the new cluster already".into(),
        );
    }
    remove_step(&mut run, &mut j, at).await?;
    wait_step(&mut run, &mut j, registered_new).await?;
    register_step(&mut run, &mut j, ks.as_ref()).await?;
    withdraw_step(&mut run, &mut j).await?;
    Ok(run.report)
}

async fn refuse_missing_operators(
    chain: &Chain,
    owner: Address,
    new: &[u64],
) -> Result<(), ChangeError> {
    let c = read_cluster(chain, owner, new).await?;
    let missing: Vec<u64> = c
        .operators
        .iter()
        .filter(|o| !o.exists)
        .map(|o| o.id)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ChangeError::OperatorsMissing { ids: missing })
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What step 1 gave.
enum Shares {
    /// The new keyshares, checked offline and narrowed to this validator.
    Ready(ValidatedKeyshares),
    /// Registered in the new cluster already and no keyshares at hand: none needed.
    NotNeeded,
    /// Dry run in ceremony mode: the ceremony is listed, not run.
    Planned,
}

/// The rest of the steps in a dry run that could not rehearse them.
fn plan_rest(run: &mut Run<'_>) {
    for step in [
        Step::Verify,
        Step::Remove,
        Step::Wait,
        Step::Register,
        Step::Withdraw,
    ] {
        let detail = match step {
            Step::Verify => "the new keyshares checked as `register` checks them".to_string(),
            Step::Remove => format!(
                "removeValidator from the cluster of operators {:?}",
                run.old
            ),
            Step::Wait => format!("{REMOVAL_WAIT_EPOCHS} whole epochs on the beacon head"),
            Step::Register => format!(
                "registerValidator into the cluster of operators {:?}, funded for the runway policy",
                run.new
            ),
            _ => "withdraw the old cluster's balance if no validator is left in it".to_string(),
        };
        run.finish(
            step,
            "planned",
            format!("{detail} (rerun --dry-run with --keyshares to rehearse the transactions)"),
        );
    }
}

/// Step 1: the keyshares for the new set. A supplied file is checked (and its hash journaled) on
/// every run, so a resigned file can replace an earlier one until the registration; a
/// ceremony's output is kept in the journal folder and never made twice.
async fn reshare_step(
    run: &mut Run<'_>,
    j: &mut Journal,
    registered_new: bool,
) -> Result<Shares, ChangeError> {
    let step = Step::Reshare;
    run.started(step);
    let kept = j.keyshares();
    let (ks, detail) = match &run.req.shares {
        NewShares::File(path) => {
            let ks = load_kept(run, path)?;
            let bytes = std::fs::read(path).map_err(|source| KeysharesError::Read {
                path: path.clone(),
                source,
            })?;
            if let Some(r) = j.record.as_mut() {
                r.keyshares_sha256 = Some(sha256_hex(&bytes));
            }
            (ks, format!("keyshares supplied: {}", path.display()))
        }
        NewShares::Ceremony(_) if kept.is_file() => {
            let ks = load_kept(run, &kept)?;
            let detail = "the reshare ceremony's keyshares of an earlier run".to_string();
            run.finish(step, "skipped", detail);
            return Ok(Shares::Ready(ks));
        }
        NewShares::Ceremony(_) if registered_new => {
            let detail = "the validator is registered in the new cluster already".to_string();
            run.finish(step, "skipped", detail);
            return Ok(Shares::NotNeeded);
        }
        NewShares::Ceremony(ceremony) => {
            let ceremony = ceremony.clone();
            let job = ping_for_ceremony(run).await?;
            if run.dry() {
                run.finish(
                    step,
                    "planned",
                    format!(
                        "the operators of both sets answered; the reshare ceremony would run for owner nonce {}",
                        job.nonce
                    ),
                );
                return Ok(Shares::Planned);
            }
            let out = j.dir.join("ceremony");
            let made = ceremony
                .reshare(&job, &out)
                .await
                .map_err(ChangeError::Ceremony)?;
            let ks = load_kept(run, &made)?;
            let bytes = std::fs::read(&made).map_err(|source| KeysharesError::Read {
                path: made.clone(),
                source,
            })?;
            write_atomic(&kept, &bytes, 0o600)?;
            if let Some(r) = j.record.as_mut() {
                r.keyshares_sha256 = Some(sha256_hex(&bytes));
            }
            (ks, format!("reshare ceremony done: {}", made.display()))
        }
    };
    j.done(step, &detail)?;
    run.finish(step, "done", detail);
    kill_point(run.req.kill_at, ChangeKillPoint::After(step));
    Ok(Shares::Ready(ks))
}

/// The keyshares file checked offline and narrowed to this validator, the new set and owner.
fn load_kept(run: &Run<'_>, path: &Path) -> Result<ValidatedKeyshares, ChangeError> {
    let ks = load_and_validate(path)?;
    let wrong = |reason: String| ChangeError::WrongKeyshares {
        path: path.to_path_buf(),
        reason,
    };
    let Some(share) = ks.shares.iter().find(|s| s.public_key == run.req.pubkey) else {
        return Err(wrong(format!(
            "they hold no share of validator {} (same key, new operators: a reshare keeps the validator key)",
            run.pubkey
        )));
    };
    if ks.operator_ids != run.new {
        return Err(wrong(format!(
            "they are for operators {:?}, not the new set {:?}",
            ks.operator_ids, run.new
        )));
    }
    if ks.owner != run.owner {
        return Err(wrong(format!(
            "they are signed for owner {}, the signer is {}",
            ks.owner, run.owner
        )));
    }
    Ok(ValidatedKeyshares {
        shares: vec![share.clone()],
        ..ks
    })
}

/// Pings both sets the way the initiator does; refuses when fewer than the old threshold of old
/// operators, or not every new one, answer (ssv-dkg's reshare needs exactly that).
async fn ping_for_ceremony(run: &mut Run<'_>) -> Result<ReshareJob, ChangeError> {
    let mut ids: Vec<u64> = run.old.iter().chain(&run.new).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let entries: Vec<(u64, Option<String>)> = ids
        .iter()
        .map(|id| {
            let url = run
                .req
                .endpoints
                .iter()
                .find(|(i, _)| i == id)
                .and_then(|(_, u)| u.clone());
            (*id, url)
        })
        .collect();
    let t = targets(run.chain, &entries, Some(run.owner)).await?;
    let opts = CheckOptions {
        tls: run.req.tls.clone(),
        ..CheckOptions::default()
    };
    let health = check_all(&t, &opts).await;
    let answered = |id: u64| health.iter().any(|h| h.id == id && h.answered);
    let why = |id: u64| {
        health
            .iter()
            .find(|h| h.id == id)
            .map_or("was not checked".to_string(), |h| h.summary())
    };
    let threshold = threshold_for(run.old.len()).unwrap_or(u64::MAX);
    let old_ok = run.old.iter().filter(|id| answered(**id)).count();
    if (old_ok as u64) < threshold {
        return Err(ChangeError::TooFewOld {
            answered: old_ok,
            threshold,
            missing: run
                .old
                .iter()
                .filter(|id| !answered(**id))
                .map(|id| (*id, why(*id)))
                .collect(),
        });
    }
    let new_missing: Vec<(u64, String)> = run
        .new
        .iter()
        .filter(|id| !answered(**id))
        .map(|id| (*id, why(*id)))
        .collect();
    if !new_missing.is_empty() {
        return Err(ChangeError::NewMissing {
            missing: new_missing,
        });
    }
    Ok(ReshareJob {
        validator_pubkey: run.req.pubkey,
        owner: run.owner,
        nonce: run.chain.owner_nonce(run.owner).await?,
        old_operator_ids: run.old.clone(),
        old_threshold: threshold,
        new_operator_ids: run.new.clone(),
        endpoints: entries
            .into_iter()
            .filter_map(|(id, u)| u.map(|u| (id, u)))
            .collect(),
        proofs: run.req.proofs.clone(),
    })
}

/// Step 2: before the removal, every check the registration makes (nonce, operators, keys,
/// capacity, funding, wallet); after it, the nonce again (the registration re-checks the rest).
async fn verify_step(
    run: &mut Run<'_>,
    j: &mut Journal,
    ks: &ValidatedKeyshares,
    at: Where,
) -> Result<(), ChangeError> {
    let step = Step::Verify;
    run.started(step);
    let share = &ks.shares[0];
    let detail = match at {
        Where::New => {
            run.finish(
                step,
                "skipped",
                "registered in the new cluster already".into(),
            );
            return Ok(());
        }
        Where::Old => {
            let check = check_registration(run.chain, ks, &[share], &run.req.register)
                .await
                .map_err(|e| register_err(e, false))?;
            format!(
                "same validator key, operators {:?}, owner nonce {} = the chain's; the new cluster takes it via {:?} with {} wei of funding",
                ks.operator_ids, share.owner_nonce, check.path, check.funding.deposit
            )
        }
        _ => {
            let chain_nonce = run.chain.owner_nonce(run.owner).await?;
            if chain_nonce != share.owner_nonce {
                return Err(ChangeError::ResignNeeded {
                    file_nonce: share.owner_nonce,
                    chain_nonce,
                    state: "the validator is already removed from its old cluster and stays offline until it is registered",
                });
            }
            format!(
                "same validator key, operators {:?}, owner nonce {} = the chain's",
                ks.operator_ids, share.owner_nonce
            )
        }
    };
    j.done(step, &detail)?;
    run.finish(step, "done", detail);
    kill_point(run.req.kill_at, ChangeKillPoint::After(step));
    Ok(())
}

/// Step 3: `removeValidator` from the old cluster, once. `ssv-agent remove` refuses a validator
/// that still runs; here that is the point: the validator keeps running with the new operators.
async fn remove_step(run: &mut Run<'_>, j: &mut Journal, at: Where) -> Result<(), ChangeError> {
    let step = Step::Remove;
    run.started(step);
    if at != Where::Old {
        if let Some(a) = j
            .actions
            .actions()
            .iter()
            .rev()
            .find(|a| a.kind == "remove")
        {
            let o = ActionOutcome::AlreadyDone {
                tx_hash: a.tx.tx_hash,
                block: a.tx.block,
            };
            run.outcome("remove", &o);
        }
        record_removal_epoch(run, j).await?;
        run.finish(
            step,
            "skipped",
            format!(
                "the chain shows it gone from the cluster of operators {:?}",
                run.old
            ),
        );
        kill_point(run.req.kill_at, ChangeKillPoint::After(step));
        return Ok(());
    }
    let c = read_cluster(run.chain, run.owner, &run.old).await?;
    let tx = TransactionRequest::default()
        .with_to(run.chain.profile().ssv_network)
        .with_input(
            SSVNetwork::removeValidatorCall {
                publicKey: Bytes::copy_from_slice(&run.req.pubkey),
                operatorIds: run.old.clone(),
                cluster: c.snapshot_or_empty(),
            }
            .abi_encode(),
        );
    // Journaled as the change's intent before it is signed; the send path journals the bytes.
    j.save()?;
    let kill = run.req.kill_at;
    let (outcome, _) = send_once_with(
        run.chain,
        &mut j.actions,
        "remove",
        &format!(
            "{} #{}",
            run.pubkey,
            j.record.as_ref().map_or(0, |r| r.started_at)
        ),
        tx,
        false,
        |r| {
            if r.status == crate::journal::TxStatus::Signed {
                kill_point(kill, ChangeKillPoint::RemoveSigned);
            }
        },
    )
    .await?;
    run.outcome("remove", &outcome);
    record_removal_epoch(run, j).await?;
    let detail = format!("removed from the cluster of operators {:?}", run.old);
    j.done(step, &detail)?;
    run.finish(step, "done", detail);
    kill_point(run.req.kill_at, ChangeKillPoint::After(step));
    Ok(())
}

/// The head epoch when the removal is first seen confirmed; a rerun keeps the first one.
async fn record_removal_epoch(run: &mut Run<'_>, j: &mut Journal) -> Result<(), ChangeError> {
    if j.record
        .as_ref()
        .is_some_and(|r| r.removal_seen_epoch.is_some())
    {
        return Ok(());
    }
    let (epoch, _, _) = head_epoch(run.beacon).await?;
    if let Some(r) = j.record.as_mut() {
        r.removal_seen_epoch = Some(epoch);
        r.steps
            .entry(Step::Remove)
            .or_insert_with(|| (now_secs(), "removal seen on chain".into()));
    }
    j.save()?;
    Ok(())
}

/// Step 4: the wait, on the Beacon API head, never shorter than [`wait_target`].
async fn wait_step(
    run: &mut Run<'_>,
    j: &mut Journal,
    registered_new: bool,
) -> Result<(), ChangeError> {
    let step = Step::Wait;
    run.started(step);
    if registered_new {
        run.finish(
            step,
            "skipped",
            "registered in the new cluster already".into(),
        );
        return Ok(());
    }
    record_removal_epoch(run, j).await?;
    let seen = j
        .record
        .as_ref()
        .and_then(|r| r.removal_seen_epoch)
        .unwrap_or(u64::MAX - 1 - REMOVAL_WAIT_EPOCHS);
    let target = wait_target(seen);
    let (mut head, _, slot_secs) = head_epoch(run.beacon).await?;
    let slots = run.beacon.spec().await?.require("SLOTS_PER_EPOCH")?.max(1);
    let epoch_secs = slots * slot_secs;
    if run.dry() {
        let left = target.saturating_sub(head) * epoch_secs;
        run.finish(
            step,
            "planned",
            format!(
                "would wait until the beacon head reaches epoch {target} ({REMOVAL_WAIT_EPOCHS} whole epochs after the removal, about {left} s from now); not waited in a dry run"
            ),
        );
        return Ok(());
    }
    let stall_limit = Duration::from_secs((epoch_secs * 4).max(600));
    let mut moved = Instant::now();
    let mut shown = None;
    while head < target {
        if shown != Some(head) {
            (run.progress)(&Progress::Waiting {
                head_epoch: head,
                target_epoch: target,
                secs_left: (target - head) * epoch_secs,
            });
            shown = Some(head);
        }
        tokio::time::sleep(run.req.poll).await;
        let (h, _, _) = head_epoch(run.beacon).await?;
        if h > head {
            moved = Instant::now();
        } else if moved.elapsed() > stall_limit {
            return Err(ChangeError::WaitStalled {
                head,
                target,
                secs: moved.elapsed().as_secs(),
            });
        }
        head = h;
    }
    let detail = format!(
        "beacon head at epoch {head}: {REMOVAL_WAIT_EPOCHS} whole epochs since the removal was seen in epoch {seen}"
    );
    j.done(step, &detail)?;
    run.finish(step, "done", detail);
    kill_point(run.req.kill_at, ChangeKillPoint::After(step));
    Ok(())
}

/// Step 5: `ssv::register::register` into the new cluster with the validator's own state file
/// (it resumes a registration in flight and skips a registered validator).
async fn register_step(
    run: &mut Run<'_>,
    j: &mut Journal,
    ks: Option<&ValidatedKeyshares>,
) -> Result<(), ChangeError> {
    let step = Step::Register;
    run.started(step);
    let Some(ks) = ks else {
        run.finish(
            step,
            "skipped",
            format!(
                "registered in the cluster of operators {:?} already",
                run.new
            ),
        );
        return Ok(());
    };
    let real = validator_dir(&run.req.state_root, &run.pubkey)?;
    let mut state = match run.rehearsal {
        Some(r) => r.open_state(&real)?,
        None => StateFile::open(&real)?,
    };
    let before: Vec<B256> = state.get().registration.iter().map(|r| r.tx_hash).collect();
    let r = register(run.chain, ks, &mut state, &run.req.register)
        .await
        .map_err(|e| register_err(e, true))?;
    for t in &r.transactions {
        run.report.transactions.push(TxReport {
            kind: t.kind.clone(),
            tx_hash: t.tx_hash,
            block: t.block,
            sent_now: !before.contains(&t.tx_hash),
        });
    }
    let (at, _) = locate(run.chain, run.owner, &run.pubkey, &run.old, &run.new).await?;
    if at != Where::New {
        return Err(ChangeError::from(RegisterError::Chain(
            ChainError::Unexpected {
                what: "registration".into(),
                detail: format!(
                    "after registering, the chain does not show {} in the cluster of operators {:?}",
                    run.pubkey, run.new
                ),
            },
        )));
    }
    let (status, detail) = if r.already_registered.is_empty() {
        (
            "done",
            format!(
                "registered in the cluster of operators {:?} (funding {} wei)",
                run.new,
                r.funding.map(|f| f.deposit).unwrap_or_default()
            ),
        )
    } else {
        (
            "skipped",
            format!(
                "registered in the cluster of operators {:?} already",
                run.new
            ),
        )
    };
    j.done(step, &detail)?;
    run.finish(step, status, detail);
    kill_point(run.req.kill_at, ChangeKillPoint::After(step));
    Ok(())
}

/// Step 6: the old cluster's whole balance, once no validator is left in it (the existing
/// withdraw logic and its checks); a cluster that still runs validators keeps its balance.
async fn withdraw_step(run: &mut Run<'_>, j: &mut Journal) -> Result<(), ChangeError> {
    let step = Step::Withdraw;
    run.started(step);
    let c = read_cluster(run.chain, run.owner, &run.old).await?;
    let done_before = j
        .actions
        .actions()
        .iter()
        .rev()
        .find(|a| a.kind == "withdraw" && a.tx.status == crate::journal::TxStatus::Confirmed)
        .map(|a| (a.tx.tx_hash, a.tx.block));
    let skip = if c.snapshot.is_none() {
        Some("the old cluster does not exist".to_string())
    } else if c.load.validator_count > 0 && c.is_active() {
        Some(format!(
            "the old cluster still runs {} validator(s); its balance stays",
            c.load.validator_count
        ))
    } else if c.balance.is_zero() {
        if let Some((tx_hash, block)) = done_before {
            run.outcome("withdraw", &ActionOutcome::AlreadyDone { tx_hash, block });
        }
        Some("the old cluster holds nothing to withdraw".to_string())
    } else {
        None
    };
    if let Some(detail) = skip {
        j.done(step, &detail)?;
        run.finish(step, "skipped", detail);
        kill_point(run.req.kill_at, ChangeKillPoint::After(step));
        return Ok(());
    }
    let r = withdraw(
        run.chain,
        &mut j.actions,
        run.owner,
        &run.old,
        Amount::All,
        run.req.register.min_runway_days,
        false,
    )
    .await?;
    for o in &r.outcomes {
        run.outcome("withdraw", o);
    }
    let detail = format!("withdrew the old cluster's balance ({} wei)", c.balance);
    j.done(step, &detail)?;
    run.finish(step, "done", detail);
    kill_point(run.req.kill_at, ChangeKillPoint::After(step));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_points_parse() {
        assert_eq!(
            "change.remove".parse(),
            Ok(ChangeKillPoint::After(Step::Remove))
        );
        assert_eq!(
            "change.remove.signed".parse(),
            Ok(ChangeKillPoint::RemoveSigned)
        );
        assert!("remove".parse::<ChangeKillPoint>().is_err());
        assert!("change.nope".parse::<ChangeKillPoint>().is_err());
    }

    #[test]
    fn the_wait_is_never_shorter_than_the_docs_ask() {
        // Removal seen in epoch 10 (maybe at its last slot): registration from epoch 14, so
        // epochs 11, 12 and 13 pass whole.
        assert_eq!(wait_target(10), 14);
        assert!(wait_target(10) - 10 > REMOVAL_WAIT_EPOCHS);
    }

    #[test]
    fn sets_are_checked() {
        assert_eq!(sorted_set("new", &[4, 3, 2, 1]).unwrap(), vec![1, 2, 3, 4]);
        assert!(sorted_set("new", &[1, 2, 3]).is_err());
        assert!(sorted_set("new", &[1, 1, 2, 3]).is_err());
    }
}
