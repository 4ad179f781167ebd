//! `ssv-agent deposit`: check deposit_data.json files and send each deposit exactly once.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::GlobalOpts;
use crate::{
    beacon::client::BeaconClient,
    chain::{Chain, send::FeeCaps, signer::load_signer},
    deposit::{
        checks::Allowances,
        json::read_deposit_file,
        send::{DepositJob, DepositRequest, Outcome, SendOptions, deposit_all, state_dir_for},
    },
};

/// `deposit` options.
#[derive(Debug, Clone, Args)]
pub struct DepositArgs {
    /// deposit_data.json files (per-validator or aggregate); each entry is one validator.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print the transactions and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask the beacon node (neither its network identity nor whether the validator exists).
    #[arg(long)]
    pub no_beacon: bool,
    /// Accept a `network_name` other than the profile's (devnets reusing a public fork version).
    #[arg(long)]
    pub allow_network_name: bool,
    /// Accept 0x01 credentials with more than 32 ETH (the excess is swept back, not staked).
    #[arg(long)]
    pub allow_excess_amount: bool,
    /// Folder for state files of entries not inside an ssv-dkg `<nonce>-0x<pubkey>` folder
    /// (default: validators.output_dir of the config).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

impl DepositArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        let config = global.load_config()?;
        let profile = config.profile()?;
        let withdrawal_address = config.validators.withdrawal_address.ok_or_else(|| {
            eyre::eyre!("validators.withdrawal_address is not set: the deposit credentials are checked against it")
        })?;
        let signer = if self.dry_run {
            load_signer(&config.signer, |k| std::env::var(k).ok()).ok()
        } else {
            Some(load_signer(&config.signer, |k| std::env::var(k).ok())?)
        };
        let chain = Chain::connect(&config.rpc.url, &profile, signer)
            .await?
            .with_log_chunk(config.rpc.log_chunk_blocks)
            .with_confirmations(config.deposit.confirmations);
        let beacon = if self.no_beacon {
            None
        } else {
            Some(BeaconClient::new(
                &config.beacon.url,
                Duration::from_secs(15),
            )?)
        };
        let base = self
            .state_dir
            .clone()
            .unwrap_or_else(|| config.validators.output_dir.clone());
        let mut jobs = Vec::new();
        for file in &self.files {
            for entry in read_deposit_file(file)? {
                let state_dir = state_dir_for(file, &entry, &base);
                jobs.push(DepositJob { entry, state_dir });
            }
        }
        // The aggregate file and the per-validator files name the same deposits: one job each.
        jobs.sort_by_key(|j| j.entry.pubkey);
        jobs.dedup_by(|a, b| a.entry == b.entry);
        let req = DepositRequest {
            jobs,
            withdrawal_address,
            compounding: Some(config.validators.compounding),
            amount_gwei: Some(config.validators.amount_gwei),
            opts: SendOptions {
                dry_run: self.dry_run,
                caps: FeeCaps::from_gwei(
                    config.deposit.max_fee_per_gas_gwei,
                    config.deposit.max_priority_fee_per_gas_gwei,
                ),
                allow: Allowances {
                    network_name: self.allow_network_name,
                    excess_amount: self.allow_excess_amount,
                },
            },
        };
        let json = global.json;
        let outcomes = deposit_all(&chain, beacon.as_ref(), &req, |line| {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "event": "deposit", "message": line })
                );
            } else {
                println!("{line}");
            }
        })
        .await?;
        for o in outcomes {
            if let Outcome::DryRun(text) = o {
                println!("{text}");
            }
        }
        Ok(())
    }
}
