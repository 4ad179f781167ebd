//! What stands at the end of a run: per validator its folder, stage and beacon status; for the
//! cluster its balance and runway; for a dry run every transaction executed on the fork.

use std::path::PathBuf;

use alloy::primitives::{B256, U256};
use serde::Serialize;

use super::{
    PipelineError,
    context::{Ctx, Validator},
};
use crate::{
    chain::send::SentTx,
    journal::Stage,
    ssv::cluster::read_cluster,
    ui::{Event, fmt_eth},
};

/// One validator at the end of the run.
#[derive(Debug, Clone, Serialize)]
pub struct ValidatorSummary {
    /// Owner nonce.
    pub nonce: u64,
    /// 0x public key.
    pub pubkey: String,
    /// Ceremony folder.
    pub folder: PathBuf,
    /// Last completed stage.
    pub stage: Stage,
    /// Beacon validator index.
    pub validator_index: Option<u64>,
    /// Beacon status.
    pub beacon_status: Option<String>,
}

/// The cluster at the end of the run.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterSummary {
    /// Cluster id.
    pub cluster_id: B256,
    /// Operators.
    pub operator_ids: Vec<u64>,
    /// Validators in the cluster.
    pub validators: u32,
    /// Balance (wei for ETH clusters).
    pub balance: U256,
    /// Runway at the current burn rate.
    pub runway_days: Option<f64>,
}

/// The end of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// True for a dry run.
    pub dry_run: bool,
    /// Validators, by nonce.
    pub validators: Vec<ValidatorSummary>,
    /// The cluster.
    pub cluster: ClusterSummary,
    /// Transactions executed on the fork (dry run only).
    pub fork_transactions: Vec<SentTx>,
}

pub(super) async fn summarise(
    ctx: &Ctx,
    validators: &[Validator],
) -> Result<RunSummary, PipelineError> {
    let c = read_cluster(&ctx.chain, ctx.owner, &ctx.plan.operator_ids).await?;
    let runway_days = c.runway_days(ctx.profile.blocks_per_day);
    let summary = RunSummary {
        dry_run: ctx.is_dry_run(),
        validators: validators
            .iter()
            .map(|v| {
                let s = v.state.get();
                ValidatorSummary {
                    nonce: v.nonce,
                    pubkey: format!("0x{}", hex::encode(v.pubkey)),
                    folder: v.dir.clone(),
                    stage: s.stage,
                    validator_index: s.activation.as_ref().and_then(|a| a.validator_index),
                    beacon_status: s.activation.as_ref().map(|a| a.status.clone()),
                }
            })
            .collect(),
        cluster: ClusterSummary {
            cluster_id: c.cluster_id,
            operator_ids: c.operator_ids.clone(),
            validators: c.load.validator_count,
            balance: c.balance,
            runway_days,
        },
        fork_transactions: if ctx.is_dry_run() {
            ctx.chain.sent()
        } else {
            Vec::new()
        },
    };
    let mut facts = serde_json::Map::new();
    for v in &summary.validators {
        facts.insert(
            format!("validator #{}", v.nonce),
            serde_json::Value::String(format!(
                "{} index {} status {} stage {:?}",
                v.pubkey,
                v.validator_index.map_or("-".to_string(), |i| i.to_string()),
                v.beacon_status.as_deref().unwrap_or("-"),
                v.stage
            )),
        );
    }
    facts.insert(
        "cluster".into(),
        serde_json::Value::String(format!(
            "{} operators {:?}, {} validator(s)",
            summary.cluster.cluster_id, summary.cluster.operator_ids, summary.cluster.validators
        )),
    );
    facts.insert(
        "cluster balance".into(),
        serde_json::Value::String(format!("{} ETH", fmt_eth(summary.cluster.balance))),
    );
    facts.insert(
        "runway".into(),
        serde_json::Value::String(
            runway_days.map_or("unlimited".into(), |d| format!("{d:.1} days")),
        ),
    );
    if summary.dry_run {
        let mut total = U256::ZERO;
        for (i, t) in summary.fork_transactions.iter().enumerate() {
            total += t.value;
            facts.insert(
                format!("would send {}", i + 1),
                serde_json::Value::String(format!(
                    "{} gas {} ETH {}",
                    t.kind,
                    t.gas_used,
                    fmt_eth(t.value)
                )),
            );
        }
        facts.insert(
            "would move in total".into(),
            serde_json::Value::String(format!(
                "{} ETH in {} transaction(s); nothing was sent to the real chain",
                fmt_eth(total),
                summary.fork_transactions.len()
            )),
        );
    }
    ctx.ui.emit(Event::Summary {
        facts: serde_json::Value::Object(facts),
    });
    Ok(summary)
}
