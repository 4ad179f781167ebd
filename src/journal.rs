//! Per-validator state files: what each stage did, written atomically under an exclusive lock.
//!
//! Money safety rests on two rules: a transaction is recorded (hash and raw signed bytes) *before*
//! it is broadcast, and every write is atomic (tmp file, fsync, rename, fsync of the folder), so a
//! crash at any point leaves either the old or the new state and a resumed run finds the recorded
//! transaction instead of sending a second one. The lock (`fs4`, an OS advisory lock) dies with the
//! process, so SIGKILL never leaves a stale lock behind.

use std::{
    fs::{self, File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use alloy::primitives::{Address, B256, Bytes, U256};
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

/// File name of the state inside a validator folder.
pub const STATE_FILE: &str = "state.json";
const LOCK_FILE: &str = ".state.lock";
const STATE_VERSION: u32 = 1;

/// Pipeline stages in order; a validator's `stage` is the last one completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Nothing done yet.
    #[default]
    New,
    /// Ceremony output written.
    Ceremony,
    /// Ceremony output verified.
    Verified,
    /// Deposit transaction confirmed (or found on chain).
    Deposited,
    /// Validator `active_*` on the beacon chain.
    Active,
    /// `ValidatorAdded` on SSVNetwork.
    Registered,
    /// Cluster funded to the runway policy.
    Funded,
}

/// Where a recorded transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// Signed and recorded, maybe not yet broadcast.
    Signed,
    /// Accepted by the node.
    Broadcast,
    /// Mined with status 1 and the configured confirmations.
    Confirmed,
    /// Mined with status 0.
    Reverted,
}

/// A transaction the agent signed, recorded before broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRecord {
    /// What it does (`deposit`, `register`, `approve`, `migrate`, `topup`, ...).
    pub kind: String,
    /// Current status.
    pub status: TxStatus,
    /// Chain it was signed for.
    pub chain_id: u64,
    /// Sender.
    pub from: Address,
    /// Recipient contract.
    pub to: Address,
    /// Sender nonce used.
    pub nonce: u64,
    /// Value in wei.
    pub value: U256,
    /// Transaction hash (known before broadcast).
    pub tx_hash: B256,
    /// EIP-2718 encoded signed transaction, so a resume can rebroadcast the very same bytes.
    pub raw_tx: Bytes,
    /// Inclusion block, once mined.
    pub block: Option<u64>,
    /// Unix seconds of the last status change.
    pub updated_at: u64,
    /// Hashes of earlier versions of this transaction (same nonce, lower fees) that it replaced;
    /// any of them may still be the one that gets mined, so a resume checks them all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<B256>,
}

impl TxRecord {
    /// Every hash this transaction was broadcast under, newest first.
    pub fn hashes(&self) -> impl Iterator<Item = B256> + '_ {
        std::iter::once(self.tx_hash).chain(self.replaced.iter().rev().copied())
    }

    /// Whether the transaction still waits for its outcome.
    pub fn is_pending(&self) -> bool {
        matches!(self.status, TxStatus::Signed | TxStatus::Broadcast)
    }
}

/// The last activation status seen on the beacon node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationRecord {
    /// Beacon validator index, once assigned.
    pub validator_index: Option<u64>,
    /// Beacon API status string (`pending_queued`, `active_ongoing`, ...).
    pub status: String,
    /// Unix seconds.
    pub updated_at: u64,
}

/// A voluntary exit requested on SSVNetwork (`exitValidator` / `bulkExitValidator`) and what the
/// beacon chain made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// The transaction this agent sent (recorded before broadcast); `None` when the request was
    /// found on chain instead.
    pub tx: Option<TxRecord>,
    /// Every validator the transaction asks to exit (0x pubkeys; more than one for a bulk exit).
    pub pubkeys: Vec<String>,
    /// The cluster's operators.
    pub operator_ids: Vec<u64>,
    /// Block of the `ValidatorExited` event, once seen.
    pub block: Option<u64>,
    /// Last Beacon API status seen after the request.
    pub status: Option<String>,
    /// Beacon validator index.
    pub validator_index: Option<u64>,
    /// Exit epoch, once scheduled.
    pub exit_epoch: Option<u64>,
    /// Withdrawable epoch, once scheduled.
    pub withdrawable_epoch: Option<u64>,
    /// Unix seconds of the last change.
    pub updated_at: u64,
}

/// Everything recorded for one validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorState {
    /// Format version of this file.
    pub version: u32,
    /// 0x-prefixed validator public key, once the ceremony produced it.
    pub pubkey: Option<String>,
    /// Owner nonce the ceremony signed.
    pub owner_nonce: Option<u64>,
    /// Last completed stage.
    pub stage: Stage,
    /// The deposit transaction, or the block where an existing deposit was found.
    pub deposit: Option<TxRecord>,
    /// Registration transactions (approve / migrate / register), in order.
    pub registration: Vec<TxRecord>,
    /// Funding top-ups.
    pub fundings: Vec<TxRecord>,
    /// Activation progress.
    pub activation: Option<ActivationRecord>,
    /// The voluntary exit, once requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitRecord>,
    /// Human-readable notes with timestamps (stage changes, findings such as "deposit already on chain").
    pub log: Vec<(u64, String)>,
}

impl Default for ValidatorState {
    fn default() -> Self {
        Self {
            version: STATE_VERSION,
            pubkey: None,
            owner_nonce: None,
            stage: Stage::New,
            deposit: None,
            registration: Vec::new(),
            fundings: Vec::new(),
            activation: None,
            exit: None,
            log: Vec::new(),
        }
    }
}

impl ValidatorState {
    /// Moves `stage` forward (never back) and notes it.
    pub fn advance(&mut self, stage: Stage) {
        if stage > self.stage {
            self.stage = stage;
            self.note(format!("stage {stage:?} done"));
        }
    }

    /// Appends a timestamped note.
    pub fn note(&mut self, text: impl Into<String>) {
        self.log.push((now_secs(), text.into()));
    }
}

/// One action on a cluster or an owner that belongs to no single validator (withdraw,
/// reactivate, migrate, bulk remove, fee recipient), with the arguments it was asked with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// What it does (`withdraw`, `remove`, ...).
    pub kind: String,
    /// Its arguments, canonical text (so a rerun of the same command finds it).
    pub args: String,
    /// The transaction.
    pub tx: TxRecord,
}

/// The journal of a cluster's (or an owner's) actions: `<dir>/actions.json`, under the folder's
/// lock, written atomically. A rerun finds its pending transaction and resumes it, or finds the
/// same action confirmed and does not repeat it.
#[derive(Debug)]
pub struct ActionJournal {
    path: PathBuf,
    _lock: File,
    actions: Vec<ActionRecord>,
}

impl ActionJournal {
    /// File name inside the folder.
    pub const FILE: &'static str = "actions.json";

    /// Opens (or creates) `<dir>/actions.json`, taking the folder's lock without waiting.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        let lock = lock_folder(dir, LOCK_FILE)?;
        let path = dir.join(Self::FILE);
        let actions = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| JournalError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(JournalError::Io {
                    action: "cannot read",
                    path,
                    source,
                });
            }
        };
        Ok(Self {
            path,
            _lock: lock,
            actions,
        })
    }

    /// A dry run's copy: `real`'s actions (if any) copied into `scratch` and opened there.
    pub fn open_scratch(real: &Path, scratch: &Path) -> Result<Self, JournalError> {
        let mut copy = Self::open(scratch)?;
        if let Ok(bytes) = fs::read(real.join(Self::FILE)) {
            copy.actions = serde_json::from_slice(&bytes).map_err(|e| JournalError::Corrupt {
                path: real.join(Self::FILE),
                message: e.to_string(),
            })?;
        }
        Ok(copy)
    }

    /// The actions, oldest first.
    pub fn actions(&self) -> &[ActionRecord] {
        &self.actions
    }

    /// Inserts or updates (by sender and nonce) `tx` as an action `kind(args)` and persists it.
    pub fn record(&mut self, kind: &str, args: &str, tx: &TxRecord) -> Result<(), JournalError> {
        let same = |a: &ActionRecord| a.tx.nonce == tx.nonce && a.tx.from == tx.from;
        match self.actions.iter_mut().find(|a| same(a)) {
            Some(a) => a.tx = tx.clone(),
            None => self.actions.push(ActionRecord {
                kind: kind.to_string(),
                args: args.to_string(),
                tx: tx.clone(),
            }),
        }
        let json = serde_json::to_vec_pretty(&self.actions).expect("actions serialise");
        write_atomic(&self.path, &json, 0o600)
    }
}

/// A problem with a state file.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Filesystem error, with the path.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The io error.
        source: std::io::Error,
    },
    /// Another process holds the lock.
    #[error(
        "{0} is in use by another ssv-agent process; wait for it to finish (two processes must never drive the same validator)"
    )]
    Locked(PathBuf),
    /// One validator has two state folders.
    #[error(
        "validator {pubkey} has two state files, {first} and {second}; keep the one whose deposit is recorded and move the other away before running again"
    )]
    TwoJournals {
        /// The validator.
        pubkey: String,
        /// One folder.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// The file exists but is not a state file of this version.
    #[error("state file {path} is corrupt or from another version: {message}")]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// The serde message.
        message: String,
    },
}

/// An open, locked state file.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    _lock: File,
    state: ValidatorState,
}

impl StateFile {
    /// Opens (or creates) `<dir>/state.json`, taking the folder's exclusive lock without waiting.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        let lock = lock_folder(dir, LOCK_FILE)?;
        let path = dir.join(STATE_FILE);
        let state = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| JournalError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ValidatorState::default(),
            Err(source) => {
                return Err(JournalError::Io {
                    action: "cannot read",
                    path,
                    source,
                });
            }
        };
        Ok(Self {
            path,
            _lock: lock,
            state,
        })
    }

    /// A dry run's copy: `real`'s state (if any) copied into `scratch` and opened there, so the
    /// rehearsal sees what the real run would see and never writes the real journal.
    pub fn open_scratch(real: &Path, scratch: &Path) -> Result<Self, JournalError> {
        let mut copy = Self::open(scratch)?;
        match fs::read(real.join(STATE_FILE)) {
            Ok(bytes) => {
                let state: ValidatorState =
                    serde_json::from_slice(&bytes).map_err(|e| JournalError::Corrupt {
                        path: real.join(STATE_FILE),
                        message: e.to_string(),
                    })?;
                copy.update(|s| *s = state)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(JournalError::Io {
                    action: "cannot read",
                    path: real.join(STATE_FILE),
                    source,
                });
            }
        }
        Ok(copy)
    }

    /// The current state.
    pub fn get(&self) -> &ValidatorState {
        &self.state
    }

    /// Path of the JSON file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies `f` and persists the result atomically before returning.
    pub fn update<R>(
        &mut self,
        f: impl FnOnce(&mut ValidatorState) -> R,
    ) -> Result<R, JournalError> {
        let mut next = self.state.clone();
        let out = f(&mut next);
        let json = serde_json::to_vec_pretty(&next).expect("state serialises");
        write_atomic(&self.path, &json, 0o600)?;
        self.state = next;
        Ok(out)
    }
}

/// The folder of a cluster's action journal under the state root.
pub fn cluster_dir(root: &Path, cluster_id: B256) -> PathBuf {
    root.join("clusters").join(format!("{cluster_id}"))
}

/// The folder of an owner's action journal (fee recipient) under the state root.
pub fn owner_dir(root: &Path, owner: Address) -> PathBuf {
    root.join("owners").join(format!("{owner}"))
}

/// The one state folder of the validator `pubkey_hex` (`0x…`) under `root`, whatever file named
/// it: the folder already holding its `state.json` (ssv-dkg's `<nonce>-0x<pubkey>` ceremony
/// folder or `0x<pubkey>`, searched three levels deep), else its ceremony folder, else
/// `<root>/0x<pubkey>`. Two folders with a state file for one key are refused: they would be two
/// journals for one deposit.
pub fn validator_dir(root: &Path, pubkey_hex: &str) -> Result<PathBuf, JournalError> {
    let key = pubkey_hex.to_ascii_lowercase();
    let key = key.strip_prefix("0x").unwrap_or(&key);
    let bare = format!("0x{key}");
    let suffix = format!("-0x{key}");
    let mut found = Vec::new();
    find_named(
        root,
        3,
        &|name: &str| {
            let n = name.to_ascii_lowercase();
            n == bare || n.ends_with(&suffix)
        },
        &mut found,
    );
    let with_state: Vec<&PathBuf> = found
        .iter()
        .filter(|d| d.join(STATE_FILE).exists())
        .collect();
    match with_state.as_slice() {
        [one] => return Ok((*one).clone()),
        [first, second, ..] => {
            return Err(JournalError::TwoJournals {
                pubkey: bare,
                first: (*first).clone(),
                second: (*second).clone(),
            });
        }
        [] => {}
    }
    let ceremony: Vec<&PathBuf> = found
        .iter()
        .filter(|d| {
            d.file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(&suffix))
        })
        .collect();
    Ok(match ceremony.as_slice() {
        [one] => (*one).clone(),
        _ => root.join(bare),
    })
}

fn find_named(dir: &Path, depth: u32, matches: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if !path.is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if matches(&name) {
            out.push(path);
        } else if depth > 1 {
            find_named(&path, depth - 1, matches, out);
        }
    }
}

/// Takes the exclusive OS lock `<dir>/<name>` without waiting (creating the folder), so two
/// processes never drive the same state; the lock dies with the process, even on SIGKILL.
pub fn lock_folder(dir: &Path, name: &str) -> Result<File, JournalError> {
    fs::create_dir_all(dir).map_err(|source| JournalError::Io {
        action: "cannot create folder",
        path: dir.to_owned(),
        source,
    })?;
    let lock_path = dir.join(name);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| JournalError::Io {
            action: "cannot open lock",
            path: lock_path.clone(),
            source,
        })?;
    match lock.try_lock_exclusive() {
        Ok(true) => Ok(lock),
        Ok(false) => Err(JournalError::Locked(dir.to_owned())),
        Err(source) => Err(JournalError::Io {
            action: "cannot lock",
            path: lock_path,
            source,
        }),
    }
}

/// Writes `bytes` to `path` so that readers see the old or the new content, never a mix:
/// tmp file in the same folder, fsync, rename, fsync of the folder.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), JournalError> {
    let io = |action: &'static str, p: &Path| {
        let p = p.to_owned();
        move |source| JournalError::Io {
            action,
            path: p,
            source,
        }
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp.{}", std::process::id()));
    {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
        let mut f = opts.open(&tmp).map_err(io("cannot create", &tmp))?;
        f.write_all(bytes).map_err(io("cannot write", &tmp))?;
        f.sync_all().map_err(io("cannot fsync", &tmp))?;
    }
    fs::rename(&tmp, path).map_err(io("cannot rename into", path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot fsync folder", dir))?;
    Ok(())
}

/// Creates the folder `final_dir` whole or not at all: `fill` writes into a hidden sibling
/// (`.<name>.partial`), which is fsynced and renamed into place, then the parent is fsynced. A
/// crash or a failed `fill` never leaves a half-written folder under the final name (a leftover
/// hidden one is removed by the next attempt). Refuses when `final_dir` already exists.
pub fn write_dir_atomic<E: From<JournalError>>(
    final_dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let io = |action: &'static str, p: &Path| {
        let p = p.to_owned();
        move |source| JournalError::Io {
            action,
            path: p,
            source,
        }
    };
    let parent = final_dir
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = final_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if final_dir.exists() {
        return Err(JournalError::Io {
            action: "refusing to replace",
            path: final_dir.to_owned(),
            source: std::io::ErrorKind::AlreadyExists.into(),
        }
        .into());
    }
    let tmp = parent.join(format!(".{name}.partial"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io("cannot remove the leftover", &tmp))?;
    }
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o750);
    b.create(&tmp).map_err(io("cannot create folder", &tmp))?;
    if let Err(e) = fill(&tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    File::open(&tmp)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot fsync folder", &tmp))?;
    fs::rename(&tmp, final_dir).map_err(io("cannot rename into", final_dir))?;
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io("cannot fsync folder", parent))?;
    Ok(())
}

/// Unix seconds now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_survives_reopen_and_stage_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = StateFile::open(dir.path()).unwrap();
            s.update(|st| {
                st.pubkey = Some("0xab".into());
                st.advance(Stage::Deposited);
                st.advance(Stage::Ceremony);
            })
            .unwrap();
        }
        let s = StateFile::open(dir.path()).unwrap();
        assert_eq!(s.get().stage, Stage::Deposited);
        assert_eq!(s.get().pubkey.as_deref(), Some("0xab"));
        assert_eq!(s.get().log.len(), 1);
    }

    #[test]
    fn second_open_is_refused_while_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _first = StateFile::open(dir.path()).unwrap();
        let err = StateFile::open(dir.path()).unwrap_err();
        assert!(matches!(err, JournalError::Locked(_)), "{err}");
    }

    #[test]
    fn corrupt_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap();
        let err = StateFile::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("state.json") && err.contains("corrupt"),
            "{err}"
        );
    }

    #[test]
    fn one_state_folder_per_pubkey_whatever_the_file() {
        let root = tempfile::tempdir().unwrap();
        let pk = format!("0x{}", "ab".repeat(48));
        // No folder yet: <root>/0x<pk>.
        assert_eq!(
            validator_dir(root.path(), &pk).unwrap(),
            root.path().join(&pk)
        );
        // A ceremony folder (ssv-dkg layout, one level down) is the one.
        let ceremony = root.path().join("ceremony-1").join(format!("000003-{pk}"));
        fs::create_dir_all(&ceremony).unwrap();
        assert_eq!(validator_dir(root.path(), &pk).unwrap(), ceremony);
        // Upper-case input finds the same folder.
        assert_eq!(
            validator_dir(root.path(), &pk.to_uppercase().replace("0X", "0x")).unwrap(),
            ceremony
        );
        // Once a state file exists elsewhere, that folder wins; two state files are refused.
        let bare = root.path().join(&pk);
        fs::create_dir_all(&bare).unwrap();
        fs::write(bare.join(STATE_FILE), b"{}").unwrap();
        assert_eq!(validator_dir(root.path(), &pk).unwrap(), bare);
        fs::write(ceremony.join(STATE_FILE), b"{}").unwrap();
        assert!(matches!(
            validator_dir(root.path(), &pk),
            Err(JournalError::TwoJournals { .. })
        ));
    }

    #[test]
    fn scratch_copy_never_writes_the_real_file() {
        let real = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        {
            let mut s = StateFile::open(real.path()).unwrap();
            s.update(|st| st.advance(Stage::Verified)).unwrap();
        }
        let before = fs::read(real.path().join(STATE_FILE)).unwrap();
        let mut copy = StateFile::open_scratch(real.path(), scratch.path()).unwrap();
        assert_eq!(copy.get().stage, Stage::Verified);
        copy.update(|st| st.advance(Stage::Funded)).unwrap();
        assert_eq!(fs::read(real.path().join(STATE_FILE)).unwrap(), before);
    }

    #[test]
    fn atomic_folder_is_whole_or_absent() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("v1");
        let err = write_dir_atomic::<JournalError>(&dir, |tmp| {
            fs::write(tmp.join("a"), b"1").unwrap();
            Err(JournalError::Locked(tmp.to_owned()))
        });
        assert!(err.is_err());
        assert!(!dir.exists());
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0, "no leftover");
        write_dir_atomic::<JournalError>(&dir, |tmp| {
            fs::write(tmp.join("a"), b"1").unwrap();
            Ok(())
        })
        .unwrap();
        assert_eq!(fs::read(dir.join("a")).unwrap(), b"1");
        assert!(
            write_dir_atomic::<JournalError>(&dir, |_| Ok(())).is_err(),
            "never replaces"
        );
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_sets_mode_and_leaves_no_tmp() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.json");
        write_atomic(&p, b"1", 0o600).unwrap();
        write_atomic(&p, b"2", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"2");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
