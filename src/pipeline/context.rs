//! What every stage needs: the checked chain and beacon connections, the owner, the operators,
//! the run plan and where state lives.

use std::{path::PathBuf, sync::Arc};

use alloy::primitives::Address;

use super::{PipelineError, RunOptions, plan::RunPlan};
use crate::{
    beacon::client::BeaconClient,
    chain::{Chain, impersonate::ForkTx, send::FeeCaps},
    config::Config,
    deposit::checks::NodeFacts,
    dkg::initiator::Initiator,
    journal::{StateFile, ValidatorState},
    network::NetworkProfile,
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
    /// DKG initiator for the chosen operators.
    pub initiator: Arc<Initiator>,
    /// What this output folder is for.
    pub plan: RunPlan,
    /// Ceremony outputs.
    pub output_dir: PathBuf,
    /// Where state files live (= `output_dir`, or a throw-away folder in a dry run).
    pub state_root: PathBuf,
    /// Kept alive so a temporary dry-run state folder lasts the run.
    pub _state_tmp: Option<tempfile::TempDir>,
    /// Gas caps for every transaction.
    pub caps: FeeCaps,
    /// Options.
    pub opts: RunOptions,
    /// Progress output.
    pub ui: Reporter,
    /// Transactions executed on the fork (dry run).
    pub fork_txs: Vec<ForkTx>,
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
            .field("dry_run", &self.opts.dry_run)
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
                PipelineError::stage(
                    "dkg",
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

    /// The state file of a ceremony folder (under `state_root` in a dry run).
    pub fn open_state(&self, ceremony_dir: &std::path::Path) -> Result<StateFile, PipelineError> {
        let dir = match ceremony_dir.file_name() {
            Some(name) if self.state_root != self.output_dir => self.state_root.join(name),
            _ => ceremony_dir.to_owned(),
        };
        Ok(StateFile::open(&dir)?)
    }

    /// Reads a ceremony folder's state without locking (for estimates only).
    pub fn peek_state(&self, ceremony_dir: &std::path::Path) -> Option<ValidatorState> {
        let dir = match ceremony_dir.file_name() {
            Some(name) if self.state_root != self.output_dir => self.state_root.join(name),
            _ => ceremony_dir.to_owned(),
        };
        let bytes = std::fs::read(dir.join(crate::journal::STATE_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Test-only crash point: SIGKILL ourselves when the run was told to die here.
    pub fn maybe_kill(&self, point: &str) {
        if self.opts.kill_at.as_deref() == Some(point) {
            self.ui
                .warn(format!("test hook: killing the process at {point}"));
            #[cfg(unix)]
            // SAFETY: kill(2) on our own pid; SIGKILL is what the crash tests simulate.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
        }
    }
}
