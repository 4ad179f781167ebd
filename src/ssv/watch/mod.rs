//! `watch`: a long-running service keeping clusters above a runway floor.
//!
//! Each tick: one `eth_blockNumber`, new cluster events since the last tick (snapshots kept in
//! memory, so no rescans), and one batched `eth_call` request for every cluster's balance and burn
//! rate plus the protocol parameters. A cluster under `floor_days` is topped up to `target_days`
//! within the per-transaction and per-day caps (ETH `deposit` on v2, SSV approve + `deposit` on v1).
//! Every top-up is journaled in the ledger before broadcast; a restart resumes pending ones first.

pub mod batch;
pub mod ledger;
pub mod metrics;

use std::collections::HashMap;

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    rpc::types::{Filter, TransactionRequest},
    sol_types::{SolCall, SolValue},
};
use serde::Serialize;

use self::{batch::eth_call_batch, ledger::Ledger, metrics::SharedMetrics};
use crate::{
    chain::{
        Chain, ChainError,
        contracts::{Cluster, SSVNetwork, SSVNetworkV1, SSVNetworkViews, SSVToken},
        logs::Flow,
        reads::{SsvVersion, cluster_event_topics, cluster_id, decode_cluster_log},
        send::{FeeCaps, resume, send_journaled},
    },
    journal::{JournalError, now_secs},
};

/// What the service may do.
#[derive(Debug, Clone)]
pub struct WatchPolicy {
    /// Top up under this runway.
    pub floor_days: u64,
    /// Top up to this runway.
    pub target_days: u64,
    /// Largest single top-up.
    pub max_per_tx: U256,
    /// Largest total in any 24 h.
    pub max_per_day: U256,
    /// Reactivate liquidated clusters (else only report).
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
        /// Cluster key.
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
    /// Settled balance.
    pub balance: U256,
    /// Burn per block.
    pub burn_rate: U256,
    /// max(MLC, burn·LTP).
    pub collateral: U256,
    /// Runway in days (`None` = infinite).
    pub runway_days: Option<f64>,
}

/// What a tick did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TickReport {
    /// Head block.
    pub block: u64,
    /// Clusters read.
    pub clusters: Vec<ClusterReading>,
    /// Top-ups sent (cluster, amount, tx hash).
    pub topups: Vec<(B256, U256, B256)>,
    /// Liquidated clusters seen.
    pub liquidated: Vec<B256>,
    /// Clusters under the floor that the caps stopped.
    pub capped: Vec<B256>,
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
    version: Option<SsvVersion>,
    ledger: Ledger,
    metrics: SharedMetrics,
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
            version: None,
            ledger,
            metrics,
        }
    }

    /// The ledger (for reports and tests).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Brings snapshots up to `head` from cluster events of the watched owners.
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
                    snapshots.insert(cluster_id(Address::from_word(*owner), &ids), c);
                }
                Flow::Continue
            })
            .await?;
        self.scanned_to = Some(head);
        Ok(scanner.calls().saturating_sub(calls_before))
    }

    /// Finishes top-ups a previous run signed but did not see mined.
    async fn resume_pending(&mut self) -> Result<(), WatchError> {
        for t in self.ledger.pending() {
            tracing::info!(cluster = %t.cluster_id, tx = %t.tx.tx_hash, "resuming a recorded top-up instead of sending a new one");
            let ledger = &mut self.ledger;
            resume(&self.chain, &t.tx, |r| {
                ledger.record(t.cluster_id, t.amount, r)
            })
            .await?;
        }
        Ok(())
    }

    /// One pass over every watched cluster.
    pub async fn tick(&mut self) -> Result<TickReport, WatchError> {
        self.resume_pending().await?;
        let mut trips = 1;
        let head = self.chain.head().await?;
        if self.version.is_none() {
            self.version = Some(self.chain.ssv_version().await?);
            trips += 1;
        }
        let version = self.version.unwrap_or(SsvVersion::V2);
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
        let mut active = Vec::new();
        for (owner, ids) in &self.clusters {
            let id = cluster_id(*owner, ids);
            if let Some(c) = self.snapshots.get(&id).filter(|c| c.active) {
                calls.push((
                    views,
                    SSVNetworkViews::getBalanceCall {
                        clusterOwner: *owner,
                        operatorIds: ids.clone(),
                        cluster: c.clone(),
                    }
                    .abi_encode(),
                ));
                calls.push((
                    views,
                    SSVNetworkViews::getBurnRateCall {
                        clusterOwner: *owner,
                        operatorIds: ids.clone(),
                        cluster: c.clone(),
                    }
                    .abi_encode(),
                ));
                active.push((id, *owner, ids.clone(), c.clone()));
            }
        }
        let (results, batch_trips) = eth_call_batch(&self.chain, &calls, head).await?;
        trips += batch_trips;
        let word = |i: usize, what: &'static str, cluster: B256| -> Result<U256, WatchError> {
            let raw = results
                .get(i)
                .cloned()
                .unwrap_or_else(|| Err("missing".into()));
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

        let mut report = TickReport {
            block: head,
            round_trips: trips,
            ..Default::default()
        };
        for (owner, ids) in &self.clusters {
            let id = cluster_id(*owner, ids);
            if let Some(c) = self.snapshots.get(&id).filter(|c| !c.active) {
                report.liquidated.push(id);
                report.clusters.push(ClusterReading {
                    cluster_id: id,
                    owner: *owner,
                    operator_ids: ids.clone(),
                    active: false,
                    validators: c.validatorCount,
                    balance: U256::ZERO,
                    burn_rate: U256::ZERO,
                    collateral: U256::ZERO,
                    runway_days: None,
                });
            }
        }
        let mut plans = Vec::new();
        for (k, (id, owner, ids, snap)) in active.into_iter().enumerate() {
            let balance = word(3 + 2 * k, "getBalance", id)?;
            let burn = word(4 + 2 * k, "getBurnRate", id)?;
            let collateral = if snap.validatorCount == 0 {
                U256::ZERO
            } else {
                mlc.max(burn * ltp)
            };
            let runway_blocks =
                (!burn.is_zero()).then(|| balance.saturating_sub(collateral) / burn);
            let runway_days = runway_blocks.map(|b| f64::from(b) / f64::from(bpd));
            if let Some(days) = runway_days
                && days < self.policy.floor_days as f64
            {
                let target = burn * bpd * U256::from(self.policy.target_days) + collateral;
                plans.push((
                    id,
                    owner,
                    ids.clone(),
                    snap.clone(),
                    target.saturating_sub(balance),
                ));
            }
            report.clusters.push(ClusterReading {
                cluster_id: id,
                owner,
                operator_ids: ids,
                active: true,
                validators: snap.validatorCount,
                balance,
                burn_rate: burn,
                collateral,
                runway_days,
            });
        }

        for (id, owner, ids, snap, want) in plans {
            let left_today = self
                .policy
                .max_per_day
                .saturating_sub(self.ledger.spent_last_day(now_secs()));
            let amount = want.min(self.policy.max_per_tx).min(left_today);
            if amount < want {
                report.capped.push(id);
                tracing::warn!(cluster = %id, wanted = %want, allowed = %amount, "top-up limited by the spend caps");
            }
            if amount.is_zero() {
                continue;
            }
            match self.top_up(version, owner, &ids, snap, amount, id).await {
                Ok(hash) => report.topups.push((id, amount, hash)),
                Err(e) => {
                    tracing::error!(cluster = %id, error = %e, "top-up failed");
                    if let Ok(mut m) = self.metrics.lock() {
                        m.errors += 1;
                    }
                }
            }
        }
        self.publish(&report);
        Ok(report)
    }

    async fn top_up(
        &mut self,
        version: SsvVersion,
        owner: Address,
        ids: &[u64],
        snap: Cluster,
        amount: U256,
        id: B256,
    ) -> Result<B256, WatchError> {
        let net = self.chain.profile().ssv_network;
        let caps = self.policy.fee_caps;
        let tx = match version {
            SsvVersion::V2 => TransactionRequest::default()
                .with_to(net)
                .with_value(amount)
                .with_input(
                    SSVNetwork::depositCall {
                        clusterOwner: owner,
                        operatorIds: ids.to_vec(),
                        cluster: snap,
                    }
                    .abi_encode(),
                ),
            SsvVersion::V1 => {
                let approve = TransactionRequest::default()
                    .with_to(self.chain.profile().ssv_token)
                    .with_input(
                        SSVToken::approveCall {
                            spender: net,
                            amount,
                        }
                        .abi_encode(),
                    );
                let ledger = &mut self.ledger;
                // The approve is journaled with a zero amount: only the deposit counts toward the caps.
                send_journaled(&self.chain, "approve", approve, caps, |r| {
                    ledger.record(id, U256::ZERO, r)
                })
                .await?;
                TransactionRequest::default().with_to(net).with_input(
                    SSVNetworkV1::depositCall {
                        clusterOwner: owner,
                        operatorIds: ids.to_vec(),
                        amount,
                        cluster: snap,
                    }
                    .abi_encode(),
                )
            }
        };
        let ledger = &mut self.ledger;
        let (rec, _) = send_journaled(&self.chain, "topup", tx, caps, |r| {
            ledger.record(id, amount, r)
        })
        .await?;
        if let Ok(mut m) = self.metrics.lock() {
            m.topups += 1;
        }
        Ok(rec.tx_hash)
    }

    fn publish(&self, report: &TickReport) {
        let Ok(mut m) = self.metrics.lock() else {
            return;
        };
        m.ticks += 1;
        m.last_tick_round_trips = report.round_trips;
        for c in &report.clusters {
            let g = m.clusters.entry(format!("{}", c.cluster_id)).or_default();
            g.balance = f64::from(c.balance);
            g.burn_rate = f64::from(c.burn_rate);
            g.runway_days = c.runway_days.unwrap_or(f64::INFINITY);
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
            match self.tick().await {
                Ok(r) => tracing::info!(
                    block = r.block,
                    clusters = r.clusters.len(),
                    topups = r.topups.len(),
                    round_trips = r.round_trips,
                    "tick"
                ),
                Err(e) => {
                    tracing::error!(error = %e, "tick failed; retrying next interval");
                    if let Ok(mut m) = self.metrics.lock() {
                        m.errors += 1;
                    }
                }
            }
            #[cfg(unix)]
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = term.recv() => { tracing::info!("SIGTERM: stopping after the current tick"); return Ok(()); }
                _ = tokio::signal::ctrl_c() => { tracing::info!("interrupted: stopping"); return Ok(()); }
            }
            #[cfg(not(unix))]
            tokio::time::sleep(interval).await;
        }
    }
}
