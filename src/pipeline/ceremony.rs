//! The DKG stage: one ceremony per owner nonce that has no output yet, a few at a time; each
//! validator's files are written the moment its ceremony is validated, so a failure keeps the
//! others.

use std::{path::Path, sync::Arc};

use super::{
    PipelineError,
    context::Ctx,
    plan::{folder_for, validator_folders},
    stage::{KillPoint, StageId, StageRun, kill_point},
};
use crate::{
    dkg::{initiator::CeremonyRequest, outputs::ValidatorFiles},
    journal::Stage,
    ui::validator_label,
};

/// Runs the missing ceremonies and saves each output as it completes.
pub(super) async fn ceremonies(ctx: &Ctx) -> Result<(), PipelineError> {
    let folders = validator_folders(&ctx.output_dir)?;
    let mut missing = Vec::new();
    for nonce in ctx.plan.nonces() {
        if folder_for(&folders, nonce)?.is_none() {
            missing.push(nonce);
        }
    }
    let total = u64::from(ctx.plan.count);
    if missing.is_empty() {
        ctx.ui.stage_skipped(
            StageId::Dkg.name(),
            None,
            format!("all {total} ceremony output(s) are already on disk"),
        );
        return Ok(());
    }
    let run = StageRun::begin(ctx, StageId::Dkg, None, None, "").expect("no state to skip by");
    let initiator = ctx.initiator.clone().ok_or_else(|| {
        PipelineError::stage_reason(
            StageId::Dkg,
            "cluster",
            "ceremonies are missing but preflight set up no initiator",
        )
    })?;
    let withdraw_address =
        ctx.config.validators.withdrawal_address.ok_or_else(|| {
            PipelineError::Setting("validators.withdrawal_address is not set".into())
        })?;
    let base = CeremonyRequest {
        owner: ctx.owner,
        nonce: 0,
        withdraw_address,
        compounding: ctx.config.validators.compounding,
        amount_gwei: ctx.config.validators.amount_gwei,
        network_name: ctx.profile.deposit_network_name().to_string(),
        fork_version: ctx.profile.genesis_fork_version,
        validators: 1,
    };
    let done_before = total - missing.len() as u64;
    ctx.ui.progress(
        "ceremonies",
        done_before,
        Some(total),
        format!("{} to run", missing.len()),
        None,
    );
    let sem = Arc::new(tokio::sync::Semaphore::new(
        ctx.opts.ceremony_concurrency.max(1),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for nonce in missing {
        let initiator = initiator.clone();
        let req = CeremonyRequest {
            nonce,
            ..base.clone()
        };
        let sem = sem.clone();
        let out = ctx.output_dir.clone();
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let label = format!("#{nonce}");
            let files = initiator
                .run(&req)
                .await
                .map_err(|e| PipelineError::stage(StageId::Dkg, &label, e))?;
            let v = files.into_iter().next().ok_or_else(|| {
                PipelineError::stage_reason(StageId::Dkg, &label, "the ceremony returned no files")
            })?;
            let dir = save_ceremony(&out, &v)?;
            Ok::<_, PipelineError>((nonce, v.pubkey, dir))
        });
    }
    let mut done = done_before;
    let mut first_err = None;
    // Wait for every ceremony even after a failure: the others' outputs must be saved.
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(|e| run.fail(e)).and_then(|r| r) {
            Ok((nonce, pubkey, dir)) => {
                let mut state = ctx.open_state(&dir)?;
                state.update(|s| {
                    s.pubkey = Some(format!("0x{}", hex::encode(pubkey)));
                    s.owner_nonce = Some(nonce);
                    s.advance(Stage::Ceremony);
                })?;
                drop(state);
                done += 1;
                ctx.ui.progress(
                    "ceremonies",
                    done,
                    Some(total),
                    format!("{} saved", validator_label(nonce, Some(&pubkey))),
                    None,
                );
                kill_point(ctx.opts.kill_at, KillPoint::After(StageId::Dkg));
            }
            Err(e) => {
                ctx.ui.warn(e.to_string());
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    ctx.ui
        .progress_done("ceremonies", format!("{total} ceremony output(s) on disk"));
    run.done(
        ctx,
        std::iter::empty(),
        format!("outputs in {}", ctx.output_dir.display()),
    )
}

/// Writes the three files into a hidden folder, then renames it into place: a crash never leaves
/// a half-written folder that looks like a finished ceremony.
fn save_ceremony(out: &Path, v: &ValidatorFiles) -> Result<std::path::PathBuf, PipelineError> {
    crate::dkg::outputs::write_validator_dir_atomic(out, v)
        .map_err(|e| PipelineError::stage(StageId::Dkg, format!("#{}", v.nonce), e))
}
