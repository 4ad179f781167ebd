//! The watcher's cluster snapshots persisted between runs, so a restart scans only the blocks
//! since the last tick instead of every event since the registry offset. The file is a cache:
//! a missing, corrupt or foreign one (other chain, contract or owners) is ignored and rebuilt.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::{
    chain::contracts::Cluster,
    journal::{JournalError, write_atomic},
};

/// File name inside the watch state folder.
pub const SNAPSHOTS_FILE: &str = "watch-snapshots.json";

/// Blocks rescanned below the cached height on load, so a shallow reorg cannot leave a stale
/// snapshot behind (events replay in order, so the newest one wins).
pub const REORG_MARGIN: u64 = 64;

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    chain_id: u64,
    ssv_network: Address,
    owners: Vec<Address>,
    scanned_to: u64,
    clusters: Vec<StoredCluster>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredCluster {
    id: B256,
    validator_count: u32,
    network_fee_index: u64,
    index: u64,
    active: bool,
    balance: U256,
}

/// A usable cache.
#[derive(Debug)]
pub struct Loaded {
    /// Snapshots by cluster id.
    pub snapshots: HashMap<B256, Cluster>,
    /// The height scanning resumes after (the stored one less [`REORG_MARGIN`]).
    pub rescan_from: u64,
    /// The height the previous run had scanned to.
    pub scanned_to: u64,
}

/// Where and for what the snapshots are cached.
#[derive(Debug, Clone)]
pub struct SnapshotCache {
    path: PathBuf,
    chain_id: u64,
    ssv_network: Address,
    owners: Vec<Address>,
}

impl SnapshotCache {
    /// A cache in `dir` for these owners on this chain and contract.
    pub fn new(dir: &Path, chain_id: u64, ssv_network: Address, owners: &[Address]) -> Self {
        let mut owners = owners.to_vec();
        owners.sort();
        owners.dedup();
        Self {
            path: dir.join(SNAPSHOTS_FILE),
            chain_id,
            ssv_network,
            owners,
        }
    }

    /// The cached snapshots and heights, or `None` when there is no usable cache.
    pub fn load(&self) -> Option<Loaded> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let stored: Stored = match serde_json::from_str(&text) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "ignoring an unreadable snapshot cache; rescanning");
                return None;
            }
        };
        // Every watched owner must have been scanned, on this chain and contract.
        let covers = self.owners.iter().all(|o| stored.owners.contains(o));
        if stored.chain_id != self.chain_id || stored.ssv_network != self.ssv_network || !covers {
            tracing::info!(path = %self.path.display(), "snapshot cache is for another chain, contract or owner set; rescanning");
            return None;
        }
        let clusters = stored
            .clusters
            .into_iter()
            .map(|c| {
                (
                    c.id,
                    Cluster {
                        validatorCount: c.validator_count,
                        networkFeeIndex: c.network_fee_index,
                        index: c.index,
                        active: c.active,
                        balance: c.balance,
                    },
                )
            })
            .collect();
        Some(Loaded {
            snapshots: clusters,
            rescan_from: stored.scanned_to.saturating_sub(REORG_MARGIN),
            scanned_to: stored.scanned_to,
        })
    }

    /// Writes the snapshots as scanned up to `scanned_to`.
    pub fn save(
        &self,
        snapshots: &HashMap<B256, Cluster>,
        scanned_to: u64,
    ) -> Result<(), JournalError> {
        let mut clusters: Vec<StoredCluster> = snapshots
            .iter()
            .map(|(id, c)| StoredCluster {
                id: *id,
                validator_count: c.validatorCount,
                network_fee_index: c.networkFeeIndex,
                index: c.index,
                active: c.active,
                balance: c.balance,
            })
            .collect();
        clusters.sort_by_key(|c| c.id);
        let stored = Stored {
            chain_id: self.chain_id,
            ssv_network: self.ssv_network,
            owners: self.owners.clone(),
            scanned_to,
            clusters,
        };
        let bytes = serde_json::to_vec(&stored).map_err(|e| JournalError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&self.path, &bytes, 0o644)
    }
}
