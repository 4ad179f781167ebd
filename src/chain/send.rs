//! Sending that survives crashes: sign locally, journal the hash and raw bytes, broadcast, wait for
//! confirmations, journal the outcome. A resumed run looks the recorded transaction up (or
//! rebroadcasts the very same bytes, which cannot spend twice) instead of signing a new one.

use std::time::Duration;

use alloy::{
    eips::{BlockNumberOrTag, Encodable2718},
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{B256, U256},
    providers::Provider,
    rpc::types::{TransactionReceipt, TransactionRequest},
};

use super::{Chain, ChainError, reads::decode_revert};
use crate::journal::{JournalError, TxRecord, TxStatus, now_secs};

/// Fee limits for one transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeeCaps {
    /// Refuse to send if the estimated max fee per gas is above this (wei).
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

/// Runs `tx` as an `eth_call` and estimates its gas; a revert comes back decoded.
pub async fn simulate(
    chain: &Chain,
    what: &str,
    tx: &TransactionRequest,
) -> Result<u64, ChainError> {
    let revert = |e: alloy::transports::TransportError| {
        let data = e.as_error_resp().and_then(|r| r.as_revert_data());
        match data {
            Some(d) => ChainError::Revert {
                what: what.to_string(),
                reason: decode_revert(&d).unwrap_or_else(|| format!("revert data {d}")),
            },
            None => ChainError::Rpc {
                what: what.to_string(),
                message: e.to_string(),
            },
        }
    };
    chain.provider().call(tx.clone()).await.map_err(revert)?;
    chain
        .provider()
        .estimate_gas(tx.clone())
        .await
        .map_err(revert)
}

/// Signs `tx` with the chain's signer, hands the record to `journal` before broadcasting, then
/// broadcasts and waits for the configured confirmations, journaling each step.
pub async fn send_journaled(
    chain: &Chain,
    kind: &str,
    tx: TransactionRequest,
    caps: FeeCaps,
    mut journal: impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<(TxRecord, TransactionReceipt), ChainError> {
    let signer = chain
        .signer()
        .ok_or(ChainError::NoSigner("sending a transaction"))?
        .clone();
    let from = signer.address();
    let to = tx.to.and_then(|t| t.to().copied()).unwrap_or_default();
    let mut tx = tx.with_from(from).with_chain_id(chain.profile().chain_id);
    let gas = simulate(chain, kind, &tx).await?;
    tx.set_gas_limit(gas.saturating_mul(12) / 10);
    let nonce = chain
        .provider()
        .get_transaction_count(from)
        .block_id(BlockNumberOrTag::Pending.into())
        .await
        .map_err(Chain::rpc_err("eth_getTransactionCount"))?;
    tx.set_nonce(nonce);
    let fees = chain
        .provider()
        .estimate_eip1559_fees()
        .await
        .map_err(Chain::rpc_err("fee estimation"))?;
    let priority = caps
        .max_priority_fee_per_gas
        .unwrap_or(fees.max_priority_fee_per_gas);
    let max_fee = fees.max_fee_per_gas.max(priority);
    if let Some(cap) = caps.max_fee_per_gas
        && max_fee > cap
    {
        return Err(ChainError::Rpc {
            what: format!("{kind} transaction"),
            message: format!(
                "gas price {:.2} gwei is above the configured cap of {:.2} gwei; nothing was sent (raise deposit.max_fee_per_gas_gwei or wait)",
                max_fee as f64 / 1e9,
                cap as f64 / 1e9
            ),
        });
    }
    tx.set_max_fee_per_gas(caps.max_fee_per_gas.unwrap_or(max_fee).max(priority));
    tx.set_max_priority_fee_per_gas(priority);
    let value = tx.value.unwrap_or(U256::ZERO);
    let envelope = tx
        .build(&EthereumWallet::from(signer))
        .await
        .map_err(|e| ChainError::Rpc {
            what: format!("signing the {kind} transaction"),
            message: e.to_string(),
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
    };
    journal(&record)?;
    broadcast(chain, &mut record, &mut journal).await?;
    let receipt = wait_confirmed(chain, &mut record, &mut journal).await?;
    Ok((record, receipt))
}

/// Continues a recorded transaction: waits for it if known, rebroadcasts the same bytes if the
/// node forgot it and its nonce is still free, and refuses if the nonce went to another transaction.
pub async fn resume(
    chain: &Chain,
    record: &TxRecord,
    mut journal: impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<TransactionReceipt, ChainError> {
    let mut record = record.clone();
    if receipt(chain, record.tx_hash).await?.is_none() {
        let known = chain
            .provider()
            .get_transaction_by_hash(record.tx_hash)
            .await
            .map_err(Chain::rpc_err("eth_getTransactionByHash"))?
            .is_some();
        if !known {
            let mined_nonce = chain
                .provider()
                .get_transaction_count(record.from)
                .await
                .map_err(Chain::rpc_err("eth_getTransactionCount"))?;
            if mined_nonce > record.nonce {
                return Err(ChainError::Resume(format!(
                    "the recorded {} transaction {} never mined, and nonce {} of {} was used by another transaction; \
                     nothing was resent. Check the account's history before retrying",
                    record.kind, record.tx_hash, record.nonce, record.from
                )));
            }
            broadcast(chain, &mut record, &mut journal).await?;
        }
    }
    wait_confirmed(chain, &mut record, &mut journal).await
}

async fn broadcast(
    chain: &Chain,
    record: &mut TxRecord,
    journal: &mut impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<(), ChainError> {
    match chain.provider().send_raw_transaction(&record.raw_tx).await {
        Ok(_) => {}
        // Already in the pool or mined: the recorded hash is what counts.
        Err(e) if e.to_string().to_ascii_lowercase().contains("already known") => {}
        Err(e) => {
            return Err(ChainError::Rpc {
                what: format!(
                    "broadcasting the {} transaction {}",
                    record.kind, record.tx_hash
                ),
                message: e.to_string(),
            });
        }
    }
    record.status = TxStatus::Broadcast;
    record.updated_at = now_secs();
    journal(record)?;
    Ok(())
}

async fn receipt(chain: &Chain, hash: B256) -> Result<Option<TransactionReceipt>, ChainError> {
    chain
        .provider()
        .get_transaction_receipt(hash)
        .await
        .map_err(Chain::rpc_err("eth_getTransactionReceipt"))
}

async fn wait_confirmed(
    chain: &Chain,
    record: &mut TxRecord,
    journal: &mut impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<TransactionReceipt, ChainError> {
    let poll = Duration::from_millis(250);
    let r = loop {
        match receipt(chain, record.tx_hash).await {
            Ok(Some(r)) => break r,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "receipt poll failed; retrying"),
        }
        tokio::time::sleep(poll).await;
    };
    let block = r.block_number.unwrap_or_default();
    while chain.head().await.unwrap_or(0) + 1 < block + chain.confirmations() {
        tokio::time::sleep(poll).await;
    }
    record.block = Some(block);
    record.status = if r.status() {
        TxStatus::Confirmed
    } else {
        TxStatus::Reverted
    };
    record.updated_at = now_secs();
    journal(record)?;
    if !r.status() {
        return Err(ChainError::Revert {
            what: format!(
                "{} transaction {} (block {block})",
                record.kind, record.tx_hash
            ),
            reason: "status 0".into(),
        });
    }
    Ok(r)
}
