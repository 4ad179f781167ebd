//! What can stop a pipeline run: every variant names the stage, the validator or input, and keeps
//! the underlying error as its `source`, so the CLI prints the whole cause chain. None carries a
//! secret.

use std::{error::Error as StdError, path::PathBuf};

use super::stage::StageId;
use crate::{
    chain::{ChainError, signer::SignerError},
    config::ConfigError,
    journal::JournalError,
    rehearsal::RehearsalError,
};

/// A cause that is only a sentence: what was found and what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Reason(pub String);

/// Any underlying error of a stage, kept whole.
pub(super) type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// A pipeline failure.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A chain read or send failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A state file could not be opened or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The dry run's fork could not start.
    #[error(transparent)]
    Rehearsal(#[from] RehearsalError),
    /// A required setting is missing or inconsistent.
    #[error("config: {0}")]
    Setting(String),
    /// The owner key could not be loaded.
    #[error("the owner's signer")]
    Signer(#[source] SignerError),
    /// A preflight check failed: nothing was started and nothing was sent.
    #[error("preflight: {check}")]
    Preflight {
        /// Which check.
        check: &'static str,
        /// What was found.
        #[source]
        source: Cause,
    },
    /// The run folder belongs to another run (different owner, operators, network or count).
    #[error("{path} belongs to another run")]
    Plan {
        /// The run file.
        path: PathBuf,
        /// The mismatch and what to do.
        #[source]
        source: Reason,
    },
    /// A stage failed for one validator (or the cluster).
    #[error("{stage} [{validator}]")]
    Stage {
        /// Stage.
        stage: StageId,
        /// Validator label, or `cluster`.
        validator: String,
        /// What failed.
        #[source]
        source: Cause,
    },
    /// A stage this build cannot run.
    #[error("stage {stage} is not available: {what}")]
    NotAvailable {
        /// Stage.
        stage: StageId,
        /// What is missing.
        what: String,
    },
    /// A filesystem error outside the journal.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The io error.
        #[source]
        source: std::io::Error,
    },
}

impl PipelineError {
    /// A stage failure caused by `source`.
    pub(crate) fn stage(
        stage: StageId,
        validator: impl Into<String>,
        source: impl Into<Cause>,
    ) -> Self {
        Self::Stage {
            stage,
            validator: validator.into(),
            source: source.into(),
        }
    }

    /// A stage failure that is only a sentence.
    pub(crate) fn stage_reason(
        stage: StageId,
        validator: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::stage(stage, validator, Reason(reason.into()))
    }

    /// A preflight refusal caused by `source`.
    pub(crate) fn preflight(check: &'static str, source: impl Into<Cause>) -> Self {
        Self::Preflight {
            check,
            source: source.into(),
        }
    }

    /// A preflight refusal that is only a sentence.
    pub(crate) fn preflight_reason(check: &'static str, reason: impl Into<String>) -> Self {
        Self::preflight(check, Reason(reason.into()))
    }

    /// The stage the failure belongs to, for the stage list (`None`: the run as a whole).
    pub fn stage_id(&self) -> Option<StageId> {
        match self {
            Self::Stage { stage, .. } | Self::NotAvailable { stage, .. } => Some(*stage),
            Self::Preflight { .. }
            | Self::Config(_)
            | Self::Setting(_)
            | Self::Signer(_)
            | Self::Plan { .. }
            | Self::Rehearsal(_) => Some(StageId::Preflight),
            _ => None,
        }
    }
}
