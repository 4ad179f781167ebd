//! Sending deposits exactly once: the one deposit path, used by `ssv-agent deposit` and by the
//! pipeline's deposit stage, for real runs and (on a fork) dry runs alike. Before anything moves:
//! every check of `checks.rs`, the contract code exists, the wallet can pay for all of them. Per
//! validator: a journaled transaction is resumed (never re-signed); a pubkey already in the
//! contract's `DepositEvent` logs, on the beacon node or in its pending deposits is reported and
//! skipped; otherwise the deposit is simulated, signed, journaled (hash and raw bytes) before
//! broadcast, and journaled again once confirmed. A validator's journal is found by its pubkey
//! (`journal::validator_dir`), whatever deposit file names it.

use std::path::PathBuf;

use alloy::{
    primitives::{Address, B256, Bytes, FixedBytes, U256},
    providers::Provider,
    rpc::types::{Filter, TransactionRequest},
    sol_types::{SolCall, SolEvent},
};

use super::checks::{Allowances, CheckContext, DepositCheckError, NodeFacts, check_deposits};
use super::data::DepositDataJson;
use crate::beacon::client::{BeaconClient, BeaconError};
use crate::chain::{
    Chain, ChainError,
    contracts::DepositContract,
    logs::Flow,
    send::{resume, send},
};
use crate::journal::{JournalError, Stage, StateFile, TxStatus};

/// Gas a deposit uses on mainnet is about 60k; this margin is only for the balance check.
const DEPOSIT_GAS_BUDGET: u64 = 120_000;

/// A deposit refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DepositSendError {
    /// A check failed; nothing was sent.
    #[error("deposit refused, nothing was sent: {0}")]
    Check(#[from] DepositCheckError),
    /// No contract code at the profile's deposit contract address.
    #[error("no contract code at the deposit contract address {0} on this chain; nothing was sent")]
    NoContract(Address),
    /// The wallet cannot pay for all deposits.
    #[error(
        "wallet {wallet} holds {have} wei but the {count} deposit(s) need {need} wei (amounts plus gas at the fee cap); nothing was sent"
    )]
    InsufficientFunds {
        /// Sender.
        wallet: Address,
        /// Balance.
        have: U256,
        /// Amounts plus gas budget.
        need: U256,
        /// Deposits planned.
        count: usize,
    },
    /// Sending needs a signer.
    #[error(
        "sending deposits needs a signer (signer.* in the config); use --dry-run to only print them"
    )]
    NoSigner,
    /// Chain layer failure.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Beacon node failure.
    #[error("beacon node: {0}")]
    Beacon(#[from] BeaconError),
    /// State file failure.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The journal records a deposit for another pubkey or chain.
    #[error(
        "state file {path} records a deposit for {recorded}, not {pubkey}; refusing to mix validators"
    )]
    JournalMismatch {
        /// State file.
        path: PathBuf,
        /// Recorded pubkey or chain.
        recorded: String,
        /// This pubkey.
        pubkey: String,
    },
}

/// How to send.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendOptions {
    /// Waived checks.
    pub allow: Allowances,
}

/// Where an existing deposit was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// The validator's own state file has a confirmed deposit.
    Journal {
        /// Tx hash.
        tx_hash: B256,
        /// Block.
        block: Option<u64>,
    },
    /// A `DepositEvent` for the pubkey in the deposit contract's logs.
    Logs {
        /// Tx hash.
        tx_hash: B256,
        /// Block.
        block: u64,
    },
    /// The beacon node holds a pending deposit for the pubkey (Electra queue).
    PendingOnBeacon,
    /// The beacon node knows the validator.
    Beacon {
        /// Status string.
        status: String,
        /// Index.
        index: u64,
    },
}

/// What happened to one deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already deposited; nothing sent.
    AlreadyDeposited(Existing),
    /// Sent (or a journaled transaction resumed) and confirmed.
    Confirmed {
        /// Tx hash.
        tx_hash: B256,
        /// Block.
        block: u64,
        /// It was a resumed transaction from an earlier run.
        resumed: bool,
    },
}

/// What `deposit_one` reports as it goes.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A line for people.
    Line(String),
    /// The deposit transaction was journaled or changed status (first as `Signed`, before its
    /// broadcast).
    Tx(&'a crate::journal::TxRecord),
}

/// One validator to deposit: its entry and its state folder.
#[derive(Debug, Clone)]
pub struct DepositJob {
    /// The deposit entry.
    pub entry: DepositDataJson,
    /// Folder holding the validator's `state.json`.
    pub state_dir: PathBuf,
}

/// The `deposit(...)` call for an entry, to the profile's deposit contract, value = amount.
pub fn deposit_tx(contract: Address, entry: &DepositDataJson) -> TransactionRequest {
    let call = DepositContract::depositCall {
        pubkey: Bytes::copy_from_slice(&entry.pubkey),
        withdrawal_credentials: Bytes::copy_from_slice(&entry.withdrawal_credentials),
        signature: Bytes::copy_from_slice(&entry.signature),
        deposit_data_root: FixedBytes(entry.deposit_data_root),
    };
    TransactionRequest::default()
        .to(contract)
        .value(gwei_to_wei(entry.amount))
        .input(Bytes::from(call.abi_encode()).into())
}

fn gwei_to_wei(gwei: u64) -> U256 {
    U256::from(gwei) * U256::from(1_000_000_000u64)
}

/// Finds a `DepositEvent` for `pubkey` from the profile's deposit-contract block to the head.
pub async fn find_deposit_event(
    chain: &Chain,
    pubkey: &[u8; 48],
) -> Result<Option<(B256, u64)>, ChainError> {
    let profile = chain.profile();
    let head = chain.head().await?;
    let filter = Filter::new()
        .address(profile.deposit_contract)
        .event_signature(DepositContract::DepositEvent::SIGNATURE_HASH);
    let mut found = None;
    chain
        .log_scanner()
        .scan_forward(&filter, profile.deposit_contract_block, head, |logs| {
            for log in logs {
                let Ok(ev) = DepositContract::DepositEvent::decode_log_data(log.data()) else {
                    continue;
                };
                if ev.pubkey.as_ref() == pubkey.as_slice() {
                    found = Some((
                        log.transaction_hash.unwrap_or_default(),
                        log.block_number.unwrap_or_default(),
                    ));
                    return Flow::Stop;
                }
            }
            Flow::Continue
        })
        .await?;
    Ok(found)
}

/// Runs every check (network, nodes, entries) for the given deposits.
pub async fn check_all(
    chain: &Chain,
    beacon: Option<&BeaconClient>,
    entries: &[DepositDataJson],
    withdrawal_address: Address,
    compounding: Option<bool>,
    amount_gwei: Option<u64>,
    allow: Allowances,
) -> Result<(), DepositSendError> {
    let mut node = NodeFacts {
        el_chain_id: Some(
            chain
                .provider()
                .get_chain_id()
                .await
                .map_err(chain.rpc_err("eth_chainId"))?,
        ),
        ..Default::default()
    };
    if let Some(b) = beacon {
        let dc = b.deposit_contract().await?;
        node.beacon_deposit_contract = Some((dc.chain_id, dc.address));
        node.beacon_genesis_fork_version = Some(b.genesis().await?.genesis_fork_version);
    }
    let ctx = CheckContext {
        profile: chain.profile(),
        withdrawal_address,
        compounding,
        amount_gwei,
        node,
        allow,
    };
    check_deposits(entries, &ctx)?;
    let code = chain
        .provider()
        .get_code_at(chain.profile().deposit_contract)
        .await
        .map_err(chain.rpc_err("eth_getCode (deposit contract)"))?;
    if code.is_empty() {
        return Err(DepositSendError::NoContract(
            chain.profile().deposit_contract,
        ));
    }
    Ok(())
}

/// Refuses when the wallet cannot pay for `entries` (amounts + gas at the fee cap).
pub async fn check_balance(
    chain: &Chain,
    entries: &[DepositDataJson],
) -> Result<(), DepositSendError> {
    let wallet = chain.signer_address().ok_or(DepositSendError::NoSigner)?;
    let fee = match chain.config().tx.caps.max_fee_per_gas {
        Some(cap) => cap,
        None => chain
            .provider()
            .get_gas_price()
            .await
            .map_err(chain.rpc_err("eth_gasPrice"))?,
    };
    let gas = U256::from(DEPOSIT_GAS_BUDGET) * U256::from(fee);
    let need = entries
        .iter()
        .fold(U256::ZERO, |acc, e| acc + gwei_to_wei(e.amount) + gas);
    let have = chain.eth_balance(wallet).await?;
    if have < need {
        return Err(DepositSendError::InsufficientFunds {
            wallet,
            have,
            need,
            count: entries.len(),
        });
    }
    Ok(())
}

/// Deposits one validator (checks must already have passed) with its journal `state`; `say`
/// receives progress lines.
pub async fn deposit_one(
    chain: &Chain,
    beacon: Option<&BeaconClient>,
    entry: &DepositDataJson,
    state: &mut StateFile,
    report: &mut impl FnMut(Progress<'_>),
) -> Result<Outcome, DepositSendError> {
    let pubkey = entry.pubkey_hex();
    if let Some(recorded) = state.get().pubkey.as_deref()
        && !recorded.eq_ignore_ascii_case(&pubkey)
    {
        return Err(mismatch(state, recorded, &pubkey));
    }
    // 1. A journaled transaction is resumed, whatever its status: never sign a second one.
    if let Some(record) = state.get().deposit.clone() {
        return finish_recorded(chain, &pubkey, record, state, report).await;
    }
    // 2. Already deposited by anyone (another tool, another host, a lost state file)?
    if let Some(existing) = find_existing(chain, beacon, entry).await? {
        report(Progress::Line(format!(
            "{pubkey}: {}; nothing sent",
            describe(&existing)
        )));
        state.update(|s| {
            s.pubkey.get_or_insert_with(|| pubkey.clone());
            s.advance(Stage::Deposited);
            s.note(format!("{}; nothing sent", describe(&existing)));
        })?;
        return Ok(Outcome::AlreadyDeposited(existing));
    }
    // 3. Send: the record (hash + raw bytes) is in state.json before the broadcast.
    state.update(|s| {
        s.pubkey.get_or_insert_with(|| pubkey.clone());
        s.note("deposit: signing and sending");
    })?;
    report(Progress::Line(format!(
        "{pubkey}: sending deposit of {} gwei to {}",
        entry.amount,
        chain.profile().deposit_contract
    )));
    let tx = deposit_tx(chain.profile().deposit_contract, entry);
    let (record, receipt) = send(chain, "deposit", tx, |r| {
        state_update(state, r)?;
        report(Progress::Tx(r));
        Ok(())
    })
    .await?;
    let block = receipt.block_number.unwrap_or_default();
    state.update(|s| {
        s.advance(Stage::Deposited);
        s.note(format!(
            "deposit {} confirmed in block {block}",
            record.tx_hash
        ));
    })?;
    report(Progress::Line(format!(
        "{pubkey}: deposit {} confirmed in block {block}",
        record.tx_hash
    )));
    Ok(Outcome::Confirmed {
        tx_hash: record.tx_hash,
        block,
        resumed: false,
    })
}

/// A deposit the journal already holds: reported when confirmed, otherwise resumed.
async fn finish_recorded(
    chain: &Chain,
    pubkey: &str,
    record: crate::journal::TxRecord,
    state: &mut StateFile,
    report: &mut impl FnMut(Progress<'_>),
) -> Result<Outcome, DepositSendError> {
    if record.status == TxStatus::Confirmed {
        // A crash between journaling the receipt and advancing the stage leaves this gap.
        if state.get().stage < Stage::Deposited {
            state.update(|s| s.advance(Stage::Deposited))?;
        }
        report(Progress::Line(format!(
            "{pubkey}: deposit {} already confirmed in block {:?}",
            record.tx_hash, record.block
        )));
        return Ok(Outcome::AlreadyDeposited(Existing::Journal {
            tx_hash: record.tx_hash,
            block: record.block,
        }));
    }
    report(Progress::Line(format!(
        "{pubkey}: resuming recorded deposit {} ({:?})",
        record.tx_hash, record.status
    )));
    let receipt = resume(chain, &record, |r| {
        state_update(state, r)?;
        report(Progress::Tx(r));
        Ok(())
    })
    .await?;
    let block = receipt.block_number.unwrap_or_default();
    state.update(|s| {
        s.advance(Stage::Deposited);
        s.note(format!(
            "deposit {} confirmed in block {block} (resumed)",
            receipt.transaction_hash
        ));
    })?;
    Ok(Outcome::Confirmed {
        tx_hash: receipt.transaction_hash,
        block,
        resumed: true,
    })
}

/// Whether anyone already deposited for the entry's pubkey: the deposit contract's logs, the
/// beacon node's validators, its pending deposits (several sources, as the launchpad learnt).
pub async fn find_existing(
    chain: &Chain,
    beacon: Option<&BeaconClient>,
    entry: &DepositDataJson,
) -> Result<Option<Existing>, DepositSendError> {
    if let Some((tx_hash, block)) = find_deposit_event(chain, &entry.pubkey).await? {
        return Ok(Some(Existing::Logs { tx_hash, block }));
    }
    let Some(b) = beacon else {
        return Ok(None);
    };
    let pubkey = entry.pubkey_hex();
    if let Some(v) = b.validator("head", &pubkey).await? {
        return Ok(Some(Existing::Beacon {
            status: v.status,
            index: v.index,
        }));
    }
    // Electra: a deposit request waits in the pending-deposit queue before the validator exists.
    if let Some(pending) = b.pending_deposits("head").await?
        && pending
            .iter()
            .any(|p| p.pubkey.eq_ignore_ascii_case(&pubkey))
    {
        return Ok(Some(Existing::PendingOnBeacon));
    }
    Ok(None)
}

/// A sentence naming an existing deposit.
pub fn describe(e: &Existing) -> String {
    match e {
        Existing::Journal { tx_hash, block } => {
            format!("deposit {tx_hash} already confirmed in block {block:?}")
        }
        Existing::Logs { tx_hash, block } => {
            format!(
                "a DepositEvent for this pubkey is already on chain (tx {tx_hash}, block {block})"
            )
        }
        Existing::PendingOnBeacon => {
            "a deposit for this pubkey waits in the beacon node's pending deposits".into()
        }
        Existing::Beacon { status, index } => {
            format!("the beacon node knows this validator (index {index}, {status})")
        }
    }
}

fn state_update(state: &mut StateFile, r: &crate::journal::TxRecord) -> Result<(), JournalError> {
    let r = r.clone();
    state.update(|s| s.deposit = Some(r))
}

fn mismatch(state: &StateFile, recorded: &str, pubkey: &str) -> DepositSendError {
    DepositSendError::JournalMismatch {
        path: state.path().to_owned(),
        recorded: recorded.to_string(),
        pubkey: pubkey.to_string(),
    }
}

/// Everything the deposit command needs besides the nodes.
#[derive(Debug, Clone)]
pub struct DepositRequest {
    /// One job per validator.
    pub jobs: Vec<DepositJob>,
    /// Configured withdrawal address.
    pub withdrawal_address: Address,
    /// Configured credential type.
    pub compounding: Option<bool>,
    /// Configured amount.
    pub amount_gwei: Option<u64>,
    /// Send options.
    pub opts: SendOptions,
    /// Dry run: open scratch copies of the state files in this folder, never the real ones.
    pub scratch: Option<PathBuf>,
}

impl DepositRequest {
    fn open_state(&self, job: &DepositJob) -> Result<StateFile, JournalError> {
        match &self.scratch {
            None => StateFile::open(&job.state_dir),
            Some(root) => {
                let name = job.state_dir.file_name().unwrap_or_default();
                StateFile::open_scratch(&job.state_dir, &root.join(name))
            }
        }
    }
}

/// Bulk deposit: all checks and the balance first, then one transaction per validator in order.
pub async fn deposit_all(
    chain: &Chain,
    beacon: Option<&BeaconClient>,
    req: &DepositRequest,
    mut say: impl FnMut(String),
) -> Result<Vec<Outcome>, DepositSendError> {
    let entries: Vec<DepositDataJson> = req.jobs.iter().map(|j| j.entry.clone()).collect();
    check_all(
        chain,
        beacon,
        &entries,
        req.withdrawal_address,
        req.compounding,
        req.amount_gwei,
        req.opts.allow,
    )
    .await?;
    // Only deposits not yet journaled will cost anything; the balance must cover all of them.
    let mut states = Vec::with_capacity(req.jobs.len());
    for job in &req.jobs {
        states.push(req.open_state(job)?);
    }
    let unsent: Vec<DepositDataJson> = req
        .jobs
        .iter()
        .zip(&states)
        .filter(|(_, s)| s.get().deposit.is_none())
        .map(|(j, _)| j.entry.clone())
        .collect();
    if !unsent.is_empty() {
        check_balance(chain, &unsent).await?;
    }
    let mut out = Vec::with_capacity(req.jobs.len());
    for (job, state) in req.jobs.iter().zip(&mut states) {
        let mut report = |p: Progress<'_>| {
            if let Progress::Line(l) = p {
                say(l);
            }
        };
        out.push(deposit_one(chain, beacon, &job.entry, state, &mut report).await?);
    }
    Ok(out)
}
