//! The watch service's persisted top-ups: every transaction is recorded (hash and raw bytes)
//! before broadcast, so a restart resumes a pending top-up instead of sending another, and the
//! daily cap counts what was really sent across restarts.

use std::path::{Path, PathBuf};

use alloy::primitives::{B256, U256};
use serde::{Deserialize, Serialize};

use crate::journal::{JournalError, TxRecord, TxStatus, write_atomic};

/// File name inside the watch state folder.
pub const LEDGER_FILE: &str = "watch-ledger.json";
/// The watch lock inside the same folder.
pub const LOCK_FILE: &str = ".watch.lock";

/// One top-up (or reactivation) the service signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUp {
    /// Cluster key.
    pub cluster_id: B256,
    /// Amount sent (wei or SSV wei).
    pub amount: U256,
    /// Unix seconds when signed.
    pub at: u64,
    /// The transaction.
    pub tx: TxRecord,
}

/// All top-ups, persisted atomically; the folder's lock is held while the ledger is open, so
/// two watchers (a service and a cron `--once`) never both spend against the caps.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// In signing order.
    pub topups: Vec<TopUp>,
    #[serde(skip)]
    path: PathBuf,
    #[serde(skip)]
    _lock: Option<std::fs::File>,
}

impl Ledger {
    /// Takes `<dir>`'s watch lock (refusing when another watcher holds it) and loads
    /// `<dir>/watch-ledger.json`, or starts empty.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        let lock = crate::journal::lock_folder(dir, LOCK_FILE)?;
        let mut ledger = Self::read(&dir.join(LEDGER_FILE))?;
        ledger._lock = Some(lock);
        Ok(ledger)
    }

    /// Reads the file again (before each send: what is on disk is what was spent).
    pub fn reload(&mut self) -> Result<(), JournalError> {
        self.topups = Self::read(&self.path)?.topups;
        Ok(())
    }

    fn read(path: &Path) -> Result<Self, JournalError> {
        let path = path.to_owned();
        let mut ledger = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| JournalError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::default(),
            Err(e) => {
                return Err(JournalError::Io {
                    action: "reading",
                    path,
                    source: e,
                });
            }
        };
        ledger.path = path;
        Ok(ledger)
    }

    /// Inserts or updates the transaction's record, then writes the file.
    pub fn record(
        &mut self,
        cluster_id: B256,
        amount: U256,
        tx: &TxRecord,
    ) -> Result<(), JournalError> {
        // Keyed by (sender, nonce): a replacement with higher fees keeps its slot.
        match self
            .topups
            .iter_mut()
            .find(|t| t.tx.nonce == tx.nonce && t.tx.from == tx.from)
        {
            Some(t) => t.tx = tx.clone(),
            None => self.topups.push(TopUp {
                cluster_id,
                amount,
                at: tx.updated_at,
                tx: tx.clone(),
            }),
        }
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| JournalError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&self.path, &bytes, 0o600)
    }

    /// Top-ups signed but not seen mined.
    pub fn pending(&self) -> Vec<TopUp> {
        self.topups
            .iter()
            .filter(|t| t.tx.is_pending())
            .cloned()
            .collect()
    }

    /// Sum of non-reverted top-ups signed in the 24 h before `now`.
    pub fn spent_last_day(&self, now: u64) -> U256 {
        self.topups
            .iter()
            .filter(|t| t.at + 86_400 > now && t.tx.status != TxStatus::Reverted)
            .fold(U256::ZERO, |acc, t| acc + t.amount)
    }

    /// Last top-up (or reactivation) time of a cluster; approvals carry no amount and do not count.
    pub fn last_topup(&self, cluster_id: B256) -> Option<u64> {
        self.topups
            .iter()
            .filter(|t| t.cluster_id == cluster_id && !t.amount.is_zero())
            .map(|t| t.at)
            .max()
    }
}
