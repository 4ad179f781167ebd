//! `ssv-agent change-operators`: move a registered validator to a new operator set without
//! exiting it (`pipeline::change_operators`): new keyshares (supplied, or the reshare ceremony),
//! verified, `removeValidator`, the epochs the SSV docs ask for on the beacon head,
//! `registerValidator` funded for the runway policy, the old cluster's balance withdrawn. Resumable;
//! `--dry-run` rehearses it on an anvil fork.

use std::{path::PathBuf, sync::Arc, time::Duration};

use alloy::primitives::{Address, U256};
use clap::Args;
use eyre::WrapErr;

use super::{
    GlobalOpts,
    lifecycle::ActionArgs,
    opts::{Mode, OperatorTlsArgs, connect},
    print_rehearsal,
    status::OperatorSet,
};
use crate::{
    amount::parse_amount,
    beacon::client::BeaconClient,
    chain::{Chain, signer::load_signer},
    config::Config,
    dkg::{owner_sig::OwnerSignature, resign::ChangeParams},
    operators::api::{ApiClient, ApiOptions},
    pipeline::{
        change_operators::{
            ChangeKillPoint, ChangeReport, ChangeRequest, NewShares, Progress, change_operators,
        },
        load_operators_info,
        reshare_ceremony::DkgReshare,
    },
    ssv::register::RegisterOptions,
};

/// `change-operators` options.
#[derive(Debug, Clone, Args)]
pub struct ChangeOperatorsArgs {
    /// The validator's public key (0x + 96 hex).
    #[arg(long)]
    pub validator: String,
    /// Its cluster now, by operator ids (e.g. `1,2,3,4`).
    #[arg(long, value_name = "IDS")]
    pub old_operators: OperatorSet,
    /// The cluster to move it to (e.g. `1,2,3,5`).
    #[arg(long, value_name = "IDS")]
    pub new_operators: OperatorSet,
    /// The new set's keyshares.json made elsewhere (e.g. by `ssv-dkg reshare`, or `resign` when
    /// the owner nonce moved); without it the reshare ceremony runs.
    #[arg(long, value_name = "FILE")]
    pub keyshares: Option<PathBuf>,
    /// The old ceremony's proofs.json, for the reshare ceremony.
    #[arg(long, value_name = "FILE")]
    pub proofs: Option<PathBuf>,
    /// ssv-dkg operators_info.json with both sets' endpoints for the ping (over
    /// validators.operators_info_file; else the SSV API).
    #[arg(long, value_name = "FILE")]
    pub operators_info: Option<PathBuf>,
    /// Fund the new cluster for this many days (default: funding.runway_days).
    #[arg(long)]
    pub runway_days: Option<u64>,
    /// Refuse anything leaving less runway than this (default: funding.min_runway_days).
    #[arg(long)]
    pub min_runway_days: Option<u64>,
    /// Migrate an SSV-billed (legacy) new cluster to ETH first (default: funding.allow_migration).
    #[arg(long)]
    pub allow_migration: bool,
    /// Refuse if the new cluster's funding would exceed this, e.g. `0.5eth` or wei digits.
    #[arg(long, value_parser = parse_amount)]
    pub max_deposit: Option<U256>,
    /// Seconds between beacon head polls during the wait.
    #[arg(long, default_value_t = 6)]
    pub poll_secs: u64,
    /// Operator TLS for the ping and the ceremony.
    #[command(flatten)]
    pub tls: OperatorTlsArgs,
    /// Dry run, state folder, chain and signer.
    #[command(flatten)]
    pub action: ActionArgs,
}

fn parse_pubkey(v: &str) -> eyre::Result<[u8; 48]> {
    let bytes = hex::decode(v.trim_start_matches("0x"))
        .wrap_err_with(|| format!("`{v}` is not a hex validator public key"))?;
    bytes
        .try_into()
        .map_err(|_| eyre::eyre!("`{v}` is not a 48-byte BLS public key"))
}

/// The crash point from `SSV_AGENT_TEST_KILL_AT` (`change.<step>`), in test builds only.
fn kill_at() -> eyre::Result<Option<ChangeKillPoint>> {
    if !cfg!(feature = "test-hooks") {
        return Ok(None);
    }
    match std::env::var(super::run::KILL_AT_ENV) {
        Ok(v) if !v.is_empty() => Ok(Some(v.parse().map_err(|e: String| eyre::eyre!(e))?)),
        _ => Ok(None),
    }
}

impl ChangeOperatorsArgs {
    /// The DKG endpoints of both sets: the operators info file (an id it does not list has none),
    /// else the SSV API by id.
    async fn endpoints(
        &self,
        config: &Config,
        network: &str,
    ) -> eyre::Result<Vec<(u64, Option<String>)>> {
        let mut ids: Vec<u64> = self
            .old_operators
            .0
            .iter()
            .chain(&self.new_operators.0)
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let file = self
            .operators_info
            .clone()
            .or_else(|| config.validators.operators_info_file.clone());
        if let Some(file) = file {
            return Ok(ids
                .iter()
                .map(|id| {
                    let url = load_operators_info(&file, &[*id])
                        .ok()
                        .and_then(|mut v| v.pop())
                        .map(|o| o.url);
                    (*id, url)
                })
                .collect());
        }
        let api = ApiClient::new(
            &config.operators.ssv_api_url,
            network,
            ApiOptions::default(),
        )?;
        let mut out = Vec::new();
        for id in ids {
            let url = api.operator(id).await.ok().and_then(|o| o.dkg_address);
            out.push((id, url));
        }
        Ok(out)
    }

    /// The agent's own reshare ceremony: the new deposit data keeps the validator's credentials
    /// and amount from the config; the owner signs with the configured key (none in a dry run
    /// without one: the dry run only pings).
    fn own_ceremony(&self, config: &Config, chain: &Chain) -> eyre::Result<DkgReshare> {
        let profile = config.profile()?;
        let v = &config.validators;
        let owner = chain.signer_address();
        let signature = load_signer(&config.signer, |k| std::env::var(k).ok())
            .ok()
            .filter(|s| Some(s.address()) == owner)
            .map(OwnerSignature::Signer);
        Ok(DkgReshare {
            chain: chain.clone(),
            tls: self.tls.client_tls()?,
            withdraw_address: v.withdrawal_address,
            params: ChangeParams {
                owner: owner.unwrap_or_default(),
                nonce: 0,
                withdraw_address: Address::ZERO,
                compounding: v.compounding,
                amount_gwei: v.amount_gwei,
                network_name: profile.deposit_network_name().to_string(),
                fork_version: profile.genesis_fork_version,
            },
            signature,
        })
    }

    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        let config = global.load_config_with(&self.action.chain)?;
        let profile = config.profile()?;
        let pubkey = parse_pubkey(&self.validator)?;
        let beacon = BeaconClient::new(&config.beacon.url, Duration::from_secs(15))?;
        let mode = if self.action.dry_run {
            Mode::DryRun
        } else {
            Mode::Send
        };
        let connected = connect(&config, mode, None).await?;
        let chain = &connected.chain;
        let shares = match &self.keyshares {
            Some(p) => NewShares::File(p.clone()),
            None => NewShares::Ceremony(Arc::new(self.own_ceremony(&config, chain)?)),
        };
        let endpoints = match shares {
            NewShares::Ceremony(_) => self.endpoints(&config, &profile.name).await?,
            NewShares::File(_) => Vec::new(),
        };
        let f = &config.funding;
        let req = ChangeRequest {
            pubkey,
            old_operator_ids: self.old_operators.0.clone(),
            new_operator_ids: self.new_operators.0.clone(),
            shares,
            endpoints,
            tls: self.tls.client_tls()?,
            proofs: self.proofs.clone(),
            register: RegisterOptions {
                runway_days: self.runway_days.unwrap_or(f.runway_days),
                min_runway_days: self.min_runway_days.unwrap_or(f.min_runway_days),
                allow_migration: self.allow_migration || f.allow_migration,
                max_deposit: self.max_deposit,
                amount: None,
            },
            state_root: self
                .action
                .state_dir
                .clone()
                .unwrap_or_else(|| config.validators.output_dir.clone()),
            poll: Duration::from_secs(self.poll_secs.max(1)),
            kill_at: kill_at()?,
        };
        let json = global.json;
        let mut show = |p: &Progress| print_progress(p, json);
        let report = change_operators(
            chain,
            &beacon,
            &req,
            connected.rehearsal.as_ref(),
            &mut show,
        )
        .await
        .wrap_err_with(|| {
            format!(
                "changing the operators of {} from {:?} to {:?}",
                self.validator, self.old_operators.0, self.new_operators.0
            )
        })?;
        print_report(&report, json);
        if connected.rehearsal.is_some() {
            print_rehearsal(chain, json);
        }
        Ok(())
    }
}

fn print_progress(p: &Progress, json: bool) {
    if json {
        println!("{}", serde_json::to_string(p).unwrap_or_default());
        return;
    }
    match p {
        Progress::StepStarted { step } => println!("{step}: started"),
        Progress::StepDone { step, detail } => println!("{step}: done: {detail}"),
        Progress::StepSkipped { step, detail } => {
            println!("{step}: skipped, nothing sent: {detail}");
        }
        Progress::StepPlanned { step, detail } => println!("{step}: dry run: {detail}"),
        Progress::Waiting {
            head_epoch,
            target_epoch,
            secs_left,
        } => println!(
            "wait: beacon head at epoch {head_epoch}, registering from epoch {target_epoch} (~{secs_left} s left)"
        ),
    }
}

fn print_report(r: &ChangeReport, json: bool) {
    if json {
        let mut v = serde_json::to_value(r).unwrap_or_default();
        v["event"] = serde_json::json!("change_operators");
        println!("{v}");
        return;
    }
    for t in &r.transactions {
        let when = if t.sent_now {
            "sent now"
        } else {
            "from an earlier run; nothing new sent"
        };
        println!(
            "tx {} {}{} ({when})",
            t.kind,
            t.tx_hash,
            t.block
                .map(|b| format!(" in block {b}"))
                .unwrap_or_default()
        );
    }
    println!(
        "validator {}: operators {:?} (cluster {}) -> {:?} (cluster {})",
        r.pubkey, r.old_operator_ids, r.old_cluster_id, r.new_operator_ids, r.new_cluster_id
    );
}
