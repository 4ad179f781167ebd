//! What can stop a pipeline run: every variant names the stage, the validator or input, and what
//! to do next. None carries a secret.

use std::path::PathBuf;

use crate::{chain::ChainError, config::ConfigError, journal::JournalError};

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
    /// A required setting is missing or inconsistent.
    #[error("config: {0}")]
    Setting(String),
    /// The owner key could not be loaded.
    #[error("signer: {0}")]
    Signer(String),
    /// A preflight check failed: nothing was started and nothing was sent.
    #[error("preflight: {check}: {message}")]
    Preflight {
        /// Which check.
        check: &'static str,
        /// What was found and what to do.
        message: String,
    },
    /// The run folder belongs to another run (different owner, operators, network or count).
    #[error("{path}: {message}")]
    Plan {
        /// The run file.
        path: PathBuf,
        /// The mismatch and what to do.
        message: String,
    },
    /// A stage failed for one validator.
    #[error("{stage} [{validator}]: {message}")]
    Stage {
        /// Stage name.
        stage: &'static str,
        /// Validator label.
        validator: String,
        /// What failed and what to do.
        message: String,
    },
    /// A stage this build cannot run yet.
    #[error("stage {stage} is not available yet: {what}")]
    NotAvailable {
        /// Stage name.
        stage: &'static str,
        /// What is missing.
        what: String,
    },
    /// A filesystem error outside the journal.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The io error.
        source: std::io::Error,
    },
}

impl PipelineError {
    pub(crate) fn stage(
        stage: &'static str,
        validator: impl Into<String>,
        message: impl std::fmt::Display,
    ) -> Self {
        Self::Stage {
            stage,
            validator: validator.into(),
            message: message.to_string(),
        }
    }

    pub(crate) fn preflight(check: &'static str, message: impl Into<String>) -> Self {
        Self::Preflight {
            check,
            message: message.into(),
        }
    }
}
