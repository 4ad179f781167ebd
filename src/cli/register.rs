//! `ssv-agent register`: check a keyshares file against the chain and register its validators
//! with SSV, funding the cluster for the runway policy (defaults from `[funding]`).

use std::path::PathBuf;

use alloy::primitives::U256;
use clap::Args;
use eyre::WrapErr;

use super::{
    GlobalOpts,
    opts::{ChainArgs, Mode, connect},
};
use crate::{
    amount::parse_amount,
    journal::{StateFile, validator_dir},
    ssv::{
        keyshares::load_and_validate,
        register::{RegisterOptions, RegisterReport, register},
        status::fmt_units,
    },
};

/// `register` options.
#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    /// The keyshares file (ssv-dkg `keyshares.json`, v1.1.0 or v1.2.0).
    #[arg(long)]
    pub keyshares: PathBuf,
    /// Fund the cluster for this many days (default: funding.runway_days).
    #[arg(long)]
    pub runway_days: Option<u64>,
    /// Refuse anything leaving less runway than this (default: funding.min_runway_days).
    #[arg(long)]
    pub min_runway_days: Option<u64>,
    /// Migrate an SSV-billed (legacy) cluster to ETH first (default: funding.allow_migration).
    #[arg(long)]
    pub allow_migration: bool,
    /// Refuse if the funding would exceed this, e.g. `0.5eth` or wei digits.
    #[arg(long, value_parser = parse_amount)]
    pub max_deposit: Option<U256>,
    /// Send exactly this amount instead of the runway policy's (still checked against the minimum).
    #[arg(long, value_parser = parse_amount)]
    pub amount: Option<U256>,
    /// Rehearse on an anvil fork of the RPC with the owner impersonated: every check and every
    /// transaction (approve, migrate, register) runs there; nothing reaches the real chain.
    #[arg(long)]
    pub dry_run: bool,
    /// Root of the state files (default: validators.output_dir); the journal is the folder of the
    /// file's first validator under it.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Chain and signer.
    #[command(flatten)]
    pub chain: ChainArgs,
}

impl RegisterArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        let config = global.load_config_with(&self.chain)?;
        // Every keyshares check that needs no chain runs before connecting.
        let ks = load_and_validate(&self.keyshares)?;
        let first = ks
            .shares
            .first()
            .ok_or_else(|| eyre::eyre!("{} holds no validators", self.keyshares.display()))?;
        let root = self
            .state_dir
            .clone()
            .unwrap_or_else(|| config.validators.output_dir.clone());
        let state_dir = validator_dir(&root, &first.public_key_hex())?;
        let mode = if self.dry_run {
            Mode::DryRun
        } else {
            Mode::Send
        };
        let connected = connect(&config, mode, None).await?;
        let chain = &connected.chain;
        let mut state = match &connected.rehearsal {
            Some(r) => r.open_state(&state_dir),
            None => StateFile::open(&state_dir),
        }
        .wrap_err_with(|| format!("opening the state file in {}", state_dir.display()))?;
        let opts = RegisterOptions {
            runway_days: self.runway_days.unwrap_or(config.funding.runway_days),
            min_runway_days: self
                .min_runway_days
                .unwrap_or(config.funding.min_runway_days),
            allow_migration: self.allow_migration || config.funding.allow_migration,
            max_deposit: self.max_deposit,
            amount: self.amount,
        };
        let report = register(chain, &ks, &mut state, &opts)
            .await
            .wrap_err_with(|| {
                format!(
                    "registering {} with operators {:?}",
                    self.keyshares.display(),
                    ks.operator_ids
                )
            })?;
        if global.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", describe(&report, chain.profile().blocks_per_day));
        }
        Ok(())
    }
}

/// The report as lines for people.
fn describe(r: &RegisterReport, blocks_per_day: u64) -> String {
    let mut s = format!(
        "cluster {} (owner {}, operators {:?})\n",
        r.cluster_id, r.owner, r.operator_ids
    );
    if let Some(p) = r.path {
        s.push_str(&format!("path: {p:?}\n"));
    }
    if let Some(f) = &r.funding {
        let runway = f.runway_blocks_after.map_or("unlimited".to_string(), |b| {
            format!("{:.1} days", b as f64 / blocks_per_day as f64)
        });
        s.push_str(&format!(
            "funding: deposit {} (target balance {}, collateral {}, burn {} wei/block), runway after: {runway}\n",
            fmt_units(f.deposit),
            fmt_units(f.target_balance),
            fmt_units(f.collateral_after),
            f.burn_rate_after
        ));
    }
    for pk in &r.already_registered {
        s.push_str(&format!("already registered, nothing sent: {pk}\n"));
    }
    for pk in &r.registered {
        s.push_str(&format!("registered: {pk}\n"));
    }
    for t in &r.transactions {
        s.push_str(&format!(
            "tx {} {} {:?}{}\n",
            t.kind,
            t.tx_hash,
            t.status,
            t.block
                .map(|b| format!(" in block {b}"))
                .unwrap_or_default()
        ));
    }
    if r.rehearsal {
        s.push_str(
            "dry run: every transaction above ran on a fork; nothing was sent to the real chain\n",
        );
    }
    s
}
