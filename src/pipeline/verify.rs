//! The verify stage: ssv-dkg's checks on the files (signatures, share recombination, proofs)
//! against this run's owner, nonce, operators, withdrawal address, amount and network, then the
//! deposit checks, before any money moves.

use std::path::Path;

use super::{
    PipelineError,
    context::{Ctx, Validator},
    stage::{StageId, StageRun},
};
use crate::{
    deposit::{
        checks::{Allowances, CheckContext, check_deposits},
        json::read_deposit_file,
    },
    dkg::{
        outputs::{DEPOSIT_FILE, KEYSHARES_FILE, PROOFS_FILE, SignedProofJson},
        verify::{VerifyExpectations, verify_validator},
    },
    ssv::keyshares::{KeysharesJson, from_slice_exact},
};

/// Verifies one validator's ceremony output.
pub(super) async fn verify(ctx: &Ctx, v: &mut Validator) -> Result<(), PipelineError> {
    let Some(run) = StageRun::begin(
        ctx,
        StageId::Verify,
        Some(&v.label),
        Some(&v.state),
        "verified in an earlier run",
    ) else {
        return Ok(());
    };
    let deposits = read_deposit_file(&v.dir.join(DEPOSIT_FILE)).map_err(|e| run.fail(e))?;
    let keyshares: KeysharesJson = read_json(&run, &v.dir.join(KEYSHARES_FILE))?;
    let proofs: Vec<SignedProofJson> = read_json(&run, &v.dir.join(PROOFS_FILE))?;
    let withdrawal_address =
        ctx.config.validators.withdrawal_address.ok_or_else(|| {
            PipelineError::Setting("validators.withdrawal_address is not set".into())
        })?;
    let exp = VerifyExpectations {
        validators: Some(1),
        owner: Some(ctx.owner),
        nonce: Some(v.nonce),
        withdraw_address: Some(withdrawal_address),
        amount_gwei: Some(ctx.config.validators.amount_gwei),
        network: Some(ctx.profile.deposit_network_name().to_string()),
        operator_ids: Some(ctx.plan.operator_ids.clone()),
    };
    let name = v
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    verify_validator(
        &name,
        Some(v.pubkey),
        Some(v.nonce),
        &deposits,
        &keyshares,
        &proofs,
        &exp,
    )
    .map_err(|e| {
        run.refuse(format!(
            "{e}; do not deposit this validator: move its folder away and rerun to make a new one"
        ))
    })?;
    let cctx = CheckContext {
        profile: &ctx.profile,
        withdrawal_address,
        compounding: Some(ctx.config.validators.compounding),
        amount_gwei: Some(ctx.config.validators.amount_gwei),
        node: ctx.node_facts,
        allow: Allowances::default(),
    };
    check_deposits(&deposits, &cctx).map_err(|e| run.fail(e))?;
    v.state.update(|s| {
        s.pubkey
            .get_or_insert_with(|| format!("0x{}", hex::encode(v.pubkey)));
        s.owner_nonce.get_or_insert(v.nonce);
    })?;
    run.done(
        ctx,
        [&mut v.state],
        "deposit, owner-nonce and share signatures verify; deposit roots and credentials match",
    )
}

fn read_json<T: serde::de::DeserializeOwned + serde::Serialize>(
    run: &StageRun,
    path: &Path,
) -> Result<T, PipelineError> {
    let bytes = std::fs::read(path).map_err(|source| PipelineError::Io {
        action: "cannot read",
        path: path.to_owned(),
        source,
    })?;
    // Exactly ssv-dkg's fields, as `dkg verify` reads them.
    from_slice_exact(&bytes)
        .map_err(|e| run.refuse(format!("{} does not parse: {e}", path.display())))
}
