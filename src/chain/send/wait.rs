//! Waiting for a journaled transaction, bounded: poll for a receipt of any of its hashes;
//! rebroadcast the same signed bytes when the node forgot it; after `replace_after` replace it with
//! higher fees within the cap (journaled before broadcast); give up with `Stuck` at the deadline;
//! after the confirmations read the receipt again, so a reorg sends the wait back to polling.

use std::time::{Duration, Instant};

use alloy::{
    consensus::{SignableTransaction, TxEnvelope},
    eips::{Decodable2718, Encodable2718},
    network::TxSignerSync,
    primitives::{B256, Bytes},
    providers::Provider,
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};

use super::outbox;
use crate::{
    chain::{Cause, Chain, ChainError, Revert},
    journal::{JournalError, TxRecord, TxStatus, now_secs},
};

/// Sends the record's current bytes and marks it broadcast.
pub(super) async fn broadcast(
    chain: &Chain,
    record: &mut TxRecord,
    journal: &mut impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<(), ChainError> {
    send_raw(chain, record.tx_hash, &record.raw_tx, &record.kind).await?;
    if record.status == TxStatus::Signed {
        record.status = TxStatus::Broadcast;
        record.updated_at = now_secs();
        journal(record)?;
    }
    Ok(())
}

async fn send_raw(chain: &Chain, hash: B256, raw: &Bytes, kind: &str) -> Result<(), ChainError> {
    match chain.provider().send_raw_transaction(raw).await {
        Ok(_) => Ok(()),
        // Already in the pool or mined: the recorded hash is what counts.
        Err(e) if is_already_known(&e.to_string()) => Ok(()),
        Err(e) => Err(chain
            .rpc_err(format!("broadcasting the {kind} transaction {hash}"))(
            e
        )),
    }
}

fn is_already_known(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("already known") || t.contains("already imported") || t.contains("known transaction")
}

/// The receipt of whichever of the record's hashes was mined, if any.
pub(super) async fn find_receipt(
    chain: &Chain,
    record: &TxRecord,
) -> Result<Option<TransactionReceipt>, ChainError> {
    for hash in record.hashes() {
        if let Some(r) = chain
            .provider()
            .get_transaction_receipt(hash)
            .await
            .map_err(chain.rpc_err("eth_getTransactionReceipt"))?
        {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// Whether the node still has any version of the transaction (pool or chain).
pub(super) async fn node_knows(chain: &Chain, record: &TxRecord) -> Result<bool, ChainError> {
    for hash in record.hashes() {
        if chain
            .provider()
            .get_transaction_by_hash(hash)
            .await
            .map_err(chain.rpc_err("eth_getTransactionByHash"))?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Refuses when the record's nonce was mined by a transaction that is none of its versions.
pub(super) async fn check_nonce_free(chain: &Chain, record: &TxRecord) -> Result<(), ChainError> {
    let mined = chain
        .provider()
        .get_transaction_count(record.from)
        .await
        .map_err(chain.rpc_err("eth_getTransactionCount"))?;
    if mined > record.nonce {
        return Err(ChainError::NonceTaken {
            kind: record.kind.clone(),
            tx_hash: record.tx_hash,
            nonce: record.nonce,
            from: record.from,
        });
    }
    Ok(())
}

/// Waits until one version of the transaction is mined with the configured confirmations, then
/// journals the outcome. `signer` enables replacements (real sends only).
pub(super) async fn until_confirmed(
    chain: &Chain,
    signer: Option<&PrivateKeySigner>,
    record: &mut TxRecord,
    journal: &mut impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<TransactionReceipt, ChainError> {
    let policy = chain.config().tx;
    let started = Instant::now();
    let mut last_broadcast = Instant::now();
    let mut last_replace = Instant::now();
    loop {
        if started.elapsed() > policy.timeout {
            return Err(ChainError::Stuck {
                kind: record.kind.clone(),
                tx_hash: record.tx_hash,
                nonce: record.nonce,
                waited_secs: started.elapsed().as_secs(),
            });
        }
        match find_receipt(chain, record).await {
            Ok(Some(receipt)) => {
                if let Some(confirmed) =
                    confirm(chain, record, &receipt, started, policy.timeout).await?
                {
                    return finish(record, confirmed, journal);
                }
                // Reorged away while confirming: back to polling.
                tracing::warn!(tx = %record.tx_hash, "receipt disappeared (reorg); waiting again");
            }
            Ok(None) => {
                if last_broadcast.elapsed() >= policy.rebroadcast_every
                    && !record.raw_tx.is_empty()
                    && !node_knows(chain, record).await.unwrap_or(true)
                {
                    check_nonce_free(chain, record).await?;
                    tracing::warn!(tx = %record.tx_hash, kind = %record.kind,
                        "the node forgot the transaction; rebroadcasting the same signed bytes");
                    send_raw(chain, record.tx_hash, &record.raw_tx, &record.kind).await?;
                    last_broadcast = Instant::now();
                }
                if let (Some(signer), Some(after)) = (signer, policy.replace_after)
                    && last_replace.elapsed() >= after
                {
                    last_replace = Instant::now();
                    replace(chain, signer, record, journal).await?;
                    last_broadcast = Instant::now();
                }
            }
            // A failed poll is retried until the deadline: an RPC hiccup must not lose the wait.
            Err(e) => tracing::warn!(error = %e, "receipt poll failed; retrying"),
        }
        tokio::time::sleep(policy.poll).await;
    }
}

/// Waits for the confirmations, reading the receipt again on every poll: `None` as soon as it
/// vanished or moved to another block (a reorg), so the caller waits for the transaction again.
async fn confirm(
    chain: &Chain,
    record: &TxRecord,
    receipt: &TransactionReceipt,
    started: Instant,
    timeout: Duration,
) -> Result<Option<TransactionReceipt>, ChainError> {
    let block = receipt.block_number.unwrap_or_default();
    let needed = block + chain.confirmations() - 1;
    loop {
        let now = chain
            .provider()
            .get_transaction_receipt(receipt.transaction_hash)
            .await;
        match now {
            Ok(Some(r)) if r.block_hash == receipt.block_hash => {
                match chain.provider().get_block_number().await {
                    Ok(head) if head >= needed => return Ok(Some(r)),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "block number poll failed; retrying"),
                }
            }
            Ok(_) => return Ok(None),
            Err(e) => tracing::warn!(error = %e, "receipt poll failed; retrying"),
        }
        if started.elapsed() > timeout {
            return Err(ChainError::Stuck {
                kind: record.kind.clone(),
                tx_hash: receipt.transaction_hash,
                nonce: record.nonce,
                waited_secs: started.elapsed().as_secs(),
            });
        }
        tokio::time::sleep(chain.config().tx.poll).await;
    }
}

fn finish(
    record: &mut TxRecord,
    receipt: TransactionReceipt,
    journal: &mut impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<TransactionReceipt, ChainError> {
    let block = receipt.block_number.unwrap_or_default();
    if receipt.transaction_hash != record.tx_hash {
        // An earlier version won: the record points at what was mined.
        tracing::info!(mined = %receipt.transaction_hash, latest = %record.tx_hash,
            "an earlier version of the transaction was mined");
        record.replaced.retain(|h| *h != receipt.transaction_hash);
        record.replaced.push(record.tx_hash);
        record.tx_hash = receipt.transaction_hash;
    }
    record.block = Some(block);
    record.status = if receipt.status() {
        TxStatus::Confirmed
    } else {
        TxStatus::Reverted
    };
    record.updated_at = now_secs();
    journal(record)?;
    if !receipt.status() {
        return Err(ChainError::Revert {
            what: format!(
                "{} transaction {} (block {block})",
                record.kind, record.tx_hash
            ),
            revert: Revert::Status0,
        });
    }
    Ok(receipt)
}

/// Replaces a pending transaction with the same nonce and higher fees, never above the cap;
/// the replacement is journaled (and put in the outbox) before it is broadcast.
async fn replace(
    chain: &Chain,
    signer: &PrivateKeySigner,
    record: &mut TxRecord,
    journal: &mut impl FnMut(&TxRecord) -> Result<(), JournalError>,
) -> Result<(), ChainError> {
    let policy = chain.config().tx;
    let Ok(TxEnvelope::Eip1559(signed)) = TxEnvelope::decode_2718(&mut record.raw_tx.as_ref())
    else {
        return Ok(());
    };
    let mut tx = signed.tx().clone();
    let bump = |v: u128| v + (v * u128::from(policy.bump_percent)).div_ceil(100).max(1);
    let base = super::base_fee(chain).await?;
    let mut max_fee =
        bump(tx.max_fee_per_gas).max(base.saturating_mul(2) + bump(tx.max_priority_fee_per_gas));
    let priority = bump(tx.max_priority_fee_per_gas);
    if let Some(cap) = policy.caps.max_fee_per_gas {
        max_fee = max_fee.min(cap);
    }
    // Nodes only accept a replacement that raises both fees by at least 10 %.
    if max_fee * 100 < tx.max_fee_per_gas * 110 || priority > max_fee {
        tracing::warn!(tx = %record.tx_hash, cap_gwei = policy.caps.max_fee_per_gas.map(|c| c as f64 / 1e9),
            "the transaction is still pending and cannot be replaced within the fee cap; waiting");
        return Ok(());
    }
    tx.max_fee_per_gas = max_fee;
    tx.max_priority_fee_per_gas = priority;
    let sig = signer
        .sign_transaction_sync(&mut tx)
        .map_err(|e| ChainError::Sign {
            kind: record.kind.clone(),
            source: Cause::scrubbed(&e, None),
        })?;
    let envelope = TxEnvelope::from(tx.into_signed(sig));
    let old = record.tx_hash;
    record.replaced.push(old);
    record.tx_hash = *envelope.tx_hash();
    record.raw_tx = envelope.encoded_2718().into();
    record.updated_at = now_secs();
    let mut outbox = outbox::Outbox::open(chain, record.from).await?;
    outbox.record(record)?;
    journal(record)?;
    drop(outbox);
    tracing::warn!(old = %old, new = %record.tx_hash, max_fee_gwei = max_fee as f64 / 1e9,
        "replaced a pending transaction with higher fees (same nonce)");
    send_raw(chain, record.tx_hash, &record.raw_tx, &record.kind).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn already_known_errors_are_recognised() {
        assert!(super::is_already_known("ERR: already known"));
        assert!(super::is_already_known("transaction already imported"));
        assert!(!super::is_already_known("nonce too low"));
    }
}
