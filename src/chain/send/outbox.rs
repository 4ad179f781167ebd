//! The account journal: every transaction this agent signed for an account on a chain, by nonce,
//! in `<state root>/accounts/<chain id>-<address>.json`, written under an OS lock.
//!
//! It answers the question the per-stage journals cannot: are the account's pending transactions
//! ours? Before a new transaction is signed, every pending nonce of the account must be in the
//! outbox, else signing is refused (a foreign transaction, a second wallet, another host); our own
//! signed-but-forgotten transactions are rebroadcast so no nonce gap blocks the new one. The lock
//! is held from choosing the nonce until the signed bytes are journaled, so two ssv-agent
//! processes (a service and a cron job) never sign the same nonce.

use std::{
    fs::{File, OpenOptions},
    path::PathBuf,
    time::{Duration, Instant},
};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, Bytes},
    providers::Provider,
};
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

use crate::{
    chain::{Chain, ChainError},
    journal::{JournalError, TxRecord, write_atomic},
};

/// Entries kept per account (older nonces are long settled).
const KEEP: usize = 512;
/// Longest wait for another process's lock.
const LOCK_WAIT: Duration = Duration::from_secs(120);

/// One signed transaction (its latest version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Account nonce.
    pub nonce: u64,
    /// Latest hash.
    pub tx_hash: B256,
    /// Hashes of the versions it replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<B256>,
    /// What it does.
    pub kind: String,
    /// The signed bytes, so any run can rebroadcast it.
    pub raw_tx: Bytes,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OutboxFile {
    chain_id: u64,
    account: Address,
    txs: Vec<OutboxEntry>,
}

/// An open, locked outbox (in memory only when the chain has no state folder).
#[derive(Debug)]
pub struct Outbox {
    path: Option<PathBuf>,
    _lock: Option<File>,
    file: OutboxFile,
}

impl Outbox {
    /// Opens the account's outbox, waiting for another process's lock.
    pub async fn open(chain: &Chain, account: Address) -> Result<Self, ChainError> {
        let chain_id = chain.profile().chain_id;
        let Some(root) = chain.config().state_dir.clone() else {
            return Ok(Self {
                path: None,
                _lock: None,
                file: OutboxFile {
                    chain_id,
                    account,
                    txs: Vec::new(),
                },
            });
        };
        let dir = root.join("accounts");
        std::fs::create_dir_all(&dir).map_err(|source| JournalError::Io {
            action: "cannot create folder",
            path: dir.clone(),
            source,
        })?;
        let name = format!("{chain_id}-{account}");
        let lock = lock(&dir.join(format!(".{name}.lock"))).await?;
        let path = dir.join(format!("{name}.json"));
        let file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| JournalError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => OutboxFile {
                chain_id,
                account,
                txs: Vec::new(),
            },
            Err(source) => {
                return Err(JournalError::Io {
                    action: "cannot read",
                    path,
                    source,
                }
                .into());
            }
        };
        Ok(Self {
            path: Some(path),
            _lock: Some(lock),
            file,
        })
    }

    /// The entries, oldest nonce first.
    pub fn entries(&self) -> &[OutboxEntry] {
        &self.file.txs
    }

    /// The nonce for a new transaction: every pending nonce of the account must be ours (our
    /// forgotten ones are rebroadcast first), and the new one goes after all of ours.
    pub async fn next_nonce(&mut self, chain: &Chain) -> Result<u64, ChainError> {
        let account = self.file.account;
        let latest = nonce_at(chain, account, BlockNumberOrTag::Latest).await?;
        for e in self.file.txs.iter().filter(|e| e.nonce >= latest) {
            if !known(chain, e).await? {
                tracing::warn!(nonce = e.nonce, tx = %e.tx_hash, kind = %e.kind,
                    "rebroadcasting a transaction this agent signed that the node no longer has");
                // "nonce too low" and the like mean it no longer matters; the pending count decides.
                let _ = chain.provider().send_raw_transaction(&e.raw_tx).await;
            }
        }
        let pending = nonce_at(chain, account, BlockNumberOrTag::Pending).await?;
        let foreign: Vec<u64> = (latest..pending)
            .filter(|n| !self.file.txs.iter().any(|e| e.nonce == *n))
            .collect();
        if let (Some(first), Some(last)) = (foreign.first(), foreign.last()) {
            return Err(ChainError::ForeignPending {
                account,
                count: foreign.len() as u64,
                first: *first,
                last: *last,
            });
        }
        let after_ours = self
            .file
            .txs
            .iter()
            .filter(|e| e.nonce >= latest)
            .map(|e| e.nonce + 1)
            .max()
            .unwrap_or(0);
        Ok(pending.max(latest).max(after_ours))
    }

    /// Records (or updates, by nonce) a signed transaction and writes the file atomically.
    pub fn record(&mut self, r: &TxRecord) -> Result<(), JournalError> {
        let entry = OutboxEntry {
            nonce: r.nonce,
            tx_hash: r.tx_hash,
            replaced: r.replaced.clone(),
            kind: r.kind.clone(),
            raw_tx: r.raw_tx.clone(),
        };
        match self.file.txs.iter_mut().find(|e| e.nonce == r.nonce) {
            Some(e) => *e = entry,
            None => self.file.txs.push(entry),
        }
        self.file.txs.sort_by_key(|e| e.nonce);
        let excess = self.file.txs.len().saturating_sub(KEEP);
        self.file.txs.drain(..excess);
        let Some(path) = &self.path else {
            return Ok(());
        };
        let bytes = serde_json::to_vec_pretty(&self.file).expect("outbox serialises");
        write_atomic(path, &bytes, 0o600)
    }
}

async fn nonce_at(chain: &Chain, who: Address, tag: BlockNumberOrTag) -> Result<u64, ChainError> {
    chain
        .provider()
        .get_transaction_count(who)
        .block_id(tag.into())
        .await
        .map_err(chain.rpc_err(format!("eth_getTransactionCount({tag})")))
}

async fn known(chain: &Chain, e: &OutboxEntry) -> Result<bool, ChainError> {
    for h in std::iter::once(e.tx_hash).chain(e.replaced.iter().copied()) {
        if chain
            .provider()
            .get_transaction_by_hash(h)
            .await
            .map_err(chain.rpc_err("eth_getTransactionByHash"))?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Takes the exclusive lock, retrying while another process holds it (it holds it only while it
/// signs one transaction).
async fn lock(path: &std::path::Path) -> Result<File, JournalError> {
    let io = |action: &'static str| {
        let path = path.to_owned();
        move |source| JournalError::Io {
            action,
            path,
            source,
        }
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io("cannot open lock"))?;
    let started = Instant::now();
    loop {
        if file.try_lock_exclusive().map_err(io("cannot lock"))? {
            return Ok(file);
        }
        if started.elapsed() > LOCK_WAIT {
            return Err(JournalError::Locked(path.to_owned()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
