//! The run file (`<output>/run.json`): which owner, operators, network and owner nonces this output
//! folder is for, and how the operators were chosen. The first nonce is fixed on the first run, so
//! a rerun after some registrations (which advance the chain's nonce) still maps validator i to
//! nonce first + i. The operators may still change while no ceremony output exists (a failed check
//! is retried or replaced); from the first output on they are pinned ([`pinned_operators`] reads
//! them from the outputs themselves). Each validator's folder is `<output>/<nonce %06d>-0x<pubkey>/`
//! (ssv-dkg's layout) with its `state.json` beside the ceremony files.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use super::{PipelineError, Reason, StageId};
use crate::{
    config::OperatorChoice, dkg::verify::parse_validator_dir_name, journal::write_atomic,
    operators::select::Replacement, ssv::keyshares::KeysharesFile,
};

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
    /// How the operators were chosen (absent in run files written before automatic selection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<SelectionRecord>,
    /// Owner nonce of the first validator.
    pub first_nonce: u64,
    /// Number of validators.
    pub count: u32,
}

/// How the run's operators were chosen, kept with the choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionRecord {
    /// What the config asked for: `"auto"` or the ids.
    pub requested: OperatorChoice,
    /// Each chosen operator and why.
    pub chosen: Vec<ChosenRecord>,
    /// Operators of a fixed list swapped because they failed their check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<Replacement>,
}

/// One chosen operator in the run file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenRecord {
    /// Operator id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Why it was chosen.
    pub why: String,
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
    /// runs' keys and nonces in one folder. (The operators are checked against the outputs by
    /// [`check_pinned_request`]: they may change until the first ceremony output exists.)
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

/// The operators the ceremony outputs in `dir` were made with (from their `keyshares.json`), or
/// `None` when there is none yet. Outputs made with different operators are refused: one folder
/// is one cluster.
pub fn pinned_operators(dir: &Path) -> Result<Option<Vec<u64>>, PipelineError> {
    let mut pinned: Option<(Vec<u64>, PathBuf)> = None;
    for (nonce, _, folder) in validator_folders(dir)? {
        let file = folder.join("keyshares.json");
        let text = std::fs::read_to_string(&file).map_err(|source| PipelineError::Io {
            action: "cannot read the ceremony output",
            path: file.clone(),
            source,
        })?;
        let ks = KeysharesFile::parse(&text).map_err(|e| {
            PipelineError::stage_reason(
                StageId::Dkg,
                format!("#{nonce}"),
                format!("{}: {e}", file.display()),
            )
        })?;
        let mut ids = ks.shares[0].payload.operator_ids.clone();
        ids.sort_unstable();
        match &pinned {
            None => pinned = Some((ids, folder)),
            Some((first, at)) if *first != ids => {
                return Err(PipelineError::stage_reason(
                    StageId::Dkg,
                    format!("#{nonce}"),
                    format!(
                        "{} was made with operators {ids:?} but {} with {first:?}; one output folder holds one cluster: move one of them out",
                        folder.display(),
                        at.display()
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(pinned.map(|(ids, _)| ids))
}

/// Refuses a configured fixed list that names other operators than the pinned ones, unless it is
/// the list the pinned choice was made from (the agent replaced some of it).
pub fn check_pinned_request(
    pinned: &[u64],
    requested: &OperatorChoice,
    stored: Option<&RunPlan>,
    replace_unhealthy: bool,
    dir: &Path,
) -> Result<(), PipelineError> {
    let Some(ids) = requested.ids() else {
        return Ok(());
    };
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    let from = stored
        .and_then(|s| s.selection.as_ref())
        .and_then(|s| s.requested.ids())
        .map(|r| {
            let mut r = r.to_vec();
            r.sort_unstable();
            r
        });
    // Without a run file (a dry run's outputs) the replaced list cannot be known; with
    // replacement on, the outputs' operators stand.
    if ids == pinned || from.as_ref() == Some(&ids) || (from.is_none() && replace_unhealthy) {
        return Ok(());
    }
    Err(PipelineError::Plan {
        path: dir.join(RUN_FILE),
        source: Reason(format!(
            "the ceremony outputs in {} were made with operators {pinned:?}, but validators.operators now says {ids:?}; \
             the choice is pinned from the first output on: restore the old list (or \"auto\"), or point validators.output_dir at a new folder",
            dir.display()
        )),
    })
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
            selection: None,
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

    fn output(dir: &Path, nonce: u64, ids: &[u64]) {
        let d = dir.join(format!(
            "{nonce:06}-0x{}",
            format!("{:02x}", nonce).repeat(48)
        ));
        std::fs::create_dir_all(&d).unwrap();
        let ops: Vec<_> = ids
            .iter()
            .map(|id| serde_json::json!({"id": id, "operatorKey": "k"}))
            .collect();
        let ks = serde_json::json!({
            "version": "v1.1.0", "createdAt": "2026-01-01T00:00:00Z",
            "shares": [{
                "data": {"ownerNonce": nonce, "ownerAddress": "0x11", "publicKey": "0x", "operators": ops},
                "payload": {"publicKey": "0x", "operatorIds": ids, "sharesData": "0x"}
            }]
        });
        std::fs::write(d.join("keyshares.json"), ks.to_string()).unwrap();
    }

    #[test]
    fn outputs_pin_the_operators_and_must_agree() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(pinned_operators(dir.path()).unwrap(), None);
        output(dir.path(), 3, &[4, 2, 10, 1]);
        output(dir.path(), 4, &[1, 2, 4, 10]);
        assert_eq!(
            pinned_operators(dir.path()).unwrap(),
            Some(vec![1, 2, 4, 10])
        );
        output(dir.path(), 5, &[1, 2, 3, 4]);
        let e = pinned_operators(dir.path()).unwrap_err();
        let e = format!("{e}: {}", std::error::Error::source(&e).unwrap());
        assert!(e.contains("one output folder holds one cluster"), "{e}");
    }

    #[test]
    fn a_pinned_choice_accepts_auto_the_same_list_or_the_list_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let pinned = [1, 2, 3, 4];
        let ids = |v: &[u64]| OperatorChoice::Ids(v.to_vec());
        let mut stored = plan();
        stored.selection = Some(SelectionRecord {
            requested: ids(&[1, 2, 3, 7]),
            chosen: vec![],
            replaced: vec![],
        });
        let ok = |req: &OperatorChoice, stored: Option<&RunPlan>, replace: bool| {
            check_pinned_request(&pinned, req, stored, replace, dir.path()).is_ok()
        };
        assert!(ok(&OperatorChoice::Auto, None, false));
        assert!(ok(&ids(&[4, 3, 2, 1]), None, false));
        assert!(ok(&ids(&[7, 3, 2, 1]), Some(&stored), false));
        assert!(!ok(&ids(&[1, 2, 3, 9]), Some(&stored), true));
        // A dry run's outputs have no run file: with replacement on, they stand.
        assert!(ok(&ids(&[1, 2, 3, 7]), None, true));
        assert!(!ok(&ids(&[1, 2, 3, 7]), None, false));
        let e = check_pinned_request(&pinned, &ids(&[5, 6, 7, 8]), None, false, dir.path())
            .unwrap_err();
        let e = format!("{e}: {}", std::error::Error::source(&e).unwrap());
        assert!(e.contains("pinned from the first output on"), "{e}");
    }

    #[test]
    fn run_files_without_a_selection_still_load_and_one_with_it_round_trips() {
        let old = r#"{"network":"hoodi","chain_id":560048,"owner":"0x1111111111111111111111111111111111111111","operator_ids":[1,2,3,4],"first_nonce":7,"count":3}"#;
        let p: RunPlan = serde_json::from_str(old).unwrap();
        assert_eq!(p, plan());
        let mut with = plan();
        with.selection = Some(SelectionRecord {
            requested: OperatorChoice::Auto,
            chosen: vec![ChosenRecord {
                id: 1,
                name: "Aurora".into(),
                why: "verified".into(),
            }],
            replaced: vec![Replacement {
                replaced: 7,
                by: 4,
                reason: "offline".into(),
            }],
        });
        let text = serde_json::to_string(&with).unwrap();
        assert!(text.contains(r#""requested":"auto""#), "{text}");
        assert_eq!(serde_json::from_str::<RunPlan>(&text).unwrap(), with);
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
