//! The one send path, for real runs and dry runs alike.
//!
//! A real transaction (`Sender::Local`) is simulated, checked against the fee cap and against the
//! account's pending transactions (the [`outbox`]), signed here, handed to the caller's journal
//! (hash and raw bytes) *before* it is broadcast, and then waited for with a deadline, rebroadcast
//! and replacement ([`wait`]). A resumed run looks the recorded transaction up, or rebroadcasts
//! the very same bytes, instead of signing a new one. A dry run (`Sender::Impersonated`) runs the
//! same calls on an anvil fork, where anvil signs for the unlocked owner.

pub mod outbox;
mod wait;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    eips::{BlockNumberOrTag, Encodable2718},
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
};
use serde::Serialize;

use super::{Cause, Chain, ChainError, Revert, Sender};
use crate::{
    config::Config,
    journal::{JournalError, TxRecord, TxStatus, now_secs},
};

/// Fee limits for every transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeeCaps {
    /// Refuse to send (and never replace) above this max fee per gas (wei).
    pub max_fee_per_gas: Option<u128>,
    /// Priority fee to offer (wei); the node's suggestion when `None`.
    pub max_priority_fee_per_gas: Option<u128>,
}

impl FeeCaps {
    /// Caps from gwei figures in the config.
    pub fn from_gwei(max_fee: f64, priority: f64) -> Self {
        let wei = |g: f64| (g * 1e9) as u128;
        Self {
            max_fee_per_gas: Some(wei(max_fee)),
            max_priority_fee_per_gas: Some(wei(priority)),
        }
    }
}

/// How long to wait for a transaction and what to do while waiting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TxPolicy {
    /// Fee limits.
    pub caps: FeeCaps,
    /// Give up waiting (the transaction stays journaled) after this long.
    pub timeout: Duration,
    /// Rebroadcast the same signed bytes when the node no longer knows the transaction, at most
    /// this often.
    pub rebroadcast_every: Duration,
    /// Replace a still-pending transaction with higher fees after this long (`None`: never).
    pub replace_after: Option<Duration>,
    /// Fee increase of a replacement, percent (nodes require at least 10).
    pub bump_percent: u64,
    /// Receipt polling interval.
    pub poll: Duration,
}

impl Default for TxPolicy {
    fn default() -> Self {
        Self {
            caps: FeeCaps::default(),
            timeout: Duration::from_secs(600),
            rebroadcast_every: Duration::from_secs(60),
            replace_after: Some(Duration::from_secs(180)),
            bump_percent: 15,
            poll: Duration::from_millis(250),
        }
    }
}

impl TxPolicy {
    /// The policy the config file gives (`[deposit]` caps, `[transactions]` waits).
    pub fn from_config(config: &Config) -> Self {
        let t = &config.transactions;
        Self {
            caps: FeeCaps::from_gwei(
                config.deposit.max_fee_per_gas_gwei,
                config.deposit.max_priority_fee_per_gas_gwei,
            ),
            timeout: Duration::from_secs(t.timeout_secs.max(1)),
            rebroadcast_every: Duration::from_secs(t.rebroadcast_every_secs.max(1)),
            replace_after: (t.replace_after_secs > 0)
                .then(|| Duration::from_secs(t.replace_after_secs)),
            bump_percent: t.replace_fee_bump_percent.max(10),
            poll: Duration::from_millis(250),
        }
    }
}

/// A transaction this chain sent (or executed on a fork), for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentTx {
    /// What it does (`deposit`, `register`, `topup`, ...).
    pub kind: String,
    /// Its hash (on the fork, in a dry run).
    pub hash: B256,
    /// Recipient contract.
    pub to: Address,
    /// ETH sent with it, wei.
    pub value: U256,
    /// Gas used.
    pub gas_used: u64,
    /// Block it was mined in.
    pub block: u64,
    /// Executed on an anvil fork (dry run), not on the real chain.
    pub rehearsal: bool,
}

/// Every transaction a [`Chain`] sent, shared by its clones.
pub type SentLog = Arc<Mutex<Vec<SentTx>>>;

/// Runs `tx` as an `eth_call` and estimates its gas; a revert comes back decoded.
pub async fn simulate(
    chain: &Chain,
    what: &str,
    tx: &TransactionRequest,
) -> Result<u64, ChainError> {
    let url = chain.config().url.clone();
    let revert = |e: alloy::transports::TransportError| match e
        .as_error_resp()
        .and_then(|r| r.as_revert_data())
    {
        Some(d) => ChainError::Revert {
            what: what.to_string(),
            revert: Revert::from_data(&d),
        },
        None => ChainError::Rpc {
            what: format!("simulating {what}"),
            source: Cause::scrubbed(&e, Some(&url)),
        },
    };
    chain.provider().call(tx.clone()).await.map_err(revert)?;
    chain
        .provider()
        .estimate_gas(tx.clone())
        .await
        .map_err(revert)
}

/// Sends `tx` as the chain's sender: `journal` receives the record before the broadcast and at
/// every change after it. Returns the final record and the receipt.
pub async fn send(
    chain: &Chain,
    kind: &str,
    tx: TransactionRequest,
    mut journal: impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<(TxRecord, TransactionReceipt), ChainError> {
    let (record, receipt) = match chain.sender().clone() {
        Sender::ReadOnly => return Err(ChainError::NoSigner("sending a transaction")),
        Sender::Local(signer) => send_local(chain, &signer, kind, tx, &mut journal).await?,
        Sender::Impersonated(from) => {
            send_impersonated(chain, from, kind, tx, &mut journal).await?
        }
    };
    chain.note_sent(&record, &receipt);
    Ok((record, receipt))
}

async fn send_local(
    chain: &Chain,
    signer: &PrivateKeySigner,
    kind: &str,
    tx: TransactionRequest,
    journal: &mut impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<(TxRecord, TransactionReceipt), ChainError> {
    let from = signer.address();
    let to = tx.to.and_then(|t| t.to().copied()).unwrap_or_default();
    let mut tx = tx.with_from(from).with_chain_id(chain.profile().chain_id);
    let gas = simulate(chain, kind, &tx).await?;
    tx.set_gas_limit(gas.saturating_mul(12) / 10);
    let (max_fee, priority) = fees_within_cap(chain, kind).await?;
    tx.set_max_fee_per_gas(max_fee);
    tx.set_max_priority_fee_per_gas(priority);
    // The outbox lock is held from choosing the nonce until the signed bytes are journaled, so two
    // processes of this agent never sign the same nonce.
    let mut outbox = outbox::Outbox::open(chain, from).await?;
    let nonce = outbox.next_nonce(chain).await?;
    tx.set_nonce(nonce);
    let value = tx.value.unwrap_or(U256::ZERO);
    let envelope = tx
        .build(&EthereumWallet::from(signer.clone()))
        .await
        .map_err(|e| ChainError::Sign {
            kind: kind.to_string(),
            source: Cause::scrubbed(&e, None),
        })?;
    let mut record = TxRecord {
        kind: kind.to_string(),
        status: TxStatus::Signed,
        chain_id: chain.profile().chain_id,
        from,
        to,
        nonce,
        value,
        tx_hash: *envelope.tx_hash(),
        raw_tx: envelope.encoded_2718().into(),
        block: None,
        updated_at: now_secs(),
        replaced: Vec::new(),
    };
    outbox.record(&record)?;
    journal(&record)?;
    drop(outbox);
    wait::broadcast(chain, &mut record, journal).await?;
    let receipt = wait::until_confirmed(chain, Some(signer), &mut record, journal).await?;
    Ok((record, receipt))
}

/// Fees for a new transaction: refused when the base fee plus the priority fee is above the cap;
/// the max fee starts at twice the base fee plus the priority fee (not at the cap), so a
/// replacement has room to raise it.
async fn fees_within_cap(chain: &Chain, kind: &str) -> Result<(u128, u128), ChainError> {
    let caps = chain.config().tx.caps;
    let base = base_fee(chain).await?;
    let priority = match caps.max_priority_fee_per_gas {
        Some(p) => p,
        None => chain
            .provider()
            .get_max_priority_fee_per_gas()
            .await
            .map_err(chain.rpc_err("eth_maxPriorityFeePerGas"))?,
    };
    let needed = base + priority;
    let wanted = base.saturating_mul(2) + priority;
    match caps.max_fee_per_gas {
        Some(cap) if needed > cap => Err(ChainError::FeeCap {
            kind: kind.to_string(),
            wanted_gwei: needed as f64 / 1e9,
            cap_gwei: cap as f64 / 1e9,
        }),
        Some(cap) => Ok((wanted.min(cap), priority)),
        None => Ok((wanted, priority)),
    }
}

/// The latest block's base fee per gas.
pub(crate) async fn base_fee(chain: &Chain) -> Result<u128, ChainError> {
    let block = chain
        .provider()
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .map_err(chain.rpc_err("eth_getBlockByNumber(latest)"))?
        .ok_or_else(|| ChainError::Unexpected {
            what: "eth_getBlockByNumber(latest)".into(),
            detail: "the node returned no block".into(),
        })?;
    Ok(u128::from(block.header.base_fee_per_gas.unwrap_or(0)))
}

/// Dry run: the same simulation, then `eth_sendTransaction` from the unlocked account on the fork.
async fn send_impersonated(
    chain: &Chain,
    from: Address,
    kind: &str,
    tx: TransactionRequest,
    journal: &mut impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<(TxRecord, TransactionReceipt), ChainError> {
    let tx = tx.with_from(from).with_chain_id(chain.profile().chain_id);
    let gas = simulate(chain, kind, &tx).await?;
    let tx = tx.with_gas_limit(gas.saturating_mul(12) / 10);
    let to = tx.to.and_then(|t| t.to().copied()).unwrap_or_default();
    let value = tx.value.unwrap_or(U256::ZERO);
    let nonce = chain
        .provider()
        .get_transaction_count(from)
        .block_id(BlockNumberOrTag::Pending.into())
        .await
        .map_err(chain.rpc_err("eth_getTransactionCount"))?;
    let pending = chain
        .provider()
        .send_transaction(tx)
        .await
        .map_err(chain.rpc_err(format!("eth_sendTransaction ({kind}) on the fork")))?;
    let mut record = TxRecord {
        kind: kind.to_string(),
        status: TxStatus::Broadcast,
        chain_id: chain.profile().chain_id,
        from,
        to,
        nonce,
        value,
        tx_hash: *pending.tx_hash(),
        raw_tx: Default::default(),
        block: None,
        updated_at: now_secs(),
        replaced: Vec::new(),
    };
    journal(&record)?;
    let receipt = wait::until_confirmed(chain, None, &mut record, journal).await?;
    Ok((record, receipt))
}

/// Continues a recorded transaction: waits for it if known, rebroadcasts the same bytes if the
/// node forgot it and its nonce is still free, and refuses if the nonce went to another one.
pub async fn resume(
    chain: &Chain,
    record: &TxRecord,
    mut journal: impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<TransactionReceipt, ChainError> {
    if record.chain_id != chain.profile().chain_id {
        return Err(ChainError::OtherChain {
            kind: record.kind.clone(),
            tx_hash: record.tx_hash,
            recorded: record.chain_id,
            actual: chain.profile().chain_id,
        });
    }
    let mut record = record.clone();
    let signer = match chain.sender() {
        Sender::Local(s) if s.address() == record.from => Some(s.clone()),
        _ => None,
    };
    if wait::find_receipt(chain, &record).await?.is_none()
        && !wait::node_knows(chain, &record).await?
    {
        wait::check_nonce_free(chain, &record).await?;
        wait::broadcast(chain, &mut record, &mut journal).await?;
    }
    let receipt = wait::until_confirmed(chain, signer.as_ref(), &mut record, &mut journal).await?;
    chain.note_sent(&record, &receipt);
    Ok(receipt)
}

/// Unlocks `who` on an anvil fork so transactions from it need no key; refuses any other node.
pub async fn impersonate(chain: &Chain, who: Address) -> Result<(), ChainError> {
    let version: String = chain
        .provider()
        .raw_request("web3_clientVersion".into(), ())
        .await
        .map_err(chain.rpc_err("web3_clientVersion"))?;
    if !version.to_ascii_lowercase().starts_with("anvil") {
        return Err(ChainError::Unexpected {
            what: "impersonation".into(),
            detail: format!(
                "the node is `{version}`, not anvil; a dry run only ever sends to a local fork"
            ),
        });
    }
    chain
        .provider()
        .raw_request::<_, serde_json::Value>("anvil_impersonateAccount".into(), (who,))
        .await
        .map_err(chain.rpc_err("anvil_impersonateAccount"))?;
    Ok(())
}

impl Chain {
    fn note_sent(&self, record: &TxRecord, receipt: &TransactionReceipt) {
        if let Ok(mut log) = self.sent_log().lock() {
            log.push(SentTx {
                kind: record.kind.clone(),
                hash: record.tx_hash,
                to: record.to,
                value: record.value,
                gas_used: receipt.gas_used,
                block: receipt.block_number.unwrap_or_default(),
                rehearsal: matches!(self.sender(), Sender::Impersonated(_)),
            });
        }
    }

    /// Every transaction sent (or rehearsed) through this chain and its clones, in order.
    pub fn sent(&self) -> Vec<SentTx> {
        self.sent_log()
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }
}
