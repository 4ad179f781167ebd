//! A whole local setup for `ssv-agent demo` and the pipeline tests: the devnet (anvil with the
//! contracts at a profile's addresses, optionally Lodestar) with its services (the project's
//! operator servers, healthy and not, and the SSV API double listing them), and configs pointing at
//! all of it: a fixed list of healthy operators with an `operators_info.json`, or automatic choice
//! through the API double.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;

use super::PipelineError;
use crate::{
    config::{Config, OperatorChoice},
    crypto::rsa_keys::write_private_file,
    devnet::{
        Devnet, DevnetOptions, DevnetServices, DkgRole, STAKER_ACCOUNT, StartProgress, dev_account,
    },
    dkg::initiator::ClientTls,
    network::NetworkProfile,
};

/// The ssv-dkg wire version the local operators report.
pub const LOCAL_OPERATOR_VERSION: &str = crate::devnet::dkg_operators::DKG_VERSION;

/// What to start.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Folder for keys, config and outputs (created).
    pub dir: PathBuf,
    /// Operators of the fixed list ([`LocalSetup::config`]): the first n healthy public devnet
    /// operators (4, or 6 at most).
    pub operators: usize,
    /// Start Lodestar too.
    pub beacon: bool,
}

/// A running local setup; dropping it stops the operators, Lodestar and anvil.
pub struct LocalSetup {
    /// The devnet, with its services.
    pub devnet: Devnet,
    /// The operators' shared self-signed certificate (trusted by the initiator).
    pub tls: ClientTls,
    /// The folder.
    pub dir: PathBuf,
    /// The staker (cluster owner and withdrawal address).
    pub staker: Address,
    /// Operator ids of the fixed list.
    pub operator_ids: Vec<u64>,
    /// `operators_info.json` of the fixed list.
    pub operators_info: PathBuf,
    /// The staker's key file (anvil's public dev key #5, never real money).
    pub key_file: PathBuf,
}

impl std::fmt::Debug for LocalSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSetup")
            .field("rpc", &self.devnet.rpc_url())
            .field("operators", &self.operator_ids)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl LocalSetup {
    /// Starts the devnet with its services and writes the operators info and key files.
    pub async fn start(opts: &LocalOptions) -> Result<Self, PipelineError> {
        Self::start_reporting(opts, StartProgress::default()).await
    }

    /// [`Self::start`], reporting the devnet's start-up steps to `progress`.
    pub async fn start_reporting(
        opts: &LocalOptions,
        progress: StartProgress,
    ) -> Result<Self, PipelineError> {
        let io = |action: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| PipelineError::Io {
                action,
                path,
                source,
            }
        };
        std::fs::create_dir_all(&opts.dir).map_err(io("cannot create", &opts.dir))?;
        let devnet = Devnet::start(DevnetOptions {
            profile: NetworkProfile::hoodi(),
            dir: Some(opts.dir.join("devnet")),
            beacon: opts.beacon,
            services: true,
            progress,
            ..DevnetOptions::default()
        })
        .await
        .map_err(|e| PipelineError::preflight("devnet", e))?;
        let services = devnet
            .services()
            .ok_or_else(|| PipelineError::preflight_reason("devnet", "no devnet services"))?;
        let mut info = Vec::new();
        let mut operator_ids = Vec::new();
        for op in devnet.operators() {
            let url = services.endpoint(op.id);
            let healthy = crate::devnet::dkg_operators::role(op.id) == DkgRole::Healthy;
            if let (true, false, Some(url)) = (healthy, op.private, url)
                && operator_ids.len() < opts.operators
            {
                info.push(serde_json::json!({
                    "id": op.id,
                    "public_key": op.public_key,
                    "ip": url,
                }));
                operator_ids.push(op.id);
            }
        }
        if operator_ids.len() < opts.operators {
            return Err(PipelineError::Setting(format!(
                "the devnet has {} healthy public operators, {} were asked for",
                operator_ids.len(),
                opts.operators
            )));
        }
        let operators_info = opts.dir.join("operators_info.json");
        let text = serde_json::to_string_pretty(&info)
            .map_err(|e| PipelineError::Setting(e.to_string()))?;
        std::fs::write(&operators_info, text).map_err(io("cannot write", &operators_info))?;
        let staker = dev_account(STAKER_ACCOUNT);
        let key_file = opts.dir.join("staker.key");
        write_private_file(
            &key_file,
            format!("0x{}", hex::encode(staker.to_bytes())).as_bytes(),
        )
        .map_err(io("cannot write", &key_file))?;
        Ok(Self {
            staker: staker.address(),
            tls: services.tls(),
            devnet,
            dir: opts.dir.clone(),
            operator_ids,
            operators_info,
            key_file,
        })
    }

    /// The devnet's services (operator servers, SSV API double).
    pub fn services(&self) -> &DevnetServices {
        self.devnet
            .services()
            .expect("LocalSetup always starts the devnet services")
    }

    /// The same, to stop an operator or change the API double.
    pub fn services_mut(&mut self) -> &mut DevnetServices {
        self.devnet
            .services_mut()
            .expect("LocalSetup always starts the devnet services")
    }

    /// A config for `count` validators of the staker into the fixed list's cluster, with the
    /// endpoints from `operators_info.json`.
    pub fn config(&self, count: u32, output_dir: &Path) -> Config {
        let mut c = self.base_config(count, output_dir);
        c.validators.operators = OperatorChoice::Ids(self.operator_ids.clone());
        c.validators.operators_info_file = Some(self.operators_info.clone());
        c
    }

    /// A config for `count` validators with `validators.operators = "auto"` over the API double.
    pub fn config_auto(&self, count: u32, output_dir: &Path) -> Config {
        let mut c = self.base_config(count, output_dir);
        c.validators.operators = OperatorChoice::Auto;
        c
    }

    fn base_config(&self, count: u32, output_dir: &Path) -> Config {
        let mut c = Config {
            network: self.devnet.profile().name.clone(),
            ..Config::default()
        };
        c.rpc.url = self.devnet.rpc_url().to_string();
        if let Some(b) = self.devnet.beacon_url() {
            c.beacon.url = b.to_string();
        }
        c.signer.private_key_file = Some(self.key_file.clone());
        c.operators.ssv_api_url = self.services().ssv_api_url();
        c.validators.withdrawal_address = Some(self.staker);
        c.validators.count = count;
        c.validators.output_dir = output_dir.to_owned();
        // anvil mines instantly or every second: one confirmation is final there.
        c.deposit.confirmations = 1;
        c
    }

    /// The fixed list's addresses.
    pub fn operator_urls(&self) -> Vec<String> {
        self.operator_ids
            .iter()
            .filter_map(|id| self.services().endpoint(*id).map(String::from))
            .collect()
    }
}
