//! The command layer: one clap struct per command, shared option groups, and the dispatch. Library
//! errors are typed (thiserror); here they become eyre reports with what to do next.

pub mod activation;
pub mod change_operators;
pub mod demo;
pub mod deposit;
pub mod devnet;
pub mod dkg;
pub mod dkg_change;
pub mod exit;
pub mod lifecycle;
pub mod operators;
pub mod opts;
pub mod register;
pub mod run;
pub mod status;
pub mod watch;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

/// ssv-agent: from chosen SSV operators to an active, registered and funded distributed validator.
#[derive(Debug, Parser)]
#[command(name = "ssv-agent", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by all commands.
#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// The TOML config file (see config.toml.example).
    #[arg(long, global = true, env = "SSV_AGENT_CONFIG")]
    pub config: Option<PathBuf>,
    /// One JSON event per line instead of human output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log filter (e.g. `info`, `ssv_agent=debug`).
    #[arg(long, global = true, default_value = "warn", env = "SSV_AGENT_LOG")]
    pub log: String,
}

impl GlobalOpts {
    /// The config with a command's chain and signer flags over it.
    pub fn load_config_with(&self, chain: &opts::ChainArgs) -> eyre::Result<Config> {
        let mut config = self.load_config()?;
        chain.apply(&mut config);
        Ok(config)
    }

    /// The config file if given, else defaults (hoodi).
    pub fn load_config(&self) -> eyre::Result<Config> {
        match &self.config {
            Some(p) => Ok(Config::load(p)?),
            None => {
                let mut c = Config::from_toml("").map_err(|e| eyre::eyre!(e))?;
                c.apply_env(|k| std::env::var(k).ok())?;
                Ok(c)
            }
        }
    }
}

/// Prints what a dry run executed on its fork (every transaction it would send).
pub fn print_rehearsal(chain: &crate::chain::Chain, json: bool) {
    let sent = chain.sent();
    if json {
        println!(
            "{}",
            serde_json::json!({ "event": "dry_run", "transactions": sent })
        );
        return;
    }
    for t in &sent {
        println!(
            "dry run: would send {} to {} with {} ETH, gas {} (executed on the fork: {})",
            t.kind,
            t.to,
            crate::ui::fmt_eth(t.value),
            t.gas_used,
            t.hash
        );
    }
    println!(
        "dry run: {} transaction(s) rehearsed on a fork; nothing was sent to the real chain",
        sent.len()
    );
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start or stop the local devnet (anvil + SSV contract doubles + operators [+ Lodestar]).
    #[command(subcommand)]
    Devnet(devnet::DevnetCommand),
    /// DKG ceremonies interoperable with ssvlabs' ssv-dkg v3.1.0: init, operator, ping, verify, resign, reshare.
    #[command(subcommand)]
    Dkg(dkg::DkgCommand),
    /// Check deposit data and send each deposit exactly once (journaled, resumable, --dry-run).
    Deposit(deposit::DepositArgs),
    /// Follow validators on the Beacon API until active, with an ETA.
    Activation(activation::ActivationArgs),
    /// The whole pipeline from the config: DKG, deposit, activation, SSV registration and funding;
    /// resumable; `--dry-run` rehearses it on an anvil fork.
    Run(run::RunArgs),
    /// The local demo: devnet + its DKG operators + SSV API double + Lodestar, operators chosen
    /// automatically, the pipeline for one validator, a summary.
    Demo(demo::DemoArgs),
    /// Register a keyshares file's validators with SSV and fund the cluster for the runway policy.
    Register(register::RegisterArgs),
    /// Each cluster of an owner: balance, burn rate, runway, liquidation block (table or --json).
    Status(status::StatusArgs),
    /// SSV operators from the SSV API with the chain's fees: filter, order, `check` their health
    /// before a ceremony, `cost` a cluster's fees and runway.
    Operators(Box<operators::OperatorsArgs>),
    /// Keep clusters above a runway floor: capped top-ups, metrics, optional reactivation.
    Watch(watch::WatchArgs),
    /// Remove validators from SSV (refuses ones still running on the beacon chain).
    Remove(lifecycle::RemoveArgs),
    /// Withdraw a cluster's balance, never below the liquidation collateral or the minimum runway.
    Withdraw(lifecycle::WithdrawArgs),
    /// Reactivate a liquidated cluster, funded for the runway policy.
    Reactivate(lifecycle::FundArgs),
    /// Migrate a legacy SSV-billed cluster to ETH billing (the SSV balance is refunded).
    Migrate(lifecycle::FundArgs),
    /// Show or set the owner's fee recipient.
    #[command(subcommand)]
    FeeRecipient(lifecycle::FeeRecipientCommand),
    /// Exit validators through SSV (one, several, or `--all` of a cluster), then follow them to
    /// withdrawable with an ETA; refuses validators that are not active or not the owner's.
    Exit(exit::ExitArgs),
    /// Move a registered validator to a new operator set without exiting it: new keyshares
    /// (`--keyshares` or the reshare ceremony), remove, wait the epochs, register, withdraw;
    /// resumable; `--dry-run` rehearses it on an anvil fork.
    ChangeOperators(Box<change_operators::ChangeOperatorsArgs>),
}

impl Cli {
    /// Runs the chosen command.
    pub async fn run(self) -> eyre::Result<()> {
        match self.command {
            Command::Devnet(cmd) => cmd.run(&self.global).await,
            Command::Dkg(cmd) => cmd.run(&self.global).await,
            Command::Deposit(cmd) => cmd.run(&self.global).await,
            Command::Activation(cmd) => cmd.run(&self.global).await,
            Command::Run(cmd) => cmd.run(&self.global).await,
            Command::Demo(cmd) => cmd.run(&self.global).await,
            Command::Register(cmd) => cmd.run(&self.global).await,
            Command::Status(cmd) => cmd.run(&self.global).await,
            Command::Operators(cmd) => cmd.run(&self.global).await,
            Command::Watch(cmd) => cmd.run(&self.global).await,
            Command::Remove(cmd) => cmd.run(&self.global).await,
            Command::Withdraw(cmd) => cmd.run(&self.global).await,
            Command::Reactivate(cmd) => cmd.reactivate(&self.global).await,
            Command::Migrate(cmd) => cmd.migrate(&self.global).await,
            Command::FeeRecipient(cmd) => cmd.run(&self.global).await,
            Command::Exit(cmd) => cmd.run(&self.global).await,
            Command::ChangeOperators(cmd) => cmd.run(&self.global).await,
        }
    }
}
