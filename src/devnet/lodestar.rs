//! A real Lodestar beacon node for the devnet: the pinned Lodestar 1.5.1 of `beacon-devnet/`
//! (installed by `scripts/install-lodestar.sh`) run as `lodestar dev` on loopback, following the
//! anvil deposit contract for its eth1 data, so a deposit on anvil becomes a real validator that the
//! Beacon API reports as `pending_*` and then `active_ongoing`.
//!
//! Order matters: `lodestar dev` builds its genesis from N interop deposits, and eth1 votes only
//! count when the contract's deposit count is at least N, so [`interop::seed_interop_deposits`]
//! must have put the same N deposits into the contract before [`Lodestar::start`].
//! `../shared/notes/beacon-devnet.md` records why each flag and constant is what it is.

pub mod interop;
mod process;
mod readiness;

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use alloy::primitives::Address;
use url::Url;

pub use process::StopOutcome;

/// Environment variable that points at a `beacon-devnet/` install other than the repository's.
pub const INSTALL_DIR_ENV: &str = "SSV_AGENT_BEACON_DEVNET_DIR";
/// File (inside the data dir) that receives Lodestar's stdout and stderr.
pub const LOG_FILE: &str = "lodestar.log";
/// The one Lodestar release that installs completely from the npm registry.
pub const LODESTAR_VERSION: &str = "1.5.1";

const LAUNCHER: &str = "lodestar.mjs";
const PORT_ATTEMPTS: u32 = 3;
const INSTALL_HINT: &str = "run scripts/install-lodestar.sh from the repository root";

/// Chain timing of the devnet beacon node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevTiming {
    /// `SECONDS_PER_SLOT` (slots of the minimal preset, 8 per epoch).
    pub seconds_per_slot: u64,
    /// `SECONDS_PER_ETH1_BLOCK`: must equal anvil's `--block-time`.
    pub seconds_per_eth1_block: u64,
    /// `ETH1_FOLLOW_DISTANCE` in eth1 blocks.
    pub eth1_follow_distance: u64,
    /// Preset `EPOCHS_PER_ETH1_VOTING_PERIOD` (minimal: 4).
    pub eth1_voting_period_epochs: u64,
    /// Preset `MAX_SEED_LOOKAHEAD` (minimal: 4); activation is this many epochs after finality + 1.
    pub max_seed_lookahead: u64,
    /// `SHARD_COMMITTEE_PERIOD`: epochs a validator must have been active before a voluntary exit
    /// is valid (minimal: 64, mainnet: 256).
    pub shard_committee_period: u64,
    /// `MIN_VALIDATOR_WITHDRAWABILITY_DELAY`: epochs from exit to withdrawable (minimal and
    /// mainnet: 256).
    pub min_validator_withdrawability_delay: u64,
    /// Use the eth1-tracker patch of `beacon-devnet/patches/`: refresh every this many ms and lower
    /// the catch-up floor to `eth1_follow_distance`. `None` runs stock Lodestar, which then needs
    /// `eth1_follow_distance * seconds_per_eth1_block >= 64` s to vote at all.
    pub patched_eth1_refresh_ms: Option<u64>,
}

impl DevTiming {
    /// The fastest setup that proved stable on a 2-core machine: about 45 s from deposit to
    /// `active_ongoing` (1 s slots and eth1 blocks, follow distance 8, patched tracker); a
    /// validator may exit 4 epochs (32 s) after activation and is withdrawable 4 epochs after its
    /// exit, so a whole exit takes about a minute and a half.
    pub fn fast() -> Self {
        Self {
            seconds_per_slot: 1,
            seconds_per_eth1_block: 1,
            eth1_follow_distance: 8,
            eth1_voting_period_epochs: 1,
            max_seed_lookahead: 1,
            shard_committee_period: 4,
            min_validator_withdrawability_delay: 4,
            patched_eth1_refresh_ms: Some(1_000),
        }
    }

    /// Stock Lodestar eth1 tracking (no patch): about 150 s from deposit to `active_ongoing`.
    pub fn stock() -> Self {
        Self {
            eth1_follow_distance: 64,
            patched_eth1_refresh_ms: None,
            ..Self::fast()
        }
    }
}

/// What the beacon node is started for.
#[derive(Debug, Clone)]
pub struct LodestarOptions {
    /// The `beacon-devnet/` directory holding `lodestar.mjs` and its `node_modules`.
    pub install_dir: PathBuf,
    /// Node.js executable.
    pub node: PathBuf,
    /// Where the beacon database, genesis state and [`LOG_FILE`] go; created if missing.
    pub data_dir: PathBuf,
    /// The anvil JSON-RPC endpoint whose deposit contract Lodestar follows.
    pub eth1_rpc_url: Url,
    /// `DEPOSIT_CHAIN_ID` / `DEPOSIT_NETWORK_ID`: anvil's chain id.
    pub chain_id: u64,
    /// `DEPOSIT_CONTRACT_ADDRESS`.
    pub deposit_contract: Address,
    /// First eth1 block Lodestar scans for `DepositEvent`s.
    pub deposit_contract_block: u64,
    /// `GENESIS_FORK_VERSION`, which deposits are signed under (Hoodi: `0x10000910`).
    pub genesis_fork_version: [u8; 4],
    /// Interop validators in genesis, all run by Lodestar's own validator client.
    pub genesis_validators: u32,
    /// Slot, epoch and eth1 timing.
    pub timing: DevTiming,
    /// How long to wait for the Beacon API to answer before giving up.
    pub ready_timeout: Duration,
    /// How long a SIGTERM may take before the node is killed.
    pub stop_grace: Duration,
    /// Run in its own process group, so it can outlive the starter ([`Lodestar::detach`]) without
    /// getting the terminal's Ctrl-C or hang-up.
    pub own_process_group: bool,
    /// Where the wait for the Beacon API reports (every few seconds).
    pub progress: super::StartProgress,
}

impl LodestarOptions {
    /// Options for following `eth1_rpc_url`'s deposit contract with the fast timing, 8 genesis
    /// validators and the default install location ([`default_install_dir`]).
    pub fn new(
        eth1_rpc_url: Url,
        chain_id: u64,
        deposit_contract: Address,
        genesis_fork_version: [u8; 4],
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            install_dir: default_install_dir(),
            node: PathBuf::from("node"),
            data_dir: data_dir.into(),
            eth1_rpc_url,
            chain_id,
            deposit_contract,
            deposit_contract_block: 0,
            genesis_fork_version,
            genesis_validators: 8,
            timing: DevTiming::fast(),
            ready_timeout: Duration::from_secs(90),
            // Lodestar 1.5.1's graceful stop sometimes hangs on its database for several seconds.
            stop_grace: Duration::from_secs(8),
            own_process_group: false,
            progress: super::StartProgress::default(),
        }
    }
}

/// `$SSV_AGENT_BEACON_DEVNET_DIR`, else the repository's `beacon-devnet/`.
pub fn default_install_dir() -> PathBuf {
    match std::env::var_os(INSTALL_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("beacon-devnet"),
    }
}

/// A failure to start, reach or stop the devnet beacon node.
#[derive(Debug, thiserror::Error)]
pub enum LodestarError {
    /// The pinned Lodestar is not installed (`scripts/install-lodestar.sh`).
    #[error(
        "Lodestar {LODESTAR_VERSION} is not installed in {dir} ({missing} is missing): {INSTALL_HINT}"
    )]
    NotInstalled {
        /// The install folder.
        dir: PathBuf,
        /// The file that is not there.
        missing: &'static str,
    },
    /// Node.js cannot be run.
    #[error("cannot run Node.js `{node}` (needed for Lodestar; install Node 20+): {source}")]
    NodeMissing {
        /// The `node` binary tried.
        node: PathBuf,
        /// The spawn error.
        source: std::io::Error,
    },
    /// A file or folder of the beacon node could not be used.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No loopback port could be reserved.
    #[error("no free loopback port for the Lodestar {what}: {source}")]
    NoFreePort {
        /// Which port (REST API, P2P, metrics).
        what: &'static str,
        /// The bind error.
        source: std::io::Error,
    },
    /// An option out of range.
    #[error("invalid Lodestar option {field}: {reason}")]
    BadOption {
        /// The option.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The process exited before its Beacon API answered.
    #[error(
        "Lodestar exited before its Beacon API was ready ({status}); last log lines of {log}:\n{tail}"
    )]
    ExitedEarly {
        /// Its exit status.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
    },
    /// The Beacon API did not answer in time.
    #[error(
        "Lodestar's Beacon API at {url} was not ready within {waited:?} (last: {last}); log: {log}"
    )]
    NotReady {
        /// The API.
        url: String,
        /// How long we waited.
        waited: Duration,
        /// The last answer or error.
        last: String,
        /// Its log file.
        log: PathBuf,
    },
    /// The node follows another chain than the devnet's.
    #[error("Lodestar serves the wrong chain: {field} is {got}, expected {expected}")]
    WrongChain {
        /// The field compared (genesis time, fork version, deposit contract).
        field: &'static str,
        /// The devnet's value.
        expected: String,
        /// The node's.
        got: String,
    },
    /// The process could not be signalled.
    #[error("cannot signal Lodestar (pid {pid}): {source}")]
    Signal {
        /// The process.
        pid: u32,
        /// The kill error.
        source: std::io::Error,
    },
    /// The recorded pid now belongs to another program.
    #[error(
        "pid {pid} is not the devnet process recorded for it (its command line lacks {marker}); not signalling it"
    )]
    NotOurs {
        /// The process.
        pid: u32,
        /// The marker its command line must hold.
        marker: String,
    },
    /// The process survived SIGKILL.
    #[error("Lodestar (pid {pid}) did not exit even after SIGKILL: {source}")]
    StopFailed {
        /// The process.
        pid: u32,
        /// The last error.
        source: std::io::Error,
    },
}

/// A running Lodestar (`dev` beacon node and validator client in one process). Dropping it stops
/// the process (SIGTERM, then SIGKILL after the grace period).
#[derive(Debug)]
pub struct Lodestar {
    child: Option<Child>,
    rest_url: Url,
    data_dir: PathBuf,
    log_path: PathBuf,
    genesis_time: u64,
    stop_grace: Duration,
}

impl Lodestar {
    /// Spawns Lodestar and waits until `/eth/v1/node/health` and `/eth/v1/beacon/genesis` answer
    /// and the node reports the expected fork version and deposit contract.
    pub async fn start(opts: &LodestarOptions) -> Result<Self, LodestarError> {
        check_installed(&opts.install_dir)?;
        check_options(opts)?;
        fs::create_dir_all(&opts.data_dir).map_err(|source| LodestarError::Io {
            what: "cannot create the Lodestar data dir",
            path: opts.data_dir.clone(),
            source,
        })?;
        // A free port can be taken by someone else between our probe and Lodestar's bind (parallel
        // tests); then the node dies with EADDRINUSE and new ports are worth another try.
        let mut attempt = 1;
        loop {
            match Self::start_once(opts).await {
                Err(LodestarError::ExitedEarly { tail, .. })
                    if attempt < PORT_ATTEMPTS && tail.contains("EADDRINUSE") =>
                {
                    tracing::warn!(
                        attempt,
                        "Lodestar lost its port to another process; retrying"
                    );
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn start_once(opts: &LodestarOptions) -> Result<Self, LodestarError> {
        let rest_port = process::free_tcp_port("REST API")?;
        let p2p_port = process::free_tcp_port("p2p listener")?;
        let rest_url = Url::parse(&format!("http://127.0.0.1:{rest_port}/")).map_err(|e| {
            LodestarError::BadOption {
                field: "REST URL",
                reason: e.to_string(),
            }
        })?;

        let log_path = opts.data_dir.join(LOG_FILE);
        let log = File::create(&log_path).map_err(|source| LodestarError::Io {
            what: "cannot create the Lodestar log",
            path: log_path.clone(),
            source,
        })?;
        let log_err = log.try_clone().map_err(|source| LodestarError::Io {
            what: "cannot share the Lodestar log",
            path: log_path.clone(),
            source,
        })?;

        let mut cmd = Command::new(&opts.node);
        cmd.arg(opts.install_dir.join(LAUNCHER))
            .args(dev_args(opts, rest_port, p2p_port))
            // `lodestar dev` writes genesis.ssz into its working directory.
            .current_dir(&opts.data_dir)
            .envs(timing_env(&opts.timing))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        if opts.own_process_group {
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        }
        let child = cmd.spawn().map_err(|source| LodestarError::NodeMissing {
            node: opts.node.clone(),
            source,
        })?;
        tracing::info!(pid = child.id(), rest = %rest_url, log = %log_path.display(), "Lodestar started");

        let mut node = Self {
            child: Some(child),
            rest_url,
            data_dir: opts.data_dir.clone(),
            log_path,
            genesis_time: 0,
            stop_grace: opts.stop_grace,
        };
        match readiness::wait_ready(&mut node, opts).await {
            Ok(genesis_time) => {
                node.genesis_time = genesis_time;
                Ok(node)
            }
            Err(e) => {
                // The caller never sees a half-started node: stop it before reporting.
                if let Err(stop_err) = node.stop_now() {
                    tracing::warn!(error = %stop_err, "stopping Lodestar after a failed start");
                }
                Err(e)
            }
        }
    }

    /// Base URL of the Beacon API (`http://127.0.0.1:<port>/`).
    pub fn rest_url(&self) -> &Url {
        &self.rest_url
    }

    /// Where Lodestar's output goes.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `genesis_time` (unix seconds) the node reported.
    pub fn genesis_time(&self) -> u64 {
        self.genesis_time
    }

    /// Process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Leaves the node running after this handle is gone (for `devnet up`); returns its pid, which
    /// [`stop_detached`] stops later. Start it with `own_process_group` for that.
    pub fn detach(mut self) -> Option<u32> {
        self.child.take().map(|c| c.id())
    }

    /// Stops the node: SIGTERM, wait up to the grace period, then SIGKILL. Says which happened.
    pub async fn stop(mut self) -> Result<StopOutcome, LodestarError> {
        let Some(mut child) = self.child.take() else {
            return Ok(StopOutcome::AlreadyExited);
        };
        let grace = self.stop_grace;
        let pid = child.id();
        // The stop polls with blocking sleeps; keep them off the async workers.
        tokio::task::spawn_blocking(move || process::terminate(&mut child, grace))
            .await
            .map_err(|e| LodestarError::StopFailed {
                pid,
                source: std::io::Error::other(e.to_string()),
            })?
    }

    /// Blocking stop, for `Drop` and failed starts.
    fn stop_now(&mut self) -> Result<StopOutcome, LodestarError> {
        match self.child.take() {
            Some(mut child) => process::terminate(&mut child, self.stop_grace),
            None => Ok(StopOutcome::AlreadyExited),
        }
    }

    /// `Some(status)` once the process has exited (it is then reaped).
    fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown exit ({e})")),
        }
    }
}

/// Stops a node that an earlier process started and detached, by pid. Refuses a pid that is not a
/// Lodestar of this launcher any more (pids are recycled), so it can never signal a stranger.
pub async fn stop_detached(pid: u32, grace: Duration) -> Result<StopOutcome, LodestarError> {
    stop_pid_with_marker(pid, LAUNCHER, grace).await
}

/// Stops a detached devnet process (Lodestar, the exit double) by pid: SIGTERM, then SIGKILL
/// after `grace`, and only while its command line still contains `marker`.
pub(crate) async fn stop_pid_with_marker(
    pid: u32,
    marker: &'static str,
    grace: Duration,
) -> Result<StopOutcome, LodestarError> {
    tokio::task::spawn_blocking(move || process::terminate_pid(pid, marker, grace))
        .await
        .map_err(|e| LodestarError::StopFailed {
            pid,
            source: std::io::Error::other(e.to_string()),
        })?
}

impl Drop for Lodestar {
    fn drop(&mut self) {
        if let Err(e) = self.stop_now() {
            tracing::warn!(error = %e, "stopping Lodestar on drop");
        }
    }
}

fn check_installed(dir: &Path) -> Result<(), LodestarError> {
    let needed = [
        (LAUNCHER, dir.join(LAUNCHER)),
        (
            "node_modules/@chainsafe/lodestar",
            dir.join("node_modules/@chainsafe/lodestar"),
        ),
    ];
    for (missing, path) in needed {
        if !path.exists() {
            return Err(LodestarError::NotInstalled {
                dir: dir.to_path_buf(),
                missing,
            });
        }
    }
    Ok(())
}

fn check_options(opts: &LodestarOptions) -> Result<(), LodestarError> {
    let t = &opts.timing;
    let positive = [
        ("seconds_per_slot", t.seconds_per_slot),
        ("seconds_per_eth1_block", t.seconds_per_eth1_block),
        ("eth1_follow_distance", t.eth1_follow_distance),
        ("eth1_voting_period_epochs", t.eth1_voting_period_epochs),
        ("max_seed_lookahead", t.max_seed_lookahead),
        ("shard_committee_period", t.shard_committee_period),
        (
            "min_validator_withdrawability_delay",
            t.min_validator_withdrawability_delay,
        ),
        ("genesis_validators", u64::from(opts.genesis_validators)),
    ];
    for (field, value) in positive {
        if value == 0 {
            return Err(LodestarError::BadOption {
                field,
                reason: "must be at least 1".into(),
            });
        }
    }
    // Stock Lodestar never follows closer than 64 s of eth1 blocks; a shorter window never votes.
    if t.patched_eth1_refresh_ms.is_none() && t.eth1_follow_distance * t.seconds_per_eth1_block < 64
    {
        return Err(LodestarError::BadOption {
            field: "eth1_follow_distance",
            reason: format!(
                "stock Lodestar needs eth1_follow_distance * seconds_per_eth1_block >= 64 s, got {} s; \
                 use the patched tracker (DevTiming::fast)",
                t.eth1_follow_distance * t.seconds_per_eth1_block
            ),
        });
    }
    if !matches!(opts.eth1_rpc_url.scheme(), "http" | "https") {
        return Err(LodestarError::BadOption {
            field: "eth1_rpc_url",
            reason: format!(
                "Lodestar's eth1 tracker needs http(s), got {}",
                opts.eth1_rpc_url
            ),
        });
    }
    Ok(())
}

/// `lodestar dev` arguments: loopback only, no discovery, no metrics, interop validators.
fn dev_args(opts: &LodestarOptions, rest_port: u16, p2p_port: u16) -> Vec<String> {
    let t = &opts.timing;
    let last_validator = opts.genesis_validators.saturating_sub(1);
    let mut args: Vec<String> = vec!["dev".into()];
    let mut flag = |name: &str, value: String| {
        args.push(format!("--{name}"));
        args.push(value);
    };
    flag("dataDir", opts.data_dir.display().to_string());
    flag("genesisValidators", opts.genesis_validators.to_string());
    flag("startValidators", format!("0..{last_validator}"));
    flag(
        "params.GENESIS_FORK_VERSION",
        format!("0x{}", hex::encode(opts.genesis_fork_version)),
    );
    flag("params.SECONDS_PER_SLOT", t.seconds_per_slot.to_string());
    flag(
        "params.SECONDS_PER_ETH1_BLOCK",
        t.seconds_per_eth1_block.to_string(),
    );
    flag(
        "params.ETH1_FOLLOW_DISTANCE",
        t.eth1_follow_distance.to_string(),
    );
    flag(
        "params.SHARD_COMMITTEE_PERIOD",
        t.shard_committee_period.to_string(),
    );
    flag(
        "params.MIN_VALIDATOR_WITHDRAWABILITY_DELAY",
        t.min_validator_withdrawability_delay.to_string(),
    );
    flag("params.DEPOSIT_CHAIN_ID", opts.chain_id.to_string());
    flag("params.DEPOSIT_NETWORK_ID", opts.chain_id.to_string());
    flag(
        "params.DEPOSIT_CONTRACT_ADDRESS",
        format!("{:#x}", opts.deposit_contract),
    );
    flag("eth1", "true".into());
    flag("eth1.providerUrls", opts.eth1_rpc_url.to_string());
    flag(
        "eth1.depositContractDeployBlock",
        opts.deposit_contract_block.to_string(),
    );
    flag("rest.address", "127.0.0.1".into());
    flag("rest.port", rest_port.to_string());
    // "*" includes the debug namespace, whose genesis state shows the eth1 data the deposits must match.
    flag("rest.namespace", "*".into());
    // The validator client of `dev` defaults to :9596; point it at this node's REST port.
    flag("beaconNodes", format!("http://127.0.0.1:{rest_port}"));
    flag("port", p2p_port.to_string());
    flag("listenAddress", "127.0.0.1".into());
    flag("discv5", "false".into());
    flag("metrics", "false".into());
    // Exposes the node as globalThis.bn, so the launcher can exit once it has closed (see lodestar.mjs).
    flag("attachToGlobalThis", "true".into());
    flag("logLevel", "info".into());
    args
}

/// How far (slots) the head may fall behind the clock before Lodestar calls itself syncing. Stock
/// is one epoch: 8 s with 1 s slots, so a loaded machine starving the node that long stalled the
/// single-node devnet for good (no peer to sync from, so no validator proposes again). The devnet
/// is its only node: it is always as synced as it can be.
const SINGLE_NODE_SLOT_TOLERANCE: u64 = 1 << 20;

/// Environment read by `beacon-devnet/lodestar.mjs` (preset overrides) and the Lodestar patch.
fn timing_env(t: &DevTiming) -> Vec<(&'static str, String)> {
    let mut env = vec![
        (
            "SSV_DEVNET_EPOCHS_PER_ETH1_VOTING_PERIOD",
            t.eth1_voting_period_epochs.to_string(),
        ),
        (
            "SSV_DEVNET_MAX_SEED_LOOKAHEAD",
            t.max_seed_lookahead.to_string(),
        ),
        // The launcher writes these into Lodestar's preset copy, which its spec endpoint shows
        // over the config values the chain uses (`--params.*` above).
        (
            "SSV_DEVNET_SHARD_COMMITTEE_PERIOD",
            t.shard_committee_period.to_string(),
        ),
        (
            "SSV_DEVNET_MIN_VALIDATOR_WITHDRAWABILITY_DELAY",
            t.min_validator_withdrawability_delay.to_string(),
        ),
    ];
    if let Some(ms) = t.patched_eth1_refresh_ms {
        env.push(("SSV_DEVNET_ETH1_UPDATE_MS", ms.to_string()));
        env.push((
            "SSV_DEVNET_ETH1_MIN_FOLLOW",
            t.eth1_follow_distance.to_string(),
        ));
        env.push((
            "SSV_DEVNET_SLOT_IMPORT_TOLERANCE",
            SINGLE_NODE_SLOT_TOLERANCE.to_string(),
        ));
    }
    env
}

#[cfg(test)]
mod tests;
