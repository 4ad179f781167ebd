//! Repeated log lines from the operator server, rate-limited per kind: anyone can send requests that
//! fail, and one WARN line per failure would let a flood fill the operator's disk. The first lines of
//! each kind in a minute are written; the rest are counted and reported as one line.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a kind's line budget lasts.
pub const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    written: u32,
    suppressed: u64,
}

/// Line budget per kind (a static string such as `"request failed"`: the set of kinds is fixed).
#[derive(Debug)]
pub struct LogLimiter {
    per_window: u32,
    kinds: Mutex<HashMap<&'static str, Window>>,
}

impl LogLimiter {
    /// `per_window` lines of each kind per [`WINDOW`].
    pub fn new(per_window: u32) -> Self {
        Self {
            per_window,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a line of `kind` may be written now. `Some(n)`: yes, and `n` lines of this kind
    /// were suppressed since the last report (put it in the line); `None`: count it, write nothing.
    pub fn allow(&self, kind: &'static str) -> Option<u64> {
        self.allow_at(kind, Instant::now())
    }

    /// [`Self::allow`] at a given time (tests).
    pub fn allow_at(&self, kind: &'static str, now: Instant) -> Option<u64> {
        let mut kinds = self.kinds.lock().ok()?;
        let w = kinds.entry(kind).or_insert(Window {
            start: now,
            written: 0,
            suppressed: 0,
        });
        if now.saturating_duration_since(w.start) >= WINDOW {
            w.start = now;
            w.written = 0;
        }
        if w.written < self.per_window {
            w.written += 1;
            Some(std::mem::take(&mut w.suppressed))
        } else {
            w.suppressed += 1;
            None
        }
    }

    /// The suppressed counts not yet reported, per kind, reset to zero (for a periodic summary).
    pub fn take_suppressed(&self) -> Vec<(&'static str, u64)> {
        let Ok(mut kinds) = self.kinds.lock() else {
            return Vec::new();
        };
        let mut out: Vec<(&'static str, u64)> = kinds
            .iter_mut()
            .filter(|(_, w)| w.suppressed > 0)
            .map(|(k, w)| (*k, std::mem::take(&mut w.suppressed)))
            .collect();
        out.sort_unstable();
        out
    }

    /// Writes one WARN line per kind that had lines suppressed since the last report.
    pub fn report_suppressed(&self) {
        for (kind, n) in self.take_suppressed() {
            tracing::warn!(
                kind,
                suppressed = n,
                "repeated log lines suppressed (rate limit)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_writes_the_budget_then_one_count() {
        let l = LogLimiter::new(3);
        let t0 = Instant::now();
        let written: Vec<Option<u64>> = (0..1000).map(|_| l.allow_at("fail", t0)).collect();
        assert_eq!(written.iter().filter(|w| w.is_some()).count(), 3);
        assert_eq!(
            l.allow_at("other", t0),
            Some(0),
            "kinds have their own budget"
        );
        // The next window's first line carries the count, and the summary has nothing left.
        assert_eq!(l.allow_at("fail", t0 + WINDOW), Some(997));
        assert!(l.take_suppressed().is_empty());
        for _ in 0..5 {
            l.allow_at("fail", t0 + WINDOW);
        }
        assert_eq!(l.take_suppressed(), vec![("fail", 3)]);
        assert!(l.take_suppressed().is_empty());
    }
}
