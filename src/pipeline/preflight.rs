//! Preflight: everything that can refuse before anything starts or money moves. The RPC and the
//! beacon node are on the profile's network, the operators are registered with the listed keys,
//! answer a signed ping on a supported version, the owner nonce comes from the chain, and the wallet
//! covers the deposits, the cluster funding and gas.

use std::sync::Arc;

use super::stage::StageId;

use alloy::primitives::{Address, U256};

use super::{
    PipelineError, RunOptions,
    context::Ctx,
    operators::{check_keys_on_chain, load_operators_info, ping_all},
    plan::{RunPlan, folder_for, validator_folders},
};
use crate::{
    beacon::{activation, client::BeaconClient},
    chain::{Chain, Sender, signer::load_signer},
    config::Config,
    deposit::{
        checks::NodeFacts,
        data::{GWEI_PER_ETH, MAX_COMPOUNDING_AMOUNT_GWEI, MIN_ACTIVATION_AMOUNT_GWEI},
    },
    dkg::{
        initiator::{Initiator, MAX_VALIDATORS},
        transport::threshold_for,
    },
    journal::Stage,
    rehearsal::Rehearsal,
    ssv::{
        cluster::read_cluster,
        fees::{Billing, plan_funding},
    },
    ui::{Reporter, fmt_eth},
};

/// Gas budgeted per transaction for the balance check (deposit ~60k, register ~400k with margin).
const GAS_PER_TX: u64 = 500_000;

fn check_settings(config: &Config) -> Result<Address, PipelineError> {
    let v = &config.validators;
    if threshold_for(v.operator_ids.len()).is_none() {
        return Err(PipelineError::Setting(format!(
            "validators.operator_ids lists {} operators; a cluster has 4, 7, 10 or 13",
            v.operator_ids.len()
        )));
    }
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
    let load =
        || load_signer(&config.signer, |k| std::env::var(k).ok()).map_err(PipelineError::Signer);
    let (owner, chain) = match &rehearsal {
        // The key is not needed to rehearse: only whose account to impersonate.
        Some(r) => {
            let owner = match opts.owner {
                Some(o) => o,
                None => load()?.address(),
            };
            (owner, r.chain(config, owner).await?)
        }
        None => {
            let signer = load()?;
            let owner = signer.address();
            (
                owner,
                Chain::from_config(config, Sender::Local(signer)).await?,
            )
        }
    };
    let el_chain_id = Some(profile.chain_id);

    // Beacon node on the same network and synced.
    let beacon = BeaconClient::new(&config.beacon.url, crate::beacon::client::DEFAULT_TIMEOUT)
        .map_err(|e| PipelineError::preflight("beacon", e))?;
    let mut node_facts = NodeFacts {
        el_chain_id,
        ..NodeFacts::default()
    };
    let beacon = match activation::preflight(&beacon, &profile, 4).await {
        Ok(info) => {
            node_facts.beacon_genesis_fork_version = Some(info.genesis.genesis_fork_version);
            node_facts.beacon_deposit_contract = Some((profile.chain_id, profile.deposit_contract));
            Some(beacon)
        }
        Err(e) if rehearsal.is_some() => {
            ui.warn(format!(
                "beacon node not usable ({e}); a dry run goes on without it (activation is skipped anyway)"
            ));
            None
        }
        Err(e) => return Err(PipelineError::preflight("beacon", e)),
    };

    // Operators: listed keys == registered keys, signed pongs, supported versions.
    let mut ids = config.validators.operator_ids.clone();
    ids.sort_unstable();
    let info_file = config.validators.operators_info_file.as_ref().ok_or_else(|| {
        PipelineError::NotAvailable {
            stage: StageId::Preflight,
            what: "fetching operator endpoints from the SSV API; set validators.operators_info_file to an ssv-dkg operators_info.json".into(),
        }
    })?;
    let operators = load_operators_info(info_file, &ids)?;
    check_keys_on_chain(&chain, &operators).await?;
    let initiator = Arc::new(
        Initiator::new(operators, &opts.tls)
            .map_err(|e| PipelineError::preflight("operators", e))?,
    );
    let pings = ping_all(&initiator).await?;

    // Owner nonce from chain, and the run plan of this output folder.
    let chain_nonce = chain.owner_nonce(owner).await?;
    let output_dir = config.validators.output_dir.clone();
    let wanted = RunPlan {
        network: profile.name.clone(),
        chain_id: profile.chain_id,
        owner,
        operator_ids: ids.clone(),
        first_nonce: chain_nonce,
        count: config.validators.count,
    };
    let plan = match RunPlan::read(&output_dir)? {
        Some(stored) => {
            stored.check_matches(&wanted, &output_dir)?;
            stored
        }
        None => {
            if rehearsal.is_none() {
                wanted.write(&output_dir)?;
            }
            wanted
        }
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
            pings
                .first()
                .map(|p| p.version.as_str())
                .unwrap_or("?"),
            owner,
            chain_nonce,
            ctx.plan.first_nonce,
            ctx.plan.first_nonce + u64::from(ctx.plan.count) - 1,
            fmt_eth(need)
        ),
    );
    Ok(ctx)
}

/// What is still to pay: deposits not yet made, the cluster funding for validators not yet
/// registered, and gas for their transactions; refuses when the wallet holds less.
async fn check_balance(ctx: &Ctx) -> Result<U256, PipelineError> {
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
    let amount_wei = U256::from(ctx.config.validators.amount_gwei) * U256::from(1_000_000_000u64);
    let mut need = amount_wei * U256::from(deposits_left);
    if registrations_left > 0 {
        let cluster = read_cluster(&ctx.chain, ctx.owner, &ctx.plan.operator_ids).await?;
        let f = &ctx.config.funding;
        let plan = plan_funding(
            &cluster.params,
            cluster.balance,
            cluster.load,
            registrations_left,
            f.runway_days,
            f.min_runway_days,
            ctx.profile.blocks_per_day,
        )
        .map_err(|e| PipelineError::preflight("funding", e))?;
        match cluster.params.billing {
            Billing::Eth => need += plan.deposit,
            Billing::Ssv => {
                let ssv = ctx.chain.ssv_balance(ctx.owner).await?;
                if ssv < plan.deposit {
                    return Err(PipelineError::preflight_reason(
                        "balance",
                        format!(
                            "the cluster is billed in SSV and needs {} SSV for {} days of runway, but {} holds {} SSV",
                            fmt_eth(plan.deposit),
                            f.runway_days,
                            ctx.owner,
                            fmt_eth(ssv)
                        ),
                    ));
                }
            }
        }
    }
    let txs = deposits_left + u64::from(registrations_left) + 1;
    let gas_price = ctx
        .chain
        .config()
        .tx
        .caps
        .max_fee_per_gas
        .unwrap_or(50_000_000_000);
    need += U256::from(gas_price) * U256::from(GAS_PER_TX) * U256::from(txs);
    let have = ctx.chain.eth_balance(ctx.owner).await?;
    if have < need {
        return Err(PipelineError::preflight_reason(
            "balance",
            format!(
                "{} holds {} ETH but the run needs up to {} ETH ({deposits_left} deposit(s) of {} ETH, cluster funding for {registrations_left} validator(s), gas for {txs} transaction(s) at the {} gwei cap); top the wallet up or lower validators.count",
                ctx.owner,
                fmt_eth(have),
                fmt_eth(need),
                fmt_eth(amount_wei),
                gas_price / 1_000_000_000
            ),
        ));
    }
    Ok(need)
}
