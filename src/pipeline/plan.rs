//! The run file (`<output>/run.json`): which owner, operators, network and owner nonces this output
//! folder is for. The first nonce is fixed on the first run, so a rerun after some registrations
//! (which advance the chain's nonce) still maps validator i to nonce first + i. Each validator's
//! folder is `<output>/<nonce %06d>-0x<pubkey>/` (ssv-dkg's layout) with its `state.json` beside the
//! ceremony files.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use super::{PipelineError, Reason, StageId};
use crate::{dkg::verify::parse_validator_dir_name, journal::write_atomic};

/// File name of the run file in the output folder.
pub const RUN_FILE: &str = "run.json";

/// What an output folder is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPlan {
    /// Network profile name.
    pub network: String,
    /// Chain id.
    pub chain_id: u64,
    /// Cluster owner.
    pub owner: Address,
    /// Sorted operator ids.
    pub operator_ids: Vec<u64>,
    /// Owner nonce of the first validator.
    pub first_nonce: u64,
    /// Number of validators.
    pub count: u32,
}

impl RunPlan {
    /// The nonces of this run, in order.
    pub fn nonces(&self) -> impl Iterator<Item = u64> + '_ {
        (0..u64::from(self.count)).map(|i| self.first_nonce + i)
    }

    /// Reads `<dir>/run.json` if present.
    pub fn read(dir: &Path) -> Result<Option<Self>, PipelineError> {
        let path = dir.join(RUN_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| PipelineError::Plan {
                        path,
                        source: Reason(format!(
                            "it does not parse ({e}); restore it or use a new output folder"
                        )),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PipelineError::Io {
                action: "cannot read",
                path,
                source,
            }),
        }
    }

    /// Writes `<dir>/run.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<(), PipelineError> {
        std::fs::create_dir_all(dir).map_err(|source| PipelineError::Io {
            action: "cannot create",
            path: dir.to_owned(),
            source,
        })?;
        let json = serde_json::to_vec_pretty(self).expect("a run plan serialises");
        write_atomic(&dir.join(RUN_FILE), &json, 0o644)?;
        Ok(())
    }

    /// Refuses a stored plan that does not match this configuration: continuing would mix two
    /// runs' keys and nonces in one folder.
    pub fn check_matches(&self, wanted: &Self, path: &Path) -> Result<(), PipelineError> {
        let mismatch = |what: &str, stored: String, now: String| PipelineError::Plan {
            path: path.join(RUN_FILE),
            source: Reason(format!(
                "this output folder belongs to a run with {what} {stored}, but the config now says {now}; \
                 restore the old setting to resume it, or point validators.output_dir at a new folder"
            )),
        };
        if self.chain_id != wanted.chain_id || self.network != wanted.network {
            return Err(mismatch(
                "network",
                format!("{} (chain {})", self.network, self.chain_id),
                format!("{} (chain {})", wanted.network, wanted.chain_id),
            ));
        }
        if self.owner != wanted.owner {
            return Err(mismatch(
                "owner",
                self.owner.to_string(),
                wanted.owner.to_string(),
            ));
        }
        if self.operator_ids != wanted.operator_ids {
            return Err(mismatch(
                "operators",
                format!("{:?}", self.operator_ids),
                format!("{:?}", wanted.operator_ids),
            ));
        }
        if self.count != wanted.count {
            return Err(mismatch(
                "validators.count",
                self.count.to_string(),
                wanted.count.to_string(),
            ));
        }
        Ok(())
    }
}

/// The ceremony folders in `dir`, as (nonce, pubkey, path).
pub fn validator_folders(dir: &Path) -> Result<Vec<(u64, [u8; 48], PathBuf)>, PipelineError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PipelineError::Io {
                action: "cannot list",
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|source| PipelineError::Io {
            action: "cannot list",
            path: dir.to_owned(),
            source,
        })?;
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false)
            && let Some((nonce, pk)) = parse_validator_dir_name(&name)
        {
            out.push((nonce, pk, e.path()));
        }
    }
    out.sort_by_key(|(n, _, _)| *n);
    Ok(out)
}

/// The folder for `nonce`, refusing two folders with the same nonce (two keys for one nonce means
/// a ceremony was repeated by hand; which one to deposit is the user's call, not ours).
pub fn folder_for(
    folders: &[(u64, [u8; 48], PathBuf)],
    nonce: u64,
) -> Result<Option<([u8; 48], PathBuf)>, PipelineError> {
    let mut hits = folders.iter().filter(|(n, _, _)| *n == nonce);
    let first = hits.next();
    if let Some((_, _, second)) = hits.next() {
        return Err(PipelineError::stage_reason(
            StageId::Dkg,
            format!("#{nonce}"),
            format!(
                "two ceremony folders for owner nonce {nonce} ({} and {}); move the one that must not be deposited out of the output folder",
                first.map(|f| f.2.display().to_string()).unwrap_or_default(),
                second.display()
            ),
        ));
    }
    Ok(first.map(|(_, pk, p)| (*pk, p.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> RunPlan {
        RunPlan {
            network: "hoodi".into(),
            chain_id: 560_048,
            owner: Address::repeat_byte(0x11),
            operator_ids: vec![1, 2, 3, 4],
            first_nonce: 7,
            count: 3,
        }
    }

    #[test]
    fn plan_round_trips_and_lists_nonces() {
        let dir = tempfile::tempdir().unwrap();
        assert!(RunPlan::read(dir.path()).unwrap().is_none());
        plan().write(dir.path()).unwrap();
        let back = RunPlan::read(dir.path()).unwrap().unwrap();
        assert_eq!(back, plan());
        assert_eq!(back.nonces().collect::<Vec<_>>(), vec![7, 8, 9]);
    }

    #[test]
    fn a_different_owner_or_count_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let mut other = plan();
        other.owner = Address::repeat_byte(0x22);
        let e = plan().check_matches(&other, dir.path()).unwrap_err();
        let e = format!("{e}: {}", std::error::Error::source(&e).unwrap());
        assert!(e.contains("owner") && e.contains("new folder"), "{e}");
        let mut other = plan();
        other.count = 4;
        assert!(plan().check_matches(&other, dir.path()).is_err());
        // A different first nonce is fine: the chain's nonce moves as validators are registered.
        let mut later = plan();
        later.first_nonce = 9;
        plan().check_matches(&later, dir.path()).unwrap();
    }

    #[test]
    fn folders_are_found_by_nonce_and_duplicates_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = format!("{:06}-0x{}", 7, "ab".repeat(48));
        let b = format!("{:06}-0x{}", 8, "cd".repeat(48));
        std::fs::create_dir(dir.path().join(&a)).unwrap();
        std::fs::create_dir(dir.path().join(&b)).unwrap();
        std::fs::create_dir(dir.path().join("unrelated")).unwrap();
        let f = validator_folders(dir.path()).unwrap();
        assert_eq!(f.len(), 2);
        let (pk, path) = folder_for(&f, 8).unwrap().unwrap();
        assert_eq!(pk, [0xcd; 48]);
        assert!(path.ends_with(&b));
        assert!(folder_for(&f, 9).unwrap().is_none());
        let dup = format!("{:06}-0x{}", 8, "ef".repeat(48));
        std::fs::create_dir(dir.path().join(dup)).unwrap();
        let f = validator_folders(dir.path()).unwrap();
        assert!(folder_for(&f, 8).is_err());
    }
}
