//! `ssv-agent run`: the resumable pipeline
//! preflight -> dkg -> verify -> deposit -> activation -> register -> fund, for 1..=100 validators.
//!
//! Every stage follows one rule (`stage::StageRun`): read the validator's state file, skip what is
//! done, do the work, persist before moving on. Each stage calls the stage library's own function
//! (`deposit::send::deposit_one`, `ssv::register::register`, `ssv::cluster_tx`), so the pipeline
//! checks and sends exactly as the single commands do. Transactions are journaled (hash and raw
//! bytes) before broadcast by `chain::send`, so a rerun after any crash resumes the recorded
//! transaction and never sends a second deposit or registration. Each ceremony's output is written
//! the moment it exists.
//!
//! `--dry-run` runs the same stages on an anvil fork with the owner impersonated (`rehearsal`):
//! state files are scratch copies, so the real run later starts from the real state; ceremony
//! outputs (real keys held by real operators) are kept.

mod activation;
mod ceremony;
pub mod change_operators;
mod context;
mod deposit;
mod error;
mod fund;
pub mod local;
pub mod operators;
pub mod plan;
mod preflight;
mod register;
pub mod reshare_ceremony;
pub mod stage;
mod summary;
mod verify;

use std::sync::Arc;

use alloy::primitives::Address;

pub use context::Ctx;
pub use error::{PipelineError, Reason};
pub use operators::load_operators_info;
pub use stage::{KillPoint, StageId};
pub use summary::{ClusterSummary, RunSummary, ValidatorSummary};

use crate::{
    beacon::activation::FollowOptions,
    chain::SensitiveUrl,
    config::Config,
    dkg::initiator::ClientTls,
    journal::TxRecord,
    rehearsal::Rehearsal,
    ui::{Event, Reporter},
};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run against an anvil fork with the owner impersonated; never touches the real chain.
    pub dry_run: bool,
    /// The owner to impersonate in a dry run (default: the configured signer's address).
    pub owner: Option<Address>,
    /// How operator TLS certificates are trusted.
    pub tls: ClientTls,
    /// Activation polling.
    pub follow: FollowOptions,
    /// Ceremonies run at once.
    pub ceremony_concurrency: usize,
    /// Test builds (`test-hooks` feature) only: SIGKILL this process at this point.
    pub kill_at: Option<KillPoint>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            owner: None,
            tls: ClientTls::default(),
            follow: FollowOptions::default(),
            ceremony_concurrency: 4,
            kill_at: None,
        }
    }
}

/// Runs the whole pipeline for the configured validators and returns what stands at the end.
/// With `opts.dry_run` it forks the configured chain with anvil and runs the very same stages
/// there, with the owner impersonated and the state files copied to a scratch folder: the real
/// chain only serves reads and no real journal is written.
pub async fn run(
    config: &Config,
    opts: &RunOptions,
    ui: &Reporter,
) -> Result<RunSummary, PipelineError> {
    let names = StageId::ALL.map(StageId::name);
    ui.plan(&names, config.validators.count as usize, opts.dry_run);
    let result = async {
        let rehearsal = if opts.dry_run {
            let url = SensitiveUrl::new(&config.rpc.url);
            let r = Rehearsal::start(&url).await?;
            ui.info(format!(
                "dry run: forked {url} into a local anvil at {}; every transaction goes there",
                r.url()
            ));
            Some(Arc::new(r))
        } else {
            None
        };
        run_stages(config, opts, ui, rehearsal).await
    }
    .await;
    if let Err(e) = &result {
        let stage = e.stage_id().map_or("run", StageId::name);
        ui.stage_failed(stage, None, error_chain(e));
    }
    result
}

/// The error and its causes on one line, for the stage list.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

async fn run_stages(
    config: &Config,
    opts: &RunOptions,
    ui: &Reporter,
    rehearsal: Option<Arc<Rehearsal>>,
) -> Result<RunSummary, PipelineError> {
    let ctx = preflight::preflight(config, opts, ui, rehearsal).await?;
    ceremony::ceremonies(&ctx).await?;
    let mut validators = ctx.open_validators()?;
    for v in &mut validators {
        verify::verify(&ctx, v).await?;
    }
    for v in &mut validators {
        deposit::deposit(&ctx, v).await?;
    }
    for v in &mut validators {
        activation::activation(&ctx, v).await?;
    }
    for v in &mut validators {
        register::register(&ctx, v).await?;
    }
    fund::fund(&ctx, &mut validators).await?;
    summary::summarise(&ctx, &validators).await
}

/// Reports a transaction the moment it is journaled as signed (real runs only: it is about to be
/// broadcast).
fn signed_event(ctx: &Ctx, validator: Option<&str>, r: &TxRecord) {
    if ctx.is_dry_run() {
        return;
    }
    ctx.ui.emit(Event::Transaction {
        kind: r.kind.clone(),
        validator: validator.map(Into::into),
        status: "signed".into(),
        hash: r.tx_hash.to_string(),
        gas: None,
        eth_wei: r.value.to_string(),
        ssv_wei: "0".into(),
    });
}

/// Reports every transaction the chain sent (or executed on the fork) since `since` entries.
fn sent_events(ctx: &Ctx, since: usize, validator: Option<&str>) {
    for t in ctx.chain.sent().into_iter().skip(since) {
        ctx.ui.emit(Event::Transaction {
            kind: t.kind.clone(),
            validator: validator.map(Into::into),
            status: if t.rehearsal {
                "executed on the fork".into()
            } else {
                "confirmed".into()
            },
            hash: t.hash.to_string(),
            gas: Some(t.gas_used),
            eth_wei: t.value.to_string(),
            ssv_wei: "0".into(),
        });
    }
}
