//! What every stage needs: the checked chain and beacon connections, the owner, the operators,
//! the run plan and where state lives.

use std::{path::PathBuf, sync::Arc};

use alloy::primitives::Address;

use super::{PipelineError, RunOptions, plan::RunPlan};
use crate::{
    beacon::client::BeaconClient,
    chain::Chain,
    config::Config,
    deposit::checks::NodeFacts,
    dkg::initiator::Initiator,
    journal::{StateFile, ValidatorState},
    network::NetworkProfile,
    rehearsal::Rehearsal,
    ui::{Reporter, validator_label},
};

/// A run in progress.
pub struct Ctx {
    /// The configuration.
    pub config: Config,
    /// Its network profile.
    pub profile: NetworkProfile,
    /// The chain (the fork in a dry run).
    pub chain: Chain,
    /// The beacon node (absent only in a dry run whose beacon node is unreachable).
    pub beacon: Option<BeaconClient>,
    /// Facts the nodes reported, for the deposit checks.
    pub node_facts: NodeFacts,
    /// Cluster owner (the signer, or the impersonated address in a dry run).
    pub owner: Address,
    /// DKG initiator for the chosen operators (`None` when every ceremony output is on disk).
    pub initiator: Option<Arc<Initiator>>,
    /// What this output folder is for.
    pub plan: RunPlan,
    /// Ceremony outputs and their state files.
    pub output_dir: PathBuf,
    /// The dry run's fork and scratch folder (state files are copies there).
    pub rehearsal: Option<Arc<Rehearsal>>,
    /// Options.
    pub opts: RunOptions,
    /// Progress output.
    pub ui: Reporter,
}

/// One validator of the run, with its state file held open (and locked) while the run lasts.
#[derive(Debug)]
pub struct Validator {
    /// Owner nonce.
    pub nonce: u64,
    /// Public key.
    pub pubkey: [u8; 48],
    /// Ceremony folder.
    pub dir: PathBuf,
    /// Its state.
    pub state: StateFile,
    /// `#nonce 0xabcd…`.
    pub label: String,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("network", &self.profile.name)
            .field("owner", &self.owner)
            .field("plan", &self.plan)
            .field("output_dir", &self.output_dir)
            .field("dry_run", &self.rehearsal.is_some())
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// Opens every validator's state file (all ceremonies must be on disk by now).
    pub fn open_validators(&self) -> Result<Vec<Validator>, PipelineError> {
        let folders = super::plan::validator_folders(&self.output_dir)?;
        let mut out = Vec::new();
        for nonce in self.plan.nonces() {
            let (pubkey, dir) = super::plan::folder_for(&folders, nonce)?.ok_or_else(|| {
                PipelineError::stage_reason(
                    super::StageId::Dkg,
                    format!("#{nonce}"),
                    "no ceremony output on disk after the ceremony stage",
                )
            })?;
            let state = self.open_state(&dir)?;
            out.push(Validator {
                nonce,
                pubkey,
                label: validator_label(nonce, Some(&pubkey)),
                dir,
                state,
            });
        }
        Ok(out)
    }

    /// The state file of a ceremony folder (its scratch copy in a dry run).
    pub fn open_state(&self, ceremony_dir: &std::path::Path) -> Result<StateFile, PipelineError> {
        Ok(match &self.rehearsal {
            Some(r) => r.open_state(ceremony_dir)?,
            None => StateFile::open(ceremony_dir)?,
        })
    }

    /// Reads a ceremony folder's state without locking (for estimates only). A dry run's copy
    /// starts as the real one, so the real file is what counts.
    pub fn peek_state(&self, ceremony_dir: &std::path::Path) -> Option<ValidatorState> {
        let bytes = std::fs::read(ceremony_dir.join(crate::journal::STATE_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Whether this run is a rehearsal on a fork.
    pub fn is_dry_run(&self) -> bool {
        self.rehearsal.is_some()
    }
}
