//! The filters the SSV web app offers for choosing operators (DKG endpoint, verified, fee,
//! performance, validator count, MEV relays, private operators) and the agent's own (exclude and
//! prefer lists, the owner's whitelist), as pure functions over [`Candidate`]s: each rejection is a
//! reason in words, and the order the agent ranks operators in is written down once here.

use std::{cmp::Ordering, collections::BTreeSet};

use alloy::primitives::{Address, U256};
use serde::Serialize;

use super::candidates::{Access, Candidate};
use crate::{config::OperatorsConfig, ssv::fees::fee_per_year, ui::fmt_eth};

/// Which operators may be listed or chosen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Only operators with an `https://` ssv-dkg endpoint.
    pub dkg_only: bool,
    /// Only verified operators.
    pub verified_only: bool,
    /// Only public operators and private ones whose whitelist holds the owner.
    pub allowed_only: bool,
    /// Largest fee per validator and year, in the currency a new cluster pays (chain value).
    pub max_yearly_fee: Option<U256>,
    /// Smallest 30-day performance, percent.
    pub min_performance_30d: f64,
    /// Smallest validator count (chain value).
    pub min_validators: u64,
    /// MEV relays the operator must list (case-insensitive).
    pub mev_relays: Vec<String>,
    /// Ids never to use.
    pub exclude: BTreeSet<u64>,
}

/// A setting of the policy that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A percentage outside 0..=100.
    #[error("operators.min_performance_30d is {0}; a percentage between 0 and 100")]
    Performance(f64),
}

impl Filters {
    /// The filters of the `[operators]` policy, for choosing: DKG endpoint and the owner's access
    /// are always required there.
    pub fn for_choosing(c: &OperatorsConfig) -> Result<Self, PolicyError> {
        if !(0.0..=100.0).contains(&c.min_performance_30d) {
            return Err(PolicyError::Performance(c.min_performance_30d));
        }
        Ok(Self {
            dkg_only: true,
            verified_only: c.verified_only,
            allowed_only: true,
            max_yearly_fee: c.max_yearly_fee.map(|a| a.0),
            min_performance_30d: c.min_performance_30d,
            min_validators: u64::from(c.min_validators),
            mev_relays: c.mev_relays.clone(),
            exclude: c.exclude.iter().copied().collect(),
        })
    }
}

/// Why a candidate does not pass.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    /// Not registered on chain, or removed.
    #[error("not registered on chain (or removed)")]
    NotOnChain,
    /// No ssv-dkg endpoint.
    #[error("publishes no DKG endpoint")]
    NoDkgEndpoint,
    /// An endpoint ssv-dkg would refuse.
    #[error("its DKG endpoint {address:?} is not https://")]
    NotHttps {
        /// The endpoint.
        address: String,
    },
    /// Not verified.
    #[error("not verified")]
    NotVerified,
    /// Private and the owner is not on its whitelist.
    #[error("private, and its whitelist does not include {owner}")]
    NotWhitelisted {
        /// The owner.
        owner: Address,
    },
    /// Private and no owner to check.
    #[error("private (give the owner to check its whitelist)")]
    PrivateUnchecked,
    /// Fee above the maximum.
    #[error("fee {fee} a year is above the maximum {max}")]
    FeeAbove {
        /// Its yearly fee (formatted).
        fee: String,
        /// The maximum (formatted).
        max: String,
    },
    /// 30-day performance below the minimum.
    #[error("30-day performance {have:.2}% is below {min:.2}%")]
    Performance {
        /// Its performance.
        have: f64,
        /// The minimum.
        min: f64,
    },
    /// Too few validators.
    #[error("runs {have} validators, fewer than {min}")]
    Validators {
        /// Its count.
        have: u64,
        /// The minimum.
        min: u64,
    },
    /// MEV relays missing.
    #[error("does not list the MEV relay(s) {missing:?}")]
    MevRelays {
        /// The relays it lacks.
        missing: Vec<String>,
    },
    /// On the exclude list.
    #[error("excluded by the policy")]
    Excluded,
}

/// Every reason `c` fails `f` (empty = it passes). `owner` names the whitelist checked.
pub fn rejections(
    c: &Candidate,
    f: &Filters,
    owner: Option<Address>,
    blocks_per_day: u64,
) -> Vec<Rejection> {
    let mut out = Vec::new();
    if !c.chain.exists {
        out.push(Rejection::NotOnChain);
    }
    if f.exclude.contains(&c.id()) {
        out.push(Rejection::Excluded);
    }
    if f.dkg_only {
        match &c.api.dkg_address {
            None => out.push(Rejection::NoDkgEndpoint),
            Some(a) if !a.starts_with("https://") => {
                out.push(Rejection::NotHttps { address: a.clone() });
            }
            Some(_) => {}
        }
    }
    if f.verified_only && !c.api.verified {
        out.push(Rejection::NotVerified);
    }
    if f.allowed_only {
        match (c.access, owner) {
            (Access::NotAllowed, Some(owner)) => out.push(Rejection::NotWhitelisted { owner }),
            (Access::Unknown, _) | (Access::NotAllowed, None) => {
                out.push(Rejection::PrivateUnchecked);
            }
            _ => {}
        }
    }
    if let Some(max) = f.max_yearly_fee {
        let fee = fee_per_year(c.fee(), blocks_per_day);
        if fee > max {
            out.push(Rejection::FeeAbove {
                fee: fmt_eth(fee),
                max: fmt_eth(max),
            });
        }
    }
    if c.api.performance_30d < f.min_performance_30d {
        out.push(Rejection::Performance {
            have: c.api.performance_30d,
            min: f.min_performance_30d,
        });
    }
    if c.chain.validators < f.min_validators {
        out.push(Rejection::Validators {
            have: c.chain.validators,
            min: f.min_validators,
        });
    }
    let missing: Vec<String> = f
        .mev_relays
        .iter()
        .filter(|want| {
            !c.api
                .mev_relays
                .iter()
                .any(|r| r.eq_ignore_ascii_case(want))
        })
        .cloned()
        .collect();
    if !missing.is_empty() {
        out.push(Rejection::MevRelays { missing });
    }
    out
}

/// What a listing is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Operator id.
    Id,
    /// Name (case-insensitive).
    Name,
    /// Chain fee.
    Fee,
    /// 30-day performance.
    Performance,
    /// Validator count (chain).
    Validators,
}

impl std::str::FromStr for SortKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "id" => Self::Id,
            "name" => Self::Name,
            "fee" => Self::Fee,
            "performance" | "performance30d" => Self::Performance,
            "validators" | "validatorsCount" => Self::Validators,
            other => {
                return Err(format!(
                    "`{other}` is not an order: id, name, fee, performance or validators"
                ));
            }
        })
    }
}

/// Sorts by `key` (ties by id ascending, so the order is total and stable).
pub fn sort(cands: &mut [Candidate], key: SortKey, desc: bool) {
    cands.sort_by(|a, b| {
        let o = match key {
            SortKey::Id => a.id().cmp(&b.id()),
            SortKey::Name => a.api.name.to_lowercase().cmp(&b.api.name.to_lowercase()),
            SortKey::Fee => a.fee().cmp(&b.fee()),
            SortKey::Performance => a.api.performance_30d.total_cmp(&b.api.performance_30d),
            SortKey::Validators => a.chain.validators.cmp(&b.chain.validators),
        };
        let o = if desc { o.reverse() } else { o };
        o.then(a.id().cmp(&b.id()))
    });
}

/// The order the agent chooses in: the `prefer` list first (in its order), then verified
/// operators, higher 30-day performance, lower fee, more validators, lower id.
pub fn rank_order(a: &Candidate, b: &Candidate, prefer: &[u64]) -> Ordering {
    let pos = |c: &Candidate| {
        prefer
            .iter()
            .position(|p| *p == c.id())
            .unwrap_or(usize::MAX)
    };
    pos(a)
        .cmp(&pos(b))
        .then(b.api.verified.cmp(&a.api.verified))
        .then(b.api.performance_30d.total_cmp(&a.api.performance_30d))
        .then(a.fee().cmp(&b.fee()))
        .then(b.chain.validators.cmp(&a.chain.validators))
        .then(a.id().cmp(&b.id()))
}

/// Why a candidate ranks where it does, in words (for "why each was chosen").
pub fn describe_merits(c: &Candidate, prefer: &[u64], blocks_per_day: u64) -> String {
    let mut parts = Vec::new();
    if prefer.contains(&c.id()) {
        parts.push("on the prefer list".to_string());
    }
    parts.push(
        if c.api.verified {
            "verified"
        } else {
            "not verified"
        }
        .to_string(),
    );
    parts.push(format!("{:.2}% over 30 days", c.api.performance_30d));
    let currency = if c.chain.eth_fee.is_some() {
        "ETH"
    } else {
        "SSV"
    };
    parts.push(format!(
        "{} {currency} a year",
        fmt_eth(fee_per_year(c.fee(), blocks_per_day))
    ));
    parts.push(format!("{} validator(s)", c.chain.validators));
    if c.access == Access::Allowed {
        parts.push("private, allows this owner".to_string());
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::{api::ApiOperator, candidates::ChainFacts};

    use crate::operators::test_key as key;

    fn cand(id: u64, f: impl FnOnce(&mut serde_json::Value, &mut ChainFacts)) -> Candidate {
        let mut v = serde_json::json!({
            "id": id, "public_key": key(), "name": format!("op{id}"),
            "dkg_address": format!("https://op{id}:3030"), "type": "operator",
            "performance": {"24h": 99.0, "30d": 99.0}, "mev_relays": "Flashbots"
        });
        let mut chain = ChainFacts {
            exists: true,
            eth_fee: Some(U256::from(1_000_000_000u64)),
            ssv_fee: U256::ZERO,
            validators: 10,
            is_private: false,
        };
        f(&mut v, &mut chain);
        let access = if chain.is_private {
            Access::NotAllowed
        } else {
            Access::Public
        };
        Candidate {
            api: ApiOperator::from_json(&v).unwrap(),
            chain,
            access,
        }
    }

    fn passing(cands: &[Candidate], f: &Filters) -> Vec<u64> {
        let owner = Some(Address::repeat_byte(5));
        cands
            .iter()
            .filter(|c| rejections(c, f, owner, 7_200).is_empty())
            .map(Candidate::id)
            .collect()
    }

    #[test]
    fn each_filter_rejects_with_its_reason() {
        let cands = vec![
            cand(1, |_, _| {}),
            cand(2, |v, _| v["dkg_address"] = "".into()),
            cand(3, |v, _| v["dkg_address"] = "http://op3:3030".into()),
            cand(4, |_, c| c.exists = false),
            cand(5, |_, c| c.is_private = true),
            cand(6, |_, c| c.eth_fee = Some(U256::from(3_000_000_000u64))),
            cand(7, |v, _| v["performance"]["30d"] = 95.5.into()),
            cand(8, |_, c| c.validators = 2),
            cand(9, |v, _| v["mev_relays"] = "Aestus".into()),
            cand(10, |v, _| v["type"] = "verified_operator".into()),
        ];
        let all = Filters::default();
        // Only the chain's "does not exist" applies without filters.
        assert_eq!(passing(&cands, &all), vec![1, 2, 3, 5, 6, 7, 8, 9, 10]);
        let strict = Filters {
            dkg_only: true,
            allowed_only: true,
            // 0.006 ETH a year is 2.28 gwei a block at 7 200 blocks a day: 1 gwei passes, 3 do not.
            max_yearly_fee: Some(U256::from(6_000_000_000_000_000u64)),
            min_performance_30d: 98.0,
            min_validators: 5,
            mev_relays: vec!["flashbots".into()],
            exclude: [10].into(),
            ..Filters::default()
        };
        assert_eq!(passing(&cands, &strict), vec![1]);
        let verified = Filters {
            verified_only: true,
            ..Filters::default()
        };
        assert_eq!(passing(&cands, &verified), vec![10]);
        let words: Vec<String> = cands
            .iter()
            .flat_map(|c| rejections(c, &strict, Some(Address::repeat_byte(5)), 7_200))
            .map(|r| r.to_string())
            .collect();
        for want in [
            "publishes no DKG endpoint",
            "is not https://",
            "not registered on chain",
            "whitelist does not include",
            "above the maximum 0.006000",
            "95.50% is below 98.00%",
            "runs 2 validators, fewer than 5",
            "\"flashbots\"",
            "excluded",
        ] {
            assert!(words.iter().any(|w| w.contains(want)), "{want}: {words:?}");
        }
    }

    #[test]
    fn ranking_prefers_the_list_then_verified_performance_and_fee() {
        let mut cands = [
            cand(1, |v, _| v["performance"]["30d"] = 97.0.into()),
            cand(2, |v, _| v["type"] = "verified_operator".into()),
            cand(3, |v, _| v["performance"]["30d"] = 99.9.into()),
            cand(4, |_, c| c.eth_fee = Some(U256::from(900_000_000u64))),
            cand(5, |_, _| {}),
        ];
        cands.sort_by(|a, b| rank_order(a, b, &[5]));
        let ids: Vec<u64> = cands.iter().map(Candidate::id).collect();
        assert_eq!(ids, vec![5, 2, 3, 4, 1]);
        sort(&mut cands, SortKey::Fee, false);
        assert_eq!(cands[0].id(), 4);
        sort(&mut cands, SortKey::Id, true);
        assert_eq!(cands[0].id(), 5);
    }
}
