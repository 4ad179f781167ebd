//! The pinned anvil binary (npm `@foundry-rs/anvil` 1.7.1, installed in `anvil/node_modules` by
//! `cd anvil && npm ci`) run as a child process on a loopback port.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::DevnetError;

/// Environment variable naming an anvil binary to use instead of the repository's pinned one.
pub const ANVIL_ENV: &str = "SSV_AGENT_ANVIL";
const PINNED: &str = "anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";

/// `$SSV_AGENT_ANVIL`, else the repository's pinned binary, else `anvil` on `PATH`.
pub fn anvil_binary() -> Result<PathBuf, DevnetError> {
    if let Some(p) = std::env::var_os(ANVIL_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let pinned = Path::new(env!("CARGO_MANIFEST_DIR")).join(PINNED);
    if pinned.exists() {
        return Ok(pinned);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("anvil"))
        .find(|p| p.is_file());
    on_path.ok_or(DevnetError::AnvilMissing)
}

/// A free TCP port on 127.0.0.1 (the OS picks; the listener is dropped before anvil binds it).
pub fn free_port() -> Result<u16, DevnetError> {
    let l = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| DevnetError::Io("binding a free port".into(), e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| DevnetError::Io("reading the free port".into(), e))
}

/// How to run anvil.
#[derive(Debug, Clone)]
pub struct AnvilSpec {
    /// Chain id to report.
    pub chain_id: u64,
    /// Loopback port.
    pub port: u16,
    /// Number of the genesis block: the profile's registry sync offset, so a built-in profile's
    /// first-block-to-scan lies below every devnet event, as on the real chain.
    pub genesis_number: u64,
    /// Seconds between blocks; `None` mines on every transaction.
    pub block_time: Option<u64>,
    /// Load state from / dump state to this file (for `devnet up` restarts).
    pub state_file: Option<PathBuf>,
    /// Where anvil's output goes.
    pub log_file: PathBuf,
    /// Where anvil persists the states it no longer keeps in memory (`--cache-path`): a folder
    /// of the caller's, removed with it. Anvil's default, `~/.foundry/anvil/tmp`, is never
    /// cleaned, not even on SIGTERM: a day of this suite left 47 GB there (1 000 mined blocks
    /// persist about 77 MB).
    pub cache_dir: PathBuf,
}

/// Starts anvil and waits until it answers `eth_chainId`.
pub async fn spawn(spec: &AnvilSpec, detach: bool) -> Result<Child, DevnetError> {
    let bin = anvil_binary()?;
    let log = std::fs::File::create(&spec.log_file)
        .map_err(|e| DevnetError::Io(format!("creating {}", spec.log_file.display()), e))?;
    let mut cmd = Command::new(&bin);
    cmd.args(["--host", "127.0.0.1", "--port", &spec.port.to_string()])
        .args(["--chain-id", &spec.chain_id.to_string()])
        .args(["--accounts", "10", "--balance", "100000"])
        .args(["--number", &spec.genesis_number.to_string()])
        // The SSVNetwork double is larger than EIP-170 allows; tests may also deploy it normally.
        .arg("--disable-code-size-limit")
        .arg("--cache-path")
        .arg(&spec.cache_dir)
        .stdin(Stdio::null())
        .stdout(
            log.try_clone()
                .map_err(|e| DevnetError::Io("log file".into(), e))?,
        )
        .stderr(log);
    if let Some(t) = spec.block_time {
        cmd.args(["--block-time", &t.to_string()]);
    }
    if let Some(state) = &spec.state_file {
        cmd.arg("--state").arg(state);
    }
    #[cfg(unix)]
    if detach {
        use std::os::unix::process::CommandExt;
        // Own process group: a detached devnet outlives the shell's Ctrl-C.
        cmd.process_group(0);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| DevnetError::Io(format!("starting {}", bin.display()), e))?;
    let url = format!("http://127.0.0.1:{}", spec.port);
    let deadline = Instant::now() + Duration::from_secs(20);
    let client = reqwest::Client::new();
    let body =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(DevnetError::AnvilExited {
                status: status.to_string(),
                log: spec.log_file.clone(),
            });
        }
        if let Ok(r) = client.post(&url).json(&body).send().await
            && r.status().is_success()
        {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(DevnetError::AnvilTimeout {
                url,
                log: spec.log_file.clone(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops anvil with SIGTERM (so `--state` is dumped), then SIGKILL after a grace period.
pub fn stop_pid(pid: u32, grace: Duration) {
    #[cfg(unix)]
    {
        let pid = pid as i32;
        // SAFETY: plain kill(2) on a pid we started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            // SAFETY: signal 0 only checks whether the process exists.
            if unsafe { libc::kill(pid, 0) } != 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}
