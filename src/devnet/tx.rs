//! Transactions from anvil's unlocked accounts for devnet setup, with errors that keep their
//! cause. The receipt is polled every 10 ms: with automine it exists as soon as the send returns,
//! so deploying the real contracts (about 40 transactions) takes well under a second of waiting.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
};

/// A devnet setup transaction or RPC call failed.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// An RPC call failed.
    #[error("{what}")]
    Rpc {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: alloy::transports::TransportError,
    },
    /// The transaction reverted.
    #[error("{what}: reverted (transaction {tx})")]
    Reverted {
        /// What was being done.
        what: String,
        /// Transaction hash.
        tx: B256,
    },
    /// A creation receipt without a contract address.
    #[error("{what}: the receipt has no contract address")]
    NoContractAddress {
        /// What was being deployed.
        what: String,
    },
}

/// Sends `tx` (its `from` must be unlocked or impersonated) and waits for a successful receipt.
pub async fn transact(
    p: &DynProvider,
    what: &str,
    tx: TransactionRequest,
) -> Result<TransactionReceipt, TxError> {
    let rpc = |source| TxError::Rpc {
        what: what.to_string(),
        source,
    };
    let pending = p.send_transaction(tx).await.map_err(rpc)?;
    let hash = *pending.tx_hash();
    loop {
        if let Some(r) = p.get_transaction_receipt(hash).await.map_err(rpc)? {
            if !r.status() {
                return Err(TxError::Reverted {
                    what: what.to_string(),
                    tx: hash,
                });
            }
            return Ok(r);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An anvil_* (or other JSON-RPC) call whose result is not needed.
pub(super) async fn rpc<T>(p: &DynProvider, method: &'static str, params: T) -> Result<(), TxError>
where
    T: serde::Serialize + Clone + std::fmt::Debug + Send + Sync + Unpin + 'static,
{
    p.raw_request::<_, serde_json::Value>(method.into(), params)
        .await
        .map(|_| ())
        .map_err(|source| TxError::Rpc {
            what: method.to_string(),
            source,
        })
}

/// A plain call transaction from `from` to `to`.
pub fn call_tx(from: Address, to: Address, data: Vec<u8>) -> TransactionRequest {
    use alloy::network::TransactionBuilder;
    TransactionRequest::default()
        .with_from(from)
        .with_to(to)
        .with_input(data)
}
