//! Batched reads: many `eth_call`s in one JSON-RPC batch request, so a tick over a thousand
//! clusters costs a handful of round trips instead of thousands.

use alloy::{
    eips::BlockId,
    primitives::{Address, Bytes},
    providers::Provider,
    rpc::types::TransactionRequest,
};

use crate::chain::{Chain, ChainError};

/// Calls per HTTP request: large enough to keep round trips low, small enough for node limits.
pub const CALLS_PER_BATCH: usize = 1_000;

/// Runs `calls` (to, calldata) at `block`; each result is the raw return data or the error text.
/// Returns the results and the number of round trips used.
pub async fn eth_call_batch(
    chain: &Chain,
    calls: &[(Address, Vec<u8>)],
    block: u64,
) -> Result<(Vec<Result<Bytes, String>>, u64), ChainError> {
    let client = chain.provider().client();
    let mut out = Vec::with_capacity(calls.len());
    let mut trips = 0;
    for chunk in calls.chunks(CALLS_PER_BATCH) {
        let mut batch = alloy::rpc::client::BatchRequest::new(client);
        let mut waiters = Vec::with_capacity(chunk.len());
        for (to, data) in chunk {
            let tx = TransactionRequest::default()
                .to(*to)
                .input(Bytes::from(data.clone()).into());
            let w = batch
                .add_call::<_, Bytes>("eth_call", &(tx, BlockId::number(block)))
                .map_err(|e| ChainError::Rpc {
                    what: "building a batch".into(),
                    message: e.to_string(),
                })?;
            waiters.push(w);
        }
        batch.send().await.map_err(|e| ChainError::Rpc {
            what: "batched eth_call".into(),
            message: e.to_string(),
        })?;
        trips += 1;
        for w in waiters {
            out.push(w.await.map_err(|e| e.to_string()));
        }
    }
    Ok((out, trips))
}
