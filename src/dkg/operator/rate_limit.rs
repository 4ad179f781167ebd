//! Per-key request rates (per source address, per initiator key) for the operator server, and the
//! address key itself: token buckets that refill `per_minute` tokens a minute (ssv-dkg's httprate
//! allows the same number per minute), in a table of bounded size so a sender with endless
//! addresses or keys cannot grow it without limit.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Entries kept before full (idle) buckets are dropped; past it, new keys share one bucket.
const MAX_KEYS: usize = 65_536;

/// The address a limit applies to: IPv4 as is, IPv6 by its /64 (one subscriber's prefix: anyone
/// holding one has 2^64 addresses), IPv4-mapped IPv6 as the IPv4 address.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug)]
struct Table<K> {
    buckets: HashMap<K, Bucket>,
    /// Shared by new keys while the table is full of busy keys.
    overflow: Option<Bucket>,
    /// Pruning scans the table: at most once a second.
    pruned: Option<Instant>,
}

/// A token-bucket limiter per key.
#[derive(Debug)]
pub struct RateLimiter<K> {
    per_minute: u32,
    table: Mutex<Table<K>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// At most `per_minute` requests a minute per key, up to `per_minute` at once.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                overflow: None,
                pruned: None,
            }),
        }
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let cap = f64::from(self.per_minute);
        let add = now.saturating_duration_since(b.at).as_secs_f64() * cap / 60.0;
        b.tokens = (b.tokens + add).min(cap);
        b.at = now;
    }

    fn take(&self, b: &mut Bucket, now: Instant) -> bool {
        self.refill(b, now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Takes one token for `key`; false when its bucket is empty.
    pub fn allow(&self, key: &K) -> bool {
        self.allow_at(key, Instant::now())
    }

    /// [`Self::allow`] at a given time (tests).
    pub fn allow_at(&self, key: &K, now: Instant) -> bool {
        let Ok(mut t) = self.table.lock() else {
            return false;
        };
        let fresh = Bucket {
            tokens: f64::from(self.per_minute),
            at: now,
        };
        if let Some(b) = t.buckets.get_mut(key) {
            let mut b2 = *b;
            let ok = self.take(&mut b2, now);
            *b = b2;
            return ok;
        }
        let due = t
            .pruned
            .is_none_or(|p| now.saturating_duration_since(p).as_secs() >= 1);
        if t.buckets.len() >= MAX_KEYS && due {
            t.pruned = Some(now);
            // A full bucket says nothing a missing one would not: drop those.
            let cap = f64::from(self.per_minute);
            let mut buckets = std::mem::take(&mut t.buckets);
            buckets.retain(|_, b| {
                self.refill(b, now);
                b.tokens < cap
            });
            t.buckets = buckets;
        }
        if t.buckets.len() >= MAX_KEYS {
            let mut b = t.overflow.unwrap_or(fresh);
            let ok = self.take(&mut b, now);
            t.overflow = Some(b);
            return ok;
        }
        let mut b = fresh;
        let ok = self.take(&mut b, now);
        t.buckets.insert(key.clone(), b);
        ok
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_key_gets_its_rate_and_refills_while_others_are_untouched() {
        let r = RateLimiter::new(60);
        let t0 = Instant::now();
        let a = "a".to_string();
        for i in 0..60 {
            assert!(r.allow_at(&a, t0), "request {i}");
        }
        assert!(!r.allow_at(&a, t0), "61st within the minute");
        assert!(
            r.allow_at(&"b".to_string(), t0),
            "another key has its own bucket"
        );
        assert!(!r.allow_at(&a, t0 + Duration::from_millis(500)));
        assert!(
            r.allow_at(&a, t0 + Duration::from_millis(1100)),
            "one a second"
        );
        assert!(!r.allow_at(&a, t0 + Duration::from_millis(1200)));
    }

    #[test]
    fn the_table_stays_bounded_and_busy_keys_keep_their_state() {
        let r = RateLimiter::new(2);
        let t0 = Instant::now();
        let busy = u64::MAX;
        assert!(r.allow_at(&busy, t0));
        assert!(r.allow_at(&busy, t0));
        for k in 0..(MAX_KEYS as u64 + 10) {
            r.allow_at(&k, t0);
        }
        assert!(r.table.lock().expect("lock").buckets.len() <= MAX_KEYS);
        assert!(
            !r.allow_at(&busy, t0),
            "an emptied bucket was not forgotten"
        );
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(c));
        let m: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(source_key(m), "192.0.2.7".parse::<IpAddr>().expect("ip"));
    }
}
