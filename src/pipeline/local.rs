//! A whole local setup for `ssv-agent demo` and the pipeline tests: the devnet (anvil with the
//! contracts at a profile's addresses, optionally Lodestar), the project's own operator servers
//! serving the first devnet operators' keystores over TLS, and a config pointing at all of it.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use alloy::primitives::Address;

use super::PipelineError;
use crate::{
    config::Config,
    crypto::rsa_keys::{OperatorPrivateKey, write_private_file},
    devnet::{Devnet, DevnetOptions, STAKER_ACCOUNT, dev_account},
    dkg::{
        initiator::ClientTls,
        operator::{OperatorState, RunningOperator, TlsMaterial, serve},
    },
    network::NetworkProfile,
};

/// The ssv-dkg wire version the local operators report.
pub const LOCAL_OPERATOR_VERSION: &str = "v3.1.0";

/// What to start.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Folder for keys, config and outputs (created).
    pub dir: PathBuf,
    /// Operators to serve (the first n devnet operators; 4, 7, 10 or 13).
    pub operators: usize,
    /// Start Lodestar too.
    pub beacon: bool,
}

/// A running local setup; dropping it stops the operators, Lodestar and anvil.
pub struct LocalSetup {
    /// The devnet.
    pub devnet: Devnet,
    servers: Vec<RunningOperator>,
    /// The operators' shared self-signed certificate (trusted by the initiator).
    pub tls: ClientTls,
    /// The folder.
    pub dir: PathBuf,
    /// The staker (cluster owner and withdrawal address).
    pub staker: Address,
    /// Operator ids served.
    pub operator_ids: Vec<u64>,
    /// `operators_info.json`.
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
    /// Starts the devnet and the operator servers and writes the operators info and key files.
    pub async fn start(opts: &LocalOptions) -> Result<Self, PipelineError> {
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
            ..DevnetOptions::default()
        })
        .await
        .map_err(|e| PipelineError::preflight("devnet", e.to_string()))?;
        let tls = TlsMaterial::self_signed(&[])
            .map_err(|e| PipelineError::preflight("operators", e.to_string()))?;
        let mut servers = Vec::new();
        let mut info = Vec::new();
        let mut operator_ids = Vec::new();
        for op in devnet.operators().iter().take(opts.operators) {
            let (ks, pw) = (op.keystore.clone(), op.password_file.clone());
            let key = tokio::task::spawn_blocking(move || {
                OperatorPrivateKey::read_keystore_files(&ks, &pw)
            })
            .await
            .map_err(|e| PipelineError::preflight("operators", e.to_string()))?
            .map_err(|e| {
                PipelineError::preflight("operators", format!("operator {}: {e}", op.id))
            })?;
            let state = Arc::new(OperatorState::new(
                op.id,
                key,
                LOCAL_OPERATOR_VERSION.to_string(),
            ));
            let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
            let server = serve(state, addr, &tls).await.map_err(|e| {
                PipelineError::preflight("operators", format!("operator {}: {e}", op.id))
            })?;
            info.push(serde_json::json!({
                "id": op.id,
                "public_key": op.public_key,
                "ip": server.url(),
            }));
            operator_ids.push(op.id);
            servers.push(server);
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
            devnet,
            servers,
            tls: ClientTls {
                ca_certs_pem: vec![tls.cert_pem.clone()],
                insecure: false,
            },
            dir: opts.dir.clone(),
            operator_ids,
            operators_info,
            key_file,
        })
    }

    /// A config for `count` validators of the staker into the served operators' cluster.
    pub fn config(&self, count: u32, output_dir: &Path) -> Config {
        let mut c = Config {
            network: self.devnet.profile().name.clone(),
            ..Config::default()
        };
        c.rpc.url = self.devnet.rpc_url().to_string();
        if let Some(b) = self.devnet.beacon_url() {
            c.beacon.url = b.to_string();
        }
        c.signer.private_key_file = Some(self.key_file.clone());
        c.validators.operator_ids = self.operator_ids.clone();
        c.validators.operators_info_file = Some(self.operators_info.clone());
        c.validators.withdrawal_address = Some(self.staker);
        c.validators.count = count;
        c.validators.output_dir = output_dir.to_owned();
        // anvil mines instantly or every second: one confirmation is final there.
        c.deposit.confirmations = 1;
        c
    }

    /// The servers' addresses.
    pub fn operator_urls(&self) -> Vec<String> {
        self.servers.iter().map(RunningOperator::url).collect()
    }
}
