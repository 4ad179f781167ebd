//! Chunked `eth_getLogs`: ranges sized to what the provider accepts (halved when it refuses a
//! range or a result size), retried with backoff on transient errors, forward or newest-first.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::{
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log},
};

use super::{Cause, ChainError, SensitiveUrl};

/// Scans logs in block ranges.
#[derive(Debug, Clone)]
pub struct LogScanner {
    provider: DynProvider,
    /// Current range size in blocks (shrinks when the provider refuses, grows back slowly).
    chunk: u64,
    min_chunk: u64,
    max_chunk: u64,
    retries: u32,
    calls: Arc<AtomicU64>,
    url: Option<SensitiveUrl>,
}

/// What a scan callback wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep scanning.
    Continue,
    /// Stop: what was wanted was found.
    Stop,
}

impl LogScanner {
    /// A scanner starting with `chunk` blocks per request.
    pub fn new(provider: DynProvider, chunk: u64) -> Self {
        Self::with_counter(provider, chunk, Arc::default())
    }

    /// A scanner that adds its `eth_getLogs` calls to a shared counter.
    pub fn with_counter(provider: DynProvider, chunk: u64, calls: Arc<AtomicU64>) -> Self {
        let chunk = chunk.max(1);
        Self {
            provider,
            chunk,
            min_chunk: 1,
            max_chunk: chunk,
            retries: 5,
            calls,
            url: None,
        }
    }

    /// Scrubs this endpoint's secrets from error texts.
    pub fn with_url(mut self, url: SensitiveUrl) -> Self {
        self.url = Some(url);
        self
    }

    /// `eth_getLogs` calls made so far (for benchmarks and tests).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Visits every log matching `filter` in `[from, to]`, oldest first, one chunk at a time.
    pub async fn scan_forward(
        &mut self,
        filter: &Filter,
        from: u64,
        to: u64,
        mut visit: impl FnMut(&[Log]) -> Flow,
    ) -> Result<(), ChainError> {
        let mut start = from;
        while start <= to {
            let end = to.min(start.saturating_add(self.chunk - 1));
            let logs = self.fetch(filter, start, end).await?;
            match logs {
                Some(logs) => {
                    if visit(&logs) == Flow::Stop {
                        return Ok(());
                    }
                    start = end + 1;
                }
                None => continue, // chunk shrank; retry the same start
            }
        }
        Ok(())
    }

    /// Visits logs in `[from, to]` newest chunk first (each chunk's logs still oldest first), so a
    /// search for the latest event stops after the first chunk that has one.
    pub async fn scan_backward(
        &mut self,
        filter: &Filter,
        from: u64,
        to: u64,
        mut visit: impl FnMut(&[Log]) -> Flow,
    ) -> Result<(), ChainError> {
        if from > to {
            return Ok(());
        }
        let mut end = to;
        loop {
            let start = from.max(end.saturating_sub(self.chunk - 1));
            match self.fetch(filter, start, end).await? {
                Some(logs) => {
                    if visit(&logs) == Flow::Stop || start == from {
                        return Ok(());
                    }
                    end = start - 1;
                }
                None => continue,
            }
        }
    }

    /// One range. `Ok(None)` means the provider refused the size and the chunk was halved.
    async fn fetch(
        &mut self,
        filter: &Filter,
        from: u64,
        to: u64,
    ) -> Result<Option<Vec<Log>>, ChainError> {
        let ranged = filter.clone().from_block(from).to_block(to);
        let mut attempt = 0;
        loop {
            self.calls.fetch_add(1, Ordering::Relaxed);
            match self.provider.get_logs(&ranged).await {
                Ok(logs) => {
                    // Grow back towards the configured size after successes.
                    self.chunk = (self.chunk.saturating_mul(2)).min(self.max_chunk);
                    return Ok(Some(logs));
                }
                Err(e) if is_range_error(&e.to_string()) && to > from => {
                    self.chunk = (to - from).div_ceil(2).max(self.min_chunk);
                    return Ok(None);
                }
                Err(e) if attempt < self.retries => {
                    attempt += 1;
                    tracing::debug!(from, to, attempt, error = %e, "eth_getLogs failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * (1 << attempt))).await;
                }
                Err(e) => {
                    return Err(ChainError::Rpc {
                        what: format!("eth_getLogs {from}..={to}"),
                        source: Cause::scrubbed(&e, self.url.as_ref()),
                    });
                }
            }
        }
    }
}

/// Providers word range refusals differently (Infura, Alchemy, QuickNode, geth, erigon, anvil).
fn is_range_error(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    [
        "block range",
        "range too large",
        "range is too large",
        "too many",
        "exceed",
        "limit",
        "response size",
        "query returned more than",
        "range should work",
    ]
    .iter()
    .any(|p| m.contains(p))
}

#[cfg(test)]
mod tests {
    #[test]
    fn recognises_common_range_refusals() {
        for m in [
            "query returned more than 10000 results",
            "eth_getLogs block range too large, range: 100000, max: 10000",
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range",
            "exceed maximum block range: 50000",
        ] {
            assert!(super::is_range_error(m), "{m}");
        }
        assert!(!super::is_range_error("connection refused"));
    }
}
