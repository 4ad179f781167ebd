//! Option groups flattened into the commands that need them (as foundry's `RpcOpts` and
//! `EthereumOpts`): one way to name the chain and the signer on every command, each flag over the
//! config file's value, and one place that turns them into a [`Chain`].

use std::path::PathBuf;

use alloy::primitives::Address;
use clap::Args;
use eyre::WrapErr;

use crate::{
    chain::{Chain, Sender, signer::load_signer},
    config::{Config, ENV_RPC_URL},
    dkg::initiator::ClientTls,
    rehearsal::Rehearsal,
};

/// How operator TLS certificates are trusted (ssv-dkg's `--clientCACertPath` / `--tlsInsecure`).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Operator TLS")]
pub struct OperatorTlsArgs {
    /// PEM certificate(s) to trust for operator TLS (ssv-dkg `--clientCACertPath`); repeatable.
    #[arg(long = "operator-ca-cert")]
    pub operator_ca_certs: Vec<PathBuf>,
    /// Skip operator TLS verification (ssv-dkg `--tlsInsecure`); operators still sign every message.
    #[arg(long)]
    pub tls_insecure: bool,
}

impl OperatorTlsArgs {
    /// The trust these flags describe (reads the certificate files).
    pub fn client_tls(&self) -> eyre::Result<ClientTls> {
        let mut ca = Vec::new();
        for p in &self.operator_ca_certs {
            ca.push(std::fs::read_to_string(p).wrap_err_with(|| {
                format!("cannot read operator CA certificate {}", p.display())
            })?);
        }
        Ok(ClientTls {
            ca_certs_pem: ca,
            insecure: self.tls_insecure,
        })
    }
}

/// Which chain and which key: the flags override the config file.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Chain and signer")]
pub struct ChainArgs {
    /// Execution-layer JSON-RPC URL (over rpc.url; prefer SSV_AGENT_RPC_URL for URLs with keys).
    #[arg(long, value_name = "URL")]
    pub rpc_url: Option<String>,
    /// Network profile: mainnet, hoodi, holesky or custom (over `network`).
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// A file holding the owner's hex private key (over signer.private_key_file).
    #[arg(long, value_name = "FILE")]
    pub private_key_file: Option<PathBuf>,
    /// An encrypted JSON keystore of the owner's key (over signer.keystore_file).
    #[arg(long, value_name = "FILE")]
    pub keystore: Option<PathBuf>,
    /// The keystore's password file (over signer.keystore_password_file).
    #[arg(long, value_name = "FILE")]
    pub keystore_password_file: Option<PathBuf>,
}

impl ChainArgs {
    /// Writes the given flags over `config`.
    pub fn apply(&self, config: &mut Config) {
        if let Some(u) = &self.rpc_url {
            config.rpc.url = u.clone();
        }
        if let Some(n) = &self.network {
            config.network = n.clone();
        }
        if let Some(f) = &self.private_key_file {
            config.signer.private_key_file = Some(f.clone());
            config.signer.keystore_file = None;
        }
        if let Some(k) = &self.keystore {
            config.signer.keystore_file = Some(k.clone());
        }
        if let Some(p) = &self.keystore_password_file {
            config.signer.keystore_password_file = Some(p.clone());
        }
    }
}

/// How a command sends: with the key, or rehearsed on a fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Reads only.
    Read,
    /// Real transactions with the configured key.
    Send,
    /// `--dry-run`: the same code on an anvil fork with the owner impersonated.
    DryRun,
}

/// A connected chain, and the fork that backs it in a dry run (kept alive with it).
#[derive(Debug)]
pub struct Connected {
    /// The chain.
    pub chain: Chain,
    /// The dry run's fork and scratch folder.
    pub rehearsal: Option<Rehearsal>,
}

/// The one way commands connect: the config's endpoint and settings, the signer for `Send`, a fork
/// with `owner` (default: the signer's address) impersonated for `DryRun`.
pub async fn connect(
    config: &Config,
    mode: Mode,
    owner: Option<Address>,
) -> eyre::Result<Connected> {
    let profile = config.profile()?;
    let what = || {
        format!(
            "cannot use the RPC endpoint for network {}; check rpc.url (or {ENV_RPC_URL}) and that the node is up",
            profile.name
        )
    };
    let signer = || {
        load_signer(&config.signer, |k| std::env::var(k).ok()).wrap_err(
            "this command signs as the cluster owner: configure [signer] or pass --private-key-file / --keystore",
        )
    };
    match mode {
        Mode::Read => Ok(Connected {
            chain: Chain::from_config(config, Sender::ReadOnly)
                .await
                .wrap_err_with(what)?,
            rehearsal: None,
        }),
        Mode::Send => Ok(Connected {
            chain: Chain::from_config(config, Sender::Local(signer()?))
                .await
                .wrap_err_with(what)?,
            rehearsal: None,
        }),
        Mode::DryRun => {
            let owner = match owner {
                Some(o) => o,
                None => signer()
                    .wrap_err("a dry run impersonates the owner: pass --owner or configure [signer] (its key is not used)")?
                    .address(),
            };
            let rehearsal = Rehearsal::start(&crate::chain::SensitiveUrl::new(&config.rpc.url))
                .await
                .wrap_err_with(what)?;
            let chain = rehearsal.chain(config, owner).await?;
            Ok(Connected {
                chain,
                rehearsal: Some(rehearsal),
            })
        }
    }
}
