//! The run's operators: which ones (`validators.operators`: a fixed list, or `"auto"` under the
//! `[operators]` policy), where their ssv-dkg endpoints are (an ssv-dkg `operators_info.json`, or
//! the SSV API), each checked against the chain (registered, its key, the owner's whitelist) and
//! for health. With `replace_unhealthy` a failing operator of a fixed list is swapped for the best
//! healthy one that fits the policy. All of that happens only while no ceremony output exists:
//! from the first output on the choice is pinned, checked, and never changed.

use std::{collections::BTreeMap, path::Path, time::Duration};

use alloy::primitives::Address;
use serde::Deserialize;

use super::{
    PipelineError,
    plan::{ChosenRecord, RunPlan, SelectionRecord, check_pinned_request},
};
use crate::{
    chain::Chain,
    config::{Config, OperatorChoice},
    crypto::rsa_keys::OperatorPublicKey,
    dkg::{
        initiator::{ClientTls, OperatorInfo},
        transport::threshold_for,
    },
    operators::{
        ApiClient, ApiOptions, CheckOptions, Filters, ListQuery, Policy, Selection,
        select::{self, FixedCheck},
    },
    ui::Reporter,
};

#[derive(Debug, Deserialize)]
struct InfoEntry {
    id: u64,
    public_key: String,
    ip: String,
}

/// Reads the operators info file and keeps the chosen ids, refusing any id it does not list.
pub fn load_operators_info(path: &Path, ids: &[u64]) -> Result<Vec<OperatorInfo>, PipelineError> {
    let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
        action: "cannot read the operators info file",
        path: path.to_owned(),
        source,
    })?;
    let entries: Vec<InfoEntry> = serde_json::from_str(&text).map_err(|e| {
        PipelineError::Setting(format!(
            "{}: not an ssv-dkg operators info list ([{{\"id\", \"public_key\", \"ip\"}}]): {e}",
            path.display()
        ))
    })?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let e = entries.iter().find(|e| e.id == *id).ok_or_else(|| {
            PipelineError::Setting(format!(
                "operator {id} is chosen in validators.operators but {} does not list it",
                path.display()
            ))
        })?;
        let key = OperatorPublicKey::from_base64_pem(&e.public_key).map_err(|err| {
            PipelineError::Setting(format!(
                "{}: operator {id} public_key: {err}",
                path.display()
            ))
        })?;
        out.push(OperatorInfo {
            id: *id,
            key,
            url: e.ip.trim_end_matches('/').to_string(),
        });
    }
    Ok(out)
}

/// What the operator choice needs from preflight.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// The chain (the fork in a dry run: the same facts).
    pub chain: &'a Chain,
    /// The cluster owner.
    pub owner: Address,
    /// The run file, if the output folder has one.
    pub stored: Option<&'a RunPlan>,
    /// The operators of the ceremony outputs already on disk.
    pub pinned: Option<Vec<u64>>,
    /// Ceremonies still to run.
    pub ceremonies_left: usize,
    /// Operator TLS trust.
    pub tls: &'a ClientTls,
    /// Progress output.
    pub ui: &'a Reporter,
}

/// The run's operators.
#[derive(Debug)]
pub struct RunOperators {
    /// Sorted ids.
    pub ids: Vec<u64>,
    /// Endpoints and chain keys for the initiator; `None` when no ceremony is left to run.
    pub initiator: Option<Vec<OperatorInfo>>,
    /// How they were chosen, for the run file.
    pub record: Option<SelectionRecord>,
    /// The ssv-dkg version they report (for the preflight line).
    pub version: Option<String>,
}

/// The `[operators]` policy, for choosing.
pub fn policy(config: &Config, tls: &ClientTls) -> Result<Policy, PipelineError> {
    let c = &config.operators;
    let filters = Filters::for_choosing(c).map_err(|e| PipelineError::preflight("operators", e))?;
    Ok(Policy {
        filters,
        prefer: c.prefer.clone(),
        check: CheckOptions {
            tls: tls.clone(),
            timeout: Duration::from_secs(c.check_timeout_secs.max(1)),
            concurrency: 16,
        },
    })
}

fn api(config: &Config, chain: &Chain) -> Result<ApiClient, PipelineError> {
    ApiClient::new(
        &config.operators.ssv_api_url,
        &chain.profile().name,
        ApiOptions::default(),
    )
    .map_err(|e| PipelineError::preflight("operators", e))
}

fn cluster_size(n: usize, what: &str) -> Result<(), PipelineError> {
    if threshold_for(n).is_none() {
        return Err(PipelineError::Setting(format!(
            "{what} is {n} operators; a cluster has 4, 7, 10 or 13"
        )));
    }
    Ok(())
}

/// Chooses (or confirms the pinned) operators and reports why each is there.
pub async fn choose_for_run(i: &Inputs<'_>) -> Result<RunOperators, PipelineError> {
    let requested = i.config.validators.operators.clone();
    let policy = policy(i.config, i.tls)?;
    if let Some(pinned) = &i.pinned {
        return pinned_operators(i, pinned, &requested, &policy).await;
    }
    let selection = match &requested {
        OperatorChoice::Auto => {
            let count = i.config.operators.count;
            cluster_size(count, "operators.count")?;
            let mut policy = policy.clone();
            // A choice made before (no ceremony output since) is kept when still healthy.
            if let Some(s) = i.stored {
                let mut prefer = s.operator_ids.clone();
                for p in &policy.prefer {
                    if !prefer.contains(p) {
                        prefer.push(*p);
                    }
                }
                policy.prefer = prefer;
            }
            let query = ListQuery {
                dkg_only: true,
                verified_only: policy.filters.verified_only,
                ..ListQuery::default()
            };
            let pool = select::pool(
                &api(i.config, i.chain)?,
                i.chain,
                Some(i.owner),
                &policy,
                &query,
            )
            .await
            .map_err(|e| PipelineError::preflight("operators", e))?;
            i.ui.info(format!(
                "operators: {} listed by the SSV API fit the policy ({} do not, {} unusable entries); checking them in rank order",
                pool.ranked.len(),
                pool.rejected.len(),
                pool.skipped.len()
            ));
            select::choose(i.chain, &pool, count, &policy, Some(i.owner))
                .await
                .map_err(|e| PipelineError::preflight("operators", e))?
        }
        OperatorChoice::Ids(ids) => fixed_list(i, ids, &policy).await?,
    };
    report(i.ui, &selection);
    Ok(run_operators(&requested, selection))
}

/// A fixed list: checked, and (with `replace_unhealthy`) repaired.
async fn fixed_list(
    i: &Inputs<'_>,
    ids: &[u64],
    policy: &Policy,
) -> Result<Selection, PipelineError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    cluster_size(ids.len(), "validators.operators")?;
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(PipelineError::Setting(
            "validators.operators lists an operator twice".into(),
        ));
    }
    let (fixed, names) = check_listed(i, &ids, policy).await?;
    let problems = fixed.problems();
    let selection = if problems.is_empty() {
        fixed.into_selection()
    } else if i.config.operators.replace_unhealthy {
        let pool = select::pool(
            &api(i.config, i.chain)?,
            i.chain,
            Some(i.owner),
            policy,
            &ListQuery {
                dkg_only: true,
                verified_only: policy.filters.verified_only,
                ..ListQuery::default()
            },
        )
        .await
        .map_err(|e| PipelineError::preflight("operators", e))?;
        select::replace_unhealthy(i.chain, fixed, &pool, policy, Some(i.owner)).await
    } else {
        fixed.into_selection()
    }
    .map_err(|e| PipelineError::preflight("operators", e))?;
    Ok(named(selection, &names))
}

/// The pinned operators: the config must not name others, and when ceremonies are left they must
/// all be healthy now (they are never replaced).
async fn pinned_operators(
    i: &Inputs<'_>,
    pinned: &[u64],
    requested: &OperatorChoice,
    policy: &Policy,
) -> Result<RunOperators, PipelineError> {
    let dir = &i.config.validators.output_dir;
    check_pinned_request(
        pinned,
        requested,
        i.stored,
        i.config.operators.replace_unhealthy,
        dir,
    )?;
    let record = i.stored.and_then(|s| s.selection.clone());
    if i.ceremonies_left == 0 {
        i.ui.info(format!(
            "operators {pinned:?}: pinned by the ceremony outputs in {}; every ceremony is done, so they are not contacted",
            dir.display()
        ));
        return Ok(RunOperators {
            ids: pinned.to_vec(),
            initiator: None,
            record,
            version: None,
        });
    }
    let (fixed, _) = check_listed(i, pinned, policy).await?;
    let problems = fixed.problems();
    if !problems.is_empty() {
        return Err(PipelineError::preflight_reason(
            "operators",
            format!(
                "{}; these operators are pinned since the first ceremony output in {} and are never replaced after it: wait until they answer again, then rerun",
                problems.join("; "),
                dir.display()
            ),
        ));
    }
    let selection = fixed
        .into_selection()
        .map_err(|e| PipelineError::preflight("operators", e))?;
    let mut out = run_operators(requested, selection);
    out.record = record.or(out.record);
    Ok(out)
}

/// Endpoints for `ids` (the info file, or the SSV API by id), checked against the chain. A key
/// in the info file that is not the registered one is refused: it is the user's file to fix.
async fn check_listed(
    i: &Inputs<'_>,
    ids: &[u64],
    policy: &Policy,
) -> Result<(FixedCheck, BTreeMap<u64, String>), PipelineError> {
    let mut names = BTreeMap::new();
    let mut listed_keys = BTreeMap::new();
    let entries: Vec<(u64, Option<String>)> = match &i.config.validators.operators_info_file {
        Some(file) => load_operators_info(file, ids)?
            .into_iter()
            .map(|o| {
                listed_keys.insert(o.id, o.key);
                (o.id, Some(o.url))
            })
            .collect(),
        None => {
            let api = api(i.config, i.chain)?;
            let mut tasks = tokio::task::JoinSet::new();
            for id in ids {
                let (api, id) = (api.clone(), *id);
                tasks.spawn(async move { api.operator(id).await });
            }
            let mut found = BTreeMap::new();
            while let Some(joined) = tasks.join_next().await {
                let op = joined
                    .map_err(|e| PipelineError::preflight("operators", e))?
                    .map_err(|e| {
                        PipelineError::preflight_reason(
                            "operators",
                            format!(
                                "{e}; the DKG endpoints come from the SSV API (operators.ssv_api_url) unless validators.operators_info_file names an ssv-dkg operators_info.json"
                            ),
                        )
                    })?;
                names.insert(op.id, op.name.clone());
                found.insert(op.id, op.dkg_address);
            }
            ids.iter()
                .map(|id| (*id, found.remove(id).flatten()))
                .collect()
        }
    };
    let fixed = FixedCheck::run(i.chain, &entries, Some(i.owner), &policy.check).await?;
    for (t, _) in &fixed.operators {
        if let (Some(listed), Some(chain)) = (listed_keys.get(&t.id), &t.registered_key)
            && listed != chain
        {
            return Err(PipelineError::preflight_reason(
                "operators",
                format!(
                    "the public key listed for operator {} differs from the one registered on chain; fix the operators info file",
                    t.id
                ),
            ));
        }
    }
    Ok((fixed, names))
}

fn named(mut s: Selection, names: &BTreeMap<u64, String>) -> Selection {
    for p in &mut s.chosen {
        if let Some(n) = names.get(&p.id) {
            p.name = n.clone();
        }
    }
    s
}

fn report(ui: &Reporter, s: &Selection) {
    for p in &s.chosen {
        ui.info(format!("operator {} ({}) chosen: {}", p.id, p.name, p.why));
    }
    for r in &s.replaced {
        ui.warn(format!(
            "operator {} replaced by operator {} before any ceremony output exists: operator {} {}",
            r.replaced, r.by, r.replaced, r.reason
        ));
    }
    for p in &s.passed_over {
        ui.info(format!("passed over: {p}"));
    }
}

fn run_operators(requested: &OperatorChoice, s: Selection) -> RunOperators {
    let version = s.chosen.first().and_then(|p| p.health.version.clone());
    RunOperators {
        ids: s.ids(),
        initiator: Some(s.operator_infos()),
        record: Some(SelectionRecord {
            requested: requested.clone(),
            chosen: s
                .chosen
                .iter()
                .map(|p| ChosenRecord {
                    id: p.id,
                    name: p.name.clone(),
                    why: p.why.clone(),
                })
                .collect(),
            replaced: s.replaced.clone(),
        }),
        version,
    }
}
