//! `ssv-agent dkg init|operator|ping|verify`: ssv-dkg v3.1.0's commands. Flags are kebab-case with
//! ssv-dkg's camelCase names accepted as aliases.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use alloy::primitives::Address;
use clap::{Args, Subcommand};
use eyre::{WrapErr, eyre};
use serde::Deserialize;

use crate::crypto::rsa_keys::{OperatorPrivateKey, OperatorPublicKey};
use crate::dkg::initiator::{CeremonyRequest, ClientTls, Initiator, OperatorInfo};
use crate::dkg::operator::{OperatorState, TlsMaterial, serve};
use crate::dkg::verify::{VerifyExpectations, verify_ceremony_dir};

/// The version string sent on the wire; ssv-dkg peers require an exact match.
pub const DEFAULT_WIRE_VERSION: &str = "v3.1.0";

#[derive(Debug, Subcommand)]
pub enum DkgCommand {
    /// Run a DKG ceremony as initiator with the chosen operators.
    Init(InitArgs),
    /// Serve as a DKG operator (HTTPS).
    Operator(OperatorArgs),
    /// Health-check operators and show their versions.
    Ping(PingArgs),
    /// Check a ceremony folder like `ssv-dkg verify`.
    Verify(VerifyArgs),
}

#[derive(Debug, Clone, Args)]
pub struct OperatorsInfoArgs {
    /// Operators info JSON text: [{"id", "public_key", "ip"}].
    #[arg(long, alias = "operatorsInfo")]
    pub operators_info: Option<String>,
    /// Path to an operators info JSON file.
    #[arg(long, alias = "operatorsInfoPath")]
    pub operators_info_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Operator ids (comma separated); 4, 7, 10 or 13.
    #[arg(long, alias = "operatorIDs", value_delimiter = ',', required = true)]
    pub operator_ids: Vec<u64>,
    #[command(flatten)]
    pub info: OperatorsInfoArgs,
    /// SSV cluster owner address.
    #[arg(long)]
    pub owner: Address,
    /// Owner's registration nonce for the first validator.
    #[arg(long, default_value_t = 0)]
    pub nonce: u64,
    /// Withdrawal address.
    #[arg(long, alias = "withdrawAddress")]
    pub withdraw_address: Address,
    /// mainnet, holesky, hoodi or sepolia.
    #[arg(long, default_value = "mainnet")]
    pub network: String,
    /// Deposit amount in gwei (32..2048 ETH).
    #[arg(long, default_value_t = 32_000_000_000)]
    pub amount: u64,
    /// 0x02 (compounding) withdrawal credentials instead of 0x01.
    #[arg(long)]
    pub compounding: bool,
    /// Number of validators (bulk, 1..100).
    #[arg(long, default_value_t = 1)]
    pub validators: usize,
    /// Where the ceremony folder is written.
    #[arg(long, alias = "outputPath", default_value = "./data/output")]
    pub output_path: PathBuf,
    /// CA certificate(s) to trust for operator TLS.
    #[arg(long, alias = "clientCACertPath", value_delimiter = ',')]
    pub client_ca_cert_path: Vec<PathBuf>,
    /// Skip TLS certificate verification.
    #[arg(long, alias = "tlsInsecure")]
    pub tls_insecure: bool,
}

#[derive(Debug, Args)]
pub struct OperatorArgs {
    /// SSV operator keystore (encrypted_private_key.json).
    #[arg(long, alias = "privKey")]
    pub priv_key: PathBuf,
    /// File holding the keystore password.
    #[arg(long, alias = "privKeyPassword")]
    pub priv_key_password: PathBuf,
    /// This operator's registered id.
    #[arg(long, alias = "operatorID")]
    pub operator_id: u64,
    #[arg(long, default_value_t = 3030)]
    pub port: u16,
    /// Listen address.
    #[arg(long, default_value = "0.0.0.0")]
    pub listen: String,
    #[arg(long, alias = "serverTLSCertPath")]
    pub server_tls_cert_path: Option<PathBuf>,
    #[arg(long, alias = "serverTLSKeyPath")]
    pub server_tls_key_path: Option<PathBuf>,
    /// Version string on the wire (must equal the initiator's).
    #[arg(long, default_value = DEFAULT_WIRE_VERSION)]
    pub wire_version: String,
}

#[derive(Debug, Args)]
pub struct PingArgs {
    #[command(flatten)]
    pub info: OperatorsInfoArgs,
    /// Only these operator ids (default: all in the info).
    #[arg(long, alias = "operatorIDs", value_delimiter = ',')]
    pub operator_ids: Vec<u64>,
    /// Verify operator certificates (ssv-dkg's ping never does).
    #[arg(long)]
    pub tls_verify: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long, alias = "ceremonyDir")]
    pub ceremony_dir: PathBuf,
    #[arg(long)]
    pub validators: Option<usize>,
    #[arg(long)]
    pub owner: Option<Address>,
    #[arg(long)]
    pub nonce: Option<u64>,
    #[arg(long, alias = "withdrawAddress")]
    pub withdraw_address: Option<Address>,
    #[arg(long)]
    pub amount: Option<u64>,
    #[arg(long)]
    pub network: Option<String>,
}

#[derive(Deserialize)]
struct OperatorInfoJson {
    id: u64,
    public_key: String,
    ip: String,
}

/// Genesis fork version of the networks ssv-dkg accepts.
pub fn fork_for_network(name: &str) -> Option<[u8; 4]> {
    match name {
        "mainnet" => Some([0, 0, 0, 0]),
        "holesky" => Some([0x01, 0x01, 0x70, 0x00]),
        "hoodi" => Some([0x10, 0x00, 0x09, 0x10]),
        "sepolia" => Some([0x90, 0x00, 0x00, 0x69]),
        "prater" => Some([0x00, 0x00, 0x10, 0x20]),
        _ => None,
    }
}

fn load_operators(info: &OperatorsInfoArgs, ids: &[u64]) -> eyre::Result<Vec<OperatorInfo>> {
    let text = match (&info.operators_info, &info.operators_info_path) {
        (Some(t), None) => t.clone(),
        (None, Some(p)) => {
            std::fs::read_to_string(p).wrap_err_with(|| format!("reading {}", p.display()))?
        }
        _ => {
            return Err(eyre!(
                "give exactly one of --operators-info and --operators-info-path"
            ));
        }
    };
    let list: Vec<OperatorInfoJson> =
        serde_json::from_str(&text).wrap_err("operators info is not [{id, public_key, ip}]")?;
    let mut out = Vec::new();
    for o in list {
        if !ids.is_empty() && !ids.contains(&o.id) {
            continue;
        }
        let key = OperatorPublicKey::from_base64_pem(&o.public_key)
            .map_err(|e| eyre!("operator {}: public key: {e}", o.id))?;
        out.push(OperatorInfo {
            id: o.id,
            key,
            url: o.ip.trim_end_matches('/').to_string(),
        });
    }
    for id in ids {
        if !out.iter().any(|o| o.id == *id) {
            return Err(eyre!("operator {id} is not in the operators info"));
        }
    }
    Ok(out)
}

impl DkgCommand {
    pub async fn run(self, _global: &crate::cli::GlobalOpts) -> eyre::Result<()> {
        match self {
            DkgCommand::Init(a) => run_init(a).await,
            DkgCommand::Operator(a) => run_operator(a).await,
            DkgCommand::Ping(a) => run_ping(a).await,
            DkgCommand::Verify(a) => run_verify(a),
        }
    }
}

async fn run_init(a: InitArgs) -> eyre::Result<()> {
    let fork =
        fork_for_network(&a.network).ok_or_else(|| eyre!("unknown network {:?}", a.network))?;
    let ops = load_operators(&a.info, &a.operator_ids)?;
    let mut ca = Vec::new();
    for p in &a.client_ca_cert_path {
        ca.push(std::fs::read_to_string(p).wrap_err_with(|| format!("reading {}", p.display()))?);
    }
    let tls = ClientTls {
        ca_certs_pem: ca,
        insecure: a.tls_insecure,
    };
    let init = Arc::new(Initiator::new(ops, &tls)?);
    let req = CeremonyRequest {
        owner: a.owner,
        nonce: a.nonce,
        withdraw_address: a.withdraw_address,
        compounding: a.compounding,
        amount_gwei: a.amount,
        network_name: a.network.clone(),
        fork_version: fork,
        validators: a.validators,
    };
    let dir = init.run_and_write(&req, &a.output_path).await?;
    println!("ceremony written to {}", dir.display());
    Ok(())
}

async fn run_operator(a: OperatorArgs) -> eyre::Result<()> {
    if a.operator_id == 0 {
        return Err(eyre!("--operator-id must be non-zero"));
    }
    let key = OperatorPrivateKey::read_keystore_files(&a.priv_key, &a.priv_key_password)
        .map_err(|e| eyre!("operator key: {e}"))?;
    let tls = match (&a.server_tls_cert_path, &a.server_tls_key_path) {
        (Some(c), Some(k)) if c.exists() && k.exists() => TlsMaterial::from_files(c, k)?,
        _ => TlsMaterial::self_signed(&[])?,
    };
    let addr: SocketAddr = format!("{}:{}", a.listen, a.port)
        .parse()
        .wrap_err("listen address")?;
    let state = Arc::new(OperatorState::new(a.operator_id, key, a.wire_version));
    let running = serve(state, addr, &tls).await?;
    println!(
        "operator {} listening on https://{}",
        a.operator_id, running.addr
    );
    tokio::signal::ctrl_c()
        .await
        .wrap_err("waiting for Ctrl-C")?;
    Ok(())
}

async fn run_ping(a: PingArgs) -> eyre::Result<()> {
    let ops = load_operators(&a.info, &a.operator_ids)?;
    let tls = ClientTls {
        ca_certs_pem: vec![],
        insecure: !a.tls_verify,
    };
    // Ping any number of operators: bypass the cluster-size check by pinging one by one.
    let mut failed = 0;
    for op in ops {
        let single = Initiator::ping_only(op.clone(), &tls)?;
        match single.ping_one(&op).await {
            Ok(p) => println!(
                "operator {}: online, version {}, multisig {}, eth client {}",
                p.id, p.version, p.multisig, p.eth_client_connected
            ),
            Err(e) => {
                failed += 1;
                println!("operator {}: ERROR {e}", op.id);
            }
        }
    }
    if failed > 0 {
        return Err(eyre!("{failed} operator(s) did not answer correctly"));
    }
    Ok(())
}

fn run_verify(a: VerifyArgs) -> eyre::Result<()> {
    let exp = VerifyExpectations {
        validators: a.validators,
        owner: a.owner,
        nonce: a.nonce,
        withdraw_address: a.withdraw_address,
        amount_gwei: a.amount,
        network: a.network,
        operator_ids: None,
    };
    let v = verify_ceremony_dir(&a.ceremony_dir, &exp)?;
    println!(
        "{}: {} validator(s) verified",
        a.ceremony_dir.display(),
        v.validators.len()
    );
    Ok(())
}
