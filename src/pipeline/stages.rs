//! The stages after preflight. Each one: check the state file, skip what is done, do the work,
//! persist, then (tests only) offer the crash point.

use std::{path::Path, sync::Arc};

use alloy::{
    network::TransactionBuilder,
    primitives::{Bytes, FixedBytes, U256},
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};

use super::{
    PipelineError,
    context::{Ctx, Validator},
    plan::{folder_for, validator_folders},
};
use crate::{
    beacon::{activation::follow, types::ValidatorStatus},
    chain::{
        contracts::{DepositContract, SSVNetwork},
        impersonate::{ForkTx, send_as},
        reads::SsvVersion,
        send::{resume, send_journaled},
    },
    deposit::{
        checks::{Allowances, CheckContext, check_deposits},
        json::read_deposit_file,
    },
    dkg::{
        initiator::CeremonyRequest,
        outputs::{DEPOSIT_FILE, KEYSHARES_FILE, KeysharesJson, PROOFS_FILE, SignedProofJson},
        verify::{VerifyExpectations, verify_validator},
    },
    journal::{ActivationRecord, Stage, TxRecord, TxStatus, now_secs},
    ssv::{
        cluster::read_cluster,
        fees::{Billing, plan_funding},
        keyshares::load_and_validate,
        register::{RegisterOptions, RegisterPath, choose_path, register as ssv_register},
    },
    ui::{Event, fmt_duration, fmt_eth, validator_label},
};

/// DKG: one ceremony per owner nonce that has no output yet, a few at a time; each validator's
/// files are written the moment its ceremony is validated, so a failure keeps the others.
pub async fn ceremonies(ctx: &Ctx) -> Result<(), PipelineError> {
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
            "dkg",
            None,
            format!("all {total} ceremony output(s) are already on disk"),
        );
        return Ok(());
    }
    ctx.ui.stage_started("dkg", None);
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
        let initiator = ctx.initiator.clone();
        let req = CeremonyRequest {
            nonce,
            ..base.clone()
        };
        let sem = sem.clone();
        let out = ctx.output_dir.clone();
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let files = initiator
                .run(&req)
                .await
                .map_err(|e| PipelineError::stage("dkg", format!("#{nonce}"), e))?;
            let v = files.into_iter().next().ok_or_else(|| {
                PipelineError::stage("dkg", format!("#{nonce}"), "the ceremony returned no files")
            })?;
            let dir = save_ceremony(&out, &v)?;
            Ok::<_, PipelineError>((nonce, v.pubkey, dir))
        });
    }
    let mut done = done_before;
    let mut first_err = None;
    // Wait for every ceremony even after a failure: the others' outputs must be saved.
    while let Some(joined) = tasks.join_next().await {
        let r = joined.map_err(|e| PipelineError::stage("dkg", "?", e));
        match r.and_then(|r| r) {
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
                ctx.maybe_kill("dkg");
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
    ctx.ui.stage_done(
        "dkg",
        None,
        format!("outputs in {}", ctx.output_dir.display()),
    );
    Ok(())
}

/// Writes the three files under a hidden name, then renames the folder into place: a crash never
/// leaves a half-written folder that looks like a finished ceremony.
fn save_ceremony(
    out: &Path,
    v: &crate::dkg::outputs::ValidatorFiles,
) -> Result<std::path::PathBuf, PipelineError> {
    let label = format!("#{}", v.nonce);
    let tmp_parent = out.join(format!(".partial-{}", v.nonce));
    if tmp_parent.exists() {
        let _ = std::fs::remove_dir_all(&tmp_parent);
    }
    let written = crate::dkg::outputs::write_validator_dir(&tmp_parent, v)
        .map_err(|e| PipelineError::stage("dkg", label.clone(), e))?;
    let name = written
        .file_name()
        .map(|n| n.to_owned())
        .ok_or_else(|| PipelineError::stage("dkg", label.clone(), "unnamed ceremony folder"))?;
    let fin = out.join(&name);
    std::fs::rename(&written, &fin).map_err(|source| PipelineError::Io {
        action: "cannot move the ceremony folder into",
        path: fin.clone(),
        source,
    })?;
    let _ = std::fs::remove_dir_all(&tmp_parent);
    if let Ok(d) = std::fs::File::open(out) {
        let _ = d.sync_all();
    }
    Ok(fin)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, label: &str) -> Result<T, PipelineError> {
    let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
        action: "cannot read",
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| {
        PipelineError::stage(
            "verify",
            label,
            format!("{} does not parse: {e}", path.display()),
        )
    })
}

/// Verify: ssv-dkg's checks on the files (signatures, share recombination, proofs) against this
/// run's owner, nonce, operators, withdrawal address, amount and network, then the deposit checks.
pub async fn verify(ctx: &Ctx, v: &mut Validator) -> Result<(), PipelineError> {
    if v.state.get().stage >= Stage::Verified {
        ctx.ui
            .stage_skipped("verify", Some(&v.label), "verified in an earlier run");
        return Ok(());
    }
    ctx.ui.stage_started("verify", Some(&v.label));
    let deposits = read_deposit_file(&v.dir.join(DEPOSIT_FILE))
        .map_err(|e| PipelineError::stage("verify", &v.label, e))?;
    let keyshares: KeysharesJson = read_json(&v.dir.join(KEYSHARES_FILE), &v.label)?;
    let proofs: Vec<SignedProofJson> = read_json(&v.dir.join(PROOFS_FILE), &v.label)?;
    let exp = VerifyExpectations {
        validators: Some(1),
        owner: Some(ctx.owner),
        nonce: Some(v.nonce),
        withdraw_address: ctx.config.validators.withdrawal_address,
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
        PipelineError::stage(
            "verify",
            &v.label,
            format!("{e}; do not deposit this validator: move its folder away and rerun to make a new one"),
        )
    })?;
    let withdrawal_address =
        ctx.config.validators.withdrawal_address.ok_or_else(|| {
            PipelineError::Setting("validators.withdrawal_address is not set".into())
        })?;
    let cctx = CheckContext {
        profile: &ctx.profile,
        withdrawal_address,
        compounding: Some(ctx.config.validators.compounding),
        amount_gwei: Some(ctx.config.validators.amount_gwei),
        node: ctx.node_facts,
        allow: Allowances::default(),
    };
    check_deposits(&deposits, &cctx).map_err(|e| PipelineError::stage("verify", &v.label, e))?;
    v.state.update(|s| {
        s.pubkey
            .get_or_insert_with(|| format!("0x{}", hex::encode(v.pubkey)));
        s.owner_nonce.get_or_insert(v.nonce);
        s.advance(Stage::Verified);
    })?;
    ctx.ui.stage_done(
        "verify",
        Some(&v.label),
        "deposit, owner-nonce and share signatures verify; deposit roots and credentials match",
    );
    ctx.maybe_kill("verify");
    Ok(())
}

fn tx_event(
    ctx: &Ctx,
    kind: &str,
    label: Option<&str>,
    status: &str,
    hash: String,
    gas: Option<u64>,
    eth: U256,
) {
    ctx.ui.emit(Event::Transaction {
        kind: kind.into(),
        validator: label.map(Into::into),
        status: status.into(),
        hash,
        gas,
        eth_wei: eth.to_string(),
        ssv_wei: "0".into(),
    });
}

fn fork_tx_event(ctx: &mut Ctx, t: ForkTx, label: Option<&str>) {
    tx_event(
        ctx,
        &t.kind,
        label,
        "executed on the fork",
        t.hash.to_string(),
        Some(t.gas_used),
        t.value,
    );
    ctx.fork_txs.push(t);
}

/// Deposit: 32 ETH (or the configured amount) to the deposit contract, once. A recorded deposit is
/// resumed (same signed bytes); a pubkey the beacon node already knows is refused.
pub async fn deposit(ctx: &mut Ctx, v: &mut Validator) -> Result<(), PipelineError> {
    if v.state.get().stage >= Stage::Deposited {
        ctx.ui.stage_skipped(
            "deposit",
            Some(&v.label),
            "deposit confirmed in an earlier run",
        );
        return Ok(());
    }
    ctx.ui.stage_started("deposit", Some(&v.label));
    let label = v.label.clone();
    if let Some(rec) = v.state.get().deposit.clone() {
        ctx.ui.info(format!(
            "resuming the recorded deposit {} ({:?}); nothing new is signed",
            rec.tx_hash, rec.status
        ));
        let state = &mut v.state;
        resume(&ctx.chain, &rec, |r| {
            state.update(|s| s.deposit = Some(r.clone())).map(|_| ())
        })
        .await
        .map_err(|e| PipelineError::stage("deposit", &label, e))?;
    } else {
        let entry = read_deposit_file(&v.dir.join(DEPOSIT_FILE))
            .map_err(|e| PipelineError::stage("deposit", &label, e))?
            .into_iter()
            .next()
            .ok_or_else(|| PipelineError::stage("deposit", &label, "deposit_data.json is empty"))?;
        if let Some(b) = &ctx.beacon {
            let known = b
                .validator("head", &format!("0x{}", hex::encode(v.pubkey)))
                .await
                .map_err(|e| PipelineError::stage("deposit", &label, e))?;
            if let Some(info) = known {
                return Err(PipelineError::stage(
                    "deposit",
                    &label,
                    format!(
                        "the beacon node already knows this validator (index {}, {}) but this state file records no deposit; \
                         nothing was sent. If you deposited it elsewhere, record that before rerunning",
                        info.index, info.status
                    ),
                ));
            }
        }
        let value = U256::from(entry.amount) * U256::from(1_000_000_000u64);
        let call = DepositContract::depositCall {
            pubkey: Bytes::copy_from_slice(&entry.pubkey),
            withdrawal_credentials: Bytes::copy_from_slice(&entry.withdrawal_credentials),
            signature: Bytes::copy_from_slice(&entry.signature),
            deposit_data_root: FixedBytes(entry.deposit_data_root),
        };
        let tx = TransactionRequest::default()
            .with_to(ctx.profile.deposit_contract)
            .with_input(call.abi_encode())
            .with_value(value);
        if ctx.opts.dry_run {
            let (t, _) = send_as(&ctx.chain, ctx.owner, "deposit", tx)
                .await
                .map_err(|e| PipelineError::stage("deposit", &label, e))?;
            fork_tx_event(ctx, t, Some(&label));
        } else {
            let kill_signed = ctx.opts.kill_at.as_deref() == Some("deposit.signed");
            let state = &mut v.state;
            let ui = ctx.ui.clone();
            let (rec, receipt) = send_journaled(&ctx.chain, "deposit", tx, ctx.caps, |r| {
                state.update(|s| s.deposit = Some(r.clone()))?;
                if r.status == TxStatus::Signed {
                    tx_event_raw(&ui, "deposit", &label, "signed", r);
                    if kill_signed {
                        ui.warn("test hook: killing the process at deposit.signed");
                        kill_self();
                    }
                }
                Ok(())
            })
            .await
            .map_err(|e| PipelineError::stage("deposit", &label, e))?;
            tx_event(
                ctx,
                "deposit",
                Some(&label),
                "confirmed",
                rec.tx_hash.to_string(),
                Some(receipt.gas_used),
                rec.value,
            );
        }
    }
    v.state.update(|s| s.advance(Stage::Deposited))?;
    let detail = match &v.state.get().deposit {
        Some(r) => format!("tx {} in block {}", r.tx_hash, r.block.unwrap_or_default()),
        None => "executed on the fork".into(),
    };
    ctx.ui.stage_done("deposit", Some(&label), detail);
    ctx.maybe_kill("deposit");
    Ok(())
}

fn tx_event_raw(ui: &crate::ui::Reporter, kind: &str, label: &str, status: &str, r: &TxRecord) {
    ui.emit(Event::Transaction {
        kind: kind.into(),
        validator: Some(label.into()),
        status: status.into(),
        hash: r.tx_hash.to_string(),
        gas: None,
        eth_wei: r.value.to_string(),
        ssv_wei: "0".into(),
    });
}

fn kill_self() {
    #[cfg(unix)]
    // SAFETY: kill(2) on our own pid, test hook only.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}

/// Activation: follow the validator on the beacon node until `active_ongoing`, with the ETA.
pub async fn activation(ctx: &Ctx, v: &mut Validator) -> Result<(), PipelineError> {
    if v.state.get().stage >= Stage::Active {
        ctx.ui
            .stage_skipped("activation", Some(&v.label), "active in an earlier run");
        return Ok(());
    }
    if ctx.opts.dry_run {
        ctx.ui.stage_skipped(
            "activation",
            Some(&v.label),
            "dry run: the wait for activation is not simulated (the fork has no beacon chain)",
        );
        return Ok(());
    }
    let beacon = ctx
        .beacon
        .as_ref()
        .ok_or_else(|| PipelineError::NotAvailable {
            stage: "activation",
            what: "no beacon node connection".into(),
        })?;
    ctx.ui.stage_started("activation", Some(&v.label));
    let pubkey = format!("0x{}", hex::encode(v.pubkey));
    let task = format!("activation {}", v.label);
    let ui = ctx.ui.clone();
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
        ui.progress(
            &task,
            started.elapsed().as_secs(),
            None,
            msg,
            p.eta.as_ref().map(|e| e.seconds),
        );
    })
    .await
    .map_err(|e| PipelineError::stage("activation", &v.label, e))?;
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
        s.advance(Stage::Active);
    })?;
    ctx.ui.stage_done(
        "activation",
        Some(&v.label),
        format!(
            "active_ongoing, validator index {} (activation epoch {})",
            activated.index, activated.activation_epoch
        ),
    );
    ctx.maybe_kill("activation");
    Ok(())
}

/// Register: `registerValidator` with the cluster funded to the runway policy, in owner-nonce order.
pub async fn register(ctx: &mut Ctx, v: &mut Validator) -> Result<(), PipelineError> {
    if v.state.get().stage >= Stage::Registered {
        ctx.ui
            .stage_skipped("register", Some(&v.label), "registered in an earlier run");
        return Ok(());
    }
    ctx.ui.stage_started("register", Some(&v.label));
    let label = v.label.clone();
    let ks = load_and_validate(&v.dir.join(KEYSHARES_FILE))
        .map_err(|e| PipelineError::stage("register", &label, e))?;
    let f = &ctx.config.funding;
    if ctx.opts.dry_run {
        dry_register(ctx, v).await?;
    } else {
        let opts = RegisterOptions {
            runway_days: f.runway_days,
            min_runway_days: f.min_runway_days,
            allow_migration: f.allow_migration,
            max_deposit: None,
            amount: None,
            fee_caps: ctx.caps,
            dry_run: false,
        };
        let report = ssv_register(&ctx.chain, &ks, &mut v.state, &opts)
            .await
            .map_err(|e| PipelineError::stage("register", &label, e))?;
        for t in &report.transactions {
            tx_event(
                ctx,
                &t.kind,
                Some(&label),
                &format!("{:?}", t.status).to_lowercase(),
                t.tx_hash.to_string(),
                None,
                t.value,
            );
        }
        if !report.already_registered.is_empty() {
            ctx.ui.info(format!(
                "{label} was already registered on chain; nothing was sent for it"
            ));
        }
    }
    v.state.update(|s| s.advance(Stage::Registered))?;
    ctx.ui
        .stage_done("register", Some(&label), "ValidatorAdded on SSVNetwork");
    ctx.maybe_kill("register");
    Ok(())
}

/// The dry run's registration on the fork: the same plan as `ssv::register` (path, funding), sent
/// from the impersonated owner. Only the v2 payable path is simulated here.
async fn dry_register(ctx: &mut Ctx, v: &Validator) -> Result<(), PipelineError> {
    let label = v.label.clone();
    let ks = load_and_validate(&v.dir.join(KEYSHARES_FILE))
        .map_err(|e| PipelineError::stage("register", &label, e))?;
    let share = ks
        .shares
        .first()
        .ok_or_else(|| PipelineError::stage("register", &label, "keyshares.json has no share"))?;
    if ctx
        .chain
        .validator_exists(ctx.owner, &share.public_key)
        .await?
    {
        ctx.ui.info(format!(
            "{label} is already registered on chain; nothing to simulate"
        ));
        return Ok(());
    }
    let chain_nonce = ctx.chain.owner_nonce(ctx.owner).await?;
    if chain_nonce != share.owner_nonce {
        return Err(PipelineError::stage(
            "register",
            &label,
            format!(
                "the shares are signed for owner nonce {} but the chain is at {chain_nonce}; the SSV nodes would ignore this validator",
                share.owner_nonce
            ),
        ));
    }
    let cluster = read_cluster(&ctx.chain, ctx.owner, &ks.operator_ids).await?;
    let f = &ctx.config.funding;
    let path = choose_path(
        cluster.version,
        cluster.billing,
        f.allow_migration,
        cluster.cluster_id,
    )
    .map_err(|e| PipelineError::stage("register", &label, e))?;
    if path != RegisterPath::EthPayable {
        return Err(PipelineError::NotAvailable {
            stage: "register",
            what: format!(
                "a dry run of the {path:?} registration path (only the v2 payable path is simulated)"
            ),
        });
    }
    let plan = plan_funding(
        &cluster.params,
        cluster.balance,
        cluster.load,
        1,
        f.runway_days,
        f.min_runway_days,
        ctx.profile.blocks_per_day,
    )
    .map_err(|e| PipelineError::stage("register", &label, e))?;
    let call = SSVNetwork::registerValidatorCall {
        publicKey: Bytes::copy_from_slice(&share.public_key),
        operatorIds: cluster.operator_ids.clone(),
        sharesData: Bytes::copy_from_slice(&share.shares_data),
        cluster: cluster.snapshot_or_empty(),
    };
    let tx = TransactionRequest::default()
        .with_to(ctx.profile.ssv_network)
        .with_input(call.abi_encode())
        .with_value(plan.deposit);
    let (t, _) = send_as(&ctx.chain, ctx.owner, "register", tx)
        .await
        .map_err(|e| PipelineError::stage("register", &label, e))?;
    fork_tx_event(ctx, t, Some(&label));
    Ok(())
}

/// Fund: the cluster's runway after registration; tops it up (journaled) when it is under the
/// configured minimum, e.g. when fees rose between registration and now.
pub async fn fund(ctx: &mut Ctx, validators: &mut [Validator]) -> Result<(), PipelineError> {
    if validators
        .iter()
        .all(|v| v.state.get().stage >= Stage::Funded)
    {
        ctx.ui
            .stage_skipped("fund", None, "cluster funded in an earlier run");
        return Ok(());
    }
    ctx.ui.stage_started("fund", None);
    let Some(last) = validators.last_mut() else {
        return Ok(());
    };
    let bpd = ctx.profile.blocks_per_day;
    let f = ctx.config.funding.clone();
    // A top-up recorded but not confirmed is resumed, never re-sent.
    if let Some(rec) = last
        .state
        .get()
        .fundings
        .iter()
        .find(|r| r.status != TxStatus::Confirmed)
        .cloned()
        && !ctx.opts.dry_run
    {
        let hash = rec.tx_hash;
        let state = &mut last.state;
        resume(&ctx.chain, &rec, |r| {
            state
                .update(|s| {
                    if let Some(slot) = s.fundings.iter_mut().find(|x| x.tx_hash == hash) {
                        *slot = r.clone();
                    }
                })
                .map(|_| ())
        })
        .await
        .map_err(|e| PipelineError::stage("fund", "cluster", e))?;
    }
    let cluster = read_cluster(&ctx.chain, ctx.owner, &ctx.plan.operator_ids).await?;
    let runway = cluster
        .params
        .runway_days(cluster.balance, cluster.load, bpd);
    let enough = runway.is_some_and(|d| d >= f.min_runway_days as f64);
    if !enough {
        if cluster.version != SsvVersion::V2 || cluster.params.billing != Billing::Eth {
            return Err(PipelineError::NotAvailable {
                stage: "fund",
                what: "topping up an SSV-billed cluster; use `ssv-agent` watch/top-up for it"
                    .into(),
            });
        }
        let amount =
            cluster
                .params
                .top_up_for_runway(cluster.balance, cluster.load, f.runway_days, bpd);
        let snapshot = cluster.snapshot_or_empty();
        let call = SSVNetwork::depositCall {
            clusterOwner: ctx.owner,
            operatorIds: cluster.operator_ids.clone(),
            cluster: snapshot,
        };
        let tx = TransactionRequest::default()
            .with_to(ctx.profile.ssv_network)
            .with_input(call.abi_encode())
            .with_value(amount);
        if ctx.opts.dry_run {
            let (t, _) = send_as(&ctx.chain, ctx.owner, "topup", tx)
                .await
                .map_err(|e| PipelineError::stage("fund", "cluster", e))?;
            fork_tx_event(ctx, t, None);
        } else {
            let state = &mut last.state;
            let (rec, receipt) = send_journaled(&ctx.chain, "topup", tx, ctx.caps, |r| {
                state
                    .update(
                        |s| match s.fundings.iter_mut().find(|x| x.tx_hash == r.tx_hash) {
                            Some(slot) => *slot = r.clone(),
                            None => s.fundings.push(r.clone()),
                        },
                    )
                    .map(|_| ())
            })
            .await
            .map_err(|e| PipelineError::stage("fund", "cluster", e))?;
            tx_event(
                ctx,
                "topup",
                None,
                "confirmed",
                rec.tx_hash.to_string(),
                Some(receipt.gas_used),
                rec.value,
            );
        }
    }
    let cluster = read_cluster(&ctx.chain, ctx.owner, &ctx.plan.operator_ids).await?;
    let runway = cluster
        .params
        .runway_days(cluster.balance, cluster.load, bpd);
    for v in validators.iter_mut() {
        v.state.update(|s| {
            s.note(format!(
                "cluster balance {} wei, runway {:.1} days",
                cluster.balance,
                runway.unwrap_or(f64::INFINITY)
            ));
            s.advance(Stage::Funded);
        })?;
    }
    ctx.ui.stage_done(
        "fund",
        None,
        format!(
            "cluster {} holds {} ETH: {} days of runway (policy {} days, minimum {})",
            cluster.cluster_id,
            fmt_eth(cluster.balance),
            runway.map_or("unlimited".into(), |d| format!("{d:.1}")),
            f.runway_days,
            f.min_runway_days
        ),
    );
    ctx.maybe_kill("fund");
    Ok(())
}
