//! The activation stage: follow the validator on the beacon node until `active_ongoing`, with the
//! ETA, showing what it waits for.

use super::{
    PipelineError,
    context::{Ctx, Validator},
    stage::{StageId, StageRun},
};
use crate::{
    beacon::{activation::follow, types::ValidatorStatus},
    journal::{ActivationRecord, now_secs},
    ui::fmt_duration,
};

/// Waits until the validator is active.
pub(super) async fn activation(ctx: &Ctx, v: &mut Validator) -> Result<(), PipelineError> {
    if ctx.is_dry_run() && v.state.get().stage < crate::journal::Stage::Active {
        ctx.ui.stage_skipped(
            StageId::Activation.name(),
            Some(&v.label),
            "dry run: the wait for activation is not simulated (the fork has no beacon chain)",
        );
        return Ok(());
    }
    let Some(run) = StageRun::begin(
        ctx,
        StageId::Activation,
        Some(&v.label),
        Some(&v.state),
        "active in an earlier run",
    ) else {
        return Ok(());
    };
    let beacon = ctx
        .beacon
        .as_ref()
        .ok_or_else(|| PipelineError::NotAvailable {
            stage: StageId::Activation,
            what: "no beacon node connection".into(),
        })?;
    let pubkey = format!("0x{}", hex::encode(v.pubkey));
    let task = format!("activation {}", v.label);
    let started = std::time::Instant::now();
    let activated = follow(beacon, &ctx.profile, &pubkey, ctx.opts.follow, |p| {
        let status = p
            .status
            .map(ValidatorStatus::as_str)
            .unwrap_or("not yet in the beacon state");
        let msg = match &p.retrying {
            Some(r) => format!("{status}; node unavailable, retrying: {r}"),
            None => match &p.eta {
                Some(eta) => format!("{status}; {}", eta.basis),
                None => status.to_string(),
            },
        };
        ctx.ui.progress(
            &task,
            started.elapsed().as_secs(),
            None,
            msg,
            p.eta.as_ref().map(|e| e.seconds),
        );
    })
    .await
    .map_err(|e| run.fail(e))?;
    ctx.ui.progress_done(
        &task,
        format!(
            "active_ongoing, index {} after {}",
            activated.index,
            fmt_duration(started.elapsed().as_secs())
        ),
    );
    v.state.update(|s| {
        s.activation = Some(ActivationRecord {
            validator_index: Some(activated.index),
            status: ValidatorStatus::ActiveOngoing.as_str().into(),
            updated_at: now_secs(),
        });
    })?;
    run.done(
        ctx,
        [&mut v.state],
        format!(
            "active_ongoing, validator index {} (activation epoch {})",
            activated.index, activated.activation_epoch
        ),
    )
}
