//! The commands for a validator's life after "funded": `remove`, `withdraw`, `reactivate`,
//! `migrate` and `fee-recipient`. Each checks before it sends, journals in the cluster's (or
//! owner's) action journal under the state root, resumes after a crash, and rehearses on a fork
//! with `--dry-run`.

use std::{path::PathBuf, time::Duration};

use alloy::primitives::{Address, U256};
use clap::{Args, Subcommand};
use eyre::WrapErr;

use super::{
    GlobalOpts,
    opts::{ChainArgs, Connected, Mode, connect},
    print_rehearsal,
    status::OperatorSet,
};
use crate::{
    amount::parse_amount,
    beacon::client::BeaconClient,
    config::Config,
    journal::{ActionJournal, cluster_dir, owner_dir},
    ssv::{
        lifecycle::{self, Amount, LifecycleReport, Selection},
        status::fmt_units,
    },
};

/// Options every lifecycle command shares.
#[derive(Debug, Clone, Args)]
pub struct ActionArgs {
    /// Rehearse on an anvil fork of the RPC with the owner impersonated: every check and the
    /// transaction itself run there; nothing reaches the real chain or the real journals.
    #[arg(long)]
    pub dry_run: bool,
    /// Root of the journals (default: validators.output_dir).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Chain and signer.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// `withdraw` options.
#[derive(Debug, Clone, Args)]
pub struct WithdrawArgs {
    /// The cluster, by operator ids (e.g. `1,2,3,4`).
    #[arg(long)]
    pub cluster: OperatorSet,
    /// How much: wei digits or `0.05eth` (SSV wei on v1 chains).
    #[arg(long, value_parser = parse_amount, required_unless_present = "all")]
    pub amount: Option<U256>,
    /// The whole balance (only once no validator runs in the cluster).
    #[arg(long, conflicts_with = "amount")]
    pub all: bool,
    /// Refuse anything leaving less runway than this (default: funding.min_runway_days).
    #[arg(long)]
    pub min_runway_days: Option<u64>,
    /// Withdraw this amount again although the same withdrawal is already confirmed.
    #[arg(long)]
    pub again: bool,
    /// Shared options.
    #[command(flatten)]
    pub action: ActionArgs,
}

/// `reactivate` and `migrate` options.
#[derive(Debug, Clone, Args)]
pub struct FundArgs {
    /// The cluster, by operator ids (e.g. `1,2,3,4`).
    #[arg(long)]
    pub cluster: OperatorSet,
    /// Fund it for this many days (default: funding.runway_days).
    #[arg(long)]
    pub runway_days: Option<u64>,
    /// Shared options.
    #[command(flatten)]
    pub action: ActionArgs,
}

/// `remove` options.
#[derive(Debug, Clone, Args)]
pub struct RemoveArgs {
    /// Validator public keys (0x + 96 hex); or use --cluster for all of a cluster.
    #[arg(required_unless_present = "cluster")]
    pub pubkeys: Vec<String>,
    /// Every registered validator of the cluster with these operator ids.
    #[arg(long, conflicts_with = "pubkeys")]
    pub cluster: Option<OperatorSet>,
    /// Remove validators that are still active on the beacon chain. After removal they can no
    /// longer be exited through SSV: only with their withdrawal address (EIP-7002) or the key.
    #[arg(long = "i-understand-no-exit")]
    pub allow_active: bool,
    /// Shared options.
    #[command(flatten)]
    pub action: ActionArgs,
}

/// `fee-recipient` commands.
#[derive(Debug, Subcommand)]
pub enum FeeRecipientCommand {
    /// Show the owner's fee recipient (the owner itself when never set).
    Show {
        /// The owner (default: the configured signer).
        #[arg(long)]
        owner: Option<Address>,
        /// Chain and signer.
        #[command(flatten)]
        chain: ChainArgs,
    },
    /// Set the address the SSV nodes pay execution rewards to.
    Set {
        /// The new fee recipient.
        address: Address,
        /// Shared options.
        #[command(flatten)]
        action: ActionArgs,
    },
}

struct Setup {
    config: Config,
    connected: Connected,
    root: PathBuf,
    owner: Address,
}

async fn setup(global: &GlobalOpts, a: &ActionArgs) -> eyre::Result<Setup> {
    let config = global.load_config_with(&a.chain)?;
    let mode = if a.dry_run { Mode::DryRun } else { Mode::Send };
    let connected = connect(&config, mode, None).await?;
    let owner = connected
        .chain
        .signer_address()
        .expect("a sending chain has a sender");
    let root = a
        .state_dir
        .clone()
        .unwrap_or_else(|| config.validators.output_dir.clone());
    Ok(Setup {
        config,
        connected,
        root,
        owner,
    })
}

impl Setup {
    /// The journal in `dir` (its scratch copy in a dry run).
    fn journal(&self, dir: PathBuf) -> Result<ActionJournal, crate::journal::JournalError> {
        match &self.connected.rehearsal {
            Some(r) => ActionJournal::open_scratch(&dir, &r.scratch_dir(&dir)),
            None => ActionJournal::open(&dir),
        }
    }

    fn finish(&self, reports: &[LifecycleReport], json: bool) -> eyre::Result<()> {
        if json {
            println!("{}", serde_json::to_string_pretty(reports)?);
        } else {
            for r in reports {
                for n in &r.notes {
                    println!("{n}");
                }
                for o in &r.outcomes {
                    println!("{}", describe(r.action, o));
                }
            }
        }
        if self.connected.rehearsal.is_some() {
            print_rehearsal(&self.connected.chain, json);
        }
        Ok(())
    }
}

fn describe(action: &str, o: &crate::ssv::actions::ActionOutcome) -> String {
    use crate::ssv::actions::ActionOutcome as O;
    match o {
        O::Sent { tx_hash, block } => format!("{action}: tx {tx_hash} confirmed in block {block}"),
        O::AlreadyDone { tx_hash, block } => format!(
            "{action}: already done by tx {tx_hash} (block {}); nothing was sent",
            block.map_or("?".into(), |b| b.to_string())
        ),
    }
}

impl WithdrawArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        let s = setup(global, &self.action).await?;
        let ids = self.cluster.0.clone();
        let cluster = crate::chain::reads::cluster_id(s.owner, &ids);
        let mut journal = s.journal(cluster_dir(&s.root, cluster))?;
        let amount = match (self.all, self.amount) {
            (true, _) => Amount::All,
            (false, Some(a)) => Amount::Exact(a),
            (false, None) => eyre::bail!("give --amount or --all"),
        };
        let min = self
            .min_runway_days
            .unwrap_or(s.config.funding.min_runway_days);
        let report = lifecycle::withdraw(
            &s.connected.chain,
            &mut journal,
            s.owner,
            &ids,
            amount,
            min,
            self.again,
        )
        .await
        .wrap_err_with(|| format!("withdrawing from cluster {ids:?}"))?;
        s.finish(&[report], global.json)
    }
}

impl FundArgs {
    /// Runs `reactivate`.
    pub async fn reactivate(self, global: &GlobalOpts) -> eyre::Result<()> {
        let s = setup(global, &self.action).await?;
        let ids = self.cluster.0.clone();
        let cluster = crate::chain::reads::cluster_id(s.owner, &ids);
        let mut journal = s.journal(cluster_dir(&s.root, cluster))?;
        let f = &s.config.funding;
        let report = lifecycle::reactivate(
            &s.connected.chain,
            &mut journal,
            s.owner,
            &ids,
            self.runway_days.unwrap_or(f.runway_days),
            f.min_runway_days,
        )
        .await
        .wrap_err_with(|| format!("reactivating cluster {ids:?}"))?;
        s.finish(&[report], global.json)
    }

    /// Runs `migrate`.
    pub async fn migrate(self, global: &GlobalOpts) -> eyre::Result<()> {
        let s = setup(global, &self.action).await?;
        let ids = self.cluster.0.clone();
        let cluster = crate::chain::reads::cluster_id(s.owner, &ids);
        let mut journal = s.journal(cluster_dir(&s.root, cluster))?;
        let f = &s.config.funding;
        let (report, plan) = lifecycle::migrate(
            &s.connected.chain,
            &mut journal,
            s.owner,
            &ids,
            self.runway_days.unwrap_or(f.runway_days),
            f.min_runway_days,
        )
        .await
        .wrap_err_with(|| format!("migrating cluster {ids:?}"))?;
        if !global.json {
            println!(
                "migration: {} SSV refunded, {} ETH deposited",
                fmt_units(plan.ssv_refund),
                fmt_units(plan.eth_deposit)
            );
        }
        s.finish(&[report], global.json)
    }
}

impl RemoveArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        let s = setup(global, &self.action).await?;
        let beacon = BeaconClient::new(&s.config.beacon.url, Duration::from_secs(15))?;
        let selection = match &self.cluster {
            Some(ids) => Selection::Cluster(ids.0.clone()),
            None => Selection::Keys(self.pubkeys.clone()),
        };
        let root = s.root.clone();
        let mut journals = |id| s.journal(cluster_dir(&root, id));
        let reports = lifecycle::remove(
            &s.connected.chain,
            Some(&beacon),
            &mut journals,
            s.owner,
            &selection,
            self.allow_active,
        )
        .await
        .wrap_err("removing validators")?;
        s.finish(&reports, global.json)
    }
}

impl FeeRecipientCommand {
    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        match self {
            Self::Show { owner, chain } => {
                let config = global.load_config_with(&chain)?;
                let owner = super::status::owner_or_signer(owner, &config)?;
                let c = connect(&config, Mode::Read, None).await?.chain;
                let (recipient, block) = lifecycle::fee_recipient(&c, owner).await?;
                if global.json {
                    println!(
                        "{}",
                        serde_json::json!({"owner": owner, "fee_recipient": recipient, "set_in_block": block})
                    );
                } else {
                    match block {
                        Some(b) => {
                            println!("fee recipient of {owner}: {recipient} (set in block {b})");
                        }
                        None => {
                            println!(
                                "fee recipient of {owner}: {recipient} (never set: the owner)"
                            );
                        }
                    }
                }
                Ok(())
            }
            Self::Set { address, action } => {
                let s = setup(global, &action).await?;
                let mut journal = s.journal(owner_dir(&s.root, s.owner))?;
                let report = lifecycle::set_fee_recipient(
                    &s.connected.chain,
                    &mut journal,
                    s.owner,
                    address,
                )
                .await
                .wrap_err("setting the fee recipient")?;
                s.finish(&[report], global.json)
            }
        }
    }
}
