//! Sending a cluster's or an owner's action exactly once. Before anything new is signed, every
//! recorded action still in doubt is finished (resumed, never re-signed); an action already
//! confirmed with the same arguments is reported and not repeated (a rerun after a crash), unless
//! the caller asks for it `again`.

use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use serde::Serialize;

use crate::{
    chain::{
        Chain, ChainError,
        send::{resume, send},
    },
    journal::{ActionJournal, TxStatus},
};

/// What became of an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum ActionOutcome {
    /// Sent now and confirmed (on the fork, in a dry run).
    Sent {
        /// Its hash.
        tx_hash: alloy::primitives::B256,
        /// Its block.
        block: u64,
    },
    /// An earlier run sent it (maybe it was resumed now); nothing new was signed.
    AlreadyDone {
        /// Its hash.
        tx_hash: alloy::primitives::B256,
        /// Its block.
        block: Option<u64>,
    },
}

/// Finishes every pending action of the journal (any kind).
pub async fn finish_pending(chain: &Chain, journal: &mut ActionJournal) -> Result<(), ChainError> {
    let pending: Vec<_> = journal
        .actions()
        .iter()
        .filter(|a| a.tx.is_pending())
        .cloned()
        .collect();
    for a in pending {
        tracing::info!(kind = %a.kind, tx = %a.tx.tx_hash, "finishing a recorded action instead of signing a new one");
        let (kind, args) = (a.kind.clone(), a.args.clone());
        match resume(chain, &a.tx, |r| journal.record(&kind, &args, r)).await {
            Ok(_) | Err(ChainError::Revert { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends `tx` as action `kind(args)` unless the journal shows it done: pending actions are
/// finished first; a confirmed identical one is reported unless `again`.
pub async fn send_once(
    chain: &Chain,
    journal: &mut ActionJournal,
    kind: &str,
    args: &str,
    tx: TransactionRequest,
    again: bool,
) -> Result<(ActionOutcome, Option<TransactionReceipt>), ChainError> {
    send_once_with(chain, journal, kind, args, tx, again, |_| {}).await
}

/// [`send_once`], calling `recorded` after each record of the new transaction is persisted (the
/// crash tests stop the process between "signed and journaled" and "broadcast" there).
pub async fn send_once_with(
    chain: &Chain,
    journal: &mut ActionJournal,
    kind: &str,
    args: &str,
    tx: TransactionRequest,
    again: bool,
    mut recorded: impl FnMut(&crate::journal::TxRecord),
) -> Result<(ActionOutcome, Option<TransactionReceipt>), ChainError> {
    finish_pending(chain, journal).await?;
    if !again
        && let Some(done) = journal
            .actions()
            .iter()
            .rev()
            .find(|a| a.kind == kind && a.args == args && a.tx.status == TxStatus::Confirmed)
    {
        return Ok((
            ActionOutcome::AlreadyDone {
                tx_hash: done.tx.tx_hash,
                block: done.tx.block,
            },
            None,
        ));
    }
    let (rec, receipt) = send(chain, kind, tx, |r| {
        journal.record(kind, args, r)?;
        recorded(r);
        Ok(())
    })
    .await?;
    Ok((
        ActionOutcome::Sent {
            tx_hash: rec.tx_hash,
            block: receipt.block_number.unwrap_or_default(),
        },
        Some(receipt),
    ))
}
