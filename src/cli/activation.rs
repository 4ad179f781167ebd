//! `ssv-agent activation`: follow deposited validators on the beacon node until active.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::GlobalOpts;
use crate::{
    beacon::{
        activation::{FollowOptions, Progress, follow},
        client::BeaconClient,
    },
    journal::{ActivationRecord, Stage, StateFile, now_secs},
};

/// `activation` options.
#[derive(Debug, Clone, Args)]
pub struct ActivationArgs {
    /// Validator pubkeys (0x + 96 hex) or validator folders holding a state.json with the pubkey.
    #[arg(required = true)]
    pub validators: Vec<String>,
    /// Seconds between polls.
    #[arg(long, default_value_t = 12)]
    pub poll_secs: u64,
    /// Give up when the beacon node has been unusable this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub outage_secs: u64,
    /// Give up after this many seconds overall (default: wait as long as it takes).
    #[arg(long)]
    pub timeout_secs: Option<u64>,
}

fn fmt_progress(pubkey: &str, p: &Progress) -> String {
    if let Some(r) = &p.retrying {
        return format!("{pubkey}: beacon node problem ({r})");
    }
    let status = p
        .status
        .map_or("not yet in the beacon state", |s| s.as_str());
    let eta = p.eta.as_ref().map_or(String::new(), |e| {
        let approx = if e.exact { "" } else { "~" };
        format!(
            "; active in {approx}{} epochs ({approx}{} s): {}",
            e.epochs, e.seconds, e.basis
        )
    });
    let index = p.index.map_or(String::new(), |i| format!(" (index {i})"));
    format!("{pubkey}{index}: {status}{eta}")
}

impl ActivationArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        let config = global.load_config()?;
        let profile = config.profile()?;
        let client = BeaconClient::new(&config.beacon.url, Duration::from_secs(15))?;
        let opts = FollowOptions {
            poll: Duration::from_secs(self.poll_secs.max(1)),
            outage_limit: Some(Duration::from_secs(self.outage_secs)),
            deadline: self.timeout_secs.map(Duration::from_secs),
            ..FollowOptions::default()
        };
        for v in &self.validators {
            let (pubkey, mut state) = if v.starts_with("0x") && v.len() == 98 {
                (v.to_ascii_lowercase(), None)
            } else {
                let state = StateFile::open(&PathBuf::from(v))?;
                let pk = state.get().pubkey.clone().ok_or_else(|| {
                    eyre::eyre!("{} records no validator pubkey yet", state.path().display())
                })?;
                (pk, Some(state))
            };
            let mut last = String::new();
            let json = global.json;
            let done = follow(&client, &profile, &pubkey, opts, |p| {
                let line = fmt_progress(&pubkey, p);
                // Print on change only: a poll every 12 s would otherwise flood the terminal.
                if line != last {
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({ "event": "activation", "message": line })
                        );
                    } else {
                        println!("{line}");
                    }
                    last = line;
                }
                if let (Some(st), Some(status)) = (state.as_mut(), p.status) {
                    let record = ActivationRecord {
                        validator_index: p.index,
                        status: status.as_str().to_string(),
                        updated_at: now_secs(),
                    };
                    if st.get().activation.as_ref().map(|a| &a.status) != Some(&record.status)
                        && let Err(e) = st.update(|s| s.activation = Some(record))
                    {
                        tracing::warn!(error = %e, "could not record activation progress");
                    }
                }
            })
            .await?;
            if let Some(st) = state.as_mut() {
                st.update(|s| {
                    s.activation = Some(ActivationRecord {
                        validator_index: Some(done.index),
                        status: "active_ongoing".into(),
                        updated_at: now_secs(),
                    });
                    s.advance(Stage::Active);
                })?;
            }
            println!(
                "{pubkey}: active_ongoing (index {}, activation epoch {})",
                done.index, done.activation_epoch
            );
        }
        Ok(())
    }
}
