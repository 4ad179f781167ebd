//! `watch`: a long-running service keeping clusters above a runway floor.
//!
//! Each tick: recorded transactions are finished first (nothing new is signed while one is in
//! doubt); then one `eth_blockNumber`, the cluster events since the last tick (snapshots kept, so
//! no rescans) and `ssv::cluster::read_clusters` (two batched rounds at that block, for any number
//! of clusters). `plan` decides from those figures, with the same `ssv::fees` maths as `status`:
//! a cluster under `floor_days` is topped up to `target_days` within the per-transaction and
//! per-day caps (ETH `deposit` on v2, SSV approve + `deposit` on v1); a liquidated cluster is
//! reactivated only when the policy says so. Every transaction goes through the one send path
//! and is journaled in the ledger before broadcast; the ledger folder is locked for the service's
//! life and re-read before each send, so a second watcher cannot double the caps.

pub mod ledger;
pub mod metrics;
pub mod plan;
pub mod snapshots;

use std::collections::HashMap;

use alloy::{
    primitives::{Address, B256, U256},
    rpc::types::Filter,
};
use serde::Serialize;

pub use self::plan::WatchPolicy;
use self::{
    ledger::Ledger,
    metrics::SharedMetrics,
    plan::{Hold, Need, need, within_caps},
    snapshots::SnapshotCache,
};
use super::{
    cluster::{ClusterKey, ClusterState, read_clusters},
    cluster_tx::{Action, Plan, execute},
};
use crate::{
    chain::{
        Chain, ChainError,
        contracts::Cluster,
        logs::Flow,
        reads::{cluster_event_topics, cluster_id, decode_cluster_log},
        send::resume,
    },
    journal::{JournalError, now_secs},
};

/// A watch failure.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Chain failure (the service logs it and retries next tick).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Ledger failure.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// One cluster as seen by a tick (every figure from `ssv::fees`, as `status` shows it).
#[derive(Debug, Clone, Serialize)]
pub struct ClusterReading {
    /// Cluster key.
    pub cluster_id: B256,
    /// Owner.
    pub owner: Address,
    /// Operator ids.
    pub operator_ids: Vec<u64>,
    /// Active (not liquidated).
    pub active: bool,
    /// Validators.
    pub validators: u32,
    /// Settled balance (0 when liquidated).
    pub balance: U256,
    /// Burn per block.
    pub burn_rate: U256,
    /// The liquidation collateral (`max(MLC, burn·LTP)` with the contract's rounding).
    pub collateral: U256,
    /// Runway in days (`None` = infinite or liquidated).
    pub runway_days: Option<f64>,
}

impl ClusterReading {
    fn from_state(c: &ClusterState, bpd: u64) -> Self {
        Self {
            cluster_id: c.cluster_id,
            owner: c.owner,
            operator_ids: c.operator_ids.clone(),
            active: c.is_active(),
            validators: c.load.validator_count,
            balance: c.balance,
            burn_rate: c.params.burn_rate(c.load),
            collateral: c.params.liquidation_collateral(c.load),
            runway_days: c.runway_days(bpd),
        }
    }
}

/// A transaction the tick sent.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    /// Cluster key.
    pub cluster_id: B256,
    /// Amount added (wei or SSV wei).
    pub amount: U256,
    /// The value-carrying transaction.
    pub tx_hash: B256,
}

/// What a tick did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TickReport {
    /// Head block.
    pub block: u64,
    /// Clusters read.
    pub clusters: Vec<ClusterReading>,
    /// Top-ups sent.
    pub topups: Vec<Sent>,
    /// Reactivations sent.
    pub reactivated: Vec<Sent>,
    /// Liquidated clusters seen (reactivated or only reported).
    pub liquidated: Vec<B256>,
    /// Clusters whose need the caps cut (partly or fully).
    pub capped: Vec<B256>,
    /// Watched clusters with no cluster event yet (never created).
    pub missing: Vec<B256>,
    /// Legacy SSV-billed clusters on v2: not topped up (they must be migrated to ETH).
    pub legacy_ssv: Vec<B256>,
    /// Transactions not mined within the configured wait (they stay journaled; the next tick
    /// resumes them before signing anything new).
    pub stuck: Vec<B256>,
    /// Per-cluster failures (reads or sends) of this tick.
    pub errors: Vec<String>,
    /// RPC round trips used by the reads.
    pub round_trips: u64,
}

/// The service state.
#[derive(Debug)]
pub struct Watcher {
    chain: Chain,
    policy: WatchPolicy,
    clusters: Vec<(Address, Vec<u64>)>,
    snapshots: HashMap<B256, Cluster>,
    scanned_to: Option<u64>,
    ledger: Ledger,
    metrics: SharedMetrics,
    cache: Option<SnapshotCache>,
}

impl Watcher {
    /// A watcher over `(owner, operator ids)` clusters, persisting to `ledger`.
    pub fn new(
        chain: Chain,
        policy: WatchPolicy,
        clusters: Vec<(Address, Vec<u64>)>,
        ledger: Ledger,
        metrics: SharedMetrics,
    ) -> Self {
        let clusters = clusters
            .into_iter()
            .map(|(o, mut ids)| {
                ids.sort_unstable();
                (o, ids)
            })
            .collect();
        Self {
            chain,
            policy,
            clusters,
            snapshots: HashMap::new(),
            scanned_to: None,
            ledger,
            metrics,
            cache: None,
        }
    }

    /// Persists snapshots in `dir` after each tick and starts from them, so a restart scans only
    /// new blocks (plus a reorg margin). An unusable cache file is ignored and rebuilt.
    pub fn with_snapshot_cache(mut self, dir: &std::path::Path) -> Self {
        let owners: Vec<Address> = self.clusters.iter().map(|(o, _)| *o).collect();
        let p = self.chain.profile();
        let cache = SnapshotCache::new(dir, p.chain_id, p.ssv_network, &owners);
        if let Some((snapshots, from)) = cache.load() {
            self.snapshots = snapshots;
            // Scanning resumes at `from + 1`; the margin is already subtracted.
            self.scanned_to = Some(from);
        }
        self.cache = Some(cache);
        self
    }

    /// The ledger (for reports and tests).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The metrics handle.
    pub fn metrics(&self) -> &SharedMetrics {
        &self.metrics
    }

    /// Brings snapshots up to `head` from cluster events of the watched owners; returns the
    /// `eth_getLogs` calls used.
    async fn refresh_snapshots(&mut self, head: u64) -> Result<u64, ChainError> {
        let from = self
            .scanned_to
            .map_or(self.chain.profile().registry_sync_offset, |b| b + 1);
        if from > head {
            return Ok(0);
        }
        let mut owners: Vec<B256> = self.clusters.iter().map(|(o, _)| o.into_word()).collect();
        owners.sort();
        owners.dedup();
        let filter = Filter::new()
            .address(self.chain.profile().ssv_network)
            .event_signature(cluster_event_topics())
            .topic1(owners);
        let mut scanner = self.chain.log_scanner();
        // The chain's counter may be shared across scanners: count this scan's calls only.
        let calls_before = scanner.calls();
        let snapshots = &mut self.snapshots;
        scanner
            .scan_forward(&filter, from, head, |logs| {
                for log in logs {
                    let (Some(owner), Some((ids, c))) =
                        (log.topics().get(1), decode_cluster_log(log))
                    else {
                        continue;
                    };
                    let id = cluster_id(Address::from_word(*owner), &ids);
                    snapshots.insert(id, c);
                }
                Flow::Continue
            })
            .await?;
        self.scanned_to = Some(head);
        if let Some(cache) = &self.cache
            && let Err(e) = cache.save(&self.snapshots, head)
        {
            // Only a cache: the next start rescans instead.
            tracing::warn!(error = %e, "could not save the snapshot cache");
        }
        Ok(scanner.calls().saturating_sub(calls_before))
    }

    /// Finishes transactions a previous run signed but did not see mined. A recorded transaction
    /// that reverted is logged and left behind (its need is re-evaluated from fresh reads); any
    /// other failure stops the tick, so nothing new is signed while an old one is in doubt.
    async fn resume_pending(&mut self, report: &mut TickReport) -> Result<(), WatchError> {
        self.ledger.reload()?;
        for t in self.ledger.pending() {
            tracing::info!(cluster = %t.cluster_id, tx = %t.tx.tx_hash, kind = %t.tx.kind,
                "finishing a recorded transaction instead of signing a new one");
            let ledger = &mut self.ledger;
            let outcome = resume(&self.chain, &t.tx, |r| {
                ledger.record(t.cluster_id, t.amount, r)
            })
            .await;
            match outcome {
                Ok(_) => {}
                Err(ChainError::Revert { what, revert }) => {
                    tracing::warn!(cluster = %t.cluster_id, %what, %revert,
                        "a recorded transaction reverted; the cluster is re-read this tick");
                }
                Err(e @ ChainError::Stuck { .. }) => {
                    tracing::error!(cluster = %t.cluster_id, error = %e, state = "stuck",
                        "a recorded transaction is stuck; nothing new is signed until it is mined");
                    report.stuck.push(t.tx.tx_hash);
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// One pass over every watched cluster: read (one batched round at one block), plan (pure,
    /// `plan::need`), execute (the one send path, ledger re-read before each send).
    pub async fn tick(&mut self) -> Result<TickReport, WatchError> {
        let mut report = TickReport::default();
        if let Err(e) = self.resume_pending(&mut report).await {
            self.publish(&report);
            return Err(e);
        }
        let (states, version) = self.read(&mut report).await?;
        let bpd = self.chain.profile().blocks_per_day;
        let mut sends = Vec::new();
        for c in &states {
            if c.snapshot.is_some() {
                report.clusters.push(ClusterReading::from_state(c, bpd));
            }
            match need(c, &self.policy, self.chain.signer_address(), bpd) {
                Need::Fine => {}
                Need::Hold(hold) => self.note_hold(c, hold, &mut report),
                Need::Send { plan, minimum } => {
                    if plan.action == Action::Reactivate {
                        report.liquidated.push(c.cluster_id);
                    }
                    sends.push((plan, minimum));
                }
            }
        }
        for (mut plan, minimum) in sends {
            self.ledger.reload()?;
            let spent = self.ledger.spent_last_day(now_secs());
            let Some(allowed) = within_caps(plan.amount, minimum, &self.policy, spent) else {
                self.note_capped(&plan, U256::ZERO, &mut report);
                continue;
            };
            if allowed < plan.amount {
                self.note_capped(&plan, allowed, &mut report);
            }
            plan.amount = allowed;
            self.send(version, plan, &mut report).await;
        }
        self.publish(&report);
        Ok(report)
    }

    /// Brings snapshots up to the head and reads every watched cluster at that block.
    async fn read(
        &mut self,
        report: &mut TickReport,
    ) -> Result<(Vec<ClusterState>, crate::chain::reads::SsvVersion), WatchError> {
        let head = self.chain.head().await?;
        report.block = head;
        let log_trips = self.refresh_snapshots(head).await?;
        let keys: Vec<ClusterKey> = self
            .clusters
            .iter()
            .map(|(owner, ids)| {
                let snap = self.snapshots.get(&cluster_id(*owner, ids)).cloned();
                ClusterKey::new(*owner, ids, snap)
            })
            .collect();
        let reads = read_clusters(&self.chain, &keys, head).await?;
        report.round_trips = 1 + log_trips + reads.round_trips;
        let mut states = Vec::with_capacity(keys.len());
        for (key, r) in keys.iter().zip(reads.clusters) {
            match r {
                Ok(c) => states.push(c),
                Err(e) => report.errors.push(format!(
                    "cluster {:?} of {}: {e}",
                    key.operator_ids, key.owner
                )),
            }
        }
        Ok((states, reads.version))
    }

    fn note_hold(&self, c: &ClusterState, hold: Hold, report: &mut TickReport) {
        match hold {
            Hold::Missing => report.missing.push(c.cluster_id),
            Hold::LegacySsv => {
                tracing::warn!(cluster = %c.cluster_id, operators = ?c.operator_ids,
                    "legacy SSV-billed cluster: not topped up; migrate it to ETH (`ssv-agent migrate`, or register with --allow-migration)");
                report.legacy_ssv.push(c.cluster_id);
            }
            Hold::Liquidated(why) => {
                tracing::warn!(cluster = %c.cluster_id, operators = ?c.operator_ids,
                    "cluster is liquidated; {why}");
                report.liquidated.push(c.cluster_id);
            }
        }
    }

    fn note_capped(&self, plan: &Plan, allowed: U256, report: &mut TickReport) {
        tracing::warn!(cluster = %plan.cluster_id, action = plan.action.kind(), wanted = %plan.amount,
            %allowed, "limited by the spend caps (max_topup_per_tx / max_topup_per_day)");
        report.capped.push(plan.cluster_id);
    }

    async fn send(
        &mut self,
        version: crate::chain::reads::SsvVersion,
        plan: Plan,
        report: &mut TickReport,
    ) {
        let ledger = &mut self.ledger;
        let id = plan.cluster_id;
        match execute(&self.chain, version, &plan, |r, amount| {
            ledger.record(id, amount, r)
        })
        .await
        {
            Ok(tx_hash) => {
                tracing::info!(cluster = %plan.cluster_id, action = plan.action.kind(), amount = %plan.amount, tx = %tx_hash, "sent");
                let sent = Sent {
                    cluster_id: plan.cluster_id,
                    amount: plan.amount,
                    tx_hash,
                };
                match plan.action {
                    Action::TopUp => report.topups.push(sent),
                    Action::Reactivate => report.reactivated.push(sent),
                }
            }
            Err(e) => {
                if let ChainError::Stuck { tx_hash, .. } = &e {
                    report.stuck.push(*tx_hash);
                }
                let state = if matches!(e, ChainError::Stuck { .. }) {
                    "stuck"
                } else {
                    "failed"
                };
                tracing::error!(cluster = %plan.cluster_id, action = plan.action.kind(), error = %e, state, "transaction not done");
                report.errors.push(format!(
                    "{} of cluster {}: {e}",
                    plan.action.kind(),
                    plan.cluster_id
                ));
            }
        }
    }

    /// A tick whose failure is logged and counted instead of returned: the service's unit of work.
    pub async fn tick_logged(&mut self) -> Option<TickReport> {
        match self.tick().await {
            Ok(r) => {
                tracing::info!(
                    block = r.block,
                    clusters = r.clusters.len(),
                    topups = r.topups.len(),
                    reactivated = r.reactivated.len(),
                    liquidated = r.liquidated.len(),
                    capped = r.capped.len(),
                    errors = r.errors.len(),
                    round_trips = r.round_trips,
                    "tick"
                );
                Some(r)
            }
            Err(e) => {
                tracing::error!(error = %e, "tick failed; retrying next interval");
                if let Ok(mut m) = self.metrics.lock() {
                    m.errors += 1;
                    m.failed_ticks += 1;
                }
                None
            }
        }
    }

    fn publish(&self, report: &TickReport) {
        let Ok(mut m) = self.metrics.lock() else {
            return;
        };
        m.ticks += 1;
        m.errors += report.errors.len() as u64;
        m.topups += report.topups.len() as u64;
        m.reactivations += report.reactivated.len() as u64;
        m.last_tick_round_trips = report.round_trips;
        m.stuck_transactions = report.stuck.len() as u64;
        m.last_block = report.block;
        for c in &report.clusters {
            let g = m.clusters.entry(format!("{}", c.cluster_id)).or_default();
            g.balance = f64::from(c.balance);
            g.burn_rate = f64::from(c.burn_rate);
            g.runway_days = match (c.active, c.runway_days) {
                (false, _) => 0.0,
                (true, Some(d)) => d,
                (true, None) => f64::INFINITY,
            };
            g.liquidated = if c.active { 0.0 } else { 1.0 };
            g.last_topup = self.ledger.last_topup(c.cluster_id).unwrap_or(0) as f64;
        }
    }

    /// Runs ticks every `interval` until SIGTERM / Ctrl-C; a failed tick is logged and counted,
    /// and the next tick retries (an RPC outage only delays top-ups).
    pub async fn run(mut self, interval: std::time::Duration) -> Result<(), WatchError> {
        #[cfg(unix)]
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| JournalError::Io {
                action: "installing the SIGTERM handler",
                path: Default::default(),
                source: e,
            })?;
        loop {
            self.tick_logged().await;
            #[cfg(unix)]
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = term.recv() => { tracing::info!("SIGTERM: stopping between ticks"); return Ok(()); }
                _ = tokio::signal::ctrl_c() => { tracing::info!("interrupted: stopping"); return Ok(()); }
            }
            #[cfg(not(unix))]
            tokio::time::sleep(interval).await;
        }
    }
}
