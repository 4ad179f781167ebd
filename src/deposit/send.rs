//! Sending deposits exactly once. Before anything moves: every check of `checks.rs`, the contract
//! code exists, the wallet can pay for all of them. Per validator: a journaled transaction is
//! resumed (never re-signed); a pubkey already in the contract's `DepositEvent` logs or on the
//! beacon node is reported and skipped; otherwise the deposit is simulated, signed, journaled
//! (hash and raw bytes) before broadcast, and journaled again once confirmed.

use std::path::{Path, PathBuf};

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
    send::{FeeCaps, resume, send_journaled},
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
    /// Print the transactions, send nothing.
    pub dry_run: bool,
    /// Fee limits.
    pub caps: FeeCaps,
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
    /// `--dry-run`: the transaction that would be sent.
    DryRun(String),
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
    let mut node =
        NodeFacts {
            el_chain_id: Some(chain.provider().get_chain_id().await.map_err(|e| {
                ChainError::Rpc {
                    what: "eth_chainId".into(),
                    message: e.to_string(),
                }
            })?),
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
        .map_err(|e| ChainError::Rpc {
            what: "eth_getCode (deposit contract)".into(),
            message: e.to_string(),
        })?;
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
    caps: FeeCaps,
) -> Result<(), DepositSendError> {
    let wallet = chain.signer_address().ok_or(DepositSendError::NoSigner)?;
    let fee = match caps.max_fee_per_gas {
        Some(cap) => cap,
        None => chain
            .provider()
            .get_gas_price()
            .await
            .map_err(|e| ChainError::Rpc {
                what: "eth_gasPrice".into(),
                message: e.to_string(),
            })?,
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

/// Deposits one validator (checks must already have passed); `say` receives progress lines.
pub async fn deposit_one(
    chain: &Chain,
    beacon: Option<&BeaconClient>,
    job: &DepositJob,
    opts: &SendOptions,
    say: &mut impl FnMut(String),
) -> Result<Outcome, DepositSendError> {
    let entry = &job.entry;
    let pubkey = entry.pubkey_hex();
    let mut state = StateFile::open(&job.state_dir)?;
    if let Some(recorded) = state.get().pubkey.as_deref()
        && !recorded.eq_ignore_ascii_case(&pubkey)
    {
        return Err(mismatch(&state, recorded, &pubkey));
    }

    // 1. A journaled transaction is resumed, whatever its status: never sign a second one.
    if let Some(record) = state.get().deposit.clone() {
        if record.chain_id != chain.profile().chain_id {
            return Err(mismatch(
                &state,
                &format!("chain id {}", record.chain_id),
                &pubkey,
            ));
        }
        if record.status == TxStatus::Confirmed {
            // A crash between journaling the receipt and advancing the stage leaves this gap.
            if state.get().stage < Stage::Deposited && !opts.dry_run {
                state.update(|s| s.advance(Stage::Deposited))?;
            }
            say(format!(
                "{pubkey}: deposit {} already confirmed in block {:?}",
                record.tx_hash, record.block
            ));
            return Ok(Outcome::AlreadyDeposited(Existing::Journal {
                tx_hash: record.tx_hash,
                block: record.block,
            }));
        }
        if opts.dry_run {
            return Ok(Outcome::DryRun(format!(
                "{pubkey}: a deposit {} is recorded as {:?}; a real run would resume it, never send another",
                record.tx_hash, record.status
            )));
        }
        say(format!(
            "{pubkey}: resuming recorded deposit {} ({:?})",
            record.tx_hash, record.status
        ));
        let receipt = resume(chain, &record, |r| state_update(&mut state, r)).await?;
        let block = receipt.block_number.unwrap_or_default();
        state.update(|s| {
            s.advance(Stage::Deposited);
            s.note(format!(
                "deposit {} confirmed in block {block} (resumed)",
                record.tx_hash
            ));
        })?;
        return Ok(Outcome::Confirmed {
            tx_hash: record.tx_hash,
            block,
            resumed: true,
        });
    }

    // 2. Already deposited by anyone (another tool, an earlier lost state file)?
    if let Some((tx_hash, block)) = find_deposit_event(chain, &entry.pubkey).await? {
        say(format!(
            "{pubkey}: DepositEvent already on chain (tx {tx_hash}, block {block}); nothing sent"
        ));
        if !opts.dry_run {
            state.update(|s| {
                s.pubkey.get_or_insert_with(|| pubkey.clone());
                s.advance(Stage::Deposited);
                s.note(format!(
                    "deposit found on chain: tx {tx_hash} block {block}; nothing sent"
                ));
            })?;
        }
        return Ok(Outcome::AlreadyDeposited(Existing::Logs { tx_hash, block }));
    }
    if let Some(b) = beacon
        && let Some(v) = b.validator("head", &pubkey).await?
    {
        say(format!(
            "{pubkey}: beacon node knows this validator (index {}, {}); nothing sent",
            v.index, v.status
        ));
        if !opts.dry_run {
            state.update(|s| {
                s.pubkey.get_or_insert_with(|| pubkey.clone());
                s.advance(Stage::Deposited);
                s.note(format!(
                    "validator already on the beacon chain (index {}); nothing sent",
                    v.index
                ));
            })?;
        }
        return Ok(Outcome::AlreadyDeposited(Existing::Beacon {
            status: v.status,
            index: v.index,
        }));
    }
    // Electra: a deposit request waits in the pending-deposit queue before the validator exists.
    if let Some(b) = beacon
        && let Some(pending) = b.pending_deposits("head").await?
        && pending
            .iter()
            .any(|p| p.pubkey.eq_ignore_ascii_case(&pubkey))
    {
        say(format!(
            "{pubkey}: a deposit for this pubkey is in the beacon node's pending deposits; nothing sent"
        ));
        return Ok(Outcome::AlreadyDeposited(Existing::PendingOnBeacon));
    }

    let tx = deposit_tx(chain.profile().deposit_contract, entry);
    if opts.dry_run {
        let input = tx.input.input().cloned().unwrap_or_default();
        return Ok(Outcome::DryRun(format!(
            "{pubkey}: would send to {} value {} wei ({} gwei), deposit_data_root 0x{}, calldata {input}",
            chain.profile().deposit_contract,
            gwei_to_wei(entry.amount),
            entry.amount,
            hex::encode(entry.deposit_data_root),
        )));
    }

    // 3. Send: the record (hash + raw bytes) is in state.json before the broadcast.
    state.update(|s| {
        s.pubkey.get_or_insert_with(|| pubkey.clone());
        s.note("deposit: signing and sending");
    })?;
    say(format!(
        "{pubkey}: sending deposit of {} gwei to {}",
        entry.amount,
        chain.profile().deposit_contract
    ));
    let (record, receipt) = send_journaled(chain, "deposit", tx, opts.caps, |r| {
        state_update(&mut state, r)
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
    say(format!(
        "{pubkey}: deposit {} confirmed in block {block}",
        record.tx_hash
    ));
    Ok(Outcome::Confirmed {
        tx_hash: record.tx_hash,
        block,
        resumed: false,
    })
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
    if !req.opts.dry_run {
        // Only deposits not yet journaled will cost anything; the balance must cover all of them.
        let mut unsent = Vec::new();
        for job in &req.jobs {
            if StateFile::open(&job.state_dir)?.get().deposit.is_none() {
                unsent.push(job.entry.clone());
            }
        }
        if !unsent.is_empty() {
            check_balance(chain, &unsent, req.opts.caps).await?;
        }
    }
    let mut out = Vec::with_capacity(req.jobs.len());
    for job in &req.jobs {
        out.push(deposit_one(chain, beacon, job, &req.opts, &mut say).await?);
    }
    Ok(out)
}

/// The state folder ssv-dkg's layout gives a deposit file: the file's own folder when it is a
/// per-validator folder (`<nonce>-0x<pubkey>`), else `<base>/0x<pubkey>`.
pub fn state_dir_for(deposit_file: &Path, entry: &DepositDataJson, base: &Path) -> PathBuf {
    let pk = hex::encode(entry.pubkey);
    if let Some(parent) = deposit_file.parent()
        && parent
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(&format!("-0x{pk}")))
    {
        return parent.to_owned();
    }
    base.join(format!("0x{pk}"))
}
