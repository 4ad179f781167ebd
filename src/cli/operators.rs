//! `ssv-agent operators`: the SSV API's operators with the chain's facts over them, filtered and
//! ordered (table, or `--json`); `operators check <ids>`: the health a staker needs before a
//! ceremony; `operators cost <ids>`: the cluster's yearly fee, the funding for a runway and what
//! the wallet must hold. A thin layer over `crate::operators`.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use alloy::primitives::{Address, U256};
use clap::{Args, Subcommand};
use eyre::WrapErr;
use serde::Serialize;

use super::{
    GlobalOpts,
    opts::{ChainArgs, Mode, OperatorTlsArgs, connect},
};
use crate::{
    amount::parse_amount,
    chain::{Chain, signer::load_signer},
    config::Config,
    operators::{
        ApiClient, ApiOptions, Candidate, CheckOptions, Filters, ListQuery, Rejection, SortKey,
        candidates::{FeeDifference, read_candidates},
        cost::{RunCost, cluster_cost},
        filter::{rank_order, rejections, sort},
        health::check_all,
        select::targets,
        table::{render_cost, render_health, render_list},
    },
    pipeline::load_operators_info,
    ssv::fees::fee_per_year,
};

/// `operators` and its subcommands.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct OperatorsArgs {
    /// `check` or `cost`; without one, the listing.
    #[command(subcommand)]
    pub command: Option<OperatorsCommand>,
    /// Listing options.
    #[command(flatten)]
    pub list: ListArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum OperatorsCommand {
    /// Before a ceremony: reachable over TLS, ssv-dkg version, the id and key it answers with
    /// against the chain's, its Ethereum client, round trip; each problem with what to do. Exits
    /// non-zero when any operator is not ready.
    Check(CheckArgs),
    /// The cluster's yearly fee, the funding for a runway plus the liquidation collateral, and
    /// what the wallet must hold for a run.
    Cost(CostArgs),
}

/// Where the SSV API is.
#[derive(Debug, Clone, Default, Args)]
pub struct ApiArgs {
    /// SSV API base URL (over operators.ssv_api_url; default https://api.ssv.network).
    #[arg(long, value_name = "URL")]
    pub ssv_api_url: Option<String>,
}

impl ApiArgs {
    fn client(&self, config: &Config) -> eyre::Result<ApiClient> {
        let url = self
            .ssv_api_url
            .clone()
            .unwrap_or_else(|| config.operators.ssv_api_url.clone());
        Ok(ApiClient::new(
            &url,
            &config.profile()?.name,
            ApiOptions::default(),
        )?)
    }
}

/// Listing options: the SSV web app's filters and the agent's.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Free-text search (name, id, owner), done by the SSV API.
    #[arg(long)]
    pub search: Option<String>,
    /// Only operators with an https:// DKG endpoint.
    #[arg(long)]
    pub dkg: bool,
    /// Only verified operators.
    #[arg(long)]
    pub verified: bool,
    /// Only operators the owner may use (public, or private with the owner on its whitelist).
    #[arg(long)]
    pub allowed: bool,
    /// The cluster owner whose access to private operators is shown (default: the signer).
    #[arg(long)]
    pub owner: Option<Address>,
    /// Largest yearly fee per validator (chain value), e.g. `0.01eth`.
    #[arg(long, value_parser = amount)]
    pub max_yearly_fee: Option<U256>,
    /// Smallest 30-day performance, percent.
    #[arg(long, default_value_t = 0.0)]
    pub min_performance: f64,
    /// Smallest number of validators it runs (chain value).
    #[arg(long, default_value_t = 0)]
    pub min_validators: u64,
    /// A MEV relay it must list (repeatable), e.g. `--mev-relay Flashbots`.
    #[arg(long = "mev-relay")]
    pub mev_relays: Vec<String>,
    /// Ids to leave out, e.g. `--exclude 7,9`.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<u64>,
    /// Ids to rank first with `--order rank`.
    #[arg(long, value_delimiter = ',')]
    pub prefer: Vec<u64>,
    /// Apply the config's [operators] policy (what `operators = "auto"` chooses from).
    #[arg(long)]
    pub policy: bool,
    /// id, name, fee, performance, validators, or rank (the order automatic selection uses).
    #[arg(long, default_value = "id")]
    pub order: String,
    /// Descending.
    #[arg(long)]
    pub desc: bool,
    /// Show at most this many.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Also show the operators the filters leave out, with why.
    #[arg(long)]
    pub explain: bool,
    /// SSV API.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Chain.
    #[command(flatten)]
    pub chain: ChainArgs,
}

fn amount(s: &str) -> Result<U256, String> {
    parse_amount(s).map_err(|e| e.to_string())
}

/// `operators check` options.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Operator ids, e.g. `1,2,3,4` (any number).
    #[arg(value_delimiter = ',', required = true)]
    pub ids: Vec<u64>,
    /// Take the endpoints from this ssv-dkg operators_info.json instead of the SSV API.
    #[arg(long)]
    pub operators_info_path: Option<PathBuf>,
    /// The cluster owner whose access to private operators is checked (default: the signer).
    #[arg(long)]
    pub owner: Option<Address>,
    /// Longest wait per operator, seconds (over operators.check_timeout_secs).
    #[arg(long)]
    pub timeout_secs: Option<u64>,
    /// Operator TLS trust.
    #[command(flatten)]
    pub tls: OperatorTlsArgs,
    /// SSV API.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Chain.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// `operators cost` options.
#[derive(Debug, Clone, Args)]
pub struct CostArgs {
    /// Operator ids of the cluster, e.g. `1,2,3,4`.
    #[arg(value_delimiter = ',', required = true)]
    pub ids: Vec<u64>,
    /// Validators the run adds (over validators.count).
    #[arg(long)]
    pub validators: Option<u32>,
    /// Days of runway to fund (over funding.runway_days).
    #[arg(long)]
    pub days: Option<u64>,
    /// The cluster owner (default: the signer).
    #[arg(long)]
    pub owner: Option<Address>,
    /// Chain.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// The owner given, else the configured signer's address, else none.
fn owner_or_signer(owner: Option<Address>, config: &Config) -> Option<Address> {
    owner.or_else(|| {
        load_signer(&config.signer, |k| std::env::var(k).ok())
            .ok()
            .map(|s| s.address())
    })
}

impl OperatorsArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        match self.command {
            None => list(self.list, global).await,
            Some(OperatorsCommand::Check(a)) => check(a, global).await,
            Some(OperatorsCommand::Cost(a)) => cost(a, global).await,
        }
    }
}

/// One listed operator, for `--json`.
#[derive(Debug, Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    candidate: &'a Candidate,
    eth_fee_per_year: Option<U256>,
    ssv_fee_per_year: U256,
    /// Fees the API reports differently (the chain's are the ones above and used).
    fee_differences: Vec<FeeDifference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rejected: Vec<Rejection>,
}

async fn list(a: ListArgs, global: &GlobalOpts) -> eyre::Result<()> {
    let config = global.load_config_with(&a.chain)?;
    let api = a.api.client(&config)?;
    let owner = owner_or_signer(a.owner, &config);
    let mut filters = if a.policy {
        let mut f = Filters::for_choosing(&config.operators)?;
        // The listing shows private operators even without an owner to check.
        f.allowed_only = owner.is_some();
        f
    } else {
        Filters::default()
    };
    filters.dkg_only |= a.dkg;
    filters.verified_only |= a.verified;
    filters.allowed_only |= a.allowed;
    if let Some(m) = a.max_yearly_fee {
        filters.max_yearly_fee = Some(m);
    }
    filters.min_performance_30d = filters.min_performance_30d.max(a.min_performance);
    filters.min_validators = filters.min_validators.max(a.min_validators);
    filters.mev_relays.extend(a.mev_relays.iter().cloned());
    filters.exclude.extend(a.exclude.iter().copied());
    let mut prefer = a.prefer.clone();
    if a.policy {
        prefer.extend(config.operators.prefer.iter().copied());
    }
    let order = match a.order.as_str() {
        "rank" => None,
        other => Some(other.parse::<SortKey>().map_err(|e| eyre::eyre!(e))?),
    };
    let query = ListQuery {
        search: a.search.clone(),
        verified_only: filters.verified_only,
        dkg_only: filters.dkg_only,
        ordering: None,
    };
    let listing = api
        .list_all(&query)
        .await
        .wrap_err("listing operators from the SSV API")?;
    let chain = connect(&config, Mode::Read, None).await?.chain;
    let block = chain.head().await?;
    let cands = read_candidates(&chain, listing.operators, owner, block)
        .await
        .wrap_err("reading the operators' fees and whitelists from the chain")?;
    let bpd = chain.profile().blocks_per_day;
    let (mut shown, mut left_out): (Vec<_>, Vec<_>) = cands
        .into_iter()
        .map(|c| {
            let why = rejections(&c, &filters, owner, bpd);
            (c, why)
        })
        .partition(|(_, why)| why.is_empty());
    let mut shown_c: Vec<Candidate> = shown.drain(..).map(|(c, _)| c).collect();
    match order {
        Some(k) => sort(&mut shown_c, k, a.desc),
        None => shown_c.sort_by(|x, y| rank_order(x, y, &prefer)),
    }
    if let Some(n) = a.limit {
        shown_c.truncate(n);
    }
    left_out.sort_by_key(|(c, _)| c.id());
    if global.json {
        let row = |c, rejected: &[Rejection]| Row {
            candidate: c,
            eth_fee_per_year: c.chain.eth_fee.map(|f| fee_per_year(f, bpd)),
            ssv_fee_per_year: fee_per_year(c.chain.ssv_fee, bpd),
            fee_differences: c.fee_differences(),
            rejected: rejected.to_vec(),
        };
        let rows: Vec<Row<'_>> = shown_c.iter().map(|c| row(c, &[])).collect();
        let rejected: Vec<Row<'_>> = if a.explain {
            left_out.iter().map(|(c, why)| row(c, why)).collect()
        } else {
            Vec::new()
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "network": chain.profile().name,
                "block": block,
                "owner": owner,
                "blocks_per_day": bpd,
                "operators": rows,
                "left_out": rejected,
                "skipped": listing.skipped,
                "api_total": listing.total,
            }))?
        );
        return Ok(());
    }
    println!(
        "{} operator(s) on {} at block {} (SSV API: {} listed, {} pages; fees per validator and year from the chain at {bpd} blocks a day){}",
        shown_c.len(),
        chain.profile().name,
        block,
        listing.total,
        listing.pages,
        owner.map_or(String::new(), |o| format!("; access for owner {o}"))
    );
    print!("{}", render_list(&shown_c, bpd));
    if !left_out.is_empty() {
        if a.explain {
            println!("left out by the filters:");
            for (c, why) in &left_out {
                let why: Vec<String> = why.iter().map(ToString::to_string).collect();
                println!("  operator {} ({}): {}", c.id(), c.api.name, why.join(", "));
            }
        } else {
            println!(
                "{} more left out by the filters (--explain says why)",
                left_out.len()
            );
        }
    }
    for s in &listing.skipped {
        println!(
            "skipped an SSV API entry{}: {}",
            s.id.map_or(String::new(), |id| format!(" (operator {id})")),
            s.reason
        );
    }
    Ok(())
}

async fn check(a: CheckArgs, global: &GlobalOpts) -> eyre::Result<()> {
    let config = global.load_config_with(&a.chain)?;
    let owner = owner_or_signer(a.owner, &config);
    let chain = connect(&config, Mode::Read, None).await?.chain;
    let (entries, names, notes) = endpoints(&a, &config).await?;
    let targets = targets(&chain, &entries, owner)
        .await
        .wrap_err("reading the operators' registration, keys and whitelists from the chain")?;
    let opts = CheckOptions {
        tls: a.tls.client_tls()?,
        timeout: Duration::from_secs(
            a.timeout_secs
                .unwrap_or(config.operators.check_timeout_secs)
                .max(1),
        ),
        concurrency: 16,
    };
    let health = check_all(&targets, &opts).await;
    let bad = health.iter().filter(|h| !h.healthy()).count();
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "network": chain.profile().name,
                "owner": owner,
                "operators": health,
                "notes": notes,
            }))?
        );
    } else {
        println!(
            "health of {} operator(s) on {} (keys and registration from the chain{})",
            health.len(),
            chain.profile().name,
            owner.map_or(String::new(), |o| format!(", whitelists for {o}"))
        );
        let rows: Vec<_> = health
            .iter()
            .map(|h| {
                let name = names
                    .get(&h.id)
                    .cloned()
                    .unwrap_or_else(|| format!("Operator {}", h.id));
                (h.clone(), name)
            })
            .collect();
        print!("{}", render_health(&rows));
        for n in &notes {
            println!("{n}");
        }
    }
    if bad > 0 {
        eyre::bail!(
            "{bad} of {} operator(s) are not ready for a ceremony (see above); pick others, or let `run` choose with validators.operators = \"auto\"",
            health.len()
        );
    }
    if !global.json {
        println!("all {} operator(s) are ready for a ceremony", health.len());
    }
    Ok(())
}

type Endpoints = (
    Vec<(u64, Option<String>)>,
    BTreeMap<u64, String>,
    Vec<String>,
);

/// Endpoints from the info file, or from the SSV API by id (names too; failures become notes).
async fn endpoints(a: &CheckArgs, config: &Config) -> eyre::Result<Endpoints> {
    let mut names = BTreeMap::new();
    let mut notes = Vec::new();
    if let Some(p) = &a.operators_info_path {
        let infos = load_operators_info(p, &a.ids)?;
        let entries = infos.into_iter().map(|o| (o.id, Some(o.url))).collect();
        return Ok((entries, names, notes));
    }
    let api = a.api.client(config)?;
    let mut entries = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for id in a.ids.clone() {
        let api = api.clone();
        tasks.spawn(async move { (id, api.operator(id).await) });
    }
    let mut got = BTreeMap::new();
    while let Some(j) = tasks.join_next().await {
        let (id, r) = j?;
        got.insert(id, r);
    }
    for id in &a.ids {
        match got.remove(id) {
            Some(Ok(op)) => {
                names.insert(*id, op.name.clone());
                entries.push((*id, op.dkg_address));
            }
            Some(Err(e)) => {
                notes.push(format!("operator {id}: no endpoint from the SSV API: {e}"));
                entries.push((*id, None));
            }
            None => entries.push((*id, None)),
        }
    }
    Ok((entries, names, notes))
}

async fn cost(a: CostArgs, global: &GlobalOpts) -> eyre::Result<()> {
    let config = global.load_config_with(&a.chain)?;
    let owner = owner_or_signer(a.owner, &config).ok_or_else(|| {
        eyre::eyre!("no --owner given and no signer configured: the cost depends on the owner's existing cluster")
    })?;
    let mut ids = a.ids.clone();
    ids.sort_unstable();
    ids.dedup();
    if ![4, 7, 10, 13].contains(&ids.len()) {
        eyre::bail!(
            "{} distinct operators given; an SSV cluster has 4, 7, 10 or 13",
            ids.len()
        );
    }
    let chain: Chain = connect(&config, Mode::Read, None).await?.chain;
    let validators = a.validators.unwrap_or(config.validators.count);
    let days = a.days.unwrap_or(config.funding.runway_days);
    let c = cluster_cost(
        &chain,
        owner,
        &ids,
        validators,
        days,
        config.funding.min_runway_days.min(days),
    )
    .await
    .wrap_err_with(|| format!("reading the cluster {ids:?} of {owner}"))?;
    let gas_price = chain
        .config()
        .tx
        .caps
        .max_fee_per_gas
        .unwrap_or(50_000_000_000);
    let amount = U256::from(config.validators.amount_gwei) * U256::from(1_000_000_000u64);
    let run = RunCost::new(amount, u64::from(validators), Some(&c), gas_price);
    let wallet = chain.eth_balance(owner).await.ok();
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "network": chain.profile().name,
                "owner": owner,
                "cluster": c,
                "run": run,
                "wallet_eth": wallet.map(|w| w.to_string()),
            }))?
        );
    } else {
        print!(
            "{}",
            render_cost(&c, &run, owner, wallet, chain.profile().blocks_per_day)
        );
    }
    Ok(())
}
