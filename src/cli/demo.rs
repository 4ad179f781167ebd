//! `ssv-agent demo`: the local devnet (anvil with the contracts at Hoodi's addresses + Lodestar),
//! the devnet's DKG operators (healthy ones, and an offline one, an outdated one and one serving an
//! unregistered key) listed by the SSV API double, the whole pipeline for one validator with the
//! operators chosen automatically, a summary, and everything it started stopped again.

use std::{path::PathBuf, time::Duration};

use clap::Args;

use super::GlobalOpts;
use crate::{
    beacon::activation::FollowOptions,
    devnet::StartProgress,
    pipeline::{
        self, RunOptions,
        local::{LocalOptions, LocalSetup},
    },
    ui::{OutputMode, Reporter, fmt_duration},
};

/// `demo` options.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Keep keys, outputs, logs and state in DIR to inspect afterwards (default: a temporary
    /// folder, removed at the end).
    #[arg(long = "keep", visible_alias = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Validators to create (1..=100).
    #[arg(long, default_value_t = 1)]
    pub validators: u32,
}

impl DemoArgs {
    /// Runs the demo.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        let started = std::time::Instant::now();
        let ui = Reporter::new(OutputMode::detect(global.json));
        let tmp = match &self.dir {
            Some(_) => None,
            None => Some(
                tempfile::Builder::new()
                    .prefix("ssv-agent-demo-")
                    .tempdir()?,
            ),
        };
        let dir = match (&self.dir, &tmp) {
            (Some(d), _) => d.clone(),
            (None, Some(t)) => t.path().to_owned(),
            (None, None) => eyre::bail!("no demo folder"),
        };
        ui.info(format!(
            "starting the devnet (anvil at Hoodi's addresses + Lodestar), its DKG operators and the SSV API double in {}",
            dir.display()
        ));
        let progress = {
            let ui = ui.clone();
            StartProgress::new(move |line| ui.info(format!("  devnet: {line}")))
        };
        let setup = LocalSetup::start_reporting(
            &LocalOptions {
                dir: dir.clone(),
                operators: 4,
                beacon: true,
            },
            progress,
        )
        .await
        .map_err(|e| eyre::eyre!("{e}"))?;
        ui.info(format!(
            "devnet up in {}: RPC {}, beacon {}, SSV API double {}; the agent chooses the operators (validators.operators = \"auto\")",
            fmt_duration(started.elapsed().as_secs()),
            setup.devnet.rpc_url(),
            setup.devnet.beacon_url().unwrap_or("-"),
            setup.services().ssv_api_url(),
        ));
        let config = setup.config_auto(self.validators, &dir.join("output"));
        let opts = RunOptions {
            tls: setup.tls.clone(),
            follow: FollowOptions {
                poll: Duration::from_secs(1),
                ..FollowOptions::default()
            },
            ..RunOptions::default()
        };
        let result = pipeline::run(&config, &opts, &ui).await;
        drop(setup);
        let summary = result?;
        ui.info(format!(
            "demo finished in {} (outputs {}; everything started was stopped)",
            fmt_duration(started.elapsed().as_secs()),
            if tmp.is_some() {
                "removed with the temporary folder".to_string()
            } else {
                format!(
                    "kept in {} (keys, deposit data, keyshares; devnet logs in {})",
                    dir.join("output").display(),
                    dir.join("devnet").display()
                )
            }
        ));
        if summary
            .validators
            .iter()
            .any(|v| v.validator_index.is_none())
        {
            eyre::bail!("the demo ended without an active validator");
        }
        Ok(())
    }
}
