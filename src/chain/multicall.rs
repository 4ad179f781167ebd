//! Large read batches through Multicall3's `aggregate3`, so a watch tick over 10 000 clusters
//! (about 30 000 view calls) takes a handful of JSON-RPC round trips instead of one per 1 000
//! calls (geth's default batch limit, which providers copy). Each `aggregate3` carries
//! [`CALLS_PER_AGGREGATE`] calls with `allowFailure`, so one call's revert stays that call's; as many
//! aggregates as fit [`REQUEST_BYTES`] go in one JSON-RPC batch, [`REQUESTS_IN_FLIGHT`] at once.
//!
//! Used only where the canonical deployment has code (asked once per [`Chain`]; the devnet places
//! a double there). An aggregate the node refuses as a whole (gas cap, size) is asked again as
//! plain calls, so the answers never depend on which path carried them.

use std::sync::Arc;

use alloy::{
    eips::BlockId,
    primitives::{Address, Bytes, address},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol,
    sol_types::SolCall,
};
use futures::{StreamExt, stream};

use super::{Cause, Chain, ChainError, Revert};

sol! {
    /// The part of Multicall3 the agent calls.
    #[allow(missing_docs)]
    interface IMulticall3 {
        struct Call3 {
            address target;
            bool allowFailure;
            bytes callData;
        }
        struct Result {
            bool success;
            bytes returnData;
        }
        function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData);
    }
}

/// Multicall3's address, the same on every chain it is deployed on (mainnet, Holesky, Sepolia,
/// Hoodi; `anvil_setCode` on the devnet).
pub const MULTICALL3: Address = address!("cA11bde05977b3631167028862bE2a173976CA11");

/// Calls per `aggregate3`: a cluster's balance or burn rate is a few tens of thousands of gas,
/// so 200 stay well below the 30 M gas anvil and the 50 M geth allow one `eth_call`.
pub const CALLS_PER_AGGREGATE: usize = 200;

/// Calldata bytes per JSON-RPC request (hex doubles it): anvil refuses bodies over 2 MiB, geth
/// over 5 MB. One aggregate of larger calls goes alone.
pub const REQUEST_BYTES: usize = 850_000;

/// JSON-RPC batch requests in flight at once (bounds the node's load and our buffered answers).
pub const REQUESTS_IN_FLIGHT: usize = 3;

/// Per-`Chain` memo: whether [`MULTICALL3`] has code on the endpoint.
#[derive(Debug, Default, Clone)]
pub(crate) struct Presence(Arc<tokio::sync::OnceCell<bool>>);

impl Chain {
    /// Whether Multicall3 is deployed (asked once, at `block`), and the round trips this used.
    pub(crate) async fn multicall3_deployed(&self, block: u64) -> Result<(bool, u64), ChainError> {
        if let Some(known) = self.multicall.0.get() {
            return Ok((*known, 0));
        }
        let code = self
            .provider()
            .get_code_at(MULTICALL3)
            .block_id(BlockId::number(block))
            .await
            .map_err(self.rpc_err("eth_getCode(Multicall3)"))?;
        let deployed = !code.is_empty();
        let _ = self.multicall.0.set(deployed);
        Ok((deployed, 1))
    }
}

/// One call's answer: its return data, or its revert.
type Answer = Result<Bytes, ChainError>;

/// One call: target and calldata.
type Call = (Address, Vec<u8>);

/// One `aggregate3`'s answers, or its own failure as a whole.
type AggregateAnswer = Result<Vec<Answer>, ChainError>;

/// Runs `calls` at `block` as `aggregate3` chunks; the results are in the order of `calls`, with
/// the round trips used.
pub(crate) async fn aggregated(
    chain: &Chain,
    calls: &[Call],
    block: u64,
) -> Result<(Vec<Answer>, u64), ChainError> {
    let chunks: Vec<&[Call]> = calls.chunks(CALLS_PER_AGGREGATE).collect();
    let groups = by_size(&chunks, REQUEST_BYTES);
    // `buffered` keeps the order of the groups and at most REQUESTS_IN_FLIGHT of them running.
    let answers: Vec<Result<Vec<AggregateAnswer>, ChainError>> =
        stream::iter(groups.iter().map(|g| request(chain, g, block)))
            .buffered(REQUESTS_IN_FLIGHT)
            .collect()
            .await;
    let mut trips = groups.len() as u64;
    let mut out = Vec::with_capacity(calls.len());
    for (group, answer) in groups.iter().zip(answers) {
        for (chunk, aggregate) in group.iter().zip(answer?) {
            match aggregate {
                Ok(results) => out.extend(results),
                Err(e) => {
                    tracing::debug!(error = %e, calls = chunk.len(),
                        "the node refused an aggregate3; asking its calls one by one");
                    let (plain, t) = super::reads::plain_call_batch(chain, chunk, block).await?;
                    trips += t;
                    out.extend(plain);
                }
            }
        }
    }
    Ok((out, trips))
}

/// Consecutive aggregates grouped into requests of at most `budget` calldata bytes (each call
/// counted with its ~160 bytes of `Call3` encoding), at least one aggregate per request.
fn by_size<'a>(chunks: &'a [&'a [Call]], budget: usize) -> Vec<&'a [&'a [Call]]> {
    let size = |c: &[(Address, Vec<u8>)]| c.iter().map(|(_, d)| d.len() + 160).sum::<usize>();
    let mut out = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, c) in chunks.iter().enumerate() {
        let s = size(c);
        if i > start && used + s > budget {
            out.push(&chunks[start..i]);
            (start, used) = (i, 0);
        }
        used += s;
    }
    if start < chunks.len() {
        out.push(&chunks[start..]);
    }
    out
}

/// One JSON-RPC batch of `aggregate3` calls: per aggregate, its decoded answers or its own error.
async fn request(
    chain: &Chain,
    group: &[&[Call]],
    block: u64,
) -> Result<Vec<AggregateAnswer>, ChainError> {
    let mut batch = alloy::rpc::client::BatchRequest::new(chain.provider().client());
    let mut waiters = Vec::with_capacity(group.len());
    for chunk in group {
        let data = IMulticall3::aggregate3Call {
            calls: chunk
                .iter()
                .map(|(to, data)| IMulticall3::Call3 {
                    target: *to,
                    allowFailure: true,
                    callData: Bytes::copy_from_slice(data),
                })
                .collect(),
        }
        .abi_encode();
        let tx = TransactionRequest::default()
            .to(MULTICALL3)
            .input(Bytes::from(data).into());
        let w = batch
            .add_call::<_, Bytes>("eth_call", &(tx, BlockId::number(block)))
            .map_err(|e| ChainError::Unexpected {
                what: "building an aggregate3 batch".into(),
                detail: e.to_string(),
            })?;
        waiters.push((chunk.len(), w));
    }
    batch
        .send()
        .await
        .map_err(chain.rpc_err("batched aggregate3"))?;
    let url = chain.config().url.clone();
    let mut out = Vec::with_capacity(waiters.len());
    for (len, w) in waiters {
        let answer = match w.await {
            Ok(raw) => decode(&raw, len),
            Err(e) => Err(ChainError::Rpc {
                what: "aggregate3".into(),
                source: Cause::scrubbed(&e, Some(&url)),
            }),
        };
        out.push(answer);
    }
    Ok(out)
}

/// The answers of one `aggregate3`: exactly `len` of them, or the aggregate fails as a whole.
fn decode(raw: &[u8], len: usize) -> Result<Vec<Answer>, ChainError> {
    let results = IMulticall3::aggregate3Call::abi_decode_returns(raw).map_err(|e| {
        ChainError::Unexpected {
            what: "aggregate3".into(),
            detail: format!("undecodable answer: {e}"),
        }
    })?;
    if results.len() != len {
        return Err(ChainError::Unexpected {
            what: "aggregate3".into(),
            detail: format!("{} answers to {len} calls", results.len()),
        });
    }
    Ok(results
        .into_iter()
        .map(|r| {
            if r.success {
                Ok(r.returnData)
            } else {
                Err(ChainError::Revert {
                    what: "eth_call".into(),
                    revert: Revert::from_data(&r.returnData),
                })
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(results: Vec<IMulticall3::Result>) -> Vec<u8> {
        IMulticall3::aggregate3Call::abi_encode_returns(&results)
    }

    #[test]
    fn decode_keeps_order_and_reverts() {
        let raw = encoded(vec![
            IMulticall3::Result {
                success: true,
                returnData: Bytes::from(vec![1u8; 32]),
            },
            IMulticall3::Result {
                success: false,
                returnData: Bytes::new(),
            },
        ]);
        let got = decode(&raw, 2).unwrap();
        assert_eq!(got[0].as_ref().unwrap(), &Bytes::from(vec![1u8; 32]));
        assert!(matches!(got[1], Err(ChainError::Revert { .. })));
    }

    #[test]
    fn requests_stay_within_the_byte_budget() {
        let calls: Vec<Call> = (0..10).map(|_| (MULTICALL3, vec![0u8; 340])).collect();
        let chunks: Vec<&[Call]> = calls.chunks(2).collect();
        // 1 000 bytes per aggregate of two calls: two per request of 2 500, one alone at 900.
        let sizes = |b| -> Vec<usize> { by_size(&chunks, b).iter().map(|g| g.len()).collect() };
        assert_eq!(sizes(2_500), vec![2, 2, 1]);
        assert_eq!(sizes(900), vec![1, 1, 1, 1, 1]);
        assert_eq!(sizes(1_000_000), vec![5]);
    }

    #[test]
    fn decode_refuses_a_short_answer() {
        let raw = encoded(vec![IMulticall3::Result {
            success: true,
            returnData: Bytes::new(),
        }]);
        assert!(matches!(
            decode(&raw, 2),
            Err(ChainError::Unexpected { .. })
        ));
        assert!(decode(b"not abi", 1).is_err());
    }
}
