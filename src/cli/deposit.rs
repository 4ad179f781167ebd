//! `ssv-agent deposit`: check deposit_data.json files and send each deposit exactly once.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{
    GlobalOpts,
    opts::{ChainArgs, Mode, connect},
};
use crate::{
    beacon::client::BeaconClient,
    deposit::{
        checks::Allowances,
        json::read_deposit_file,
        send::{DepositJob, DepositRequest, SendOptions, deposit_all},
    },
    journal::validator_dir,
};

/// `deposit` options.
#[derive(Debug, Clone, Args)]
pub struct DepositArgs {
    /// deposit_data.json files (per-validator or aggregate); each entry is one validator.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Rehearse on an anvil fork of the RPC with the sender impersonated: every check and the
    /// transactions themselves run there; nothing reaches the real chain or the real journals.
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
    /// Root of the state files (default: validators.output_dir). Each validator's journal is the
    /// one folder of its pubkey under it, whatever file names the deposit.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Chain and signer.
    #[command(flatten)]
    pub chain: ChainArgs,
}

impl DepositArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        let config = global.load_config_with(&self.chain)?;
        let withdrawal_address = config.validators.withdrawal_address.ok_or_else(|| {
            eyre::eyre!("validators.withdrawal_address is not set: the deposit credentials are checked against it")
        })?;
        let mode = if self.dry_run {
            Mode::DryRun
        } else {
            Mode::Send
        };
        let connected = connect(&config, mode, None).await?;
        let beacon = if self.no_beacon {
            None
        } else {
            Some(BeaconClient::new(
                &config.beacon.url,
                Duration::from_secs(15),
            )?)
        };
        let root = self
            .state_dir
            .clone()
            .unwrap_or_else(|| config.validators.output_dir.clone());
        let mut jobs: Vec<DepositJob> = Vec::new();
        for file in &self.files {
            for entry in read_deposit_file(file)? {
                // The aggregate file and the per-validator files name the same deposits: one job,
                // one journal per pubkey.
                if let Some(seen) = jobs.iter().find(|j| j.entry.pubkey == entry.pubkey) {
                    if seen.entry != entry {
                        eyre::bail!(
                            "{} holds a deposit for {} that differs from the one in an earlier file; check which file is right before depositing",
                            file.display(),
                            entry.pubkey_hex()
                        );
                    }
                    continue;
                }
                let state_dir = validator_dir(&root, &entry.pubkey_hex())?;
                jobs.push(DepositJob { entry, state_dir });
            }
        }
        let req = DepositRequest {
            jobs,
            withdrawal_address,
            compounding: Some(config.validators.compounding),
            amount_gwei: Some(config.validators.amount_gwei),
            opts: SendOptions {
                allow: Allowances {
                    network_name: self.allow_network_name,
                    excess_amount: self.allow_excess_amount,
                },
            },
            scratch: connected
                .rehearsal
                .as_ref()
                .map(|r| r.scratch().join("state")),
        };
        let json = global.json;
        let chain = &connected.chain;
        deposit_all(chain, beacon.as_ref(), &req, |line| {
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
        if connected.rehearsal.is_some() {
            super::print_rehearsal(chain, json);
        }
        Ok(())
    }
}
