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
        fs::create_dir_all(dir).map_err(|source| JournalError::Io {
            action: "cannot create folder",
            path: dir.to_owned(),
            source,
        })?;
        let lock_path = dir.join(LOCK_FILE);
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
            Ok(true) => {}
            Ok(false) => return Err(JournalError::Locked(dir.to_owned())),
            Err(source) => {
                return Err(JournalError::Io {
                    action: "cannot lock",
                    path: lock_path,
                    source,
                });
            }
        }
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
