//! After "funded": withdraw, reactivate, migrate, remove and the fee recipient, each checked
//! against the chain (and the beacon node for `remove`) before it sends, through the one send
//! path, journaled in the cluster's (or owner's) action journal so a rerun never sends twice.
//! A dry run is this same code on the rehearsal fork.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, U256},
    rpc::types::{Filter, TransactionRequest},
    sol_types::{SolCall, SolEvent},
};
use serde::Serialize;

use super::{
    actions::{ActionOutcome, finish_pending, send_once},
    cluster::{ClusterState, read_cluster},
    cluster_tx::{Action, Plan, execute},
    fees::{FundingError, check_minimum, plan_funding},
    validators::{OwnedValidator, owner_validators},
    views::FeeViews,
};
use crate::{
    beacon::client::{BeaconClient, BeaconError},
    chain::{Chain, ChainError, contracts::SSVNetwork, logs::Flow},
    journal::{ActionJournal, JournalError},
};

/// Bulk remove takes at most this many keys (SSV docs).
pub const BULK_REMOVE_MAX: usize = 500;

/// Why a lifecycle action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// No cluster with these operators for this owner.
    #[error("owner {owner} has no cluster with operators {ids:?}")]
    NoCluster {
        /// Owner.
        owner: Address,
        /// Operator ids.
        ids: Vec<u64>,
    },
    /// The cluster is active; only liquidated clusters are reactivated.
    #[error("cluster {0} is active: only a liquidated cluster can be reactivated")]
    NotLiquidated(B256),
    /// The cluster is liquidated.
    #[error("cluster {0} is liquidated: reactivate it first (`ssv-agent reactivate`)")]
    Liquidated(B256),
    /// Only a legacy SSV cluster on v2 migrates.
    #[error(
        "cluster {0} is not a legacy SSV-billed cluster on SSV Network v2: there is nothing to migrate"
    )]
    NotLegacy(B256),
    /// A legacy SSV cluster on v2 takes no withdrawals.
    #[error(
        "cluster {0} is SSV-billed (legacy) on SSV Network v2, which takes no withdrawals from it: `ssv-agent migrate` refunds its SSV balance"
    )]
    LegacyWithdraw(B256),
    /// More than the balance.
    #[error("cluster {cluster} holds {balance} wei; {asked} cannot be withdrawn")]
    OverBalance {
        /// Cluster.
        cluster: B256,
        /// Its settled balance.
        balance: U256,
        /// The amount asked.
        asked: U256,
    },
    /// `--all` while validators still run in the cluster.
    #[error(
        "cluster {cluster} still runs {validators} validator(s): `--all` would liquidate it; exit and remove them first, or withdraw an amount that keeps the minimum runway"
    )]
    StillRunning {
        /// Cluster.
        cluster: B256,
        /// Validators.
        validators: u32,
    },
    /// The balance left would be liquidatable or under the minimum runway.
    #[error("withdrawing {asked} wei from cluster {cluster} would leave too little")]
    WouldUnderfund {
        /// Cluster.
        cluster: B256,
        /// The amount asked.
        asked: U256,
        /// The runway check's reason.
        #[source]
        source: FundingError,
    },
    /// The funding policy refuses.
    #[error("funding refused")]
    Funding(#[from] FundingError),
    /// A key not registered by this owner (or already removed).
    #[error("validator {0} is not registered with SSV by this owner (or was removed already)")]
    NotRegistered(String),
    /// Validators still (or about to be) running on the beacon chain.
    #[error(
        "validator(s) {} are {}: after removal they can no longer be exited through SSV. Exit them first (`ssv-agent exit`) and wait until they are exited; pass --i-understand-no-exit to remove anyway",
        pubkeys.join(", "),
        statuses.join(", ")
    )]
    StillActive {
        /// The keys.
        pubkeys: Vec<String>,
        /// Their beacon status.
        statuses: Vec<String>,
    },
    /// The beacon node could not say.
    #[error("the beacon node could not tell whether the validators still run")]
    Beacon(#[from] BeaconError),
    /// A chain failure.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A journal failure.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// What a lifecycle command did, for people and for `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct LifecycleReport {
    /// The action.
    pub action: &'static str,
    /// The cluster (zero for owner-level actions).
    pub cluster_id: B256,
    /// What was found and decided, in words.
    pub notes: Vec<String>,
    /// Transactions sent (or found done).
    pub outcomes: Vec<ActionOutcome>,
}

impl LifecycleReport {
    fn new(action: &'static str, cluster_id: B256) -> Self {
        Self {
            action,
            cluster_id,
            notes: Vec::new(),
            outcomes: Vec::new(),
        }
    }
}

async fn existing(
    chain: &Chain,
    owner: Address,
    ids: &[u64],
) -> Result<ClusterState, LifecycleError> {
    let c = read_cluster(chain, owner, ids).await?;
    if c.snapshot.is_none() {
        return Err(LifecycleError::NoCluster {
            owner,
            ids: c.operator_ids,
        });
    }
    Ok(c)
}

/// How much to withdraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// This many wei (SSV wei on v1).
    Exact(U256),
    /// The whole balance (only with no validators left).
    All,
}

/// Withdraws from a cluster, refusing any amount that would leave it liquidatable or under
/// `min_runway_days` (the contract would refuse the first; the agent refuses both).
pub async fn withdraw(
    chain: &Chain,
    journal: &mut ActionJournal,
    owner: Address,
    ids: &[u64],
    amount: Amount,
    min_runway_days: u64,
    again: bool,
) -> Result<LifecycleReport, LifecycleError> {
    finish_pending(chain, journal).await?;
    let c = existing(chain, owner, ids).await?;
    let mut report = LifecycleReport::new("withdraw", c.cluster_id);
    if c.views == FeeViews::V2Ssv {
        return Err(LifecycleError::LegacyWithdraw(c.cluster_id));
    }
    if c.is_liquidated() && c.version == crate::chain::reads::SsvVersion::V1 {
        return Err(LifecycleError::Liquidated(c.cluster_id));
    }
    let asked = match amount {
        Amount::All if c.load.validator_count > 0 && c.is_active() => {
            return Err(LifecycleError::StillRunning {
                cluster: c.cluster_id,
                validators: c.load.validator_count,
            });
        }
        Amount::All => c.balance,
        Amount::Exact(a) => a,
    };
    if asked > c.balance {
        return Err(LifecycleError::OverBalance {
            cluster: c.cluster_id,
            balance: c.balance,
            asked,
        });
    }
    if asked.is_zero() {
        report
            .notes
            .push("the cluster holds nothing to withdraw; nothing was sent".into());
        return Ok(report);
    }
    if c.is_active() && c.load.validator_count > 0 {
        let bpd = chain.profile().blocks_per_day;
        check_minimum(&c.params, c.balance - asked, c.load, min_runway_days, bpd).map_err(
            |source| LifecycleError::WouldUnderfund {
                cluster: c.cluster_id,
                asked,
                source,
            },
        )?;
    }
    report.notes.push(format!(
        "withdrawing {asked} of {} ({:?}); the cluster keeps {}",
        c.balance,
        c.params.billing,
        c.balance - asked
    ));
    let tx = TransactionRequest::default()
        .with_to(chain.profile().ssv_network)
        .with_input(
            SSVNetwork::withdrawCall {
                operatorIds: c.operator_ids.clone(),
                amount: asked,
                cluster: c.snapshot_or_empty(),
            }
            .abi_encode(),
        );
    let args = format!("{:?} {asked}", c.operator_ids);
    let (outcome, _) = send_once(chain, journal, "withdraw", &args, tx, again).await?;
    report.outcomes.push(outcome);
    Ok(report)
}

/// Reactivates a liquidated cluster, funded for `runway_days` at its stored vUnits (v2 payable, or
/// SSV approve + amount on v1).
pub async fn reactivate(
    chain: &Chain,
    journal: &mut ActionJournal,
    owner: Address,
    ids: &[u64],
    runway_days: u64,
    min_runway_days: u64,
) -> Result<LifecycleReport, LifecycleError> {
    finish_pending(chain, journal).await?;
    let c = existing(chain, owner, ids).await?;
    if !c.is_liquidated() {
        return Err(LifecycleError::NotLiquidated(c.cluster_id));
    }
    if c.views == FeeViews::V2Ssv {
        return Err(LifecycleError::LegacyWithdraw(c.cluster_id));
    }
    let bpd = chain.profile().blocks_per_day;
    let plan = plan_funding(
        &c.params,
        U256::ZERO,
        c.load,
        0,
        runway_days,
        min_runway_days,
        bpd,
    )?;
    let mut report = LifecycleReport::new("reactivate", c.cluster_id);
    report.notes.push(format!(
        "reactivating with {} ({:?}): {runway_days} days at {} per block, collateral {}",
        plan.deposit, c.params.billing, plan.burn_rate_after, plan.collateral_after
    ));
    let tx = Plan {
        action: Action::Reactivate,
        cluster_id: c.cluster_id,
        owner,
        operator_ids: c.operator_ids.clone(),
        snapshot: c.snapshot_or_empty(),
        amount: plan.deposit,
    };
    let args = format!("{:?}", c.operator_ids);
    let hash = execute(chain, c.version, &tx, |r, _| {
        journal.record("reactivate", &args, r)
    })
    .await?;
    report.outcomes.push(ActionOutcome::Sent {
        tx_hash: hash,
        block: chain.head().await?,
    });
    Ok(report)
}

/// What a migration returns and takes, stated before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationPlan {
    /// The SSV balance the contract refunds (settled now).
    pub ssv_refund: U256,
    /// The ETH sent to start the ETH cluster (policy runway + collateral).
    pub eth_deposit: U256,
}

/// Migrates a legacy SSV cluster to ETH billing, funded for `runway_days` in ETH.
pub async fn migrate(
    chain: &Chain,
    journal: &mut ActionJournal,
    owner: Address,
    ids: &[u64],
    runway_days: u64,
    min_runway_days: u64,
) -> Result<(LifecycleReport, MigrationPlan), LifecycleError> {
    finish_pending(chain, journal).await?;
    let c = existing(chain, owner, ids).await?;
    if c.views != FeeViews::V2Ssv {
        return Err(LifecycleError::NotLegacy(c.cluster_id));
    }
    let eth = c.params_as(chain, FeeViews::V2Eth).await?;
    let bpd = chain.profile().blocks_per_day;
    let funding = plan_funding(
        &eth,
        U256::ZERO,
        c.load,
        0,
        runway_days,
        min_runway_days,
        bpd,
    )?;
    let plan = MigrationPlan {
        ssv_refund: c.balance,
        eth_deposit: funding.deposit,
    };
    let mut report = LifecycleReport::new("migrate", c.cluster_id);
    report.notes.push(format!(
        "migrating to ETH: the contract refunds {} SSV wei and takes {} wei ({runway_days} days at {} wei per block, collateral {})",
        plan.ssv_refund, plan.eth_deposit, funding.burn_rate_after, funding.collateral_after
    ));
    let tx = TransactionRequest::default()
        .with_to(chain.profile().ssv_network)
        .with_input(
            SSVNetwork::migrateClusterToETHCall {
                operatorIds: c.operator_ids.clone(),
                cluster: c.snapshot_or_empty(),
            }
            .abi_encode(),
        )
        .with_value(plan.eth_deposit);
    let args = format!("{:?}", c.operator_ids);
    let (outcome, _) = send_once(chain, journal, "migrate", &args, tx, false).await?;
    report.outcomes.push(outcome);
    Ok((report, plan))
}

/// Which validators to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These keys.
    Keys(Vec<String>),
    /// Every registered validator of the cluster with these operators.
    Cluster(Vec<u64>),
}

/// Beacon statuses after which SSV no longer needs to sign for the validator.
const SAFE_TO_REMOVE: [&str; 4] = [
    "exited_unslashed",
    "exited_slashed",
    "withdrawal_possible",
    "withdrawal_done",
];

/// Removes validators from their cluster(s) (`bulkRemoveValidator` where several), refusing any
/// that still runs (or will run) on the beacon chain unless `allow_active`.
pub async fn remove(
    chain: &Chain,
    beacon: Option<&BeaconClient>,
    journals: &mut dyn FnMut(B256) -> Result<ActionJournal, JournalError>,
    owner: Address,
    selection: &Selection,
    allow_active: bool,
) -> Result<Vec<LifecycleReport>, LifecycleError> {
    let head = chain.head().await?;
    let registered: Vec<OwnedValidator> = owner_validators(chain, owner, head)
        .await?
        .into_iter()
        .filter(|v| !v.removed)
        .collect();
    let chosen: Vec<OwnedValidator> = match selection {
        Selection::Keys(keys) => {
            let mut out = Vec::new();
            for k in keys {
                let k = k.to_ascii_lowercase();
                let v = registered
                    .iter()
                    .find(|v| v.pubkey == k)
                    .ok_or_else(|| LifecycleError::NotRegistered(k.clone()))?;
                out.push(v.clone());
            }
            out
        }
        Selection::Cluster(ids) => {
            let mut ids = ids.clone();
            ids.sort_unstable();
            registered
                .iter()
                .filter(|v| v.operator_ids == ids)
                .cloned()
                .collect()
        }
    };
    if !allow_active {
        refuse_running(chain, beacon, &chosen).await?;
    }
    let mut by_cluster: Vec<(Vec<u64>, Vec<String>)> = Vec::new();
    for v in chosen {
        match by_cluster
            .iter_mut()
            .find(|(ids, _)| *ids == v.operator_ids)
        {
            Some((_, keys)) => keys.push(v.pubkey),
            None => by_cluster.push((v.operator_ids, vec![v.pubkey])),
        }
    }
    let mut reports = Vec::new();
    for (ids, keys) in by_cluster {
        for chunk in keys.chunks(BULK_REMOVE_MAX) {
            reports.push(remove_from_cluster(chain, journals, owner, &ids, chunk).await?);
        }
    }
    Ok(reports)
}

async fn refuse_running(
    chain: &Chain,
    beacon: Option<&BeaconClient>,
    chosen: &[OwnedValidator],
) -> Result<(), LifecycleError> {
    let Some(b) = beacon else {
        return Err(LifecycleError::StillActive {
            pubkeys: chosen.iter().map(|v| v.pubkey.clone()).collect(),
            statuses: vec!["of unknown beacon status (no beacon node to ask)".into()],
        });
    };
    let (mut keys, mut statuses) = (Vec::new(), Vec::new());
    for v in chosen {
        let status = match b.validator("head", &v.pubkey).await? {
            Some(info) => info.status,
            None => {
                let pk: [u8; 48] = hex::decode(v.pubkey.trim_start_matches("0x"))
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 48]);
                match crate::deposit::send::find_deposit_event(chain, &pk).await? {
                    Some(_) => "deposited, not yet on the beacon chain".into(),
                    None => continue, // never deposited: nothing will ever run
                }
            }
        };
        if !SAFE_TO_REMOVE.contains(&status.as_str()) {
            keys.push(v.pubkey.clone());
            statuses.push(status);
        }
    }
    if keys.is_empty() {
        Ok(())
    } else {
        Err(LifecycleError::StillActive {
            pubkeys: keys,
            statuses,
        })
    }
}

async fn remove_from_cluster(
    chain: &Chain,
    journals: &mut dyn FnMut(B256) -> Result<ActionJournal, JournalError>,
    owner: Address,
    ids: &[u64],
    keys: &[String],
) -> Result<LifecycleReport, LifecycleError> {
    let c = existing(chain, owner, ids).await?;
    let mut journal = journals(c.cluster_id)?;
    let bytes =
        |k: &String| Bytes::from(hex::decode(k.trim_start_matches("0x")).unwrap_or_default());
    let input = match keys {
        [one] => SSVNetwork::removeValidatorCall {
            publicKey: bytes(one),
            operatorIds: c.operator_ids.clone(),
            cluster: c.snapshot_or_empty(),
        }
        .abi_encode(),
        many => SSVNetwork::bulkRemoveValidatorCall {
            publicKeys: many.iter().map(bytes).collect(),
            operatorIds: c.operator_ids.clone(),
            cluster: c.snapshot_or_empty(),
        }
        .abi_encode(),
    };
    let tx = TransactionRequest::default()
        .with_to(chain.profile().ssv_network)
        .with_input(input);
    let mut report = LifecycleReport::new("remove", c.cluster_id);
    report.notes.push(format!(
        "removing {} validator(s) from cluster {:?}: {}",
        keys.len(),
        c.operator_ids,
        keys.join(", ")
    ));
    let mut sorted = keys.to_vec();
    sorted.sort();
    let (outcome, _) =
        send_once(chain, &mut journal, "remove", &sorted.join(","), tx, false).await?;
    report.outcomes.push(outcome);
    Ok(report)
}

/// The owner's fee recipient: the newest `FeeRecipientAddressUpdated`, or the owner itself when
/// it never set one (SSV nodes then pay the owner).
pub async fn fee_recipient(
    chain: &Chain,
    owner: Address,
) -> Result<(Address, Option<u64>), ChainError> {
    let head = chain.head().await?;
    let filter = Filter::new()
        .address(chain.profile().ssv_network)
        .event_signature(SSVNetwork::FeeRecipientAddressUpdated::SIGNATURE_HASH)
        .topic1(owner.into_word());
    let mut newest = None;
    chain
        .log_scanner()
        .scan_backward(
            &filter,
            chain.profile().registry_sync_offset,
            head,
            |logs| {
                if let Some(l) = logs.last()
                    && let Ok(e) = SSVNetwork::FeeRecipientAddressUpdated::decode_log(&l.inner)
                {
                    newest = Some((e.data.recipientAddress, l.block_number));
                    return Flow::Stop;
                }
                Flow::Continue
            },
        )
        .await?;
    Ok(match newest {
        Some((a, b)) => (a, b),
        None => (owner, None),
    })
}

/// Sets the owner's fee recipient, once; reads it back from the event.
pub async fn set_fee_recipient(
    chain: &Chain,
    journal: &mut ActionJournal,
    owner: Address,
    recipient: Address,
) -> Result<LifecycleReport, LifecycleError> {
    let mut report = LifecycleReport::new("fee_recipient", B256::ZERO);
    let (now, _) = fee_recipient(chain, owner).await?;
    if now == recipient {
        report.notes.push(format!(
            "the fee recipient is already {recipient}; nothing was sent"
        ));
        return Ok(report);
    }
    let tx = TransactionRequest::default()
        .with_to(chain.profile().ssv_network)
        .with_input(
            SSVNetwork::setFeeRecipientAddressCall {
                recipientAddress: recipient,
            }
            .abi_encode(),
        );
    let (outcome, _) = send_once(
        chain,
        journal,
        "fee_recipient",
        &recipient.to_string(),
        tx,
        true,
    )
    .await?;
    report.outcomes.push(outcome);
    let (after, _) = fee_recipient(chain, owner).await?;
    report
        .notes
        .push(format!("the fee recipient of {owner} is now {after}"));
    Ok(report)
}
