//! `ssv-agent exit`: ask SSVNetwork to exit one, several or all validators of a cluster
//! (`exitValidator`, `bulkExitValidator` for several), then follow each on the Beacon API through
//! `active_exiting` -> `exited_unslashed` -> `withdrawal_possible` with an ETA. Refuses, before
//! sending anything, a validator that is not this owner's or not exitable now, and says what the
//! operators must do. `--dry-run` rehearses the request on an anvil fork.

use std::{path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};
use eyre::WrapErr;

use super::{
    GlobalOpts,
    opts::{ChainArgs, Mode, connect},
    print_rehearsal,
    status::OperatorSet,
};
use crate::{
    beacon::{
        activation::FollowOptions,
        client::BeaconClient,
        exit::{ExitFollowOptions, ExitProgress, ExitReached, ExitTarget, exit_node, follow_exit},
        exit_eta::ExitEta,
    },
    journal::{STATE_FILE, StateFile, now_secs},
    ssv::exit::{ExitReport, ExitRequest, Outcome, Selection, request_exits},
};

/// Where `exit` stops following.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Until {
    /// `exited_unslashed`.
    Exited,
    /// `withdrawal_possible` (or `withdrawal_done`).
    Withdrawable,
}

/// `exit` options.
#[derive(Debug, Clone, Args)]
pub struct ExitArgs {
    /// Validator pubkeys (0x + 96 hex) or validator folders holding a state.json with the pubkey.
    #[arg(required_unless_present = "all")]
    pub validators: Vec<String>,
    /// Every validator of the owner's cluster on `--operator-ids` (ones already exiting are
    /// skipped).
    #[arg(long, requires = "operator_ids", conflicts_with = "validators")]
    pub all: bool,
    /// The cluster's operators, e.g. `1,2,3,4` (with validators: they must be in this cluster).
    #[arg(long, value_name = "IDS")]
    pub operator_ids: Option<OperatorSet>,
    /// Rehearse on an anvil fork of the RPC with the owner impersonated: every check and the exit
    /// transaction run there; nothing reaches the real chain and nothing is followed.
    #[arg(long)]
    pub dry_run: bool,
    /// Return after the transaction instead of following the exit.
    #[arg(long)]
    pub no_follow: bool,
    /// Stop following at this status.
    #[arg(long, value_enum, default_value = "withdrawable")]
    pub until: Until,
    /// Seconds between polls.
    #[arg(long, default_value_t = 12)]
    pub poll_secs: u64,
    /// Give up when the beacon node has been unusable this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub outage_secs: u64,
    /// Give up when a validator is still active_ongoing this many seconds after the request (its
    /// operators did not sign).
    #[arg(long, default_value_t = 3600)]
    pub sign_timeout_secs: u64,
    /// Give up after this many seconds overall (default: wait as long as it takes).
    #[arg(long)]
    pub timeout_secs: Option<u64>,
    /// Root of the state files (default: validators.output_dir).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Chain and signer.
    #[command(flatten)]
    pub chain: ChainArgs,
}

impl ExitArgs {
    fn selection(&self) -> eyre::Result<Selection> {
        if self.all {
            let ids = self
                .operator_ids
                .as_ref()
                .map(|s| s.0.clone())
                .unwrap_or_default();
            return Ok(Selection::Cluster(ids));
        }
        self.validators
            .iter()
            .map(|v| parse_validator(v))
            .collect::<eyre::Result<Vec<_>>>()
            .map(Selection::Validators)
    }

    fn follow_options(&self) -> ExitFollowOptions {
        ExitFollowOptions {
            follow: FollowOptions {
                poll: Duration::from_secs(self.poll_secs.max(1)),
                outage_limit: Some(Duration::from_secs(self.outage_secs)),
                deadline: self.timeout_secs.map(Duration::from_secs),
                ..FollowOptions::default()
            },
            target: match self.until {
                Until::Exited => ExitTarget::Exited,
                Until::Withdrawable => ExitTarget::Withdrawable,
            },
            sign_deadline: Some(Duration::from_secs(self.sign_timeout_secs)),
        }
    }

    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        let config = global.load_config_with(&self.chain)?;
        let profile = config.profile()?;
        let selection = self.selection()?;
        let beacon = BeaconClient::new(&config.beacon.url, Duration::from_secs(15))?;
        let node = exit_node(&beacon, &profile, 8)
            .await
            .wrap_err("checking the beacon node (beacon.url) before requesting an exit")?;
        let mode = if self.dry_run {
            Mode::DryRun
        } else {
            Mode::Send
        };
        let connected = connect(&config, mode, None).await?;
        let chain = &connected.chain;
        let req = ExitRequest {
            selection,
            operator_ids: self.operator_ids.as_ref().map(|s| s.0.clone()),
            state_root: self
                .state_dir
                .clone()
                .unwrap_or_else(|| config.validators.output_dir.clone()),
        };
        let rehearsal = connected.rehearsal.as_ref();
        let report = request_exits(chain, &beacon, &node, &req, |dir| match rehearsal {
            Some(r) => r.open_state(dir),
            None => StateFile::open(dir),
        })
        .await?;
        print_report(&report, global.json);
        if report.rehearsal {
            print_rehearsal(chain, global.json);
            return Ok(());
        }
        if self.no_follow {
            return Ok(());
        }
        let opts = self.follow_options();
        for v in &report.validators {
            if matches!(v.outcome, Outcome::Skipped { .. }) {
                continue;
            }
            let done = follow_one(
                &beacon,
                &profile,
                &v.pubkey,
                &v.state_dir,
                opts,
                global.json,
            )
            .await?;
            let line = format!(
                "{}: {} (index {}, exit epoch {}, withdrawable epoch {})",
                v.pubkey,
                done.status.as_str(),
                done.index,
                done.exit_epoch,
                done.withdrawable_epoch
            );
            if global.json {
                println!(
                    "{}",
                    serde_json::json!({ "event": "exit_done", "pubkey": v.pubkey,
                        "status": done.status.as_str(), "index": done.index,
                        "exit_epoch": done.exit_epoch, "withdrawable_epoch": done.withdrawable_epoch })
                );
            } else {
                println!("{line}");
            }
        }
        Ok(())
    }
}

/// A pubkey, or the pubkey recorded in a validator folder's state file.
fn parse_validator(v: &str) -> eyre::Result<[u8; 48]> {
    let text = if v.starts_with("0x") && v.len() == 98 {
        v.to_string()
    } else {
        let dir = PathBuf::from(v);
        if !dir.join(STATE_FILE).is_file() {
            eyre::bail!(
                "`{v}` is neither a validator pubkey (0x + 96 hex) nor a folder with a {STATE_FILE}"
            );
        }
        let state = StateFile::open(&dir)?;
        state.get().pubkey.clone().ok_or_else(|| {
            eyre::eyre!("{} records no validator pubkey yet", state.path().display())
        })?
    };
    let bytes = hex::decode(text.trim_start_matches("0x"))
        .wrap_err_with(|| format!("`{text}` is not hex"))?;
    bytes
        .try_into()
        .map_err(|_| eyre::eyre!("`{text}` is not a 48-byte BLS public key"))
}

/// "exited in ~3 epochs (~24 s), withdrawable in ~7 epochs (~56 s)".
pub fn fmt_eta(e: &ExitEta) -> String {
    let m = |name: &str, ms: &crate::beacon::exit_eta::Milestone| {
        let approx = if ms.exact { "" } else { "~" };
        format!(
            "{name} in {approx}{} epochs ({approx}{} s, epoch {})",
            ms.epochs, ms.seconds, ms.epoch
        )
    };
    let mut s = format!(
        "{}, {}",
        m("exited", &e.exited),
        m("withdrawable", &e.withdrawable)
    );
    if let Some(w) = &e.withdrawn {
        s.push_str(&format!(", {}", m("paid out", w)));
    }
    s
}

fn print_report(r: &ExitReport, json: bool) {
    if json {
        let validators: Vec<serde_json::Value> = r
            .validators
            .iter()
            .map(|v| {
                let mut j = serde_json::to_value(v).unwrap_or_default();
                if let Some(e) = &v.eta {
                    j["eta"] = serde_json::json!({
                        "exit_epoch": e.exited.epoch, "exit_in_secs": e.exited.seconds,
                        "withdrawable_epoch": e.withdrawable.epoch,
                        "withdrawable_in_secs": e.withdrawable.seconds,
                        "exact": e.exited.exact, "basis": e.basis,
                    });
                }
                j
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "event": "exit_request", "owner": r.owner,
                "validators": validators, "transactions": r.transactions,
                "operators": r.operators, "rehearsal": r.rehearsal })
        );
        return;
    }
    for v in &r.validators {
        let what = match &v.outcome {
            Outcome::Sent { tx_hash } => format!("exit requested in {tx_hash}"),
            Outcome::Resumed { tx_hash } => {
                format!("exit request {tx_hash} from an earlier run; nothing new sent")
            }
            Outcome::AlreadyRequested { tx_hash, block } => format!(
                "exit already requested on chain in {tx_hash} (block {block}); nothing sent"
            ),
            Outcome::Skipped { status } => format!("skipped: already `{status}`"),
        };
        let index = v
            .validator_index
            .map_or(String::new(), |i| format!(" (index {i})"));
        println!("{}{index}: {what}", v.pubkey);
        if let Some(e) = &v.eta {
            println!("  ETA: {}; {}", fmt_eta(e), e.basis);
        }
    }
    for t in &r.transactions {
        println!(
            "tx {} {} {:?}{} for {} validator(s)",
            t.kind,
            t.tx_hash,
            t.status,
            t.block
                .map(|b| format!(" in block {b}"))
                .unwrap_or_default(),
            t.pubkeys.len()
        );
    }
    for d in &r.operators {
        println!("what the operators do: {}", d.instruction);
    }
}

fn fmt_progress(pubkey: &str, p: &ExitProgress) -> String {
    if let Some(r) = &p.retrying {
        return format!("{pubkey}: beacon node problem ({r})");
    }
    let status = p.status.map_or("unknown", |s| s.as_str());
    let index = p.index.map_or(String::new(), |i| format!(" (index {i})"));
    let waiting = if status == "active_ongoing" {
        "; waiting for the operators' signed voluntary exit"
    } else {
        ""
    };
    let eta = p
        .eta
        .as_ref()
        .map_or(String::new(), |e| format!("; {}", fmt_eta(e)));
    format!("{pubkey}{index}: {status}{waiting}{eta}")
}

/// Follows one validator, printing changes and recording them in its state file.
async fn follow_one(
    beacon: &BeaconClient,
    profile: &crate::network::NetworkProfile,
    pubkey: &str,
    state_dir: &std::path::Path,
    opts: ExitFollowOptions,
    json: bool,
) -> eyre::Result<ExitReached> {
    let mut state = StateFile::open(state_dir)?;
    let mut last = String::new();
    let done = follow_exit(beacon, profile, pubkey, opts, |p| {
        // Print on change only (the ETA's seconds shrink every poll; the status and epochs do not).
        let key = format!(
            "{:?}{:?}{:?}",
            p.status,
            p.eta
                .as_ref()
                .map(|e| (e.exited.epoch, e.withdrawable.epoch)),
            p.retrying
        );
        if key != last {
            let line = fmt_progress(pubkey, p);
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "event": "exit_progress", "pubkey": pubkey,
                        "status": p.status.map(|s| s.as_str()), "message": line })
                );
            } else {
                println!("{line}");
            }
            last = key;
            if let Some(status) = p.status {
                let eta = p.eta.clone();
                let r = state.update(|s| {
                    if let Some(e) = s.exit.as_mut() {
                        e.status = Some(status.as_str().to_string());
                        e.validator_index = p.index;
                        if let Some(eta) = eta.filter(|e| e.exited.exact) {
                            e.exit_epoch = Some(eta.exited.epoch);
                            e.withdrawable_epoch = Some(eta.withdrawable.epoch);
                        }
                        e.updated_at = now_secs();
                    }
                });
                if let Err(e) = r {
                    tracing::warn!(error = %e, "could not record exit progress");
                }
            }
        }
    })
    .await?;
    state.update(|s| {
        if let Some(e) = s.exit.as_mut() {
            e.status = Some(done.status.as_str().to_string());
            e.validator_index = Some(done.index);
            e.exit_epoch = Some(done.exit_epoch);
            e.withdrawable_epoch = Some(done.withdrawable_epoch);
            e.updated_at = now_secs();
        }
        s.note(format!("exit followed to {}", done.status.as_str()));
    })?;
    Ok(done)
}
