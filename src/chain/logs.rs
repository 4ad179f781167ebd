//! Chunked `eth_getLogs`, several ranges in flight: a history of millions of blocks behind a
//! provider that caps ranges at 2 000 or 10 000 blocks takes thousands of requests, and latency,
//! not bandwidth, is what a person waits for. Ranges are handed to the caller strictly in order
//! (every block exactly once, no gap), a range the provider refuses is split in place and the
//! chunk for new ranges shrinks, transient errors are retried with backoff, and an optional rate
//! limit spaces the requests (429s themselves are retried by alloy's retry layer on the scan
//! provider). Forward, or newest-first for "the latest event" searches that stop early.

use std::{
    collections::BTreeMap,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use alloy::{
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log},
};
use futures::stream::{FuturesUnordered, StreamExt};

use super::{Cause, ChainError, SensitiveUrl};

/// How hard a scan may press the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanLimits {
    /// Requests in flight at once.
    pub in_flight: usize,
    /// Requests per second at most (`None`: no limit of our own).
    pub per_second: Option<u32>,
}

impl Default for ScanLimits {
    fn default() -> Self {
        Self {
            in_flight: 8,
            per_second: None,
        }
    }
}

/// Spaces requests to at most `per_second` (shared by every scan of one chain).
#[derive(Debug, Default)]
pub struct Pacer {
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    async fn wait(&self, per_second: Option<u32>) {
        let Some(rate) = per_second.filter(|r| *r > 0) else {
            return;
        };
        let gap = Duration::from_secs(1) / rate;
        let slot = {
            let mut next = self.next.lock().expect("pacer lock");
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + gap);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

/// Scans logs in block ranges.
#[derive(Debug, Clone)]
pub struct LogScanner {
    provider: DynProvider,
    /// Range size for new requests: doubles up to `max_chunk` until the provider refuses one,
    /// then searches between the largest accepted and the smallest refused size.
    chunk: u64,
    max_chunk: u64,
    largest_ok: u64,
    smallest_refused: Option<u64>,
    retries: u32,
    limits: ScanLimits,
    pacer: Arc<Pacer>,
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

/// Why one range failed.
enum Fetch {
    /// The provider refuses this range (too many blocks or results): split it.
    TooLarge,
    /// Anything else, after the retries.
    Failed(ChainError),
}

type Pending = Pin<Box<dyn Future<Output = ((u64, u64), Result<Vec<Log>, Fetch>)> + Send>>;

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
            max_chunk: chunk,
            largest_ok: 0,
            smallest_refused: None,
            retries: 5,
            limits: ScanLimits::default(),
            pacer: Arc::default(),
            calls,
            url: None,
        }
    }

    /// Scrubs this endpoint's secrets from error texts.
    pub fn with_url(mut self, url: SensitiveUrl) -> Self {
        self.url = Some(url);
        self
    }

    /// Requests in flight and per second (`pacer` is shared so all scans of a chain count).
    pub fn with_limits(mut self, limits: ScanLimits, pacer: Arc<Pacer>) -> Self {
        self.limits = ScanLimits {
            in_flight: limits.in_flight.max(1),
            ..limits
        };
        self.pacer = pacer;
        self
    }

    /// `eth_getLogs` calls made so far (for benchmarks and tests).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Visits every log matching `filter` in `[from, to]`, oldest first, one range at a time.
    pub async fn scan_forward(
        &mut self,
        filter: &Filter,
        from: u64,
        to: u64,
        visit: impl FnMut(&[Log]) -> Flow,
    ) -> Result<(), ChainError> {
        self.scan(filter, from, to, false, visit).await
    }

    /// Visits logs in `[from, to]` newest range first (each range's logs still oldest first), so
    /// a search for the latest event stops after the first range that has one.
    pub async fn scan_backward(
        &mut self,
        filter: &Filter,
        from: u64,
        to: u64,
        visit: impl FnMut(&[Log]) -> Flow,
    ) -> Result<(), ChainError> {
        self.scan(filter, from, to, true, visit).await
    }

    async fn scan(
        &mut self,
        filter: &Filter,
        from: u64,
        to: u64,
        backward: bool,
        mut visit: impl FnMut(&[Log]) -> Flow,
    ) -> Result<(), ChainError> {
        if from > to {
            return Ok(());
        }
        // The part of [from, to] not yet handed to a request: [lo, hi].
        let (mut lo, mut hi) = (from, to);
        let mut unassigned = true;
        // Requests complete in any order (no head-of-line wait); answers are handed to `visit`
        // strictly in block order from this buffer, keyed by their first block.
        let mut inflight: FuturesUnordered<Pending> = FuturesUnordered::new();
        let mut ready: BTreeMap<u64, (u64, Vec<Log>)> = BTreeMap::new();
        // The next range edge `visit` needs: its first block (forward) or last block (backward).
        let mut expected = if backward { to } else { from };
        loop {
            // Bounded look-ahead: while the next range in order is slow, at most this many answers
            // wait in the buffer.
            while unassigned
                && inflight.len() < self.limits.in_flight
                && ready.len() < 4 * self.limits.in_flight
            {
                let range = if backward {
                    let start = lo.max(hi.saturating_sub(self.chunk - 1));
                    (start, hi)
                } else {
                    (lo, hi.min(lo.saturating_add(self.chunk - 1)))
                };
                if backward {
                    unassigned = range.0 > lo;
                    hi = range.0.saturating_sub(1);
                } else {
                    unassigned = range.1 < hi;
                    lo = range.1 + 1;
                }
                inflight.push(self.request(filter, range));
            }
            let Some((range, result)) = inflight.next().await else {
                return Ok(());
            };
            match result {
                Ok(mut logs) => {
                    // Providers return a range's logs oldest first; keep it so whatever the order.
                    logs.sort_by_key(|l| (l.block_number, l.log_index));
                    self.accepted(range.1 - range.0 + 1);
                    let key = if backward { range.1 } else { range.0 };
                    ready.insert(key, (if backward { range.0 } else { range.1 }, logs));
                    while let Some((other_edge, logs)) = ready.remove(&expected) {
                        if visit(&logs) == Flow::Stop {
                            return Ok(());
                        }
                        let done = if backward {
                            other_edge <= from
                        } else {
                            other_edge >= to
                        };
                        if done {
                            return Ok(());
                        }
                        expected = if backward {
                            other_edge - 1
                        } else {
                            other_edge + 1
                        };
                    }
                }
                Err(Fetch::TooLarge) if range.1 > range.0 => {
                    let (a, b) = halves(range);
                    self.refused(range.1 - range.0 + 1);
                    inflight.push(self.request(filter, a));
                    inflight.push(self.request(filter, b));
                }
                Err(Fetch::TooLarge) => {
                    return Err(ChainError::Unexpected {
                        what: format!("eth_getLogs {}..={}", range.0, range.1),
                        detail: "the provider refuses even a single block".into(),
                    });
                }
                Err(Fetch::Failed(e)) => return Err(e),
            }
        }
    }

    /// A range of `size` blocks was answered: grow until a refusal, then close in on the limit.
    fn accepted(&mut self, size: u64) {
        self.largest_ok = self.largest_ok.max(size);
        self.chunk = self.next_chunk();
    }

    /// A range of `size` blocks was refused: never ask that much again in this scan.
    fn refused(&mut self, size: u64) {
        self.smallest_refused = Some(self.smallest_refused.map_or(size, |r| r.min(size)));
        self.chunk = self.next_chunk();
    }

    fn next_chunk(&self) -> u64 {
        let ok = self.largest_ok.max(1);
        match self.smallest_refused {
            None => self.chunk.saturating_mul(2).min(self.max_chunk),
            // Bisect while the window is wider than an eighth of what works.
            Some(bad) if bad > ok && bad - ok > ok / 8 => ok + (bad - ok) / 2,
            Some(bad) if bad > ok => ok,
            Some(bad) => (bad / 2).max(1),
        }
    }

    /// One range, retried on transient errors.
    fn request(&self, filter: &Filter, range: (u64, u64)) -> Pending {
        let provider = self.provider.clone();
        let ranged = filter.clone().from_block(range.0).to_block(range.1);
        let (retries, calls, pacer, per_second) = (
            self.retries,
            self.calls.clone(),
            self.pacer.clone(),
            self.limits.per_second,
        );
        let url = self.url.clone();
        Box::pin(async move {
            let mut attempt = 0;
            loop {
                pacer.wait(per_second).await;
                calls.fetch_add(1, Ordering::Relaxed);
                match provider.get_logs(&ranged).await {
                    Ok(logs) => return (range, Ok(logs)),
                    Err(e) if is_range_error(&e.to_string()) => {
                        return (range, Err(Fetch::TooLarge));
                    }
                    Err(e) if attempt < retries => {
                        attempt += 1;
                        tracing::debug!(from = range.0, to = range.1, attempt, error = %e, "eth_getLogs failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200 * (1 << attempt))).await;
                    }
                    Err(e) => {
                        let err = ChainError::Rpc {
                            what: format!("eth_getLogs {}..={}", range.0, range.1),
                            source: Cause::scrubbed(&e, url.as_ref()),
                        };
                        return (range, Err(Fetch::Failed(err)));
                    }
                }
            }
        })
    }
}

fn halves((a, b): (u64, u64)) -> ((u64, u64), (u64, u64)) {
    let mid = a + (b - a) / 2;
    ((a, mid), (mid + 1, b))
}

/// Providers word range refusals differently (Infura, Alchemy, QuickNode, geth, erigon, anvil).
fn is_range_error(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    if m.contains("rate limit") || m.contains("429") {
        return false;
    }
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
        assert!(!super::is_range_error(
            "429 Too Many Requests: rate limit exceeded"
        ));
    }

    #[test]
    fn the_chunk_closes_in_on_the_provider_limit() {
        use alloy::providers::Provider as _;
        let p = alloy::providers::ProviderBuilder::new()
            .connect_http("http://127.0.0.1:1".parse().unwrap())
            .erased();
        let mut s = super::LogScanner::new(p, 50_000);
        let limit = 10_000;
        let mut refusals = 0;
        for _ in 0..40 {
            if s.chunk > limit {
                refusals += 1;
                s.refused(s.chunk);
            } else {
                s.accepted(s.chunk);
            }
        }
        assert!(s.chunk <= limit && s.chunk > limit * 8 / 10, "{}", s.chunk);
        assert!(refusals <= 8, "{refusals}");
    }

    #[test]
    fn halves_cover_the_range_once() {
        assert_eq!(super::halves((10, 20)), ((10, 15), (16, 20)));
        assert_eq!(super::halves((7, 8)), ((7, 7), (8, 8)));
    }
}
