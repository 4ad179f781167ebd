//! `watch`: a long-running service keeping clusters above a runway floor.
//!
//! Each tick: one `eth_blockNumber`, new cluster events since the last tick (snapshots kept in
//! memory, so no rescans), and one batched `eth_call` request for every cluster's balance and burn
//! rate plus the protocol parameters. A cluster under `floor_days` is topped up to `target_days`
//! within the per-transaction and per-day caps (ETH `deposit` on v2, SSV approve + `deposit` on v1);
//! a liquidated cluster is reactivated to `target_days` only when the policy says so, otherwise
//! reported. Every transaction is journaled in the ledger before broadcast; a restart finishes
//! pending ones first and never signs a second one for the same need.

pub mod actions;
pub mod batch;
pub mod ledger;
pub mod metrics;
pub mod snapshots;

use std::collections::HashMap;

use alloy::{
    primitives::{Address, B256, U256},
    rpc::types::Filter,
    sol_types::{SolCall, SolEvent, SolValue},
};
use serde::Serialize;

use self::{
    actions::{Action, Plan, execute},
    batch::eth_call_batch,
    ledger::Ledger,
    metrics::SharedMetrics,
    snapshots::SnapshotCache,
};
use crate::{
    chain::{
        Chain, ChainError,
        contracts::{Cluster, SSVNetwork, SSVNetworkViews},
        logs::Flow,
        reads::{Billing, SsvVersion, cluster_event_topics, cluster_id, decode_cluster_log},
        send::{FeeCaps, resume},
    },
    journal::{JournalError, now_secs},
};

/// What the service may do.
#[derive(Debug, Clone)]
pub struct WatchPolicy {
    /// Top up under this runway.
    pub floor_days: u64,
    /// Top up (or reactivate) to this runway.
    pub target_days: u64,
    /// Largest single top-up.
    pub max_per_tx: U256,
    /// Largest total in any 24 h.
    pub max_per_day: U256,
    /// Reactivate liquidated clusters (else only report them).
    pub reactivate: bool,
    /// Gas caps.
    pub fee_caps: FeeCaps,
}

/// A watch failure.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Chain failure (the service logs it and retries next tick).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Ledger failure.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A view returned something undecodable.
    #[error("decoding {what} for cluster {cluster}: {message}")]
    Decode {
        /// Which view.
        what: &'static str,
        /// Cluster key (zero for protocol parameters).
        cluster: B256,
        /// Detail.
        message: String,
    },
}

/// One cluster as seen by a tick.
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
    /// max(MLC, burn·LTP).
    pub collateral: U256,
    /// Runway in days (`None` = infinite or liquidated).
    pub runway_days: Option<f64>,
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
    /// Billing per cluster on v2, learnt once (a migration event turns it to ETH).
    billing: HashMap<B256, Billing>,
    scanned_to: Option<u64>,
    version: Option<SsvVersion>,
    ledger: Ledger,
    metrics: SharedMetrics,
    cache: Option<SnapshotCache>,
}

/// A cluster with a snapshot, as queued for the batch.
struct Queued {
    id: B256,
    owner: Address,
    ids: Vec<u64>,
    snap: Cluster,
    /// Index of its getBalance result (`None` when liquidated: the view reverts then).
    balance_at: Option<usize>,
    burn_at: usize,
    /// Index of its getClusterAssetType result when the billing is not known yet (v2 only).
    asset_at: Option<usize>,
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
            billing: HashMap::new(),
            scanned_to: None,
            version: None,
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
        let billing = &mut self.billing;
        scanner
            .scan_forward(&filter, from, head, |logs| {
                for log in logs {
                    let (Some(owner), Some((ids, c))) =
                        (log.topics().get(1), decode_cluster_log(log))
                    else {
                        continue;
                    };
                    let id = cluster_id(Address::from_word(*owner), &ids);
                    if log.topic0() == Some(&SSVNetwork::ClusterMigratedToETH::SIGNATURE_HASH) {
                        billing.insert(id, Billing::Eth);
                    }
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
    async fn resume_pending(&mut self) -> Result<(), WatchError> {
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
                Err(ChainError::Revert { what, reason }) => {
                    tracing::warn!(cluster = %t.cluster_id, %what, %reason,
                        "a recorded transaction reverted; the cluster is re-read this tick");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// One pass over every watched cluster.
    pub async fn tick(&mut self) -> Result<TickReport, WatchError> {
        self.resume_pending().await?;
        let mut trips = 1;
        let head = self.chain.head().await?;
        // Read every tick: an upgrade (v1 -> v2) changes which calls and currency apply.
        let version = self.chain.ssv_version().await?;
        trips += 1;
        if self.version.is_some_and(|v| v != version) {
            tracing::warn!(
                ?version,
                "SSVNetwork was upgraded; cluster billing is re-read"
            );
            self.billing.clear();
        }
        self.version = Some(version);
        trips += self.refresh_snapshots(head).await?;

        let views = self.chain.profile().ssv_views;
        let mut calls: Vec<(Address, Vec<u8>)> = vec![
            (views, SSVNetworkViews::getNetworkFeeCall {}.abi_encode()),
            (
                views,
                SSVNetworkViews::getLiquidationThresholdPeriodCall {}.abi_encode(),
            ),
            (
                views,
                SSVNetworkViews::getMinimumLiquidationCollateralCall {}.abi_encode(),
            ),
        ];
        let mut report = TickReport {
            block: head,
            ..Default::default()
        };
        let mut queued = Vec::with_capacity(self.clusters.len());
        for (owner, ids) in &self.clusters {
            let id = cluster_id(*owner, ids);
            let Some(snap) = self.snapshots.get(&id) else {
                report.missing.push(id);
                continue;
            };
            match (version, self.billing.get(&id)) {
                (SsvVersion::V2, Some(Billing::Ssv)) => {
                    report.legacy_ssv.push(id);
                    continue;
                }
                (SsvVersion::V2, None) => calls.push((
                    views,
                    SSVNetworkViews::getClusterAssetTypeCall {
                        owner: *owner,
                        operatorIds: ids.clone(),
                    }
                    .abi_encode(),
                )),
                _ => {}
            }
            let asset_at = (version == SsvVersion::V2 && !self.billing.contains_key(&id))
                .then(|| calls.len() - 1);
            let balance_at = snap.active.then(|| {
                calls.push((
                    views,
                    SSVNetworkViews::getBalanceCall {
                        clusterOwner: *owner,
                        operatorIds: ids.clone(),
                        cluster: snap.clone(),
                    }
                    .abi_encode(),
                ));
                calls.len() - 1
            });
            calls.push((
                views,
                SSVNetworkViews::getBurnRateCall {
                    clusterOwner: *owner,
                    operatorIds: ids.clone(),
                    cluster: snap.clone(),
                }
                .abi_encode(),
            ));
            queued.push(Queued {
                id,
                owner: *owner,
                ids: ids.clone(),
                snap: snap.clone(),
                balance_at,
                burn_at: calls.len() - 1,
                asset_at,
            });
        }
        let (results, batch_trips) = eth_call_batch(&self.chain, &calls, head).await?;
        trips += batch_trips;
        report.round_trips = trips;
        let word = |i: usize, what: &'static str, cluster: B256| -> Result<U256, WatchError> {
            let raw = results
                .get(i)
                .cloned()
                .unwrap_or_else(|| Err("no result in the batch response".into()));
            let bytes = raw.map_err(|message| WatchError::Decode {
                what,
                cluster,
                message,
            })?;
            U256::abi_decode(&bytes).map_err(|e| WatchError::Decode {
                what,
                cluster,
                message: e.to_string(),
            })
        };
        let ltp = word(1, "getLiquidationThresholdPeriod", B256::ZERO)?;
        let mlc = word(2, "getMinimumLiquidationCollateral", B256::ZERO)?;
        let bpd = U256::from(self.chain.profile().blocks_per_day);
        // One extra block of burn: the transaction lands at least one block after the read.
        let target_blocks = bpd * U256::from(self.policy.target_days) + U256::from(1u8);

        let mut plans = Vec::new();
        for q in queued {
            if let Some(at) = q.asset_at {
                // Asset type: 0 = legacy SSV, 1 = ETH.
                match word(at, "getClusterAssetType", q.id) {
                    Ok(t) if t.is_zero() => {
                        self.billing.insert(q.id, Billing::Ssv);
                        report.legacy_ssv.push(q.id);
                        tracing::warn!(cluster = %q.id, operators = ?q.ids,
                            "legacy SSV-billed cluster: not topped up; migrate it to ETH (ssv-agent register --allow-migration does when adding a validator)");
                        continue;
                    }
                    Ok(t) if t == U256::from(1u8) => {
                        self.billing.insert(q.id, Billing::Eth);
                    }
                    Ok(t) => {
                        report.errors.push(format!(
                            "cluster {}: unknown asset type {t} from getClusterAssetType",
                            q.id
                        ));
                        continue;
                    }
                    Err(e) => {
                        report.errors.push(e.to_string());
                        continue;
                    }
                }
            }
            let burn = match word(q.burn_at, "getBurnRate", q.id) {
                Ok(b) => b,
                Err(e) => {
                    report.errors.push(e.to_string());
                    continue;
                }
            };
            let collateral = if q.snap.validatorCount == 0 {
                U256::ZERO
            } else {
                mlc.max(burn * ltp)
            };
            let target_balance = burn * target_blocks + collateral;
            let mut reading = ClusterReading {
                cluster_id: q.id,
                owner: q.owner,
                operator_ids: q.ids.clone(),
                active: q.snap.active,
                validators: q.snap.validatorCount,
                balance: U256::ZERO,
                burn_rate: burn,
                collateral,
                runway_days: None,
            };
            let Some(balance_at) = q.balance_at else {
                report.liquidated.push(q.id);
                report.clusters.push(reading);
                self.plan_reactivation(q, target_balance, collateral, &mut plans);
                continue;
            };
            let balance = match word(balance_at, "getBalance", q.id) {
                Ok(b) => b,
                Err(e) => {
                    report.errors.push(e.to_string());
                    continue;
                }
            };
            let runway_days = (!burn.is_zero()).then(|| {
                let blocks = balance.saturating_sub(collateral) / burn;
                f64::from(blocks) / f64::from(bpd)
            });
            reading.balance = balance;
            reading.runway_days = runway_days;
            report.clusters.push(reading);
            if runway_days.is_some_and(|d| d < self.policy.floor_days as f64) {
                plans.push((
                    Plan {
                        action: Action::TopUp,
                        cluster_id: q.id,
                        owner: q.owner,
                        operator_ids: q.ids,
                        snapshot: q.snap,
                        amount: target_balance.saturating_sub(balance),
                    },
                    U256::ZERO,
                ));
            }
        }

        for (mut plan, minimum) in plans {
            let left_today = self
                .policy
                .max_per_day
                .saturating_sub(self.ledger.spent_last_day(now_secs()));
            let allowed = plan.amount.min(self.policy.max_per_tx).min(left_today);
            if allowed < plan.amount {
                report.capped.push(plan.cluster_id);
                tracing::warn!(cluster = %plan.cluster_id, action = plan.action.kind(), wanted = %plan.amount,
                    %allowed, "limited by the spend caps (max_topup_per_tx / max_topup_per_day)");
            }
            // A reactivation must leave the balance above the collateral or the contract reverts.
            if allowed.is_zero() || allowed <= minimum {
                continue;
            }
            plan.amount = allowed;
            match execute(
                &self.chain,
                version,
                &plan,
                self.policy.fee_caps,
                &mut self.ledger,
            )
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
                    tracing::error!(cluster = %plan.cluster_id, action = plan.action.kind(), error = %e, "transaction failed");
                    report.errors.push(format!(
                        "{} of cluster {}: {e}",
                        plan.action.kind(),
                        plan.cluster_id
                    ));
                }
            }
        }
        self.publish(&report);
        Ok(report)
    }

    /// Queues a reactivation when the policy allows it and this signer owns the cluster;
    /// otherwise says why it is only reported.
    fn plan_reactivation(
        &self,
        q: Queued,
        target_balance: U256,
        collateral: U256,
        plans: &mut Vec<(Plan, U256)>,
    ) {
        if !self.policy.reactivate {
            tracing::warn!(cluster = %q.id, operators = ?q.ids,
                "cluster is liquidated; reactivation is off (report only): enable watch.reactivate / --reactivate, or reactivate it by hand");
            return;
        }
        if q.snap.validatorCount == 0 {
            tracing::warn!(cluster = %q.id, "cluster is liquidated and has no validators; nothing to reactivate");
            return;
        }
        if self.chain.signer_address() != Some(q.owner) {
            tracing::warn!(cluster = %q.id, owner = %q.owner,
                "cluster is liquidated; only its owner can reactivate it and this signer is not the owner (report only)");
            return;
        }
        plans.push((
            Plan {
                action: Action::Reactivate,
                cluster_id: q.id,
                owner: q.owner,
                operator_ids: q.ids,
                snapshot: q.snap,
                amount: target_balance,
            },
            collateral,
        ));
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
