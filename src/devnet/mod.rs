//! The local devnet: the pinned anvil with SSVNetwork placed at a profile's real addresses
//! (Hoodi by default, or a mainnet look-alike) — the project's contract doubles by default, or
//! the real SSV Network code ([`Contracts::Real`], see [`real`]) — 13 registered SSV operators
//! whose keys are written as SSV operator keystores, and optionally a real Lodestar beacon node
//! with the [`exit_double`] standing in for the SSV nodes' exit signing.
//! `ssv-agent devnet up|down` wraps it for people; tests start one per test on a free port.

pub mod anvil;
mod contracts;
pub mod dkg_operators;
pub mod effective_balance;
pub mod exit_double;
pub mod lodestar;
pub mod operators;
mod progress;
pub mod real;
pub mod ssv_api_double;
mod tx;

use std::{
    path::{Path, PathBuf},
    process::Child,
    time::Duration,
};

use alloy::{
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English},
    sol_types::{SolCall, SolValue},
};
use serde::{Deserialize, Serialize};

pub use contracts::{DevnetParams, DevnetSSVNetwork, SsvMode};
pub use dkg_operators::{DevnetServices, DkgRole};
pub use effective_balance::{EffectiveBalanceUpdate, oracle_accounts};
pub use operators::DevnetOperator;
pub use progress::StartProgress;
pub use tx::{TxError, call_tx, transact};

use crate::{chain::contracts::SSVNetwork, network::NetworkProfile};

/// anvil's default dev mnemonic: public test keys, never real money.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// Dev account that owns the SSVNetwork double (DAO) and the token.
pub const DAO_ACCOUNT: u32 = 0;
/// Dev account used as the staker / cluster owner by the demo and tests.
pub const STAKER_ACCOUNT: u32 = 5;
/// Dev account whitelisted on the private operators.
pub const WHITELISTED_ACCOUNT: u32 = 9;
/// Operators registered as private (whitelisting [`WHITELISTED_ACCOUNT`] only).
pub const PRIVATE_OPERATORS: [u64; 2] = [12, 13];
/// Blocks after genesis by which contract placement is done: the network fees are set in the
/// next block and the operators registered after it, whatever code runs. Doubles and real code
/// need different numbers of setup transactions; aligning here gives both the same timeline
/// from then on, so their fee indices (and events) can be compared value for value.
pub const SETUP_BLOCKS: u64 = 128;
/// Blocks `upgrade_to_v2` takes, for the same reason (the ETH network fee is set after them).
pub const UPGRADE_BLOCKS: u64 = 64;

mod fee_abi {
    #![allow(missing_docs)]
    alloy::sol! {
        /// The DAO's network-fee setters (same selectors on the doubles and the real code; in
        /// v1.2.0 `updateNetworkFee` sets the SSV fee).
        interface NetworkFees {
            function updateNetworkFee(uint256 fee) external;
            function updateNetworkFeeSSV(uint256 fee) external;
        }
    }
}
use fee_abi::NetworkFees;

/// A devnet failure.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// No anvil binary.
    #[error(
        "anvil is not installed: run `cd anvil && npm ci` in the repository (installs the pinned @foundry-rs/anvil 1.7.1), or set {ANVIL_ENV} to an anvil binary",
        ANVIL_ENV = anvil::ANVIL_ENV
    )]
    AnvilMissing,
    /// anvil exited during start-up.
    #[error("anvil exited during start-up ({status}); see {log}")]
    AnvilExited {
        /// Exit status.
        status: String,
        /// Its log file.
        log: PathBuf,
    },
    /// anvil did not answer in time.
    #[error("anvil did not answer on {url} within 20 s; see {log}")]
    AnvilTimeout {
        /// The RPC URL.
        url: String,
        /// Its log file.
        log: PathBuf,
    },
    /// A filesystem or process error.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// Operator key generation or keystore writing failed.
    #[error("operator keys: {0}")]
    Keys(String),
    /// A setup transaction or call failed.
    #[error("devnet setup: {0}")]
    Setup(String),
    /// The beacon node failed.
    #[error(transparent)]
    Beacon(#[from] lodestar::LodestarError),
    /// The exit double could not start.
    #[error(transparent)]
    ExitDouble(#[from] exit_double::ExitDoubleError),
    /// Seeding Lodestar's interop deposits failed.
    #[error(transparent)]
    Interop(#[from] lodestar::interop::InteropError),
    /// `devnet down` found nothing to stop.
    #[error("no devnet is recorded in {0}")]
    NotRunning(PathBuf),
    /// The real-contract tier failed (artifacts missing, deployment, upgrade).
    #[error(transparent)]
    Real(#[from] real::RealError),
    /// A setup transaction or RPC call failed.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// `set_effective_balance` found no cluster.
    #[error("no cluster of {owner} on operators {operator_ids:?}")]
    NoCluster {
        /// Cluster owner.
        owner: Address,
        /// Its operators (sorted).
        operator_ids: Vec<u64>,
    },
    /// All four oracles voted and the root still did not reach quorum.
    #[error("the effective-balance root for block {block} did not reach the oracle quorum")]
    RootNotCommitted {
        /// The root's block.
        block: u64,
    },
    /// `upgrade_to_v2` on a devnet that already runs v2.0.0.
    #[error("the devnet already runs SSVNetwork v2.0.0")]
    AlreadyV2,
    /// Setup took more blocks than the alignment budget.
    #[error("devnet setup reached block {head}, past the aligned block {target}")]
    AlignmentOverrun {
        /// Head after setup.
        head: u64,
        /// The block setup had to stay below.
        target: u64,
    },
}

/// Which SSVNetwork code the devnet runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Contracts {
    /// The project's Solidity doubles (`anvil/contracts`, compiled into the binary).
    #[default]
    Doubles,
    /// The real SSV Network code, built by `scripts/build-real-contracts.sh` (see [`real`]).
    Real,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct DevnetOptions {
    /// Whose addresses and chain id to copy (`hoodi` or `mainnet`).
    pub profile: NetworkProfile,
    /// The doubles (default) or the real SSVNetwork code.
    pub contracts: Contracts,
    /// SSVNetwork generation (v2.0.0 by default).
    pub mode: SsvMode,
    /// Protocol parameters.
    pub params: DevnetParams,
    /// Operators to register (13 by default).
    pub operators: usize,
    /// Folder for keys, logs and `devnet.json`; a temporary one (removed on drop) when `None`.
    pub dir: Option<PathBuf>,
    /// Loopback port; a free one when `None`.
    pub port: Option<u16>,
    /// Seconds per block; mine on every transaction when `None`. Lodestar needs 1.
    pub block_time: Option<u64>,
    /// Also start a real Lodestar beacon node following the deposit contract.
    pub beacon: bool,
    /// Also start the operators' DKG servers and the SSV API double listing them
    /// ([`DevnetServices`]).
    pub services: bool,
    /// Where the start reports its steps (silent by default).
    pub progress: StartProgress,
}

impl Default for DevnetOptions {
    fn default() -> Self {
        Self {
            profile: NetworkProfile::hoodi(),
            contracts: Contracts::Doubles,
            mode: SsvMode::V2,
            params: DevnetParams::default(),
            operators: 13,
            dir: None,
            port: None,
            block_time: None,
            beacon: false,
            services: false,
            progress: StartProgress::default(),
        }
    }
}

/// What `devnet.json` records, for `devnet down` and for people pointing the agent at the devnet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevnetInfo {
    /// anvil's JSON-RPC URL.
    pub rpc_url: String,
    /// The beacon node URL, when started.
    pub beacon_url: Option<String>,
    /// Network profile it imitates.
    pub profile: NetworkProfile,
    /// Which SSVNetwork code runs (doubles or real).
    #[serde(default)]
    pub contracts: Contracts,
    /// anvil's process id.
    pub anvil_pid: u32,
    /// Lodestar's process id, when started.
    pub beacon_pid: Option<u32>,
    /// The detached exit double's process id (`devnet up` without `--foreground`).
    #[serde(default)]
    pub exit_double_pid: Option<u32>,
    /// Registered operators.
    pub operators: Vec<DevnetOperator>,
    /// The staker dev account (its key is anvil's public dev key #5).
    pub staker: Address,
    /// The SSV API double's base URL, when the services run.
    #[serde(default)]
    pub ssv_api_url: Option<String>,
    /// The process serving the DKG operators and the SSV API double for a detached devnet.
    #[serde(default)]
    pub services_pid: Option<u32>,
}

/// A running devnet; dropping it stops everything it started (unless detached).
#[derive(Debug)]
pub struct Devnet {
    anvil: Option<Child>,
    beacon: Option<lodestar::Lodestar>,
    exit_double: Option<exit_double::ExitDouble>,
    info: DevnetInfo,
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    provider: DynProvider,
    mode: SsvMode,
    params: DevnetParams,
    real: Option<real::RealDeployment>,
    genesis: u64,
    services: Option<DevnetServices>,
}

/// The dev account `index` of [`DEV_MNEMONIC`].
pub fn dev_account(index: u32) -> PrivateKeySigner {
    MnemonicBuilder::<English>::default()
        .phrase(DEV_MNEMONIC)
        .index(index)
        .and_then(|b| b.build())
        .expect("the dev mnemonic derives")
}

impl Devnet {
    /// Starts anvil, places and initialises the contracts, registers the operators, and (if asked)
    /// seeds the interop deposits and starts Lodestar.
    pub async fn start(opts: DevnetOptions) -> Result<Self, DevnetError> {
        // Missing real artifacts fail before anything is started.
        let artifacts = match opts.contracts {
            Contracts::Doubles => None,
            Contracts::Real => Some(real::RealArtifacts::load()?),
        };
        let (dir, tmp) = match &opts.dir {
            Some(d) => {
                std::fs::create_dir_all(d)
                    .map_err(|e| DevnetError::Io(format!("creating {}", d.display()), e))?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("ssv-agent-devnet-")
                    .tempdir()
                    .map_err(|e| DevnetError::Io("creating a temporary folder".into(), e))?;
                (t.path().to_owned(), Some(t))
            }
        };
        let port = match opts.port {
            Some(p) => p,
            None => anvil::free_port()?,
        };
        let block_time = if opts.beacon {
            Some(opts.block_time.unwrap_or(1))
        } else {
            opts.block_time
        };
        // With a beacon node the setup still runs on automine: its ~40 transactions would each wait
        // for a block otherwise (~40 s at 1 s blocks). Interval mining starts once the interop
        // deposits are in, before Lodestar follows the chain; anvil keeps block timestamps at wall
        // time either way, so the eth1 follow distance is the same.
        let spawn_block_time = if opts.beacon { None } else { block_time };
        let spec = anvil::AnvilSpec {
            chain_id: opts.profile.chain_id,
            port,
            genesis_number: opts
                .profile
                .registry_sync_offset
                .max(opts.profile.deposit_contract_block),
            block_time: spawn_block_time,
            state_file: None,
            log_file: dir.join("anvil.log"),
            cache_dir: dir.join(ANVIL_CACHE_DIR),
        };
        // Key generation is CPU-bound; overlap it with anvil's start-up.
        let keys_dir = dir.join("operators");
        let n = opts.operators;
        let keys = tokio::task::spawn_blocking(move || operators::generate_keys(&keys_dir, n));
        let progress = opts.progress.clone();
        let child = anvil::spawn(&spec, opts.dir.is_some()).await?;
        progress.step(&format!(
            "anvil up on port {port} (chain id {})",
            spec.chain_id
        ));
        let rpc_url = format!("http://127.0.0.1:{port}");
        let provider = ProviderBuilder::new()
            .connect(&rpc_url)
            .await
            .map_err(|e| DevnetError::Setup(format!("connecting to anvil: {e}")))?
            .erased();
        let mut devnet = Self {
            anvil: Some(child),
            beacon: None,
            exit_double: None,
            info: DevnetInfo {
                rpc_url,
                beacon_url: None,
                profile: opts.profile.clone(),
                contracts: opts.contracts,
                anvil_pid: 0,
                beacon_pid: None,
                exit_double_pid: None,
                operators: Vec::new(),
                staker: dev_account(STAKER_ACCOUNT).address(),
                ssv_api_url: None,
                services_pid: None,
            },
            dir,
            _tmp: tmp,
            provider,
            mode: opts.mode,
            params: opts.params.clone(),
            real: None,
            genesis: spec.genesis_number,
            services: None,
        };
        devnet.info.anvil_pid = devnet.anvil.as_ref().map(Child::id).unwrap_or_default();
        // Genesis is block `registry_sync_offset`, whose parent does not exist; alloy's block
        // watcher asks for a head's parent, so give it one before anything watches a receipt.
        devnet.mine(1).await?;
        devnet.place_contracts(artifacts).await?;
        devnet.align_to(devnet.genesis + SETUP_BLOCKS).await?;
        devnet.set_network_fees(devnet.mode, true).await?;
        progress.step(&format!(
            "SSVNetwork ({:?}, {:?}) placed at the {} addresses",
            opts.contracts, devnet.mode, devnet.info.profile.name
        ));
        let keys = keys.await.map_err(|e| DevnetError::Keys(e.to_string()))??;
        devnet.info.operators = devnet.register_operators(keys, opts.mode).await?;
        progress.step(&format!(
            "{} operators registered",
            devnet.info.operators.len()
        ));
        // The services (operator keystores, TLS, servers, the API double) need the chain but not
        // the beacon node: they start while Lodestar loads (~20 s of each on a 2-core machine).
        let info = devnet.info.clone();
        let services = async {
            if !opts.services {
                return Ok(None);
            }
            let s = DevnetServices::start(&info).await?;
            progress.step("DKG operator servers and the SSV API double up");
            Ok::<_, DevnetError>(Some(s))
        };
        let services = if opts.beacon {
            let interval = block_time.unwrap_or(1);
            let detachable = opts.dir.is_some();
            let (beacon, services) = tokio::join!(
                devnet.start_beacon(detachable, interval, &progress),
                services
            );
            beacon?;
            if let Some(cfg) = exit_double::ExitDoubleConfig::for_devnet(&devnet.info) {
                devnet.exit_double = Some(exit_double::ExitDouble::spawn(cfg).await?);
            }
            services?
        } else {
            services.await?
        };
        if let Some(services) = services {
            devnet.info.ssv_api_url = Some(services.ssv_api_url());
            devnet.services = Some(services);
        }
        devnet.write_info()?;
        Ok(devnet)
    }

    /// The doubles, or the real token + SSVNetwork of `mode`; then the oracles (v2).
    async fn place_contracts(
        &mut self,
        artifacts: Option<real::RealArtifacts>,
    ) -> Result<(), DevnetError> {
        let (p, profile) = (&self.provider, &self.info.profile);
        contracts::place_multicall3(p).await?;
        match artifacts {
            None => contracts::place_and_initialise(p, profile, self.mode, &self.params).await?,
            Some(a) => {
                // The deposit contract stays the double: it is not what this tier is about.
                contracts::place_deposit_contract(p, profile).await?;
                real::place_real_token(p, &a, profile, &self.params).await?;
                self.real = Some(
                    real::RealDeployment::deploy(p, a, profile, self.mode, &self.params).await?,
                );
            }
        }
        if self.mode == SsvMode::V2 {
            self.configure_oracles().await?;
        }
        Ok(())
    }

    async fn configure_oracles(&self) -> Result<(), DevnetError> {
        effective_balance::configure_oracles(&self.provider, &self.info.profile).await?;
        if self.real.is_some() {
            real::stake_for_oracle_weight(&self.provider, &self.info.profile, real::ORACLE_STAKE)
                .await?;
        }
        Ok(())
    }

    /// Which SSVNetwork code runs.
    pub fn contracts(&self) -> Contracts {
        self.info.contracts
    }

    /// The SSVNetwork generation currently running (as set by `start` and `upgrade_to_v2`; a
    /// direct `devnetSetVersion` call on the double is not seen here).
    pub fn mode(&self) -> SsvMode {
        self.mode
    }

    /// The real deployment (implementations, modules, cSSV), for [`Contracts::Real`].
    pub fn real_deployment(&self) -> Option<&real::RealDeployment> {
        self.real.as_ref()
    }

    /// Moves the devnet from SSVNetwork v1.2.0 to v2.0.0: the double's `devnetSetVersion(2)`, or
    /// the real upgrade (see [`real`]); then registers the oracles.
    pub async fn upgrade_to_v2(&mut self) -> Result<(), DevnetError> {
        if self.mode == SsvMode::V2 {
            return Err(DevnetError::AlreadyV2);
        }
        let start = self.head().await?;
        let (p, profile) = (&self.provider, &self.info.profile);
        match &mut self.real {
            None => {
                let dao = dev_account(DAO_ACCOUNT).address();
                contracts::send(
                    DevnetSSVNetwork::new(profile.ssv_network, p)
                        .devnetSetVersion(2)
                        .from(dao),
                    "SSVNetwork.devnetSetVersion",
                )
                .await?;
            }
            Some(r) => r.upgrade_to_v2(p, profile, &self.params).await?,
        }
        self.mode = SsvMode::V2;
        self.configure_oracles().await?;
        self.align_to(start + UPGRADE_BLOCKS).await?;
        self.set_network_fees(SsvMode::V2, false).await
    }

    async fn head(&self) -> Result<u64, DevnetError> {
        Ok(self
            .provider
            .get_block_number()
            .await
            .map_err(|source| TxError::Rpc {
                what: "reading the head block".into(),
                source,
            })?)
    }

    /// Mines up to `target` (the next transaction lands in `target + 1`).
    async fn align_to(&self, target: u64) -> Result<(), DevnetError> {
        let head = self.head().await?;
        if head > target {
            return Err(DevnetError::AlignmentOverrun { head, target });
        }
        if head < target {
            self.mine(target - head).await?;
        }
        Ok(())
    }

    /// The network fees of `mode` (v1: the SSV fee; v2: the ETH fee, and the SSV fee when
    /// `with_ssv`, i.e. on a fresh v2).
    async fn set_network_fees(&self, mode: SsvMode, with_ssv: bool) -> Result<(), DevnetError> {
        let dao = dev_account(DAO_ACCOUNT).address();
        let net = self.info.profile.ssv_network;
        let mut calls = Vec::new();
        match mode {
            SsvMode::V1 => calls.push(
                NetworkFees::updateNetworkFeeCall {
                    fee: self.params.network_fee_ssv,
                }
                .abi_encode(),
            ),
            SsvMode::V2 => {
                calls.push(
                    NetworkFees::updateNetworkFeeCall {
                        fee: self.params.network_fee,
                    }
                    .abi_encode(),
                );
                if with_ssv {
                    calls.push(
                        NetworkFees::updateNetworkFeeSSVCall {
                            fee: self.params.network_fee_ssv,
                        }
                        .abi_encode(),
                    );
                }
            }
        }
        for data in calls {
            tx::transact(
                &self.provider,
                "SSVNetwork.updateNetworkFee",
                tx::call_tx(dao, net, data),
            )
            .await?;
        }
        Ok(())
    }

    /// Sets the effective balance (whole ETH, 32..=2048 per validator) of `owner`'s cluster on
    /// `operator_ids` the way the network does: the oracles commit a Merkle root for the head
    /// block, then `updateClusterBalance` proves the cluster's leaf (see [`effective_balance`]).
    pub async fn set_effective_balance(
        &self,
        owner: Address,
        operator_ids: &[u64],
        effective_balance_eth: u32,
    ) -> Result<EffectiveBalanceUpdate, DevnetError> {
        effective_balance::set_effective_balance(
            &self.provider,
            &self.info.profile,
            owner,
            operator_ids,
            effective_balance_eth,
        )
        .await
    }

    async fn register_operators(
        &self,
        keys: Vec<(String, PathBuf, PathBuf)>,
        mode: SsvMode,
    ) -> Result<Vec<DevnetOperator>, DevnetError> {
        let net = SSVNetwork::new(self.info.profile.ssv_network, &self.provider);
        let mut out = Vec::with_capacity(keys.len());
        for (i, (public_key, keystore, password_file)) in keys.into_iter().enumerate() {
            let id = i as u64 + 1;
            // Four operator companies (dev accounts 1..=4) own the operators round-robin.
            let owner = dev_account(1 + (i as u32 % 4)).address();
            let private = PRIVATE_OPERATORS.contains(&id);
            let fee = match mode {
                SsvMode::V1 => operators::ssv_fee(id),
                SsvMode::V2 => operators::eth_fee(id),
            };
            // On chain the key is abi.encode(string base64Pem), as the SSV web app registers it.
            let encoded = Bytes::from(public_key.abi_encode());
            contracts::send(
                net.registerOperator(encoded, fee, private).from(owner),
                &format!("registerOperator {id}"),
            )
            .await?;
            if private {
                let wl = dev_account(WHITELISTED_ACCOUNT).address();
                contracts::send(
                    net.setOperatorsWhitelists(vec![id], vec![wl]).from(owner),
                    "setOperatorsWhitelists",
                )
                .await?;
            }
            out.push(DevnetOperator {
                id,
                owner,
                fee,
                private,
                public_key,
                keystore,
                password_file,
            });
        }
        Ok(out)
    }

    /// Seeds the interop deposits (still on automine), switches anvil to a block every
    /// `block_time` seconds, and starts Lodestar.
    async fn start_beacon(
        &mut self,
        detachable: bool,
        block_time: u64,
        progress: &StartProgress,
    ) -> Result<(), DevnetError> {
        let p = &self.info.profile;
        let genesis = 8;
        lodestar::interop::seed_interop_deposits(
            &self.provider,
            dev_account(DAO_ACCOUNT).address(),
            p.deposit_contract,
            p.genesis_fork_version,
            genesis,
        )
        .await?;
        tx::rpc(&self.provider, "evm_setIntervalMining", (block_time,)).await?;
        progress.step(&format!(
            "{genesis} interop genesis deposits in the deposit contract; anvil now mines a block every {block_time} s"
        ));
        let url =
            url::Url::parse(&self.info.rpc_url).map_err(|e| DevnetError::Setup(e.to_string()))?;
        let mut o = lodestar::LodestarOptions::new(
            url,
            p.chain_id,
            p.deposit_contract,
            p.genesis_fork_version,
            self.dir.join("beacon"),
        );
        o.genesis_validators = genesis;
        // A devnet that may be detached (`devnet up`) must not die with the caller's process group.
        o.own_process_group = detachable;
        o.deposit_contract_block = p.registry_sync_offset.max(p.deposit_contract_block);
        o.progress = progress.clone();
        progress.step(&format!(
            "starting Lodestar {} (loading takes a while on a busy machine; log: {})",
            lodestar::LODESTAR_VERSION,
            o.data_dir.join(lodestar::LOG_FILE).display()
        ));
        let node = lodestar::Lodestar::start(&o).await?;
        progress.step(&format!(
            "Lodestar's Beacon API is up at {}",
            node.rest_url()
        ));
        self.info.beacon_url = Some(node.rest_url().as_str().trim_end_matches('/').to_string());
        self.info.beacon_pid = node.pid();
        self.beacon = Some(node);
        Ok(())
    }

    fn write_info(&self) -> Result<(), DevnetError> {
        write_info(&self.dir, &self.info)
    }

    /// anvil's JSON-RPC URL.
    pub fn rpc_url(&self) -> &str {
        &self.info.rpc_url
    }

    /// The beacon node's URL, if one was started.
    pub fn beacon_url(&self) -> Option<&str> {
        self.info.beacon_url.as_deref()
    }

    /// The profile the devnet imitates (chain id and addresses are the real ones).
    pub fn profile(&self) -> &NetworkProfile {
        &self.info.profile
    }

    /// The exit double (running with the beacon node, until [`Devnet::detach`]).
    pub fn exit_double(&self) -> Option<&exit_double::ExitDouble> {
        self.exit_double.as_ref()
    }

    /// The registered operators.
    pub fn operators(&self) -> &[DevnetOperator] {
        &self.info.operators
    }

    /// Folder holding keys, logs and `devnet.json`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A read-only provider with anvil's unlocked dev accounts (for test setup).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// What `devnet.json` holds.
    pub fn info(&self) -> &DevnetInfo {
        &self.info
    }

    /// The DKG operator servers and the SSV API double, when started.
    pub fn services(&self) -> Option<&DevnetServices> {
        self.services.as_ref()
    }

    /// The same, to stop an operator or change the API double.
    pub fn services_mut(&mut self) -> Option<&mut DevnetServices> {
        self.services.as_mut()
    }

    /// Records the process serving the services of a detached devnet (for `devnet down`).
    pub fn record_services(
        info: &mut DevnetInfo,
        pid: u32,
        ssv_api_url: String,
        dir: &Path,
    ) -> Result<(), DevnetError> {
        info.services_pid = Some(pid);
        info.ssv_api_url = Some(ssv_api_url);
        write_info(dir, info)
    }

    /// Mines `n` blocks at once (`anvil_mine`).
    pub async fn mine(&self, n: u64) -> Result<(), DevnetError> {
        self.provider
            .raw_request::<_, serde_json::Value>("anvil_mine".into(), (U256::from(n),))
            .await
            .map(|_| ())
            .map_err(|e| DevnetError::Setup(format!("anvil_mine {n}: {e}")))
    }

    /// Gives `who` `eth` ether (`anvil_setBalance`).
    pub async fn set_balance(&self, who: Address, wei: U256) -> Result<(), DevnetError> {
        self.provider
            .raw_request::<_, serde_json::Value>("anvil_setBalance".into(), (who, wei))
            .await
            .map(|_| ())
            .map_err(|e| DevnetError::Setup(format!("anvil_setBalance: {e}")))
    }

    /// Leaves anvil (and Lodestar) running after this value is dropped; `devnet down` stops them.
    /// The exit double is a task of this process and stops here: start its detached process
    /// with [`exit_double::spawn_detached`].
    pub fn detach(mut self) -> DevnetInfo {
        self.exit_double.take();
        self.anvil.take();
        if let Some(b) = self.beacon.take() {
            b.detach();
        }
        self._tmp.take().map(|t| t.keep());
        self.info.clone()
    }
}

/// The folder inside the devnet's own where anvil persists old states (`--cache-path`).
pub const ANVIL_CACHE_DIR: &str = "anvil-cache";

impl Drop for Devnet {
    fn drop(&mut self) {
        self.exit_double.take();
        if let Some(b) = self.beacon.take() {
            drop(b);
        }
        if let Some(mut child) = self.anvil.take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(self.dir.join(ANVIL_CACHE_DIR));
        }
    }
}

/// Writes `<dir>/devnet.json` (atomically), e.g. after recording a detached process's pid.
pub fn write_info(dir: &Path, info: &DevnetInfo) -> Result<(), DevnetError> {
    let json = serde_json::to_vec_pretty(info).map_err(|e| DevnetError::Setup(e.to_string()))?;
    crate::journal::write_atomic(&dir.join("devnet.json"), &json, 0o644)
        .map_err(|e| DevnetError::Setup(e.to_string()))
}

/// Stops a detached devnet recorded in `<dir>/devnet.json`.
pub async fn down(dir: &Path) -> Result<DevnetInfo, DevnetError> {
    let path = dir.join("devnet.json");
    let bytes = std::fs::read(&path).map_err(|_| DevnetError::NotRunning(path.clone()))?;
    let info: DevnetInfo =
        serde_json::from_slice(&bytes).map_err(|e| DevnetError::Setup(e.to_string()))?;
    if let Some(pid) = info.services_pid {
        // A stale devnet.json may name a pid the system has since given to someone else.
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("serve-services") {
            anvil::stop_pid(pid, Duration::from_secs(5));
        }
    }
    if let Some(pid) = info.exit_double_pid {
        exit_double::stop_detached(pid).await?;
    }
    if let Some(pid) = info.beacon_pid {
        lodestar::stop_detached(pid, Duration::from_secs(10)).await?;
    }
    anvil::stop_pid(info.anvil_pid, Duration::from_secs(5));
    // Only anvil's persisted states: the devnet's own files stay for inspection.
    let _ = std::fs::remove_dir_all(dir.join(ANVIL_CACHE_DIR));
    let _ = std::fs::remove_file(&path);
    Ok(info)
}
