//! The fund stage: the cluster's runway after registration, topped up (journaled, through
//! `ssv::cluster_tx`, the path the watch service uses) when it is under the configured minimum,
//! e.g. when fees rose between registration and now.

use super::{
    PipelineError,
    context::{Ctx, Validator},
    sent_events,
    stage::{StageId, StageRun},
};
use crate::{
    chain::send::resume,
    journal::{StateFile, TxRecord},
    ssv::{
        cluster::read_cluster,
        cluster_tx::{Action, Plan, execute},
        views::FeeViews,
    },
    ui::fmt_eth,
};

/// Brings the cluster to the runway policy when it is under the minimum.
pub(super) async fn fund(ctx: &Ctx, validators: &mut [Validator]) -> Result<(), PipelineError> {
    let all_done = validators
        .iter()
        .all(|v| v.state.get().stage >= crate::journal::Stage::Funded);
    if all_done || validators.is_empty() {
        ctx.ui.stage_skipped(
            StageId::Fund.name(),
            None,
            "cluster funded in an earlier run",
        );
        return Ok(());
    }
    let run = StageRun::begin(ctx, StageId::Fund, None, None, "").expect("nothing to skip by");
    let sent_before = ctx.chain.sent().len();
    let bpd = ctx.profile.blocks_per_day;
    let f = &ctx.config.funding;
    let last = validators.len() - 1;
    // A top-up recorded but not confirmed is resumed, never re-sent.
    resume_fundings(ctx, &mut validators[last].state)
        .await
        .map_err(|e| run.fail(e))?;
    let cluster = read_cluster(&ctx.chain, ctx.owner, &ctx.plan.operator_ids).await?;
    let runway = cluster.runway_days(bpd);
    if !runway.is_some_and(|d| d >= f.min_runway_days as f64) {
        if cluster.views == FeeViews::V2Ssv {
            return Err(run.refuse(
                "the cluster is SSV-billed (legacy) and v2 takes no SSV top-ups: migrate it to ETH (`ssv-agent migrate`, or funding.allow_migration)",
            ));
        }
        let plan = Plan {
            action: Action::TopUp,
            cluster_id: cluster.cluster_id,
            owner: ctx.owner,
            operator_ids: cluster.operator_ids.clone(),
            snapshot: cluster.snapshot_or_empty(),
            amount: cluster.params.top_up_for_runway(
                cluster.balance,
                cluster.load,
                f.runway_days,
                bpd,
            ),
        };
        let state = &mut validators[last].state;
        execute(&ctx.chain, cluster.version, &plan, |r, _| {
            journal_funding(state, r)
        })
        .await
        .map_err(|e| run.fail(e))?;
    }
    sent_events(ctx, sent_before, None);
    let cluster = read_cluster(&ctx.chain, ctx.owner, &ctx.plan.operator_ids).await?;
    let runway = cluster.runway_days(bpd);
    for v in validators.iter_mut() {
        v.state.update(|s| {
            s.note(format!(
                "cluster balance {} wei, runway {:.1} days",
                cluster.balance,
                runway.unwrap_or(f64::INFINITY)
            ));
        })?;
    }
    run.done(
        ctx,
        validators.iter_mut().map(|v| &mut v.state),
        format!(
            "cluster {} holds {} {}: {} days of runway (policy {} days, minimum {})",
            cluster.cluster_id,
            fmt_eth(cluster.balance),
            if cluster.params.billing == crate::ssv::fees::Billing::Eth {
                "ETH"
            } else {
                "SSV"
            },
            runway.map_or("unlimited".into(), |d| format!("{d:.1}")),
            f.runway_days,
            f.min_runway_days
        ),
    )
}

async fn resume_fundings(ctx: &Ctx, state: &mut StateFile) -> Result<(), crate::chain::ChainError> {
    let pending: Vec<TxRecord> = state
        .get()
        .fundings
        .iter()
        .filter(|r| r.is_pending())
        .cloned()
        .collect();
    for rec in pending {
        resume(&ctx.chain, &rec, |r| journal_funding(state, r)).await?;
    }
    Ok(())
}

fn journal_funding(
    state: &mut StateFile,
    r: &TxRecord,
) -> Result<(), crate::journal::JournalError> {
    state.update(|s| {
        let same = |x: &TxRecord| x.nonce == r.nonce && x.from == r.from;
        match s.fundings.iter_mut().find(|x| same(x)) {
            Some(slot) => *slot = r.clone(),
            None => s.fundings.push(r.clone()),
        }
    })
}
