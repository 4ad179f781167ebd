//! `ssv-agent watch`: the long-running service that keeps the owner's clusters above a runway
//! floor (defaults from `[watch]`, flags override), with Prometheus metrics, text or JSON logs
//! and alerts posted to a webhook (`watch.alert_webhook_url` / `SSV_AGENT_ALERT_WEBHOOK_URL`).

use std::{collections::BTreeSet, path::PathBuf, time::Duration};

use alloy::primitives::{Address, U256};
use clap::Args;
use eyre::WrapErr;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::EnvFilter;

use super::{
    GlobalOpts,
    opts::{ChainArgs, Mode, connect},
    status::OperatorSet,
};
use crate::{
    amount::{Amount, parse_amount},
    chain::Chain,
    config::Config,
    config::{LogFormat, MetricsAddr},
    ssv::{
        status::discover_clusters_of,
        watch::{
            WatchPolicy, Watcher,
            alerts::{AlertOptions, Alerter, SHUTDOWN_FLUSH},
            ledger::Ledger,
            metrics::Metrics,
            server::serve,
        },
    },
};

/// `watch` options; each defaults to the config's `[watch]` value.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Seconds between ticks.
    #[arg(long, value_name = "SECS")]
    pub interval: Option<u64>,
    /// Top up when the runway falls under this many days.
    #[arg(long)]
    pub floor_days: Option<u64>,
    /// Top up (or reactivate) to this many days.
    #[arg(long)]
    pub target_days: Option<u64>,
    /// Largest single top-up, e.g. `0.5eth` or wei digits.
    #[arg(long, value_parser = parse_amount)]
    pub max_topup_per_tx: Option<U256>,
    /// Largest total of top-ups in any 24 hours.
    #[arg(long, value_parser = parse_amount)]
    pub max_topup_per_day: Option<U256>,
    /// Prometheus metrics address (loopback by default), `off` to disable.
    #[arg(long)]
    pub metrics_addr: Option<MetricsAddr>,
    /// Reactivate liquidated clusters of this owner (otherwise they are only reported).
    #[arg(long)]
    pub reactivate: bool,
    /// Log format (default: watch.log_format, or json with the global --json).
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Extra clusters to watch by operator ids (repeatable), besides the owner's own.
    #[arg(long = "cluster", value_name = "IDS")]
    pub clusters: Vec<OperatorSet>,
    /// Another owner whose clusters are watched too (repeatable; added to watch.owners).
    #[arg(long = "owner", value_name = "ADDRESS")]
    pub owners: Vec<Address>,
    /// Folder of the top-up ledger (default: `<validators.output_dir>/watch`).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Run one tick, print its report and exit (for cron jobs and checks).
    #[arg(long)]
    pub once: bool,
    /// Chain and signer.
    #[command(flatten)]
    pub chain: ChainArgs,
}

impl WatchArgs {
    /// Writes the given flags over the config's `[watch]` (and the global `--json` over its
    /// log format).
    fn apply(&self, config: &mut Config, global: &GlobalOpts) {
        let w = &mut config.watch;
        if let Some(v) = self.interval {
            w.interval_secs = v;
        }
        if let Some(v) = self.floor_days {
            w.floor_days = v;
        }
        if let Some(v) = self.target_days {
            w.target_days = v;
        }
        if let Some(v) = self.max_topup_per_tx {
            w.max_topup_per_tx = Amount(v);
        }
        if let Some(v) = self.max_topup_per_day {
            w.max_topup_per_day = Amount(v);
        }
        if let Some(v) = self.metrics_addr {
            w.metrics_addr = v;
        }
        w.reactivate |= self.reactivate;
        match (self.log_format, global.json) {
            (Some(f), _) => w.log_format = f,
            (None, true) => w.log_format = LogFormat::Json,
            (None, false) => {}
        }
    }
}

/// Every cluster to watch: the owner's and the other owners' (`watch.owners`, `--owner`) from
/// one event scan, then the config's and the flags' operator sets (the signer's).
async fn clusters(
    chain: &Chain,
    owner: Address,
    args: &WatchArgs,
    config: &Config,
) -> eyre::Result<Vec<(Address, Vec<u64>)>> {
    let head = chain.head().await?;
    let owners: BTreeSet<Address> = std::iter::once(owner)
        .chain(config.watch.owners.iter().copied())
        .chain(args.owners.iter().copied())
        .collect();
    let owners: Vec<Address> = owners.into_iter().collect();
    let mut sets: BTreeSet<(Address, Vec<u64>)> = discover_clusters_of(chain, &owners, head)
        .await
        .wrap_err_with(|| {
            format!(
                "finding the clusters of {} owner(s) from events",
                owners.len()
            )
        })?
        .into_iter()
        .map(|k| (k.owner, k.operator_ids))
        .collect();
    for ids in config
        .watch
        .clusters
        .iter()
        .cloned()
        .chain(args.clusters.iter().map(|s| s.0.clone()))
    {
        let mut ids = ids;
        ids.sort_unstable();
        sets.insert((owner, ids));
    }
    Ok(sets.into_iter().collect())
}

impl WatchArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        let mut config = global.load_config_with(&self.chain)?;
        self.apply(&mut config, global);
        let format = config.watch.log_format;
        // The service's own subscriber: tick lines at info whatever the global filter, in the
        // chosen format; it applies to everything this command awaits.
        let filter = EnvFilter::try_new(format!(
            "{},ssv_agent::ssv::watch=info,ssv_agent::cli::watch=info",
            global.log
        ))
        .unwrap_or_else(|_| {
            EnvFilter::new("warn,ssv_agent::ssv::watch=info,ssv_agent::cli::watch=info")
        });
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        let dispatch: tracing::Dispatch = match format {
            LogFormat::Json => builder.json().finish().into(),
            LogFormat::Text => builder.finish().into(),
        };
        self.serve(global, config).with_subscriber(dispatch).await
    }

    async fn serve(self, global: &GlobalOpts, config: Config) -> eyre::Result<()> {
        let profile = config.profile()?;
        let policy = WatchPolicy::from_config(&config.watch)?;
        let chain = connect(&config, Mode::Send, None).await?.chain;
        let owner = chain
            .signer_address()
            .expect("a sending chain has a signer");
        let watched = clusters(&chain, owner, &self, &config).await?;
        if watched.is_empty() {
            eyre::bail!(
                "owner {owner} (and watch.owners / --owner) has no clusters on {} and none are listed: register a validator first, or list clusters with --cluster / watch.clusters",
                profile.name
            );
        }
        let dir = self
            .state_dir
            .clone()
            .unwrap_or_else(|| config.validators.output_dir.join("watch"));
        let ledger = Ledger::open(&dir).wrap_err_with(|| {
            format!(
                "the watch state folder {}: another watcher (service or --once) may be running",
                dir.display()
            )
        })?;
        let metrics = Metrics::shared();
        if let (false, MetricsAddr::At(sock)) = (self.once, config.watch.metrics_addr) {
            let listener = tokio::net::TcpListener::bind(sock).await.wrap_err_with(|| {
                format!("cannot listen for metrics on {sock}; choose another --metrics-addr or `off`")
            })?;
            tracing::info!(%sock, "metrics at http://{sock}/metrics");
            tokio::spawn(serve(listener, metrics.clone()));
        }
        let owners = watched
            .iter()
            .map(|(o, _)| *o)
            .collect::<BTreeSet<_>>()
            .len();
        tracing::info!(%owner, owners, clusters = watched.len(), floor_days = policy.floor_days,
            target_days = policy.target_days, reactivate = policy.reactivate, "watching");
        let alerter = match &config.watch.alert_webhook_url {
            Some(url) => {
                let a = Alerter::start(
                    AlertOptions::new(url.0.clone()),
                    &profile.name,
                    profile.chain_id,
                    metrics.clone(),
                )?;
                tracing::info!(webhook = a.url(), "alerts are posted to the webhook");
                Some(a)
            }
            None => None,
        };
        let repeat = match config.watch.alert_repeat_hours {
            0 => None,
            h => Some(Duration::from_secs(h.saturating_mul(3600))),
        };
        let mut watcher = Watcher::new(chain, policy, watched, ledger, metrics)
            .with_snapshot_cache(&dir)
            .with_alerts(alerter, repeat);
        if self.once {
            let tick = watcher.tick().await;
            // The tick's alerts (a stuck transaction included) are delivered before exiting.
            watcher.close_alerts(SHUTDOWN_FLUSH).await;
            let report = tick.wrap_err("the watch tick failed")?;
            if global.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for c in &report.clusters {
                    println!(
                        "{:?} active={} runway={} days",
                        c.operator_ids,
                        c.active,
                        c.runway_days
                            .map_or("inf".to_string(), |d| format!("{d:.1}"))
                    );
                }
                for t in &report.topups {
                    println!(
                        "topped up {} with {} wei: {}",
                        t.cluster_id, t.amount, t.tx_hash
                    );
                }
                for t in &report.reactivated {
                    println!(
                        "reactivated {} with {} wei: {}",
                        t.cluster_id, t.amount, t.tx_hash
                    );
                }
            }
            return Ok(());
        }
        let interval = Duration::from_secs(config.watch.interval_secs.max(1));
        watcher.run(interval).await?;
        Ok(())
    }
}
