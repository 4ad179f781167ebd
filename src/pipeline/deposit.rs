//! The deposit stage: the one deposit path (`deposit::send::deposit_one`) with the validator's
//! own journal, so the pipeline checks exactly what `ssv-agent deposit` checks (the journal, the
//! deposit contract's logs, the beacon node's validators and pending deposits) before it signs.

use super::{
    PipelineError,
    context::{Ctx, Validator},
    sent_events, signed_event,
    stage::{KillPoint, StageId, StageRun, kill_point},
};
use crate::{
    deposit::{
        json::read_deposit_file,
        send::{Outcome, Progress, deposit_one},
    },
    dkg::outputs::DEPOSIT_FILE,
    journal::TxStatus,
};

/// Deposits one validator, once.
pub(super) async fn deposit(ctx: &Ctx, v: &mut Validator) -> Result<(), PipelineError> {
    let Some(run) = StageRun::begin(
        ctx,
        StageId::Deposit,
        Some(&v.label),
        Some(&v.state),
        "deposit confirmed in an earlier run",
    ) else {
        return Ok(());
    };
    let entry = read_deposit_file(&v.dir.join(DEPOSIT_FILE))
        .map_err(|e| run.fail(e))?
        .into_iter()
        .next()
        .ok_or_else(|| run.refuse("deposit_data.json is empty"))?;
    let label = v.label.clone();
    let kill_at = ctx.opts.kill_at;
    let sent_before = ctx.chain.sent().len();
    let mut report = |p: Progress<'_>| match p {
        Progress::Line(line) => ctx.ui.info(line),
        Progress::Tx(r) if r.status == TxStatus::Signed => {
            signed_event(ctx, Some(&label), r);
            kill_point(kill_at, KillPoint::DepositSigned);
        }
        Progress::Tx(_) => {}
    };
    let outcome = deposit_one(
        &ctx.chain,
        ctx.beacon.as_ref(),
        &entry,
        &mut v.state,
        &mut report,
    )
    .await
    .map_err(|e| run.fail(e))?;
    sent_events(ctx, sent_before, Some(&label));
    let detail = match outcome {
        Outcome::AlreadyDeposited(existing) => {
            format!(
                "{}; nothing sent",
                crate::deposit::send::describe(&existing)
            )
        }
        Outcome::Confirmed { tx_hash, block, .. } if ctx.is_dry_run() => {
            format!("executed on the fork: tx {tx_hash} in block {block}")
        }
        Outcome::Confirmed { tx_hash, block, .. } => format!("tx {tx_hash} in block {block}"),
    };
    run.done(ctx, [&mut v.state], detail)
}
