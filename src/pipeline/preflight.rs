//! Preflight: everything that can refuse before anything starts or money moves. The RPC and the
//! beacon node are on the profile's network, the operators are chosen (or confirmed) and healthy
//! (`operators`: registered with the keys used, a signed ping on a supported version, allowed for
//! the owner), the owner nonce comes from the chain, and the wallet covers the deposits, the
//! cluster funding and gas (`crate::operators::cost`).

use std::sync::Arc;

use super::stage::StageId;

use alloy::primitives::{Address, U256};

use super::{
    PipelineError, RunOptions,
    context::Ctx,
    operators::{Inputs, RunOperators, choose_for_run},
    plan::{RunPlan, folder_for, pinned_operators, validator_folders},
};
use crate::{
    beacon::{activation, client::BeaconClient},
    chain::{Chain, Sender, signer::load_signer},
    config::Config,
    deposit::{
        checks::NodeFacts,
        data::{GWEI_PER_ETH, MAX_COMPOUNDING_AMOUNT_GWEI, MIN_ACTIVATION_AMOUNT_GWEI},
    },
    dkg::initiator::{Initiator, MAX_VALIDATORS},
    journal::Stage,
    network::NetworkProfile,
    operators::cost::{ClusterCost, CostError, RunCost, cluster_cost},
    rehearsal::Rehearsal,
    ssv::fees::{Billing, fee_per_year},
    ui::{Reporter, fmt_eth},
};

fn check_settings(config: &Config) -> Result<Address, PipelineError> {
    let v = &config.validators;
    if !(1..=MAX_VALIDATORS).contains(&(v.count as usize)) {
        return Err(PipelineError::Setting(format!(
            "validators.count is {}; between 1 and {MAX_VALIDATORS} validators per run",
            v.count
        )));
    }
    let max = if v.compounding {
        MAX_COMPOUNDING_AMOUNT_GWEI
    } else {
        MIN_ACTIVATION_AMOUNT_GWEI
    };
    if !(MIN_ACTIVATION_AMOUNT_GWEI..=max).contains(&v.amount_gwei) {
        return Err(PipelineError::Setting(format!(
            "validators.amount_gwei is {}; {} credentials take 32..={} ETH",
            v.amount_gwei,
            if v.compounding { "0x02" } else { "0x01" },
            max / GWEI_PER_ETH
        )));
    }
    v.withdrawal_address.ok_or_else(|| {
        PipelineError::Setting(
            "validators.withdrawal_address is not set: the deposit's withdrawal credentials must point to an address you control".into(),
        )
    })
}

/// Runs every check and returns the context the stages share. In a dry run (`rehearsal`), the
/// chain is the fork with the owner impersonated.
pub(super) async fn preflight(
    config: &Config,
    opts: &RunOptions,
    ui: &Reporter,
    rehearsal: Option<Arc<Rehearsal>>,
) -> Result<Ctx, PipelineError> {
    ui.stage_started(StageId::Preflight.name(), None);
    let profile = config.profile()?;
    check_settings(config)?;
    let (owner, chain) = connect_owner(config, opts, rehearsal.as_deref()).await?;
    let (beacon, node_facts) = connect_beacon(config, &profile, rehearsal.is_some(), ui).await?;
    let chain_nonce = chain.owner_nonce(owner).await?;
    let output_dir = config.validators.output_dir.clone();
    let (plan, chosen) = plan_run(
        config,
        opts,
        ui,
        &chain,
        owner,
        chain_nonce,
        rehearsal.is_none(),
    )
    .await?;
    let ids = plan.operator_ids.clone();
    let initiator = match chosen.initiator {
        Some(ops) => Some(Arc::new(
            Initiator::new(ops, &opts.tls).map_err(|e| PipelineError::preflight("operators", e))?,
        )),
        None => None,
    };

    let ctx = Ctx {
        config: config.clone(),
        profile,
        chain,
        beacon,
        node_facts,
        owner,
        initiator,
        plan,
        output_dir,
        rehearsal,
        opts: opts.clone(),
        ui: ui.clone(),
    };
    let need = check_balance(&ctx).await?;
    ui.stage_done(
        StageId::Preflight.name(),
        None,
        format!(
            "chain {} ok, beacon {}, operators {:?} on {}, owner {} nonce {} (run nonces {}..{}), wallet covers {} ETH",
            ctx.profile.chain_id,
            if ctx.beacon.is_some() { "ok" } else { "skipped" },
            ids,
            chosen.version.as_deref().unwrap_or("(not contacted)"),
            owner,
            chain_nonce,
            ctx.plan.first_nonce,
            ctx.plan.first_nonce + u64::from(ctx.plan.count) - 1,
            fmt_eth(need)
        ),
    );
    Ok(ctx)
}

/// The owner and the chain to send from: the configured signer, or in a dry run the fork with
/// the owner impersonated (the key is not needed to rehearse, only whose account it is).
async fn connect_owner(
    config: &Config,
    opts: &RunOptions,
    rehearsal: Option<&Rehearsal>,
) -> Result<(Address, Chain), PipelineError> {
    let load =
        || load_signer(&config.signer, |k| std::env::var(k).ok()).map_err(PipelineError::Signer);
    match rehearsal {
        Some(r) => {
            let owner = match opts.owner {
                Some(o) => o,
                None => load()?.address(),
            };
            Ok((owner, r.chain(config, owner).await?))
        }
        None => {
            let signer = load()?;
            let owner = signer.address();
            let chain = Chain::from_config(config, Sender::Local(signer)).await?;
            Ok((owner, chain))
        }
    }
}

/// The beacon node, checked to be on the profile's network and synced, and what it says for the
/// deposit checks. A dry run goes on without a usable node (it skips activation anyway).
async fn connect_beacon(
    config: &Config,
    profile: &NetworkProfile,
    rehearsal: bool,
    ui: &Reporter,
) -> Result<(Option<BeaconClient>, NodeFacts), PipelineError> {
    let beacon = BeaconClient::new(&config.beacon.url, crate::beacon::client::DEFAULT_TIMEOUT)
        .map_err(|e| PipelineError::preflight("beacon", e))?;
    let mut node_facts = NodeFacts {
        el_chain_id: Some(profile.chain_id),
        ..NodeFacts::default()
    };
    match activation::preflight(&beacon, profile, 4).await {
        Ok(info) => {
            node_facts.beacon_genesis_fork_version = Some(info.genesis.genesis_fork_version);
            node_facts.beacon_deposit_contract = Some((profile.chain_id, profile.deposit_contract));
            Ok((Some(beacon), node_facts))
        }
        Err(e) if rehearsal => {
            ui.warn(format!(
                "beacon node not usable ({e}); a dry run goes on without it (activation is skipped anyway)"
            ));
            Ok((None, node_facts))
        }
        Err(e) => Err(PipelineError::preflight("beacon", e)),
    }
}

/// The run plan of this output folder (the first nonce is pinned on the first run) and the
/// operators: chosen or confirmed while no ceremony output exists, pinned after. The choice is
/// written (`write`) before any ceremony can produce output; a dry run writes no run file, its
/// outputs pin the operators themselves.
async fn plan_run(
    config: &Config,
    opts: &RunOptions,
    ui: &Reporter,
    chain: &Chain,
    owner: Address,
    chain_nonce: u64,
    write: bool,
) -> Result<(RunPlan, RunOperators), PipelineError> {
    let profile = config.profile()?;
    let output_dir = &config.validators.output_dir;
    let stored = RunPlan::read(output_dir)?;
    let first_nonce = stored.as_ref().map_or(chain_nonce, |s| s.first_nonce);
    let folders = validator_folders(output_dir)?;
    let mut ceremonies_left = 0;
    for i in 0..u64::from(config.validators.count) {
        if folder_for(&folders, first_nonce + i)?.is_none() {
            ceremonies_left += 1;
        }
    }
    let chosen = choose_for_run(&Inputs {
        config,
        chain,
        owner,
        stored: stored.as_ref(),
        pinned: pinned_operators(output_dir)?,
        ceremonies_left,
        tls: &opts.tls,
        ui,
    })
    .await?;
    let wanted = RunPlan {
        network: profile.name.clone(),
        chain_id: profile.chain_id,
        owner,
        operator_ids: chosen.ids.clone(),
        selection: chosen.record.clone(),
        first_nonce,
        count: config.validators.count,
    };
    if let Some(stored) = &stored {
        stored.check_matches(&wanted, output_dir)?;
    }
    if write && stored.as_ref() != Some(&wanted) {
        wanted.write(output_dir)?;
    }
    Ok((wanted, chosen))
}

/// What is still to pay: deposits not yet made, the cluster funding for validators not yet
/// registered, and gas for their transactions (`operators::cost`); reports the cluster's cost and
/// runway, and refuses when the wallet holds less.
async fn check_balance(ctx: &Ctx) -> Result<U256, PipelineError> {
    let (deposits_left, registrations_left) = work_left(ctx)?;
    let amount_wei = U256::from(ctx.config.validators.amount_gwei) * U256::from(1_000_000_000u64);
    let f = &ctx.config.funding;
    let cluster = if registrations_left > 0 {
        Some(
            cluster_cost(
                &ctx.chain,
                ctx.owner,
                &ctx.plan.operator_ids,
                registrations_left,
                f.runway_days,
                f.min_runway_days,
            )
            .await
            .map_err(|e| match e {
                CostError::Chain(c) => PipelineError::Chain(c),
                CostError::Funding(e) => PipelineError::preflight("funding", e),
            })?,
        )
    } else {
        None
    };
    let gas_price = ctx
        .chain
        .config()
        .tx
        .caps
        .max_fee_per_gas
        .unwrap_or(50_000_000_000);
    let cost = RunCost::new(amount_wei, deposits_left, cluster.as_ref(), gas_price);
    if let Some(c) = &cluster {
        report_cluster_cost(ctx, c, &cost);
        if c.billing == Billing::Ssv {
            let ssv = ctx.chain.ssv_balance(ctx.owner).await?;
            if ssv < cost.funding_ssv {
                return Err(PipelineError::preflight_reason(
                    "balance",
                    format!(
                        "the cluster is billed in SSV and needs {} SSV for {} days of runway, but {} holds {} SSV",
                        fmt_eth(cost.funding_ssv),
                        f.runway_days,
                        ctx.owner,
                        fmt_eth(ssv)
                    ),
                ));
            }
        }
    }
    let have = ctx.chain.eth_balance(ctx.owner).await?;
    if have < cost.total_eth {
        return Err(PipelineError::preflight_reason(
            "balance",
            format!(
                "{} holds {} ETH but the run needs up to {} ETH ({deposits_left} deposit(s) of {} ETH, cluster funding for {registrations_left} validator(s), gas for {} transaction(s) at the {} gwei cap); top the wallet up or lower validators.count",
                ctx.owner,
                fmt_eth(have),
                fmt_eth(cost.total_eth),
                fmt_eth(amount_wei),
                cost.transactions,
                gas_price / 1_000_000_000
            ),
        ));
    }
    Ok(cost.total_eth)
}

/// Deposits and registrations this run still has to make, from the validators' state files.
fn work_left(ctx: &Ctx) -> Result<(u64, u32), PipelineError> {
    let folders = validator_folders(&ctx.output_dir)?;
    let mut deposits_left = 0u64;
    let mut registrations_left = 0u32;
    for nonce in ctx.plan.nonces() {
        let stage = folder_for(&folders, nonce)?
            .and_then(|(_, dir)| ctx.peek_state(&dir))
            .map(|s| s.stage)
            .unwrap_or(Stage::New);
        if stage < Stage::Deposited {
            deposits_left += 1;
        }
        if stage < Stage::Registered {
            registrations_left += 1;
        }
    }
    Ok((deposits_left, registrations_left))
}

/// Says what the cluster costs a year and at registration, and what the wallet needs.
fn report_cluster_cost(ctx: &Ctx, c: &ClusterCost, cost: &RunCost) {
    let unit = if c.billing == Billing::Eth {
        "ETH"
    } else {
        "SSV"
    };
    ctx.ui.info(format!(
        "cost: operators {:?} charge {} {unit} a year per validator with the network fee ({} {unit} a year for the cluster of {}); {} days of runway plus {} {unit} liquidation collateral take {} {unit} at registration; the wallet needs {} ETH for the whole run",
        c.operator_ids,
        fmt_eth(c.yearly_per_validator),
        fmt_eth(c.yearly_cluster),
        c.funding.load_after.validator_count,
        ctx.config.funding.runway_days,
        fmt_eth(c.funding.collateral_after),
        fmt_eth(c.funding.deposit),
        fmt_eth(cost.total_eth),
    ));
    // Shown per block too, so the yearly figure can be checked against the contract's fees.
    tracing::debug!(
        burn_per_block = %c.funding.burn_rate_after,
        yearly = %fee_per_year(c.funding.burn_rate_after, ctx.profile.blocks_per_day),
        "cluster burn rate"
    );
}
