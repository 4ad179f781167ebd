//! `register`: every check that can refuse before a transaction, then the registration path the
//! chain dictates (never guessed):
//! * v2, new or ETH-billed cluster: payable `registerValidator` / `bulkRegisterValidator`;
//! * v1.2.0: SSV `approve` of exactly the amount, then `registerValidator(..., amount, cluster)`;
//! * v2 with a legacy SSV-billed cluster: `migrateClusterToETH` (carrying the funding), then register
//!   — only when the user allowed migration.
//!
//! Each transaction goes through the one send path (`chain::send`): simulated, journaled before
//! broadcast and after its receipt; a rerun first resumes what the journal holds, and
//! already-registered validators are never sent again. A dry run is this same code on an anvil
//! fork with the owner impersonated, so it refuses exactly when the real run would.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, U256},
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::SolCall,
};
use serde::Serialize;

use super::{
    cluster::{ClusterState, read_cluster},
    fees::{Billing, FeeParams, FundingError, FundingPlan, check_minimum, plan_funding},
    keyshares::{
        NonceMismatch, ValidatedKeyshares, ValidatedShare, check_nonce_sequence, operator_key_der,
    },
    views::FeeViews,
};
use crate::{
    chain::{
        Chain, ChainError, Revert, Sender,
        contracts::{Cluster, SSVNetwork, SSVNetworkV1, SSVToken},
        reads::{SsvVersion, decode_cluster_log},
        send::{resume, send},
    },
    journal::{JournalError, StateFile, TxRecord},
};

/// Most keyshares one bulk registration may carry, by cluster size (tx size limits; ssv docs/sdk).
pub fn bulk_cap(operators: usize) -> usize {
    match operators {
        4 => 80,
        7 => 40,
        10 => 30,
        _ => 20,
    }
}

/// The way this registration is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegisterPath {
    /// v2 payable registration into a new or ETH-billed cluster.
    EthPayable,
    /// v1.2.0: SSV approve, then registration with `amount`.
    SsvApprove,
    /// v2 legacy SSV cluster: migrate to ETH, then register.
    MigrateThenRegister,
}

/// What the user allows.
#[derive(Debug, Clone)]
pub struct RegisterOptions {
    /// Fund the cluster for this many days after registration.
    pub runway_days: u64,
    /// Refuse anything that leaves less runway than this.
    pub min_runway_days: u64,
    /// Allow `migrateClusterToETH` for a legacy cluster.
    pub allow_migration: bool,
    /// Refuse if the funding exceeds this (wei or SSV wei).
    pub max_deposit: Option<U256>,
    /// Send exactly this amount instead of the runway policy's (still checked against the minimum).
    pub amount: Option<U256>,
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterReport {
    /// Owner.
    pub owner: Address,
    /// Sorted operator ids.
    pub operator_ids: Vec<u64>,
    /// Cluster key.
    pub cluster_id: B256,
    /// Path taken (or planned).
    pub path: Option<RegisterPath>,
    /// Validators registered by this run.
    pub registered: Vec<String>,
    /// Validators found already registered (nothing sent for them).
    pub already_registered: Vec<String>,
    /// Funding computed from the runway policy.
    pub funding: Option<FundingPlan>,
    /// Transactions of this run (including resumed ones).
    pub transactions: Vec<TxRecord>,
    /// True when the transactions ran on an anvil fork (a dry run), not on the real chain.
    pub rehearsal: bool,
}

/// Why registration was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// No signer configured.
    #[error("registration needs the owner's key, but no signer is configured")]
    NoSigner,
    /// The file belongs to another owner.
    #[error(
        "the keyshares were made for owner {file_owner}, but the signer is {signer}; use the owner's key or rerun the ceremony for {signer}"
    )]
    OwnerMismatch {
        /// Owner in the file.
        file_owner: Address,
        /// Signer address.
        signer: Address,
    },
    /// Nonce sequence broken.
    #[error(transparent)]
    Nonce(#[from] NonceMismatch),
    /// Operator not registered or removed.
    #[error(
        "operator {id} does not exist on SSVNetwork (never registered or removed); choose another operator and rerun the ceremony"
    )]
    OperatorMissing {
        /// Operator id.
        id: u64,
    },
    /// Private operator that does not whitelist the owner.
    #[error(
        "operator {id} is private and does not whitelist owner {owner}; ask its owner to whitelist you or choose another operator"
    )]
    PrivateOperator {
        /// Operator id.
        id: u64,
        /// Owner.
        owner: Address,
    },
    /// Key in the file differs from the registered one.
    #[error(
        "operator {id}'s public key in the keyshares file differs from the key registered on chain; the shares were encrypted to another key and operator {id} could not decrypt them"
    )]
    ForeignOperatorKey {
        /// Operator id.
        id: u64,
    },
    /// No `OperatorAdded` event for the operator.
    #[error("no OperatorAdded event found for operator {id}; cannot verify its public key")]
    OperatorKeyUnknown {
        /// Operator id.
        id: u64,
    },
    /// The operator is full.
    #[error("operator {id} runs {count} validators; adding {adding} exceeds the limit of {limit}")]
    OperatorFull {
        /// Operator id.
        id: u64,
        /// Current validators.
        count: u32,
        /// To add.
        adding: usize,
        /// Limit.
        limit: u32,
    },
    /// A legacy SSV cluster without permission to migrate.
    #[error(
        "cluster {cluster_id} is SSV-billed (created before SSV Network v2): it must be migrated to ETH before it takes new validators; allow it with --allow-migration (funding.allow_migration = true)"
    )]
    LegacyCluster {
        /// Cluster key.
        cluster_id: B256,
    },
    /// Liquidated cluster.
    #[error("cluster {cluster_id} is liquidated; reactivate it before registering into it")]
    Liquidated {
        /// Cluster key.
        cluster_id: B256,
    },
    /// Funding policy refused.
    #[error("funding refused: {0}")]
    Funding(#[from] FundingError),
    /// Not enough funds in the wallet.
    #[error("the owner {owner} holds {have} {asset} but the registration needs {need} (plus gas)")]
    WalletShort {
        /// Owner.
        owner: Address,
        /// Balance.
        have: U256,
        /// Needed.
        need: U256,
        /// "wei" or "SSV wei".
        asset: &'static str,
    },
    /// The simulation reverted.
    #[error("{what} would revert: {revert}; nothing was sent")]
    WouldRevert {
        /// Call.
        what: String,
        /// The contract's reason.
        revert: Revert,
    },
    /// Chain failure.
    #[error(transparent)]
    Chain(ChainError),
    /// State-file failure.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl From<ChainError> for RegisterError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Revert { what, revert } => Self::WouldRevert { what, revert },
            other => Self::Chain(other),
        }
    }
}

/// Chooses the path from the chain's version and the cluster's billing.
pub fn choose_path(
    version: SsvVersion,
    billing: Option<Billing>,
    allow_migration: bool,
    cluster_id: B256,
) -> Result<RegisterPath, RegisterError> {
    match (version, billing) {
        (SsvVersion::V1, _) => Ok(RegisterPath::SsvApprove),
        (SsvVersion::V2, None | Some(Billing::Eth)) => Ok(RegisterPath::EthPayable),
        (SsvVersion::V2, Some(Billing::Ssv)) if allow_migration => {
            Ok(RegisterPath::MigrateThenRegister)
        }
        (SsvVersion::V2, Some(Billing::Ssv)) => Err(RegisterError::LegacyCluster { cluster_id }),
    }
}

/// Records `rec` in the state file's registration list (replacing its earlier record).
fn journal_into(state: &mut StateFile, rec: &TxRecord) -> Result<(), JournalError> {
    // Keyed by (sender, nonce): a replacement with higher fees keeps its slot.
    state.update(|s| {
        let same = |r: &TxRecord| r.nonce == rec.nonce && r.from == rec.from;
        match s.registration.iter_mut().find(|r| same(r)) {
            Some(r) => *r = rec.clone(),
            None => s.registration.push(rec.clone()),
        }
    })
}

/// Finishes transactions a previous run signed but did not see confirmed.
async fn resume_pending(
    chain: &Chain,
    state: &mut StateFile,
) -> Result<Vec<TxRecord>, RegisterError> {
    let pending: Vec<TxRecord> = state
        .get()
        .registration
        .iter()
        .filter(|r| r.is_pending())
        .cloned()
        .collect();
    let mut done = Vec::new();
    for rec in pending {
        tracing::info!(kind = %rec.kind, tx = %rec.tx_hash, "resuming a recorded transaction instead of sending a new one");
        let mut last = rec.clone();
        resume(chain, &rec, |r| {
            last = r.clone();
            journal_into(state, r)
        })
        .await?;
        done.push(last);
    }
    Ok(done)
}

/// Checks the operators against the chain: existence, privacy, registered key, capacity.
async fn check_operators(
    chain: &Chain,
    ks: &ValidatedKeyshares,
    cluster: &ClusterState,
    adding: usize,
) -> Result<(), RegisterError> {
    let limit = chain.validators_per_operator_limit().await?;
    let mut private = Vec::new();
    for op in &cluster.operators {
        if !op.exists {
            return Err(RegisterError::OperatorMissing { id: op.id });
        }
        if op.is_private && op.whitelisted != ks.owner {
            private.push(op.id);
        }
        if u64::from(op.validator_count) + adding as u64 > u64::from(limit) {
            return Err(RegisterError::OperatorFull {
                id: op.id,
                count: op.validator_count,
                adding,
                limit,
            });
        }
    }
    if !private.is_empty() {
        let allowed = chain.whitelisted_operators(&private, ks.owner).await?;
        if let Some(id) = private.iter().find(|id| !allowed.contains(id)) {
            return Err(RegisterError::PrivateOperator {
                id: *id,
                owner: ks.owner,
            });
        }
    }
    for key in &ks.operators {
        let onchain = chain
            .operator_public_key(key.id)
            .await?
            .ok_or(RegisterError::OperatorKeyUnknown { id: key.id })?;
        match operator_key_der(&onchain) {
            Ok(der) if der == key.der => {}
            _ => return Err(RegisterError::ForeignOperatorKey { id: key.id }),
        }
    }
    Ok(())
}

/// Runs the checks, then registers every not-yet-registered validator of `ks`.
pub async fn register(
    chain: &Chain,
    ks: &ValidatedKeyshares,
    state: &mut StateFile,
    opts: &RegisterOptions,
) -> Result<RegisterReport, RegisterError> {
    let signer = chain.signer_address().ok_or(RegisterError::NoSigner)?;
    if signer != ks.owner {
        return Err(RegisterError::OwnerMismatch {
            file_owner: ks.owner,
            signer,
        });
    }
    let mut transactions = resume_pending(chain, state).await?;

    let mut todo: Vec<&ValidatedShare> = Vec::new();
    let mut already = Vec::new();
    for share in &ks.shares {
        if chain.validator_exists(ks.owner, &share.public_key).await? {
            already.push(share.public_key_hex());
        } else {
            todo.push(share);
        }
    }
    let mut cluster = read_cluster(chain, ks.owner, &ks.operator_ids).await?;
    let mut report = RegisterReport {
        owner: ks.owner,
        operator_ids: cluster.operator_ids.clone(),
        cluster_id: cluster.cluster_id,
        path: None,
        registered: Vec::new(),
        already_registered: already,
        funding: None,
        transactions: transactions.clone(),
        rehearsal: matches!(chain.sender(), Sender::Impersonated(_)),
    };
    if todo.is_empty() {
        tracing::info!(
            count = report.already_registered.len(),
            "every validator is already registered; nothing to send"
        );
        return Ok(report);
    }

    let RegisterCheck {
        path,
        funding: plan,
    } = check_with_cluster(chain, ks, &todo, &cluster, opts).await?;
    report.path = Some(path);
    report.funding = Some(plan.clone());
    let net = chain.profile().ssv_network;
    let ids = cluster.operator_ids.clone();
    let mut deposit_left = plan.deposit;
    let mut snapshot = cluster.snapshot_or_empty();

    match path {
        RegisterPath::SsvApprove if !plan.deposit.is_zero() => {
            let call = SSVToken::approveCall {
                spender: net,
                amount: plan.deposit,
            };
            let tx = TransactionRequest::default()
                .with_to(chain.profile().ssv_token)
                .with_input(call.abi_encode());
            let (rec, _) = send(chain, "approve", tx, |r| journal_into(state, r)).await?;
            transactions.push(rec);
        }
        RegisterPath::MigrateThenRegister => {
            let call = SSVNetwork::migrateClusterToETHCall {
                operatorIds: ids.clone(),
                cluster: snapshot.clone(),
            };
            let tx = TransactionRequest::default()
                .with_to(net)
                .with_input(call.abi_encode())
                .with_value(deposit_left);
            let (rec, receipt) = send(chain, "migrate", tx, |r| journal_into(state, r)).await?;
            transactions.push(rec);
            deposit_left = U256::ZERO;
            snapshot = snapshot_from_receipt(&receipt, &ids).unwrap_or(snapshot);
        }
        _ => {}
    }

    let cap = bulk_cap(ids.len());
    for chunk in todo.chunks(cap) {
        let input = register_input(cluster.version, chunk, &ids, &snapshot, deposit_left);
        let mut tx = TransactionRequest::default().with_to(net).with_input(input);
        if cluster.version == SsvVersion::V2 {
            tx = tx.with_value(deposit_left);
        }
        let (rec, receipt) = send(chain, "register", tx, |r| journal_into(state, r)).await?;
        transactions.push(rec);
        // The whole deposit rides on the first chunk: it already covers every validator, so each
        // later chunk leaves the cluster at least as well funded as the plan.
        deposit_left = U256::ZERO;
        snapshot = snapshot_from_receipt(&receipt, &ids).unwrap_or(snapshot);
        report
            .registered
            .extend(chunk.iter().map(|s| s.public_key_hex()));
    }
    cluster.snapshot = Some(snapshot);
    state.update(|s| {
        s.note(format!(
            "registered {} validator(s) in cluster {} via {:?}",
            report.registered.len(),
            cluster.cluster_id,
            path
        ));
    })?;
    report.transactions = transactions;
    Ok(report)
}

/// What registering some validators would take, every check passed; nothing is sent.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterCheck {
    /// The path the chain dictates.
    pub path: RegisterPath,
    /// The funding the policy asks for.
    pub funding: FundingPlan,
}

/// Every check [`register`] makes before its first transaction, for `todo` (validators of `ks`
/// not yet registered): signer = owner, nonce sequence against the chain, operators (existence,
/// whitelist, capacity, registered keys), liquidation, path, funding and the wallet. Callers that
/// must know a registration will pass *before* doing something else (`change-operators` removes
/// the validator from its old cluster first) run this; `register` runs it again.
pub async fn check_registration(
    chain: &Chain,
    ks: &ValidatedKeyshares,
    todo: &[&ValidatedShare],
    opts: &RegisterOptions,
) -> Result<RegisterCheck, RegisterError> {
    let signer = chain.signer_address().ok_or(RegisterError::NoSigner)?;
    if signer != ks.owner {
        return Err(RegisterError::OwnerMismatch {
            file_owner: ks.owner,
            signer,
        });
    }
    let cluster = read_cluster(chain, ks.owner, &ks.operator_ids).await?;
    check_with_cluster(chain, ks, todo, &cluster, opts).await
}

async fn check_with_cluster(
    chain: &Chain,
    ks: &ValidatedKeyshares,
    todo: &[&ValidatedShare],
    cluster: &ClusterState,
    opts: &RegisterOptions,
) -> Result<RegisterCheck, RegisterError> {
    let signer = chain.signer_address().ok_or(RegisterError::NoSigner)?;
    let chain_nonce = chain.owner_nonce(ks.owner).await?;
    let remaining = ValidatedKeyshares {
        shares: todo.iter().map(|s| (*s).clone()).collect(),
        ..ks.clone()
    };
    check_nonce_sequence(&remaining, chain_nonce)?;
    check_operators(chain, ks, cluster, todo.len()).await?;
    if cluster.is_liquidated() {
        return Err(RegisterError::Liquidated {
            cluster_id: cluster.cluster_id,
        });
    }
    let path = choose_path(
        cluster.version,
        cluster.billing,
        opts.allow_migration,
        cluster.cluster_id,
    )?;
    let plan = funding_plan(chain, cluster, path, todo.len() as u32, opts).await?;
    if let Some(cap) = opts.max_deposit
        && plan.deposit > cap
    {
        return Err(FundingError::OverCap {
            needed: plan.deposit,
            cap,
        }
        .into());
    }
    let (have, asset) = match path {
        RegisterPath::SsvApprove => (chain.ssv_balance(signer).await?, "SSV wei"),
        _ => (chain.eth_balance(signer).await?, "wei"),
    };
    if have < plan.deposit {
        return Err(RegisterError::WalletShort {
            owner: signer,
            have,
            need: plan.deposit,
            asset,
        });
    }
    Ok(RegisterCheck {
        path,
        funding: plan,
    })
}

/// The funding the policy asks for (or the fixed `amount`, checked against the minimum). A
/// migration starts the ETH cluster from zero, with the same operators' ETH fees.
async fn funding_plan(
    chain: &Chain,
    cluster: &ClusterState,
    path: RegisterPath,
    adding: u32,
    opts: &RegisterOptions,
) -> Result<FundingPlan, RegisterError> {
    let bpd = chain.profile().blocks_per_day;
    let (params, start): (FeeParams, U256) = if path == RegisterPath::MigrateThenRegister {
        (cluster.params_as(chain, FeeViews::V2Eth).await?, U256::ZERO)
    } else {
        (cluster.params.clone(), cluster.balance)
    };
    let plan = plan_funding(
        &params,
        start,
        cluster.load,
        adding,
        opts.runway_days,
        opts.min_runway_days,
        bpd,
    )?;
    let Some(amount) = opts.amount else {
        return Ok(plan);
    };
    check_minimum(
        &params,
        start + amount,
        plan.load_after,
        opts.min_runway_days,
        bpd,
    )?;
    Ok(FundingPlan {
        deposit: amount,
        target_balance: start + amount,
        runway_blocks_after: params.runway_blocks(start + amount, plan.load_after),
        ..plan
    })
}

/// Calldata for one (bulk) registration on the given contract generation.
fn register_input(
    version: SsvVersion,
    chunk: &[&ValidatedShare],
    ids: &[u64],
    snapshot: &Cluster,
    amount: U256,
) -> Vec<u8> {
    let key = |s: &ValidatedShare| Bytes::copy_from_slice(&s.public_key);
    let data = |s: &ValidatedShare| Bytes::copy_from_slice(&s.shares_data);
    match (version, chunk) {
        (SsvVersion::V2, [one]) => SSVNetwork::registerValidatorCall {
            publicKey: key(one),
            operatorIds: ids.to_vec(),
            sharesData: data(one),
            cluster: snapshot.clone(),
        }
        .abi_encode(),
        (SsvVersion::V2, many) => SSVNetwork::bulkRegisterValidatorCall {
            publicKeys: many.iter().map(|s| key(s)).collect(),
            operatorIds: ids.to_vec(),
            sharesData: many.iter().map(|s| data(s)).collect(),
            cluster: snapshot.clone(),
        }
        .abi_encode(),
        (SsvVersion::V1, [one]) => SSVNetworkV1::registerValidatorCall {
            publicKey: key(one),
            operatorIds: ids.to_vec(),
            sharesData: data(one),
            amount,
            cluster: snapshot.clone(),
        }
        .abi_encode(),
        (SsvVersion::V1, many) => SSVNetworkV1::bulkRegisterValidatorCall {
            publicKeys: many.iter().map(|s| key(s)).collect(),
            operatorIds: ids.to_vec(),
            sharesData: many.iter().map(|s| data(s)).collect(),
            amount,
            cluster: snapshot.clone(),
        }
        .abi_encode(),
    }
}

/// The newest cluster carried by a receipt's logs for exactly these ids (§10.1: refresh from the
/// receipt instead of rescanning).
pub fn snapshot_from_receipt(receipt: &TransactionReceipt, ids: &[u64]) -> Option<Cluster> {
    receipt
        .inner
        .logs()
        .iter()
        .filter_map(decode_cluster_log)
        .filter(|(log_ids, _)| log_ids == ids)
        .map(|(_, c)| c)
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_caps_follow_cluster_size() {
        assert_eq!([4, 7, 10, 13].map(bulk_cap), [80, 40, 30, 20]);
    }

    #[test]
    fn path_comes_from_version_and_billing() {
        let id = B256::ZERO;
        assert_eq!(
            choose_path(SsvVersion::V2, None, false, id).unwrap(),
            RegisterPath::EthPayable
        );
        assert_eq!(
            choose_path(SsvVersion::V2, Some(Billing::Eth), false, id).unwrap(),
            RegisterPath::EthPayable
        );
        assert_eq!(
            choose_path(SsvVersion::V1, None, false, id).unwrap(),
            RegisterPath::SsvApprove
        );
        assert_eq!(
            choose_path(SsvVersion::V2, Some(Billing::Ssv), true, id).unwrap(),
            RegisterPath::MigrateThenRegister
        );
        let err = choose_path(SsvVersion::V2, Some(Billing::Ssv), false, id).unwrap_err();
        assert!(err.to_string().contains("--allow-migration"), "{err}");
    }

    #[test]
    fn register_calldata_selectors() {
        let share = ValidatedShare {
            file_index: 0,
            public_key: [1; 48],
            owner_nonce: 0,
            shares_data: vec![2; 1312],
        };
        let c = Cluster::empty();
        let one = [&share];
        let two = [&share, &share];
        let sel = |v: Vec<u8>| hex::encode(&v[..4]);
        assert_eq!(
            sel(register_input(
                SsvVersion::V2,
                &one,
                &[1, 2, 3, 4],
                &c,
                U256::ZERO
            )),
            "b84319fd"
        );
        assert_eq!(
            sel(register_input(
                SsvVersion::V2,
                &two,
                &[1, 2, 3, 4],
                &c,
                U256::ZERO
            )),
            "a1b483ca"
        );
        assert_eq!(
            sel(register_input(
                SsvVersion::V1,
                &one,
                &[1, 2, 3, 4],
                &c,
                U256::ZERO
            )),
            "06e8fb9c"
        );
        assert_eq!(
            sel(register_input(
                SsvVersion::V1,
                &two,
                &[1, 2, 3, 4],
                &c,
                U256::ZERO
            )),
            "22f18bf5"
        );
    }
}
