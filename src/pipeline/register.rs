//! The register stage: `ssv::register` (every check, the path the chain dictates, journaled
//! sends) with the validator's own journal, in owner-nonce order.

use super::{
    PipelineError,
    context::{Ctx, Validator},
    sent_events,
    stage::{StageId, StageRun},
};
use crate::{
    dkg::outputs::KEYSHARES_FILE,
    ssv::{
        keyshares::load_and_validate,
        register::{RegisterOptions, register as ssv_register},
    },
};

/// Registers one validator with SSV, funding the cluster for the runway policy.
pub(super) async fn register(ctx: &Ctx, v: &mut Validator) -> Result<(), PipelineError> {
    let Some(run) = StageRun::begin(
        ctx,
        StageId::Register,
        Some(&v.label),
        Some(&v.state),
        "registered in an earlier run",
    ) else {
        return Ok(());
    };
    let ks = load_and_validate(&v.dir.join(KEYSHARES_FILE)).map_err(|e| run.fail(e))?;
    let f = &ctx.config.funding;
    let opts = RegisterOptions {
        runway_days: f.runway_days,
        min_runway_days: f.min_runway_days,
        allow_migration: f.allow_migration,
        max_deposit: None,
        amount: None,
    };
    let sent_before = ctx.chain.sent().len();
    let report = ssv_register(&ctx.chain, &ks, &mut v.state, &opts)
        .await
        .map_err(|e| run.fail(e))?;
    sent_events(ctx, sent_before, Some(&v.label));
    let detail = if report.already_registered.is_empty() {
        "ValidatorAdded on SSVNetwork".to_string()
    } else {
        "already registered on chain; nothing was sent".to_string()
    };
    run.done(ctx, [&mut v.state], detail)
}
