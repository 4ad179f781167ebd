//! `ssv-agent run`: the resumable pipeline
//! preflight -> dkg -> verify -> deposit -> activation -> register -> fund, for 1..=100 validators.
//!
//! Every stage follows one rule: read the validator's state file, skip what is done, do the work,
//! persist before moving on. Transactions are journaled (hash and raw bytes) before broadcast by
//! `chain::send`, so a rerun after any crash resumes the recorded transaction and never sends a
//! second deposit or registration. Each ceremony's output is written the moment it exists.
//!
//! `--dry-run` runs the same stages against an anvil fork with the owner impersonated
//! (`chain::impersonate`): its state files live in a temporary folder, so the real run later starts
//! from the real chain's state; ceremony outputs (real keys held by real operators) are kept.

mod context;
mod error;
pub mod fork;
pub mod local;
mod operators;
pub mod plan;
mod preflight;
mod stages;
mod summary;

use std::path::PathBuf;

use alloy::primitives::Address;

pub use context::Ctx;
pub use error::PipelineError;
pub use operators::{SUPPORTED_DKG_VERSIONS, load_operators_info};
pub use summary::{ClusterSummary, RunSummary, ValidatorSummary};

use crate::{
    beacon::activation::FollowOptions, config::Config, dkg::initiator::ClientTls, ui::Reporter,
};

/// The stages, in order, as shown in the stage list.
pub const STAGES: [&str; 7] = [
    "preflight",
    "dkg",
    "verify",
    "deposit",
    "activation",
    "register",
    "fund",
];

/// Test-only crash points (`SSV_AGENT_TEST_KILL_AT`): after a stage's state is persisted, and right
/// after a deposit is journaled as signed but before it is broadcast.
pub const KILL_POINTS: [&str; 7] = [
    "dkg",
    "verify",
    "deposit.signed",
    "deposit",
    "activation",
    "register",
    "fund",
];

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run against an anvil fork with the owner impersonated; never touches the real chain.
    pub dry_run: bool,
    /// The owner to impersonate in a dry run (default: the configured signer's address).
    pub owner: Option<Address>,
    /// How operator TLS certificates are trusted.
    pub tls: ClientTls,
    /// Activation polling.
    pub follow: FollowOptions,
    /// Ceremonies run at once.
    pub ceremony_concurrency: usize,
    /// Where a dry run keeps its throw-away state files (a temporary folder when `None`).
    pub dry_run_state_dir: Option<PathBuf>,
    /// Test-only: SIGKILL this process at the named point (one of [`KILL_POINTS`]).
    pub kill_at: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            owner: None,
            tls: ClientTls::default(),
            follow: FollowOptions::default(),
            ceremony_concurrency: 4,
            dry_run_state_dir: None,
            kill_at: None,
        }
    }
}

/// Runs the whole pipeline for the configured validators and returns what stands at the end.
pub async fn run(
    config: &Config,
    opts: &RunOptions,
    ui: &Reporter,
) -> Result<RunSummary, PipelineError> {
    ui.plan(&STAGES, config.validators.count as usize, opts.dry_run);
    let result = run_stages(config, opts, ui).await;
    if let Err(e) = &result {
        let stage = match e {
            PipelineError::Preflight { .. }
            | PipelineError::Config(_)
            | PipelineError::Setting(_)
            | PipelineError::Signer(_)
            | PipelineError::Plan { .. } => "preflight",
            PipelineError::Stage { stage, .. } | PipelineError::NotAvailable { stage, .. } => stage,
            _ => "run",
        };
        ui.stage_failed(stage, None, e.to_string());
    }
    result
}

/// `--dry-run`: forks the configured chain with anvil, runs the pipeline against the fork with the
/// owner impersonated, and returns what would be sent. The real chain only serves reads.
pub async fn dry_run(
    config: &Config,
    opts: &RunOptions,
    ui: &Reporter,
) -> Result<RunSummary, PipelineError> {
    let fork = fork::Fork::start(&config.rpc.url).await?;
    ui.info(format!(
        "dry run: forked {} into a local anvil at {}; every transaction goes there",
        crate::chain::redact_url(&config.rpc.url),
        fork.url()
    ));
    let mut c = config.clone();
    c.rpc.url = fork.url().to_string();
    // Scan caches are keyed by chain id: the fork must not write its own state into them.
    c.rpc.log_cache_dir = None;
    let o = RunOptions {
        dry_run: true,
        ..opts.clone()
    };
    let summary = run(&c, &o, ui).await;
    drop(fork);
    summary
}

async fn run_stages(
    config: &Config,
    opts: &RunOptions,
    ui: &Reporter,
) -> Result<RunSummary, PipelineError> {
    let mut ctx = preflight::preflight(config, opts, ui).await?;
    stages::ceremonies(&ctx).await?;
    let mut validators = ctx.open_validators()?;
    for v in &mut validators {
        stages::verify(&ctx, v).await?;
    }
    for v in &mut validators {
        stages::deposit(&mut ctx, v).await?;
    }
    for v in &mut validators {
        stages::activation(&ctx, v).await?;
    }
    for v in &mut validators {
        stages::register(&mut ctx, v).await?;
    }
    stages::fund(&mut ctx, &mut validators).await?;
    summary::summarise(&ctx, &validators).await
}
