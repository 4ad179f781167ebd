//! A small on-disk cache of log-scan results (owner nonces, cluster snapshots) keyed by chain,
//! contract and query, so a rescan starts at the cached height instead of the registry offset.
//! Only heights at least [`REORG_MARGIN`] blocks below the head are cached.

use std::{collections::BTreeMap, path::Path};

use serde::{Serialize, de::DeserializeOwned};

use super::ChainError;
use crate::journal::write_atomic;

/// Blocks below the head that are considered settled enough to cache.
pub const REORG_MARGIN: u64 = 64;
const FILE: &str = "scan-cache.json";

/// Reads a cached `(height, value)` for `key`, ignoring a missing or unreadable cache.
pub fn load<T: DeserializeOwned>(dir: &Path, key: &str) -> Option<(u64, T)> {
    let bytes = std::fs::read(dir.join(FILE)).ok()?;
    let mut map: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&bytes).ok()?;
    serde_json::from_value(map.remove(key)?).ok()
}

/// Stores `(height, value)` for `key`.
pub fn store<T: Serialize>(
    dir: &Path,
    key: &str,
    height: u64,
    value: &T,
) -> Result<(), ChainError> {
    let path = dir.join(FILE);
    std::fs::create_dir_all(dir).map_err(|source| ChainError::Cache {
        path: dir.to_owned(),
        source,
    })?;
    let mut map: BTreeMap<String, serde_json::Value> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    map.insert(key.to_string(), serde_json::json!([height, value]));
    let bytes = serde_json::to_vec_pretty(&map).expect("JSON values serialise");
    Ok(write_atomic(&path, &bytes, 0o644)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_missing_key() {
        let dir = tempfile::tempdir().unwrap();
        super::store(dir.path(), "a", 7, &42u64).unwrap();
        super::store(dir.path(), "b", 9, &"x").unwrap();
        assert_eq!(super::load::<u64>(dir.path(), "a"), Some((7, 42)));
        assert_eq!(
            super::load::<String>(dir.path(), "b"),
            Some((9, "x".into()))
        );
        assert_eq!(super::load::<u64>(dir.path(), "c"), None);
    }
}
