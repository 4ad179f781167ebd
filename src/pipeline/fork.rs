//! The dry run's chain: the pinned anvil forking the configured RPC (`--fork-url`) on a free
//! loopback port. Everything the dry run sends lands here; the upstream node only serves reads.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::PipelineError;
use crate::{chain::redact_url, devnet::anvil};

/// A running fork; dropping it stops anvil.
#[derive(Debug)]
pub struct Fork {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Fork {
    /// Starts anvil forking `upstream` at its latest block and waits until it answers.
    pub async fn start(upstream: &str) -> Result<Self, PipelineError> {
        let fail = |m: String| PipelineError::preflight("dry-run fork", m);
        let bin = anvil::anvil_binary().map_err(|e| fail(e.to_string()))?;
        let port = anvil::free_port().map_err(|e| fail(e.to_string()))?;
        let dir = tempfile::Builder::new()
            .prefix("ssv-agent-fork-")
            .tempdir()
            .map_err(|e| fail(format!("temporary folder: {e}")))?;
        let log_path = dir.path().join("anvil.log");
        let log = std::fs::File::create(&log_path).map_err(|e| fail(e.to_string()))?;
        let log2 = log.try_clone().map_err(|e| fail(e.to_string()))?;
        let mut child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--fork-url")
            .arg(upstream)
            .arg("--disable-code-size-limit")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| fail(format!("starting {}: {e}", bin.display())))?;
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(fail(format!(
                    "anvil exited ({status}) while forking {}: {}",
                    redact_url(upstream),
                    tail.lines().last().unwrap_or("")
                )));
            }
            if let Ok(r) = client.post(&url).json(&body).send().await
                && r.status().is_success()
            {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "anvil did not answer within 60 s while forking {}",
                    redact_url(upstream)
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Self {
            child,
            url,
            _dir: dir,
        })
    }

    /// The fork's JSON-RPC URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Fork {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
