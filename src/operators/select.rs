//! Choosing operators that will answer: the SSV API's listing with the chain's facts over it
//! ([`pool`]), the policy's filters and ranking, then health checks in rank order until enough
//! healthy operators are found ([`choose`]); and, for a fixed list, swapping the ones that fail
//! their check for the best healthy ones that fit the policy ([`replace_unhealthy`]). Every choice
//! and every operator passed over carries its reason in words.
//!
//! Keys always come from the chain; an operator whose key the API lists differently is checked
//! (and would be used) with the chain's key.

use std::collections::BTreeSet;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use super::{
    api::{ApiClient, ApiError, ListQuery, Skipped},
    candidates::{Access, Candidate, read_access, read_candidates, read_facts},
    filter::{Filters, Rejection, describe_merits, rank_order, rejections},
    health::{CheckOptions, Health, Target, check_all},
};
use crate::{
    chain::{Chain, ChainError},
    crypto::rsa_keys::OperatorPublicKey,
    dkg::initiator::OperatorInfo,
};

/// A choice that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// The SSV API failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// A chain read failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Too few healthy operators fit the policy.
    #[error(
        "{found} healthy operator(s) fit the policy, {wanted} are needed; loosen [operators] (verified_only, max_yearly_fee, min_performance_30d, min_validators, mev_relays, exclude) or choose ids yourself. Passed over: {}",
        first_reasons(passed_over)
    )]
    NotEnough {
        /// Needed.
        wanted: usize,
        /// Found.
        found: usize,
        /// Operators passed over, each with its reason.
        passed_over: Vec<String>,
    },
    /// A fixed list has operators that fail their check, and replacing them is off.
    #[error(
        "{}; set operators.replace_unhealthy = true to let the agent swap them for healthy ones, or choose other ids",
        problems.join("; ")
    )]
    Unhealthy {
        /// Each failing operator with its problem.
        problems: Vec<String>,
    },
}

/// The first reasons, and how many more (a mainnet listing can reject hundreds).
fn first_reasons(all: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut s = all
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if all.len() > SHOWN {
        s.push_str(&format!("; and {} more", all.len() - SHOWN));
    }
    s
}

/// How to choose.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Which operators may be chosen.
    pub filters: Filters,
    /// Ids to choose first.
    pub prefer: Vec<u64>,
    /// How to check them.
    pub check: CheckOptions,
}

/// Everything listed, judged.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Operators that pass the filters, best first.
    pub ranked: Vec<Candidate>,
    /// Operators that do not, with every reason.
    pub rejected: Vec<(Candidate, Vec<Rejection>)>,
    /// API entries that could not be used.
    pub skipped: Vec<Skipped>,
    /// The block the chain facts were read at.
    pub block: u64,
}

/// Reads the listing (the API applies the DKG and verified filters itself, the rest is checked
/// here against the chain's facts) and ranks what passes.
pub async fn pool(
    api: &ApiClient,
    chain: &Chain,
    owner: Option<Address>,
    policy: &Policy,
    query: &ListQuery,
) -> Result<Pool, SelectError> {
    let listing = api.list_all(query).await?;
    let block = chain.head().await?;
    let candidates = read_candidates(chain, listing.operators, owner, block).await?;
    let bpd = chain.profile().blocks_per_day;
    let mut ranked = Vec::new();
    let mut rejected = Vec::new();
    for c in candidates {
        let why = rejections(&c, &policy.filters, owner, bpd);
        if why.is_empty() {
            ranked.push(c);
        } else {
            rejected.push((c, why));
        }
    }
    ranked.sort_by(|a, b| rank_order(a, b, &policy.prefer));
    Ok(Pool {
        ranked,
        rejected,
        skipped: listing.skipped,
        block,
    })
}

/// One chosen operator.
#[derive(Debug, Clone, Serialize)]
pub struct Pick {
    /// Operator id.
    pub id: u64,
    /// Its name (from the API, or `Operator <id>`).
    pub name: String,
    /// Why it was chosen, in words.
    pub why: String,
    /// Its health check.
    pub health: Health,
    /// Endpoint and the chain's key, for the initiator.
    #[serde(skip)]
    pub info: OperatorInfo,
}

/// An operator of a fixed list that was swapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    /// The id that failed its check.
    pub replaced: u64,
    /// The id that took its place.
    pub by: u64,
    /// What was wrong with the replaced one.
    pub reason: String,
}

/// The outcome of a choice.
#[derive(Debug, Clone, Serialize)]
pub struct Selection {
    /// The operators, sorted by id.
    pub chosen: Vec<Pick>,
    /// Swaps made in a fixed list.
    pub replaced: Vec<Replacement>,
    /// Operators checked and passed over, each with its reason.
    pub passed_over: Vec<String>,
}

impl Selection {
    /// The chosen ids, sorted.
    pub fn ids(&self) -> Vec<u64> {
        self.chosen.iter().map(|p| p.id).collect()
    }

    /// The initiator's view of the chosen operators.
    pub fn operator_infos(&self) -> Vec<OperatorInfo> {
        self.chosen.iter().map(|p| p.info.clone()).collect()
    }
}

/// The chain's side of a health check for `entries` (id, endpoint): existence, the registered key
/// (one log scan for all) and the owner's whitelist, in the order given.
pub async fn targets(
    chain: &Chain,
    entries: &[(u64, Option<String>)],
    owner: Option<Address>,
) -> Result<Vec<Target>, ChainError> {
    let ids: Vec<u64> = entries.iter().map(|(id, _)| *id).collect();
    let block = chain.head().await?;
    let facts = read_facts(chain, &ids, block).await?;
    let keys = chain.operator_public_keys(&ids).await?;
    let access = read_access(chain, &ids, &facts, owner).await?;
    Ok(entries
        .iter()
        .zip(facts)
        .zip(keys)
        .zip(access)
        .map(|((((id, endpoint), f), key), access)| Target {
            id: *id,
            endpoint: endpoint.clone(),
            registered_key: key.and_then(|k| OperatorPublicKey::from_base64_pem(&k).ok()),
            on_chain: f.exists,
            not_allowed_for: owner.filter(|_| access == Access::NotAllowed),
        })
        .collect())
}

/// Checks `ranked` in order, a wave at a time, until `need` are healthy; returns the healthy ones
/// in rank order and, in words, the ones passed over.
pub async fn pick_healthy(
    chain: &Chain,
    ranked: &[&Candidate],
    need: usize,
    policy: &Policy,
    owner: Option<Address>,
) -> Result<(Vec<Pick>, Vec<String>), ChainError> {
    let bpd = chain.profile().blocks_per_day;
    let mut picks = Vec::new();
    let mut passed = Vec::new();
    let mut next = 0;
    while picks.len() < need && next < ranked.len() {
        // Check a few more than needed at once: most unhealthy operators fail fast.
        let wave = ((need - picks.len()) * 2).clamp(4, policy.check.concurrency.max(4));
        let batch = &ranked[next..(next + wave).min(ranked.len())];
        next += batch.len();
        let entries: Vec<(u64, Option<String>)> = batch
            .iter()
            .map(|c| (c.id(), c.api.dkg_address.clone()))
            .collect();
        let t = targets(chain, &entries, owner).await?;
        let health = check_all(&t, &policy.check).await;
        for ((c, target), h) in batch.iter().zip(&t).zip(health) {
            let label = format!("operator {} ({})", c.id(), c.api.name);
            match (&target.registered_key, &target.endpoint) {
                (Some(key), Some(url)) if h.healthy() && picks.len() < need => {
                    let mut why = describe_merits(c, &policy.prefer, bpd);
                    why.push_str(&format!("; {}", h.summary()));
                    if key != &c.api.public_key {
                        why.push_str("; the SSV API lists another key, the chain's is used");
                    }
                    picks.push(Pick {
                        id: c.id(),
                        name: c.api.name.clone(),
                        why,
                        info: OperatorInfo {
                            id: c.id(),
                            key: key.clone(),
                            url: url.clone(),
                        },
                        health: h,
                    });
                }
                _ if h.healthy() => {}
                _ => passed.push(format!("{label} {}", h.summary())),
            }
        }
    }
    Ok((picks, passed))
}

/// `validators.operators = "auto"`: the best `count` healthy operators of the pool.
pub async fn choose(
    chain: &Chain,
    pool: &Pool,
    count: usize,
    policy: &Policy,
    owner: Option<Address>,
) -> Result<Selection, SelectError> {
    let ranked: Vec<&Candidate> = pool.ranked.iter().collect();
    let (mut chosen, passed_over) = pick_healthy(chain, &ranked, count, policy, owner).await?;
    if chosen.len() < count {
        let mut all = passed_over;
        all.extend(pool.rejected.iter().map(|(c, why)| {
            format!(
                "operator {} ({}) {}",
                c.id(),
                c.api.name,
                why.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }));
        return Err(SelectError::NotEnough {
            wanted: count,
            found: chosen.len(),
            passed_over: all,
        });
    }
    chosen.sort_by_key(|p| p.id);
    Ok(Selection {
        chosen,
        replaced: Vec::new(),
        passed_over,
    })
}

/// A fixed list, checked: each operator with its target (endpoint, chain key) and health.
#[derive(Debug, Clone)]
pub struct FixedCheck {
    /// In the list's order.
    pub operators: Vec<(Target, Health)>,
}

impl FixedCheck {
    /// Checks the listed operators (`entries`: id and endpoint).
    pub async fn run(
        chain: &Chain,
        entries: &[(u64, Option<String>)],
        owner: Option<Address>,
        check: &CheckOptions,
    ) -> Result<Self, ChainError> {
        let t = targets(chain, entries, owner).await?;
        let health = check_all(&t, check).await;
        Ok(Self {
            operators: t.into_iter().zip(health).collect(),
        })
    }

    /// The failing operators, each with its problem in words.
    pub fn problems(&self) -> Vec<String> {
        self.operators
            .iter()
            .filter(|(_, h)| !h.healthy())
            .map(|(t, h)| format!("operator {} {}", t.id, h.summary()))
            .collect()
    }

    /// The list as picks when every operator is healthy.
    pub fn into_selection(self) -> Result<Selection, SelectError> {
        let problems = self.problems();
        if !problems.is_empty() {
            return Err(SelectError::Unhealthy { problems });
        }
        let mut chosen: Vec<Pick> = self.operators.into_iter().filter_map(pick_of).collect();
        chosen.sort_by_key(|p| p.id);
        Ok(Selection {
            chosen,
            replaced: Vec::new(),
            passed_over: Vec::new(),
        })
    }
}

fn pick_of((t, h): (Target, Health)) -> Option<Pick> {
    Some(Pick {
        id: t.id,
        name: format!("Operator {}", t.id),
        why: format!("on the fixed list; {}", h.summary()),
        info: OperatorInfo {
            id: t.id,
            key: t.registered_key?,
            url: t.endpoint?,
        },
        health: h,
    })
}

/// `replace_unhealthy`: keeps the healthy operators of `fixed` and swaps each failing one for the
/// best healthy operator of `pool` not already in the list.
pub async fn replace_unhealthy(
    chain: &Chain,
    fixed: FixedCheck,
    pool: &Pool,
    policy: &Policy,
    owner: Option<Address>,
) -> Result<Selection, SelectError> {
    let listed: BTreeSet<u64> = fixed.operators.iter().map(|(t, _)| t.id).collect();
    let (healthy, failing): (Vec<_>, Vec<_>) =
        fixed.operators.into_iter().partition(|(_, h)| h.healthy());
    let mut chosen: Vec<Pick> = healthy.into_iter().filter_map(pick_of).collect();
    let ranked: Vec<&Candidate> = pool
        .ranked
        .iter()
        .filter(|c| !listed.contains(&c.id()) && c.access != Access::NotAllowed)
        .collect();
    let (subs, passed_over) = pick_healthy(chain, &ranked, failing.len(), policy, owner).await?;
    if subs.len() < failing.len() {
        let mut all: Vec<String> = failing
            .iter()
            .map(|(t, h)| format!("operator {} {}", t.id, h.summary()))
            .collect();
        all.extend(passed_over);
        return Err(SelectError::NotEnough {
            wanted: failing.len(),
            found: subs.len(),
            passed_over: all,
        });
    }
    let replaced = failing
        .iter()
        .zip(&subs)
        .map(|((t, h), by)| Replacement {
            replaced: t.id,
            by: by.id,
            reason: h.summary(),
        })
        .collect();
    chosen.extend(subs);
    chosen.sort_by_key(|p| p.id);
    Ok(Selection {
        chosen,
        replaced,
        passed_over,
    })
}
