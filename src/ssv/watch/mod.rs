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
//!
//! The same event scan picks up `ValidatorExited` of the watched owners; `alerts` turns a tick's
//! report into de-duplicated alerts (logged, and posted to the webhook when one is configured),
//! `metrics` keeps the Prometheus registry that `server` serves.

pub mod alerts;
pub mod ledger;
pub mod metrics;
pub mod plan;
pub mod server;
pub mod snapshots;

use std::collections::{HashMap, HashSet};

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use serde::Serialize;

pub use self::plan::WatchPolicy;
use self::{
    alerts::{Alert, AlertState, Alerter, ClusterRef, TopUpAction},
    ledger::Ledger,
    metrics::SharedMetrics,
    plan::{Hold, Need, need, within_caps},
    snapshots::SnapshotCache,
};
use super::{
    cluster::{CarriedFigures, ClusterKey, ClusterState, read_clusters},
    cluster_tx::{Action, Plan, execute},
};
use crate::{
    chain::{
        Chain, ChainError,
        contracts::{Cluster, SSVNetwork},
        logs::Flow,
        reads::{Billing, SsvVersion, cluster_event_topics, cluster_id, decode_cluster_log},
        send::resume,
    },
    journal::{JournalError, now_secs},
};

/// How often every watched cluster is read exactly even when no event or fee change says it
/// must be: bounds what a missed slope change (a reorg, a fee changed and changed back between
/// two ticks) could do to carried figures.
pub const FULL_READ_EVERY_SECS: u64 = 3_600;

/// A counter value as the `i64` a Prometheus gauge holds.
fn gauge(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
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
    /// Whether `balance` was read this tick; otherwise it is carried forward from an exact
    /// reading at `measured_at` (a lower bound, at most a few 1e5 wei below the contract's).
    pub exact: bool,
    /// Block of the exact balance reading.
    pub measured_at: u64,
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
            exact: c.is_exact(),
            measured_at: c.measured_at,
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

/// A transaction not mined within the configured wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StuckTx {
    /// The cluster it was for.
    pub cluster_id: B256,
    /// Its latest hash.
    pub tx_hash: B256,
    /// What it does (`topup`, `approve`, `reactivate`).
    pub kind: String,
    /// Its nonce.
    pub nonce: u64,
    /// Seconds waited (since first signed, for one a previous tick left behind).
    pub waited_secs: u64,
}

/// A `ValidatorExited` event of a watched owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exit {
    /// Cluster key.
    pub cluster_id: B256,
    /// Owner.
    pub owner: Address,
    /// Operator ids, ascending.
    pub operator_ids: Vec<u64>,
    /// Validator public key.
    pub pubkey: Bytes,
    /// Block of the event.
    pub block: u64,
    /// The exit transaction.
    pub tx_hash: B256,
}

impl Exit {
    fn from_log(log: &Log) -> Option<Self> {
        let e = SSVNetwork::ValidatorExited::decode_log(&log.inner).ok()?;
        let mut ids = e.data.operatorIds.clone();
        ids.sort_unstable();
        Some(Self {
            cluster_id: cluster_id(e.data.owner, &ids),
            owner: e.data.owner,
            operator_ids: ids,
            pubkey: e.data.publicKey,
            block: log.block_number?,
            tx_hash: log.transaction_hash?,
        })
    }
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
    pub stuck: Vec<StuckTx>,
    /// Validator exits of the watched owners since the last tick (exits before the service's
    /// first scan, or below a restart's cached height, are not repeated).
    pub exits: Vec<Exit>,
    /// Alerts this tick raised, de-duplicated (posted to the webhook when one is configured).
    pub alerts: Vec<Alert>,
    /// Per-cluster failures (reads or sends) of this tick.
    pub errors: Vec<String>,
    /// RPC round trips used by the reads.
    pub round_trips: u64,
    /// Clusters whose balance was read exactly this tick (the others were carried forward).
    pub exact_reads: usize,
}

/// The service state.
#[derive(Debug)]
pub struct Watcher {
    chain: Chain,
    policy: WatchPolicy,
    clusters: Vec<(Address, Vec<u64>)>,
    snapshots: HashMap<B256, Cluster>,
    /// Clusters a read found ETH-billed on v2 (final there): their asset type is not asked again.
    eth_billed: HashSet<B256>,
    /// The last exact reading of each active cluster, carried forward while nothing changes it
    /// (`None`: every tick reads every cluster exactly).
    carried: Option<HashMap<B256, CarriedFigures>>,
    /// Head of the last tick that read every cluster exactly.
    full_read_at: Option<u64>,
    /// Blocks between two such ticks.
    full_read_every: u64,
    scanned_to: Option<u64>,
    ledger: Ledger,
    metrics: SharedMetrics,
    cache: Option<SnapshotCache>,
    alert_state: AlertState,
    alerter: Option<Alerter>,
    /// Exits at or below this block are history, not news (`None` until the first scan).
    exits_after: Option<u64>,
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
        let clusters: Vec<(Address, Vec<u64>)> = clusters
            .into_iter()
            .map(|(o, mut ids)| {
                ids.sort_unstable();
                (o, ids)
            })
            .collect();
        let full_read_every =
            (chain.profile().blocks_per_day * FULL_READ_EVERY_SECS / 86_400).max(1);
        let refs: Vec<ClusterRef> = clusters
            .iter()
            .map(|(owner, ids)| ClusterRef {
                id: cluster_id(*owner, ids),
                owner: *owner,
                operator_ids: ids.clone(),
            })
            .collect();
        Self {
            chain,
            policy,
            clusters,
            snapshots: HashMap::new(),
            eth_billed: HashSet::new(),
            carried: Some(HashMap::new()),
            full_read_at: None,
            full_read_every,
            scanned_to: None,
            ledger,
            metrics,
            cache: None,
            alert_state: AlertState::new(refs, Some(alerts::DEFAULT_REPEAT)),
            alerter: None,
            exits_after: None,
        }
    }

    /// Posts alerts through `alerter`, repeating an ongoing condition after `repeat` (`None`:
    /// only when it starts). Without it alerts are only logged and reported.
    pub fn with_alerts(
        mut self,
        alerter: Option<Alerter>,
        repeat: Option<std::time::Duration>,
    ) -> Self {
        self.alert_state.set_repeat(repeat);
        self.alerter = alerter;
        self
    }

    /// Stops the alert delivery, waiting up to `within` for queued alerts.
    pub async fn close_alerts(&mut self, within: std::time::Duration) {
        if let Some(a) = self.alerter.take() {
            a.close(within).await;
        }
    }

    /// Persists snapshots in `dir` after each tick and starts from them, so a restart scans only
    /// new blocks (plus a reorg margin). An unusable cache file is ignored and rebuilt.
    pub fn with_snapshot_cache(mut self, dir: &std::path::Path) -> Self {
        let owners: Vec<Address> = self.clusters.iter().map(|(o, _)| *o).collect();
        let p = self.chain.profile();
        let cache = SnapshotCache::new(dir, p.chain_id, p.ssv_network, &owners);
        if let Some(loaded) = cache.load() {
            self.snapshots = loaded.snapshots;
            // Scanning resumes at `rescan_from + 1`; the margin is already subtracted.
            self.scanned_to = Some(loaded.rescan_from);
            // Exits up to the cached height were news for the previous run.
            self.exits_after = Some(loaded.scanned_to);
        }
        self.cache = Some(cache);
        self
    }

    /// Whether to carry exact readings forward between ticks (the default) or read every
    /// cluster's balance and burn rate every tick.
    pub fn with_carried_readings(mut self, on: bool) -> Self {
        self.carried = on.then(HashMap::new);
        self
    }

    /// Reads every cluster exactly at least every `blocks` blocks (default: an hour of the
    /// profile's blocks).
    pub fn with_full_read_every(mut self, blocks: u64) -> Self {
        self.full_read_every = blocks.max(1);
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

    /// Brings snapshots up to `head` from cluster events of the watched owners, and collects
    /// their validator exits after `exits_after` into `exits`; returns the `eth_getLogs` calls
    /// and the clusters that had an event.
    async fn refresh_snapshots(
        &mut self,
        head: u64,
        exits: &mut Vec<Exit>,
    ) -> Result<(u64, HashSet<B256>), ChainError> {
        let from = self
            .scanned_to
            .map_or(self.chain.profile().registry_sync_offset, |b| b + 1);
        let mut touched = HashSet::new();
        if from > head {
            return Ok((0, touched));
        }
        let mut owners: Vec<B256> = self.clusters.iter().map(|(o, _)| o.into_word()).collect();
        owners.sort();
        owners.dedup();
        let mut topics = cluster_event_topics();
        topics.push(SSVNetwork::ValidatorExited::SIGNATURE_HASH);
        let filter = Filter::new()
            .address(self.chain.profile().ssv_network)
            .event_signature(topics)
            .topic1(owners);
        let mut scanner = self.chain.log_scanner();
        // The chain's counter may be shared across scanners: count this scan's calls only.
        let calls_before = scanner.calls();
        let snapshots = &mut self.snapshots;
        let news_after = self.exits_after;
        let mut found = Vec::new();
        scanner
            .scan_forward(&filter, from, head, |logs| {
                for log in logs {
                    if log.topic0() == Some(&SSVNetwork::ValidatorExited::SIGNATURE_HASH) {
                        found.extend(Exit::from_log(log));
                        continue;
                    }
                    let (Some(owner), Some((ids, c))) =
                        (log.topics().get(1), decode_cluster_log(log))
                    else {
                        continue;
                    };
                    let id = cluster_id(Address::from_word(*owner), &ids);
                    snapshots.insert(id, c);
                    touched.insert(id);
                }
                Flow::Continue
            })
            .await?;
        self.scanned_to = Some(head);
        // The first scan of a fresh start is history: only later exits are news.
        if let Some(after) = news_after {
            exits.extend(found.into_iter().filter(|e| e.block > after));
        }
        self.exits_after = Some(head);
        if let Some(cache) = &self.cache
            && let Err(e) = cache.save(&self.snapshots, head)
        {
            // Only a cache: the next start rescans instead.
            tracing::warn!(error = %e, "could not save the snapshot cache");
        }
        Ok((scanner.calls().saturating_sub(calls_before), touched))
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
                    if let ChainError::Stuck {
                        tx_hash,
                        kind,
                        nonce,
                        ..
                    } = &e
                    {
                        report.stuck.push(StuckTx {
                            cluster_id: t.cluster_id,
                            tx_hash: *tx_hash,
                            kind: kind.clone(),
                            nonce: *nonce,
                            waited_secs: now_secs().saturating_sub(t.at),
                        });
                    }
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
            self.raise_alerts(&mut report, false);
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
        self.raise_alerts(&mut report, true);
        Ok(report)
    }

    /// Logs and posts one alert (never waits: delivery is queued).
    fn alert(&self, alert: Alert, block: u64) {
        // Money sent is the service working; the other kinds need a human.
        if matches!(alert, Alert::TopupSent { .. }) {
            tracing::info!(alert = alert.kind(), "{}", alert.text());
        } else {
            tracing::warn!(alert = alert.kind(), "{}", alert.text());
        }
        if let Some(a) = &self.alerter {
            a.post(alert, block);
        }
    }

    /// The tick's condition and exit alerts (top-ups were posted as they were sent).
    fn raise_alerts(&mut self, report: &mut TickReport, complete: bool) {
        let new =
            self.alert_state
                .tick_alerts(report, self.policy.floor_days, complete, now_secs());
        for a in &new {
            self.alert(a.clone(), report.block);
        }
        report.alerts.extend(new);
    }

    /// Brings snapshots up to the head and reads every watched cluster at that block. A cluster
    /// with no event since its last exact reading, and whose fees this read finds unchanged, is
    /// carried forward (`FeeParams::balance_after`, a lower bound) instead of read again; every
    /// cluster is read exactly once per [`FULL_READ_EVERY_SECS`], and any carried cluster the plan
    /// would act on or hold is read exactly before the plan is made.
    async fn read(
        &mut self,
        report: &mut TickReport,
    ) -> Result<(Vec<ClusterState>, SsvVersion), WatchError> {
        let head = self.chain.head().await?;
        report.block = head;
        let (log_trips, touched) = self.refresh_snapshots(head, &mut report.exits).await?;
        let full = self
            .full_read_at
            .is_none_or(|at| head >= at.saturating_add(self.full_read_every));
        let keys = self.tick_keys(&touched, full);
        let reads = read_clusters(&self.chain, &keys, head).await?;
        report.round_trips = 1 + log_trips + reads.round_trips;
        let mut rows = reads.clusters;
        report.round_trips += self
            .reread_what_the_plan_uses(&keys, &mut rows, head)
            .await?;
        if full {
            self.full_read_at = Some(head);
        }
        if reads.version != SsvVersion::V2 {
            self.eth_billed.clear();
        }
        let mut states = Vec::with_capacity(keys.len());
        for (key, r) in keys.iter().zip(rows) {
            match r {
                Ok(c) => {
                    self.remember(&c);
                    states.push(c);
                }
                Err(e) => {
                    if let Some(map) = &mut self.carried {
                        map.remove(&cluster_id(key.owner, &key.operator_ids));
                    }
                    report.errors.push(format!(
                        "cluster {:?} of {}: {e}",
                        key.operator_ids, key.owner
                    ));
                }
            }
        }
        report.exact_reads = states.iter().filter(|c| c.is_exact()).count();
        Ok((states, reads.version))
    }

    /// The keys to read this tick: snapshots, the ETH-billing memo, and the carried reading of
    /// every cluster with no event this tick (none on a full read).
    fn tick_keys(&self, touched: &HashSet<B256>, full: bool) -> Vec<ClusterKey> {
        self.clusters
            .iter()
            .map(|(owner, ids)| {
                let id = cluster_id(*owner, ids);
                let snap = self.snapshots.get(&id).cloned();
                let carried = match &self.carried {
                    Some(map) if !full && !touched.contains(&id) => map.get(&id).cloned(),
                    _ => None,
                };
                ClusterKey::new(*owner, ids, snap)
                    .with_eth_billed(self.eth_billed.contains(&id))
                    .with_carried(carried)
            })
            .collect()
    }

    /// Reads exactly, in place, every carried row the plan would not call fine (money moves, or
    /// a hold is reported, only on exact figures); returns the round trips used.
    async fn reread_what_the_plan_uses(
        &self,
        keys: &[ClusterKey],
        rows: &mut [Result<ClusterState, ChainError>],
        head: u64,
    ) -> Result<u64, ChainError> {
        let bpd = self.chain.profile().blocks_per_day;
        let signer = self.chain.signer_address();
        let recheck: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.as_ref().is_ok_and(|c| {
                    !c.is_exact() && !matches!(need(c, &self.policy, signer, bpd), Need::Fine)
                })
            })
            .map(|(i, _)| i)
            .collect();
        if recheck.is_empty() {
            return Ok(0);
        }
        let exact: Vec<ClusterKey> = recheck
            .iter()
            .map(|&i| keys[i].clone().with_carried(None))
            .collect();
        let again = read_clusters(&self.chain, &exact, head).await?;
        for (i, r) in recheck.into_iter().zip(again.clusters) {
            rows[i] = r;
        }
        Ok(again.round_trips)
    }

    /// Keeps what the next tick may reuse of a reading: its ETH billing, and its figures when it
    /// was exact (a carried reading keeps the exact one it came from).
    fn remember(&mut self, c: &ClusterState) {
        if c.version == SsvVersion::V2 && c.billing == Some(Billing::Eth) {
            self.eth_billed.insert(c.cluster_id);
        }
        let Some(map) = &mut self.carried else {
            return;
        };
        match c.carried() {
            Some(figures) => {
                map.insert(c.cluster_id, figures);
            }
            None if c.is_exact() => {
                map.remove(&c.cluster_id);
            }
            None => {}
        }
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

    async fn send(&mut self, version: SsvVersion, plan: Plan, report: &mut TickReport) {
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
                let action = match plan.action {
                    Action::TopUp => TopUpAction::Topup,
                    Action::Reactivate => TopUpAction::Reactivate,
                };
                // Posted now, not at the end of the tick: later sends may wait for minutes.
                let alert = Alert::TopupSent {
                    cluster: self.alert_state.cluster(plan.cluster_id),
                    action,
                    amount: plan.amount,
                    currency: if version == SsvVersion::V1 {
                        "SSV"
                    } else {
                        "ETH"
                    },
                    tx: tx_hash,
                };
                self.alert(alert.clone(), report.block);
                report.alerts.push(alert);
                match plan.action {
                    Action::TopUp => report.topups.push(sent),
                    Action::Reactivate => report.reactivated.push(sent),
                }
            }
            Err(e) => {
                if let ChainError::Stuck {
                    tx_hash,
                    kind,
                    nonce,
                    waited_secs,
                    ..
                } = &e
                {
                    report.stuck.push(StuckTx {
                        cluster_id: plan.cluster_id,
                        tx_hash: *tx_hash,
                        kind: kind.clone(),
                        nonce: *nonce,
                        waited_secs: *waited_secs,
                    });
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
                    stuck = r.stuck.len(),
                    exits = r.exits.len(),
                    alerts = r.alerts.len(),
                    errors = r.errors.len(),
                    round_trips = r.round_trips,
                    "tick"
                );
                Some(r)
            }
            Err(e) => {
                tracing::error!(error = %e, "tick failed; retrying next interval");
                self.metrics.errors.inc();
                self.metrics.failed_ticks.inc();
                None
            }
        }
    }

    fn publish(&self, report: &TickReport) {
        let m = &self.metrics;
        m.ticks.inc();
        m.errors.inc_by(report.errors.len() as u64);
        m.topups.inc_by(report.topups.len() as u64);
        m.reactivations.inc_by(report.reactivated.len() as u64);
        m.stuck.inc_by(report.stuck.len() as u64);
        m.validator_exits.inc_by(report.exits.len() as u64);
        m.last_tick_round_trips.set(gauge(report.round_trips));
        m.stuck_transactions.set(gauge(report.stuck.len() as u64));
        if report.block > 0 {
            m.last_block.set(gauge(report.block));
        }
        for c in &report.clusters {
            let label = metrics::Metrics::cluster(c.cluster_id);
            m.balance.get_or_create(&label).set(f64::from(c.balance));
            m.burn_rate
                .get_or_create(&label)
                .set(f64::from(c.burn_rate));
            let runway = match (c.active, c.runway_days) {
                (false, _) => 0.0,
                (true, Some(d)) => d,
                (true, None) => f64::INFINITY,
            };
            m.runway_days.get_or_create(&label).set(runway);
            m.liquidated
                .get_or_create(&label)
                .set(if c.active { 0.0 } else { 1.0 });
            let last = self.ledger.last_topup(c.cluster_id).unwrap_or(0) as f64;
            m.last_topup.get_or_create(&label).set(last);
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
                _ = term.recv() => { tracing::info!("SIGTERM: stopping between ticks"); break; }
                _ = tokio::signal::ctrl_c() => { tracing::info!("interrupted: stopping"); break; }
            }
            #[cfg(not(unix))]
            tokio::time::sleep(interval).await;
        }
        // Bounded: systemd's stop timeout (90 s by default) is well above it.
        self.close_alerts(alerts::SHUTDOWN_FLUSH).await;
        Ok(())
    }
}
