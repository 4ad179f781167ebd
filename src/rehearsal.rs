//! Dry runs: the real code against a rehearsal of the real chain. The pinned anvil forks the
//! configured RPC (`--fork-url`) on a free loopback port, the owner is unlocked there
//! (`Sender::Impersonated`), and state files are copied into a scratch folder. Every command's
//! `--dry-run` runs its ordinary path on that, so it checks, simulates and executes every
//! transaction it reports, refuses exactly when the real run would, and never writes the real
//! chain or the real journals. The upstream node only serves reads.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::primitives::Address;

use crate::{
    chain::{Chain, ChainConfig, ChainError, Sender, SensitiveUrl},
    config::Config,
    devnet::anvil,
    journal::{JournalError, StateFile},
};

/// Why a rehearsal could not start.
#[derive(Debug, thiserror::Error)]
pub enum RehearsalError {
    /// anvil is not installed.
    #[error("a dry run forks the chain with anvil")]
    Anvil(#[source] crate::devnet::DevnetError),
    /// A temporary folder or log file.
    #[error("dry run: {what}")]
    Io {
        /// What was being done.
        what: String,
        /// The io error.
        #[source]
        source: std::io::Error,
    },
    /// anvil exited while forking.
    #[error("anvil exited ({status}) while forking {url}: {last_line}")]
    Exited {
        /// Exit status.
        status: String,
        /// The upstream, redacted.
        url: String,
        /// Its last log line.
        last_line: String,
    },
    /// anvil did not answer.
    #[error("anvil did not answer within 60 s while forking {0}")]
    Timeout(String),
    /// Connecting to the fork.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// A running fork and its scratch folder; dropping it stops anvil and removes the folder.
#[derive(Debug)]
pub struct Rehearsal {
    child: Child,
    url: String,
    scratch: tempfile::TempDir,
}

impl Rehearsal {
    /// Forks `upstream` at its latest block and waits until the fork answers.
    pub async fn start(upstream: &SensitiveUrl) -> Result<Self, RehearsalError> {
        let bin = anvil::anvil_binary().map_err(RehearsalError::Anvil)?;
        let port = anvil::free_port().map_err(RehearsalError::Anvil)?;
        let io = |what: &str| {
            let what = what.to_string();
            move |source| RehearsalError::Io { what, source }
        };
        let scratch = tempfile::Builder::new()
            .prefix("ssv-agent-dry-run-")
            .tempdir()
            .map_err(io("creating a temporary folder"))?;
        let log_path = scratch.path().join("anvil.log");
        let log = std::fs::File::create(&log_path).map_err(io("creating the fork's log"))?;
        let log2 = log.try_clone().map_err(io("creating the fork's log"))?;
        let mut cmd = Command::new(&bin);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--fork-url")
            .arg(upstream.expose())
            .arg("--disable-code-size-limit")
            // Persisted states stay in the scratch folder, removed with it.
            .arg("--cache-path")
            .arg(scratch.path().join("anvil-cache"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let mut child = cmd.spawn().map_err(io("starting anvil"))?;
        let url = format!("http://127.0.0.1:{port}");
        if let Err(e) = wait_ready(&mut child, &url, &log_path, upstream).await {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        Ok(Self {
            child,
            url,
            scratch,
        })
    }

    /// The fork's JSON-RPC URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The scratch folder for state-file copies.
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// A chain on the fork with `owner` unlocked, the config's other settings kept (no scan cache:
    /// the fork's blocks must not enter the real cache).
    pub async fn chain(&self, config: &Config, owner: Address) -> Result<Chain, RehearsalError> {
        let profile = config.profile().map_err(|e| ChainError::Unexpected {
            what: "network profile".into(),
            detail: e.to_string(),
        })?;
        let mut cc = ChainConfig::from_config(config);
        cc.url = SensitiveUrl::new(&self.url);
        cc.scan_cache = None;
        cc.state_dir = Some(self.scratch.path().join("state"));
        Ok(Chain::open(cc, &profile, Sender::Impersonated(owner)).await?)
    }

    /// A chain on the fork for `profile` with default settings and `owner` unlocked.
    pub async fn chain_for(
        &self,
        profile: &crate::network::NetworkProfile,
        owner: Address,
    ) -> Result<Chain, RehearsalError> {
        let mut cc = ChainConfig::new(&self.url);
        cc.state_dir = Some(self.scratch.path().join("state"));
        Ok(Chain::open(cc, profile, Sender::Impersonated(owner)).await?)
    }

    /// The scratch copy of the state folder `real` (same folder name under the scratch root).
    pub fn scratch_dir(&self, real: &Path) -> PathBuf {
        let name = real.file_name().map(|n| n.to_owned()).unwrap_or_default();
        self.scratch.path().join("state").join(name)
    }

    /// Opens the scratch copy of `real`'s state file.
    pub fn open_state(&self, real: &Path) -> Result<StateFile, JournalError> {
        StateFile::open_scratch(real, &self.scratch_dir(real))
    }
}

impl Drop for Rehearsal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_ready(
    child: &mut Child,
    url: &str,
    log_path: &Path,
    upstream: &SensitiveUrl,
) -> Result<(), RehearsalError> {
    let client = reqwest::Client::new();
    let body =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let tail = std::fs::read_to_string(log_path).unwrap_or_default();
            return Err(RehearsalError::Exited {
                status: status.to_string(),
                url: upstream.to_string(),
                last_line: upstream.scrub(tail.lines().last().unwrap_or("")),
            });
        }
        if let Ok(r) = client.post(url).json(&body).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(RehearsalError::Timeout(upstream.to_string()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
