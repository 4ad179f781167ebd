//! The devnet double of what SSV nodes do when a validator's owner calls `exitValidator`.
//!
//! On mainnet each of the cluster's operators runs an SSV node that sees SSVNetwork's
//! `ValidatorExited`, signs the validator's `VoluntaryExit` with its key share, and a quorum of
//! those partial signatures becomes the validator's signature, which goes to the beacon chain. The
//! devnet has no SSV nodes, so this one task does it for all devnet operators: it watches anvil for
//! `ValidatorExited`, finds the registration's `sharesData` (the `ValidatorAdded` event), decrypts
//! each operator's share with that operator's devnet RSA key, signs the exit under the beacon
//! node's `DOMAIN_VOLUNTARY_EXIT` with each share, Lagrange-combines a threshold subset of the
//! partial signatures at x = operator ids (the key itself is never reconstructed), checks the result
//! against the validator key, and submits it to Lodestar (`POST
//! /eth/v1/beacon/pool/voluntary_exits`). An exit the node does not accept yet (validator too
//! young, not yet active) is retried until `give_up_after`.
//!
//! Every wait is bounded: each RPC and Beacon API call has a timeout, log ranges are chunked, the
//! queue of exits in progress has a cap, and a stuck beacon node only delays the next tick.

mod shares;
pub mod threshold;

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, Bytes},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::Filter,
    sol_types::SolEvent,
};

pub use shares::{ShareError, SharesData, decrypt_share, split as split_shares_data};
use threshold::{ThresholdError, combine_verified, threshold as ssv_threshold};

use super::{DevnetError, DevnetInfo, DevnetOperator};
use crate::{
    beacon::{
        client::{BeaconClient, BeaconError, Spec},
        exit_eta::{ExitParams, Exitability, exitability},
        types::FAR_FUTURE_EPOCH,
        voluntary_exit::{ExitForks, SignedVoluntaryExitJson, VoluntaryExit, parse_root},
    },
    chain::contracts::SSVNetwork,
    crypto::{
        bls::{self, Dst},
        rsa_keys::OperatorPrivateKey,
    },
};

/// Log file of the detached double (`devnet up` without `--foreground`).
pub const LOG_FILE: &str = "exit-double.log";
/// The subcommand the detached double runs as; also how `devnet down` recognises its process.
pub const SUBCOMMAND: &str = "exit-double";
/// Blocks per `eth_getLogs` request.
const LOG_CHUNK: u64 = 5_000;
/// Outcomes kept for [`ExitDouble::outcomes`] (oldest dropped first).
const MAX_OUTCOMES: usize = 1_024;

/// What the double watches and where it submits.
#[derive(Debug, Clone)]
pub struct ExitDoubleConfig {
    /// anvil's JSON-RPC URL.
    pub rpc_url: String,
    /// The beacon node's URL.
    pub beacon_url: String,
    /// SSVNetwork's address.
    pub ssv_network: Address,
    /// First block to scan (the devnet's registry genesis).
    pub from_block: u64,
    /// The operators whose keys it holds (keystore and password files).
    pub operators: Vec<DevnetOperator>,
    /// Pause between ticks.
    pub poll: Duration,
    /// Longest wait for one RPC or Beacon API answer.
    pub request_timeout: Duration,
    /// Stop retrying an exit the node keeps refusing after this long.
    pub give_up_after: Duration,
    /// Exits in progress at most; further events are recorded as failed.
    pub max_pending: usize,
}

impl ExitDoubleConfig {
    /// The double for the devnet `info` describes; `None` without a beacon node.
    pub fn for_devnet(info: &DevnetInfo) -> Option<Self> {
        Some(Self {
            rpc_url: info.rpc_url.clone(),
            beacon_url: info.beacon_url.clone()?,
            ssv_network: info.profile.ssv_network,
            from_block: info.profile.registry_sync_offset,
            operators: info.operators.clone(),
            poll: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            give_up_after: Duration::from_secs(900),
            max_pending: 256,
        })
    }
}

/// What became of one `ValidatorExited` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitOutcomeKind {
    /// A threshold-signed voluntary exit was accepted by the beacon node.
    Submitted {
        /// The exit's epoch.
        epoch: u64,
        /// The operators whose partial signatures were combined.
        operators: Vec<u64>,
    },
    /// The beacon chain already has an exit scheduled for it.
    AlreadyExiting,
    /// Given up.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One handled event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitOutcome {
    /// The validator.
    pub pubkey: String,
    /// Its beacon index, when known.
    pub validator_index: Option<u64>,
    /// What happened.
    pub kind: ExitOutcomeKind,
}

/// A failure to start the double.
#[derive(Debug, thiserror::Error)]
pub enum ExitDoubleError {
    /// An operator keystore could not be opened.
    #[error("exit double: operator {id}'s key")]
    Key {
        /// Operator.
        id: u64,
        /// Why.
        #[source]
        source: crate::crypto::rsa_keys::RsaKeyError,
    },
    /// The beacon URL is unusable.
    #[error("exit double: beacon node")]
    Beacon(#[source] BeaconError),
    /// anvil's URL is unusable.
    #[error("exit double: connecting to {url}")]
    Rpc {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: alloy::transports::TransportError,
    },
    /// Starting the detached process.
    #[error("exit double: {what}")]
    Io {
        /// What was done.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The running double (a task of the caller's runtime); dropping it stops it.
#[derive(Debug)]
pub struct ExitDouble {
    task: tokio::task::JoinHandle<()>,
    outcomes: Arc<Mutex<Vec<ExitOutcome>>>,
}

impl ExitDouble {
    /// Opens the operator keys, then starts watching in a task.
    pub async fn spawn(cfg: ExitDoubleConfig) -> Result<Self, ExitDoubleError> {
        let outcomes: Arc<Mutex<Vec<ExitOutcome>>> = Arc::default();
        let mut runner = Runner::new(cfg, outcomes.clone()).await?;
        let task = tokio::spawn(async move { runner.run_forever().await });
        Ok(Self { task, outcomes })
    }

    /// Everything handled so far, oldest first.
    pub fn outcomes(&self) -> Vec<ExitOutcome> {
        self.outcomes.lock().map(|o| o.clone()).unwrap_or_default()
    }
}

impl Drop for ExitDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs the double in this process until it is killed (the `devnet exit-double` command).
pub async fn run(cfg: ExitDoubleConfig) -> Result<(), ExitDoubleError> {
    let mut runner = Runner::new(cfg, Arc::default()).await?;
    runner.run_forever().await;
    Ok(())
}

/// Starts `exe devnet exit-double --dir <dir>` in its own process group (so it outlives the
/// caller, as the detached anvil and Lodestar do), logging to `<dir>/exit-double.log`; returns
/// its pid.
pub fn spawn_detached(exe: &Path, dir: &Path) -> Result<u32, ExitDoubleError> {
    let io = |what: String| move |source| ExitDoubleError::Io { what, source };
    let log_path = dir.join(LOG_FILE);
    let log =
        std::fs::File::create(&log_path).map_err(io(format!("creating {}", log_path.display())))?;
    let log2 = log
        .try_clone()
        .map_err(io(format!("sharing {}", log_path.display())))?;
    let mut cmd = Command::new(exe);
    cmd.args(["--log", "info", "devnet", SUBCOMMAND, "--dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .map_err(io(format!("starting {}", exe.display())))?;
    Ok(child.id())
}

/// Stops a detached double by pid; refuses a pid whose command line is not the double's.
pub async fn stop_detached(pid: u32) -> Result<(), DevnetError> {
    super::lodestar::stop_pid_with_marker(pid, SUBCOMMAND, Duration::from_secs(5)).await?;
    Ok(())
}

/// The devnet folder a detached double reads its `devnet.json` from.
pub fn read_config(dir: &Path) -> Result<ExitDoubleConfig, DevnetError> {
    let path: PathBuf = dir.join("devnet.json");
    let bytes = std::fs::read(&path).map_err(|_| DevnetError::NotRunning(path.clone()))?;
    let info: DevnetInfo =
        serde_json::from_slice(&bytes).map_err(|e| DevnetError::Setup(e.to_string()))?;
    ExitDoubleConfig::for_devnet(&info).ok_or_else(|| {
        DevnetError::Setup(format!(
            "the devnet in {} has no beacon node: nothing to exit on",
            dir.display()
        ))
    })
}

/// An exit being worked on.
#[derive(Debug, Clone)]
struct Pending {
    owner: Address,
    operator_ids: Vec<u64>,
    pubkey: [u8; 48],
    block: u64,
    first_seen: Instant,
    next_try: Instant,
    attempts: u32,
}

/// Why one attempt did not finish an exit.
enum Attempt {
    /// Worth trying again later (node not ready, validator not exitable yet, timeouts).
    Retry(String),
    /// Never going to work.
    Fail(String),
}

impl From<BeaconError> for Attempt {
    fn from(e: BeaconError) -> Self {
        Self::Retry(e.to_string())
    }
}

/// What the beacon node says about signing an exit now.
struct NodeView {
    params: ExitParams,
    forks: ExitForks,
    genesis_validators_root: [u8; 32],
    current_epoch: u64,
}

struct Runner {
    cfg: ExitDoubleConfig,
    provider: DynProvider,
    beacon: BeaconClient,
    keys: HashMap<u64, OperatorPrivateKey>,
    next_block: u64,
    pending: VecDeque<Pending>,
    outcomes: Arc<Mutex<Vec<ExitOutcome>>>,
}

impl Runner {
    async fn new(
        cfg: ExitDoubleConfig,
        outcomes: Arc<Mutex<Vec<ExitOutcome>>>,
    ) -> Result<Self, ExitDoubleError> {
        let ops = cfg.operators.clone();
        // PBKDF2 per keystore: CPU work, off the async workers.
        let keys = tokio::task::spawn_blocking(move || {
            ops.iter()
                .map(|op| {
                    OperatorPrivateKey::read_keystore_files(&op.keystore, &op.password_file)
                        .map(|k| (op.id, k))
                        .map_err(|source| ExitDoubleError::Key { id: op.id, source })
                })
                .collect::<Result<HashMap<_, _>, _>>()
        })
        .await
        .map_err(|e| ExitDoubleError::Io {
            what: "loading operator keys".into(),
            source: std::io::Error::other(e.to_string()),
        })??;
        let beacon = BeaconClient::new(&cfg.beacon_url, cfg.request_timeout)
            .map_err(ExitDoubleError::Beacon)?;
        let provider = ProviderBuilder::new()
            .connect(&cfg.rpc_url)
            .await
            .map_err(|source| ExitDoubleError::Rpc {
                url: cfg.rpc_url.clone(),
                source,
            })?
            .erased();
        Ok(Self {
            next_block: cfg.from_block,
            cfg,
            provider,
            beacon,
            keys,
            pending: VecDeque::new(),
            outcomes,
        })
    }

    async fn run_forever(&mut self) {
        tracing::info!(
            operators = self.keys.len(),
            beacon = %self.beacon.display_url(),
            "exit double: watching SSVNetwork for ValidatorExited"
        );
        loop {
            self.tick().await;
            tokio::time::sleep(self.cfg.poll).await;
        }
    }

    /// `fut` with the request timeout; a timeout reads as a retryable failure.
    async fn bounded<T, E: std::error::Error>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, Attempt> {
        match tokio::time::timeout(self.cfg.request_timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Attempt::Retry(format!("{what}: {}", with_causes(&e)))),
            Err(_) => Err(Attempt::Retry(format!(
                "{what}: no answer within {:?}",
                self.cfg.request_timeout
            ))),
        }
    }

    async fn tick(&mut self) {
        if let Err(Attempt::Retry(e) | Attempt::Fail(e)) = self.scan().await {
            tracing::warn!(error = %e, "exit double: scanning for ValidatorExited");
        }
        let now = Instant::now();
        let mut keep = VecDeque::with_capacity(self.pending.len());
        while let Some(mut p) = self.pending.pop_front() {
            if p.next_try > now {
                keep.push_back(p);
                continue;
            }
            p.attempts += 1;
            let pubkey = format!("0x{}", hex::encode(p.pubkey));
            match self.process(&p).await {
                Ok((index, kind)) => self.record(pubkey, index, kind),
                Err(Attempt::Retry(why)) if p.first_seen.elapsed() < self.cfg.give_up_after => {
                    tracing::info!(%pubkey, attempt = p.attempts, %why, "exit double: not yet, retrying");
                    // One epoch-ish pause, growing with the attempts, at most 30 s.
                    let wait = self.cfg.poll * p.attempts.min(30);
                    p.next_try = Instant::now() + wait;
                    keep.push_back(p);
                }
                Err(Attempt::Retry(reason) | Attempt::Fail(reason)) => {
                    self.record(pubkey, None, ExitOutcomeKind::Failed { reason });
                }
            }
        }
        self.pending = keep;
    }

    fn record(&self, pubkey: String, validator_index: Option<u64>, kind: ExitOutcomeKind) {
        match &kind {
            ExitOutcomeKind::Submitted { epoch, operators } => tracing::info!(
                %pubkey, ?validator_index, epoch, ?operators,
                "exit double: threshold-signed voluntary exit submitted"
            ),
            ExitOutcomeKind::AlreadyExiting => {
                tracing::info!(%pubkey, "exit double: the beacon chain already has its exit");
            }
            ExitOutcomeKind::Failed { reason } => {
                tracing::warn!(%pubkey, %reason, "exit double: gave up on this exit");
            }
        }
        if let Ok(mut o) = self.outcomes.lock() {
            if o.len() >= MAX_OUTCOMES {
                o.remove(0);
            }
            o.push(ExitOutcome {
                pubkey,
                validator_index,
                kind,
            });
        }
    }

    /// New `ValidatorExited` events, chunked, into the pending queue.
    async fn scan(&mut self) -> Result<(), Attempt> {
        let head = self
            .bounded("eth_blockNumber", self.provider.get_block_number())
            .await?;
        while self.next_block <= head {
            let to = head.min(self.next_block + LOG_CHUNK - 1);
            let filter = Filter::new()
                .address(self.cfg.ssv_network)
                .event_signature(SSVNetwork::ValidatorExited::SIGNATURE_HASH)
                .from_block(self.next_block)
                .to_block(to);
            let logs = self
                .bounded(
                    "eth_getLogs(ValidatorExited)",
                    self.provider.get_logs(&filter),
                )
                .await?;
            for log in logs {
                let Ok(ev) = SSVNetwork::ValidatorExited::decode_log(&log.inner) else {
                    continue;
                };
                self.enqueue(ev.data, log.block_number.unwrap_or(to));
            }
            self.next_block = to + 1;
        }
        Ok(())
    }

    fn enqueue(&mut self, ev: SSVNetwork::ValidatorExited, block: u64) {
        let pubkey_hex = format!("0x{}", hex::encode(&ev.publicKey));
        let Ok(pubkey) = <[u8; 48]>::try_from(ev.publicKey.as_ref()) else {
            self.record(
                pubkey_hex,
                None,
                ExitOutcomeKind::Failed {
                    reason: "the event's public key is not 48 bytes".into(),
                },
            );
            return;
        };
        if self.pending.iter().any(|p| p.pubkey == pubkey) {
            return;
        }
        if self.pending.len() >= self.cfg.max_pending {
            self.record(
                pubkey_hex,
                None,
                ExitOutcomeKind::Failed {
                    reason: format!("{} exits already in progress", self.cfg.max_pending),
                },
            );
            return;
        }
        let now = Instant::now();
        self.pending.push_back(Pending {
            owner: ev.owner,
            operator_ids: ev.operatorIds,
            pubkey,
            block,
            first_seen: now,
            next_try: now,
            attempts: 0,
        });
    }

    /// The `sharesData` of the newest `ValidatorAdded` of this owner, key and operators at or
    /// before the exit's block.
    async fn registration(&self, p: &Pending) -> Result<Bytes, Attempt> {
        let mut found: Option<Bytes> = None;
        let mut from = self.cfg.from_block;
        while from <= p.block {
            let to = p.block.min(from + LOG_CHUNK - 1);
            let filter = Filter::new()
                .address(self.cfg.ssv_network)
                .event_signature(SSVNetwork::ValidatorAdded::SIGNATURE_HASH)
                .topic1(p.owner.into_word())
                .from_block(from)
                .to_block(to);
            let logs = self
                .bounded(
                    "eth_getLogs(ValidatorAdded)",
                    self.provider.get_logs(&filter),
                )
                .await?;
            for log in logs {
                if let Ok(ev) = SSVNetwork::ValidatorAdded::decode_log(&log.inner)
                    && ev.publicKey.as_ref() == p.pubkey
                    && ev.operatorIds == p.operator_ids
                {
                    found = Some(ev.data.shares);
                }
            }
            from = to + 1;
        }
        found.ok_or_else(|| {
            Attempt::Fail(format!(
                "no ValidatorAdded of {} with operators {:?} before block {}",
                p.owner, p.operator_ids, p.block
            ))
        })
    }

    async fn node_view(&self) -> Result<NodeView, Attempt> {
        let spec = self.bounded("GET config/spec", self.beacon.spec()).await?;
        let params = ExitParams::from_spec(&spec).map_err(|e| Attempt::Fail(e.to_string()))?;
        let head = self
            .bounded("GET node/syncing", self.beacon.syncing())
            .await?;
        let genesis = self
            .bounded("GET beacon/genesis", self.beacon.genesis())
            .await?;
        let fork = self
            .bounded("GET states/head/fork", self.beacon.fork("head"))
            .await?;
        let genesis_validators_root = parse_root(&genesis.genesis_validators_root)
            .ok_or_else(|| Attempt::Fail("unreadable genesis_validators_root".into()))?;
        Ok(NodeView {
            forks: ExitForks {
                state_fork: fork,
                capella_version: spec_fork_version(&spec, "CAPELLA_FORK_VERSION"),
                deneb_epoch: spec.u64("DENEB_FORK_EPOCH"),
            },
            current_epoch: head.head_slot / params.chain.slots_per_epoch.max(1),
            params,
            genesis_validators_root,
        })
    }

    /// One attempt at exit `p`: the validator's index and what happened, or why not now.
    async fn process(&self, p: &Pending) -> Result<(Option<u64>, ExitOutcomeKind), Attempt> {
        let shares_data = self.registration(p).await?;
        let n = p.operator_ids.len();
        let split = split_shares_data(&shares_data, n).map_err(|e| Attempt::Fail(e.to_string()))?;
        let pubkey_hex = format!("0x{}", hex::encode(p.pubkey));
        let node = self.node_view().await?;
        let v = self
            .bounded("GET validator", self.beacon.validator("head", &pubkey_hex))
            .await?;
        let index = v.as_ref().map(|v| v.index);
        match exitability(&node.params, node.current_epoch, v.as_ref()) {
            Exitability::Ready => {}
            Exitability::AlreadyExiting { .. } => {
                return Ok((index, ExitOutcomeKind::AlreadyExiting));
            }
            Exitability::Slashed { status } => {
                return Err(Attempt::Fail(format!("the validator is {status}")));
            }
            other => return Err(Attempt::Retry(format!("not exitable yet: {other:?}"))),
        }
        let Some(v) = v.filter(|v| v.validator.exit_epoch == FAR_FUTURE_EPOCH) else {
            return Ok((index, ExitOutcomeKind::AlreadyExiting));
        };
        let exit = VoluntaryExit {
            epoch: node.current_epoch,
            validator_index: v.index,
        };
        let domain =
            node.forks
                .domain(exit.epoch, node.current_epoch, node.genesis_validators_root);
        let root = exit.signing_root(domain);
        let t = ssv_threshold(n);
        let partials = self.partial_signatures(p, &split, &root, t);
        let operators: Vec<u64> = partials.iter().map(|(id, _)| *id).collect();
        let signature = combine_verified(&partials, t, &p.pubkey, &root).map_err(|e| match e {
            ThresholdError::TooFew { .. } => Attempt::Fail(format!(
                "{e}: the double holds keys for operators {:?} of {:?}",
                self.held(),
                p.operator_ids
            )),
            other => Attempt::Fail(other.to_string()),
        })?;
        let body = SignedVoluntaryExitJson::new(&exit, &signature);
        match self
            .bounded(
                "POST pool/voluntary_exits",
                self.beacon.submit_voluntary_exit(&body),
            )
            .await
        {
            Ok(()) => Ok((
                Some(v.index),
                ExitOutcomeKind::Submitted {
                    epoch: exit.epoch,
                    operators,
                },
            )),
            Err(e) => Err(e),
        }
    }

    /// Partial signatures of the first `t` operators whose share decrypts and matches, each
    /// checked against its share public key.
    fn partial_signatures(
        &self,
        p: &Pending,
        split: &SharesData,
        root: &[u8; 32],
        t: usize,
    ) -> Vec<(u64, [u8; 96])> {
        let mut partials = Vec::with_capacity(t);
        for (i, id) in p.operator_ids.iter().enumerate() {
            if partials.len() == t {
                break;
            }
            let Some(key) = self.keys.get(id) else {
                continue;
            };
            let share_pk = &split.share_pubkeys[i];
            let signed = decrypt_share(key, *id, &split.encrypted[i], share_pk)
                .map_err(|e| e.to_string())
                .and_then(|share| share.to_secret_key().map_err(|e| e.to_string()))
                .map(|sk| bls::sign(&sk, root, Dst::Pop))
                .and_then(|sig| {
                    bls::verify(share_pk, root, &sig, Dst::Pop)
                        .map(|()| sig)
                        .map_err(|e| e.to_string())
                });
            match signed {
                Ok(sig) => partials.push((*id, sig)),
                Err(why) => {
                    tracing::warn!(operator = id, %why, "exit double: no partial signature");
                }
            }
        }
        partials
    }

    fn held(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.keys.keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

/// An error and its causes on one line (the causes say whether it was a timeout or a refusal).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

fn spec_fork_version(spec: &Spec, key: &str) -> Option<[u8; 4]> {
    match spec.0.get(key)? {
        serde_json::Value::String(s) => crate::network::parse_fork_version(s).ok(),
        _ => None,
    }
}
