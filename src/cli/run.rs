//! `ssv-agent run`: the whole pipeline from the config file, resumable; `--dry-run` on a fork.

use std::time::Duration;

use alloy::primitives::Address;
use clap::Args;

use super::GlobalOpts;
use crate::{
    beacon::activation::FollowOptions,
    pipeline::{self, RunOptions},
    ui::{OutputMode, Reporter},
};

/// Test builds (`test-hooks` feature) only: SIGKILL the run at this point (`pipeline::KillPoint`:
/// a stage name, or `deposit.signed`). Release builds ignore it.
pub const KILL_AT_ENV: &str = "SSV_AGENT_TEST_KILL_AT";

/// `run` options.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Fork the configured chain with anvil and run everything against the fork with the owner
    /// impersonated; prints what would be sent. The real chain is never written to.
    #[arg(long)]
    pub dry_run: bool,
    /// Owner to impersonate in a dry run (default: the configured signer's address).
    #[arg(long, requires = "dry_run")]
    pub owner: Option<Address>,
    /// Operator TLS trust.
    #[command(flatten)]
    pub tls: super::opts::OperatorTlsArgs,
    /// Seconds between beacon polls while waiting for activation.
    #[arg(long, default_value_t = 12)]
    pub poll_secs: u64,
    /// Chain and signer.
    #[command(flatten)]
    pub chain: super::opts::ChainArgs,
}

impl RunArgs {
    /// The pipeline options these flags describe.
    pub fn options(&self) -> eyre::Result<RunOptions> {
        Ok(RunOptions {
            dry_run: self.dry_run,
            owner: self.owner,
            tls: self.tls.client_tls()?,
            follow: FollowOptions {
                poll: Duration::from_secs(self.poll_secs.max(1)),
                ..FollowOptions::default()
            },
            kill_at: kill_at()?,
            ..RunOptions::default()
        })
    }

    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        if global.config.is_none() {
            eyre::bail!(
                "`run` needs --config <file> (start from config.toml.example); it moves real ETH and will not guess settings"
            );
        }
        let config = global.load_config_with(&self.chain)?;
        let opts = self.options()?;
        let ui = Reporter::new(OutputMode::detect(global.json));
        let started = std::time::Instant::now();
        let summary = pipeline::run(&config, &opts, &ui).await?;
        ui.info(format!(
            "{} in {}",
            if summary.dry_run {
                "dry run finished"
            } else {
                "run finished"
            },
            crate::ui::fmt_duration(started.elapsed().as_secs())
        ));
        Ok(())
    }
}

/// The crash point from `SSV_AGENT_TEST_KILL_AT`, in test builds only.
fn kill_at() -> eyre::Result<Option<pipeline::KillPoint>> {
    if !cfg!(feature = "test-hooks") {
        return Ok(None);
    }
    match std::env::var(KILL_AT_ENV) {
        Ok(v) if !v.is_empty() => Ok(Some(v.parse().map_err(|e: String| eyre::eyre!(e))?)),
        _ => Ok(None),
    }
}
