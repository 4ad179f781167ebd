//! `ssv-agent dkg init|operator|ping|verify` (and, in `dkg_change`, `generate-resign-msg|resign|
//! generate-reshare-msg|reshare`): ssv-dkg v3.1.0's commands. Flags are kebab-case with
//! ssv-dkg's camelCase names accepted as aliases. A value comes from the command line, else from
//! the ssv-dkg YAML file (`--config-path`), else from [`crate::dkg::defaults`] (the help text shows
//! those defaults).

use std::fmt::Display;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use alloy::primitives::Address;
use clap::{Arg, Args, Subcommand};
use eyre::{WrapErr, eyre};
use serde::Deserialize;

use crate::crypto::rsa_keys::{OperatorPrivateKey, OperatorPublicKey};
use crate::deposit::data::{GWEI_PER_ETH, MAX_COMPOUNDING_AMOUNT_GWEI, MIN_ACTIVATION_AMOUNT_GWEI};
use crate::dkg::defaults;
use crate::dkg::initiator::config_file::{DkgConfigFile, read_dkg_config};
use crate::dkg::initiator::ssv_api::{DEFAULT_SSV_API, fetch_operators};
use crate::dkg::initiator::{
    CeremonyRequest, ClientTls, Initiator, MAX_VALIDATORS, OperatorInfo, PingInfo,
    SUPPORTED_VERSIONS, supported_operator_version,
};
use crate::dkg::operator::config_file::{OperatorConfigFile, read_operator_config};
use crate::dkg::operator::{
    OperatorState, ServerLimitOverrides, ServerLimits, TlsMaterial, raise_open_file_limit, serve,
};
use crate::dkg::verify::{
    CeremonyLayout, VerifiedCeremony, VerifyExpectations, verify_ceremony_dir,
};
use crate::network::dkg_fork_version;

/// The `dkg` subcommands.
#[derive(Debug, Subcommand)]
pub enum DkgCommand {
    /// Run a DKG ceremony as initiator with the chosen operators.
    Init(InitArgs),
    /// Serve as a DKG operator (HTTPS).
    Operator(Box<OperatorArgs>),
    /// Health-check operators and show their versions.
    Ping(PingArgs),
    /// Check a ceremony folder like `ssv-dkg verify`.
    Verify(VerifyArgs),
    /// Write the hash the owner signs for a resign (resign.txt).
    GenerateResignMsg(Box<super::dkg_change::GenerateResignMsgArgs>),
    /// Re-sign existing shares for a new owner nonce (or credentials/amount); every operator answers.
    Resign(Box<super::dkg_change::ResignArgs>),
    /// Write the hash the owner signs for a reshare (reshare.txt).
    GenerateReshareMsg(Box<super::dkg_change::GenerateReshareMsgArgs>),
    /// Move validators to a new operator set, same validator key; the old threshold must answer.
    Reshare(Box<super::dkg_change::ReshareArgs>),
}

/// Where the operators' ids, keys and addresses come from.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct OperatorsInfoArgs {
    /// Operators info JSON text: [{"id", "public_key", "ip"}].
    #[arg(long, alias = "operatorsInfo")]
    pub operators_info: Option<String>,
    /// Path to an operators info JSON file.
    #[arg(long, alias = "operatorsInfoPath")]
    pub operators_info_path: Option<PathBuf>,
}

/// The parameters of a ceremony (`init` makes validators with them, `verify` expects them, and
/// a future `reshare` keeps them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct CeremonyArgs {
    /// Operator ids (comma separated); 4, 7, 10 or 13.
    #[arg(long, alias = "operatorIDs", value_delimiter = ',')]
    pub operator_ids: Vec<u64>,
    /// SSV cluster owner address.
    #[arg(long)]
    pub owner: Option<Address>,
    /// Owner's registration nonce for the first validator; the others follow consecutively.
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Withdrawal address.
    #[arg(long, alias = "withdrawAddress")]
    pub withdraw_address: Option<Address>,
    /// Network: mainnet, holesky, hoodi, sepolia or prater.
    #[arg(long)]
    pub network: Option<String>,
    /// Deposit amount in gwei.
    #[arg(long, help = amount_help())]
    pub amount: Option<u64>,
    /// Number of validators.
    #[arg(long, help = format!("Number of validators, bulk 1..={MAX_VALIDATORS}"))]
    pub validators: Option<usize>,
}

fn amount_help() -> String {
    format!(
        "Deposit amount in gwei, {}..={} ETH",
        MIN_ACTIVATION_AMOUNT_GWEI / GWEI_PER_ETH,
        MAX_COMPOUNDING_AMOUNT_GWEI / GWEI_PER_ETH
    )
}

impl CeremonyArgs {
    /// What `verify` checks the files against: every given value.
    pub fn expectations(&self) -> VerifyExpectations {
        VerifyExpectations {
            validators: self.validators,
            owner: self.owner,
            nonce: self.nonce,
            withdraw_address: self.withdraw_address,
            amount_gwei: self.amount,
            network: self.network.clone(),
            operator_ids: (!self.operator_ids.is_empty()).then(|| self.operator_ids.clone()),
        }
    }
}

/// Appends ` [default: <value>]` to an argument's help, from [`crate::dkg::defaults`].
pub(super) fn with_default(arg: Arg, value: impl Display) -> Arg {
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    arg.help(format!("{help} [default: {value}]"))
}

/// `dkg init`. Every value may also come from an ssv-dkg YAML file (`--config-path`); a flag on
/// the command line wins over the file, the file over the default.
#[derive(Debug, Args)]
#[command(
    mut_arg("nonce", |a| with_default(a, defaults::NONCE)),
    mut_arg("network", |a| with_default(a, defaults::NETWORK)),
    mut_arg("amount", |a| with_default(a, defaults::AMOUNT_GWEI)),
    mut_arg("validators", |a| with_default(a, defaults::VALIDATORS)),
    mut_arg("output_path", |a| with_default(a, defaults::OUTPUT_PATH)),
)]
pub struct InitArgs {
    /// ssv-dkg YAML config (keys are the camelCase flag names; paths relative, inside the cwd).
    #[arg(long, alias = "configPath")]
    pub config_path: Option<PathBuf>,
    /// The ceremony parameters.
    #[command(flatten)]
    pub ceremony: CeremonyArgs,
    /// Where the operators come from (else the SSV API).
    #[command(flatten)]
    pub info: OperatorsInfoArgs,
    /// SSV API base URL, used when no operators info is given.
    #[arg(long, env = "SSV_API_URL", default_value = DEFAULT_SSV_API)]
    pub ssv_api_url: String,
    /// 0x02 (compounding) withdrawal credentials instead of 0x01.
    #[arg(long)]
    pub compounding: bool,
    /// Where the ceremony folder is written.
    #[arg(long, alias = "outputPath")]
    pub output_path: Option<PathBuf>,
    /// CA certificate(s) to trust for operator TLS.
    #[arg(long, alias = "clientCACertPath", value_delimiter = ',')]
    pub client_ca_cert_path: Vec<PathBuf>,
    /// Skip TLS certificate verification.
    #[arg(long, alias = "tlsInsecure")]
    pub tls_insecure: bool,
}

/// `dkg init`'s values after merging flags, config file and defaults.
#[derive(Debug, Clone)]
pub struct ResolvedInit {
    /// The ceremony to run.
    pub request: CeremonyRequest,
    /// The operator ids, as given.
    pub operator_ids: Vec<u64>,
    /// Where the operators come from (neither given: the SSV API).
    pub info: OperatorsInfoArgs,
    /// SSV API base URL.
    pub ssv_api_url: String,
    /// Where the ceremony folder is written.
    pub output_path: PathBuf,
    /// CA certificates to trust for operator TLS.
    pub client_ca_cert_path: Vec<PathBuf>,
    /// Skip TLS certificate verification.
    pub tls_insecure: bool,
}

/// The precedence rule of every `dkg` value: the command line, else the config file.
pub(super) fn layered<T>(flag: Option<T>, file: Option<T>) -> Option<T> {
    flag.or(file)
}

/// [`layered`] for a value the config file holds as text (parsed only when it is used).
pub(super) fn layered_parsed<T>(
    flag: Option<T>,
    file: Option<String>,
    parse: impl FnOnce(&str) -> eyre::Result<T>,
) -> eyre::Result<Option<T>> {
    match flag {
        Some(v) => Ok(Some(v)),
        None => file.as_deref().map(parse).transpose(),
    }
}

/// [`layered`] for a list flag (an empty list on the command line is "not given").
pub(super) fn layered_list<T>(flag: Vec<T>, file: Option<Vec<T>>) -> Vec<T> {
    if flag.is_empty() {
        file.unwrap_or_default()
    } else {
        flag
    }
}

/// A value with no default: missing from both places is an error naming both.
pub(super) fn required<T>(value: Option<T>, flag: &str, key: &str, rule: &str) -> eyre::Result<T> {
    value.ok_or_else(|| eyre!("{flag} {rule} (or {key} in the config file)"))
}

/// The operator ids and where their info comes from, flags over the config file (whose values
/// are taken out of `file`).
pub(super) fn layered_operators(
    ids: Vec<u64>,
    info: OperatorsInfoArgs,
    file: &mut DkgConfigFile,
) -> eyre::Result<(Vec<u64>, OperatorsInfoArgs)> {
    let ids = layered_list(ids, file.operator_ids.take());
    if ids.is_empty() {
        return Err(eyre!(
            "no operators: give --operator-ids (or operatorIDs in the config file)"
        ));
    }
    // The two operators-info sources are one choice: the command line replaces the file's.
    let info = if info.operators_info.is_some() || info.operators_info_path.is_some() {
        info
    } else {
        OperatorsInfoArgs {
            operators_info: file.operators_info.take(),
            operators_info_path: file.operators_info_path.take(),
        }
    };
    Ok((ids, info))
}

pub(super) fn parse_address(key: &str, text: &str) -> eyre::Result<Address> {
    text.trim()
        .parse::<Address>()
        .map_err(|e| eyre!("{key} {text:?} is not an address: {e}"))
}

impl InitArgs {
    /// Flags over `--config-path` over ssv-dkg's defaults.
    pub fn resolve(self) -> eyre::Result<ResolvedInit> {
        let mut file = match &self.config_path {
            Some(p) => read_dkg_config(p)?,
            None => DkgConfigFile::default(),
        };
        let ignored = file.change_keys();
        if !ignored.is_empty() {
            return Err(eyre!(
                "config file: {} are resign/reshare keys, not init's",
                ignored.join(", ")
            ));
        }
        let c = self.ceremony;
        let (operator_ids, info) = layered_operators(c.operator_ids, self.info, &mut file)?;
        let owner = layered_parsed(c.owner, file.owner, |t| parse_address("owner", t))?;
        let withdraw_address = layered_parsed(c.withdraw_address, file.withdraw_address, |t| {
            parse_address("withdrawAddress", t)
        })?;
        let network = layered(c.network, file.network).unwrap_or_else(|| defaults::NETWORK.into());
        let fork_version =
            dkg_fork_version(&network).ok_or_else(|| eyre!("unknown network {network:?}"))?;
        let request = CeremonyRequest {
            owner: required(owner, "--owner", "owner", "is required")?,
            nonce: layered(c.nonce, file.nonce).unwrap_or(defaults::NONCE),
            withdraw_address: required(
                withdraw_address,
                "--withdraw-address",
                "withdrawAddress",
                "is required",
            )?,
            compounding: self.compounding || file.compounding.unwrap_or(false),
            amount_gwei: layered(c.amount, file.amount).unwrap_or(defaults::AMOUNT_GWEI),
            network_name: network,
            fork_version,
            validators: layered(c.validators, file.validators).unwrap_or(defaults::VALIDATORS),
        };
        Ok(ResolvedInit {
            request,
            operator_ids,
            info,
            ssv_api_url: self.ssv_api_url,
            output_path: layered(self.output_path, file.output_path)
                .unwrap_or_else(|| defaults::OUTPUT_PATH.into()),
            client_ca_cert_path: layered_list(self.client_ca_cert_path, file.client_ca_cert_path),
            tls_insecure: self.tls_insecure || file.tls_insecure.unwrap_or(false),
        })
    }
}

/// `dkg operator` (ssv-dkg `start-operator`); values may also come from its YAML config.
#[derive(Debug, Args)]
#[command(
    mut_arg("port", |a| with_default(a, defaults::OPERATOR_PORT)),
    mut_arg("output_path", |a| with_default(a, defaults::OUTPUT_PATH)),
)]
pub struct OperatorArgs {
    /// ssv-dkg operator YAML config (camelCase keys; paths relative, inside the cwd).
    #[arg(long, alias = "configPath")]
    pub config_path: Option<PathBuf>,
    /// SSV operator keystore (encrypted_private_key.json).
    #[arg(long, alias = "privKey")]
    pub priv_key: Option<PathBuf>,
    /// File holding the keystore password.
    #[arg(long, alias = "privKeyPassword")]
    pub priv_key_password: Option<PathBuf>,
    /// This operator's registered id.
    #[arg(long, alias = "operatorID")]
    pub operator_id: Option<u64>,
    /// HTTPS port.
    #[arg(long)]
    pub port: Option<u16>,
    /// Listen address.
    #[arg(long, default_value = defaults::LISTEN)]
    pub listen: String,
    /// TLS certificate (PEM), with --server-tls-key-path; a missing file is an error. Neither
    /// given: a self-signed certificate for localhost.
    #[arg(long, alias = "serverTLSCertPath")]
    pub server_tls_cert_path: Option<PathBuf>,
    /// TLS private key (PEM) of --server-tls-cert-path.
    #[arg(long, alias = "serverTLSKeyPath")]
    pub server_tls_key_path: Option<PathBuf>,
    /// Version string on the wire (must equal the initiator's).
    #[arg(long, default_value = defaults::WIRE_VERSION)]
    pub wire_version: String,
    /// Where accepted `/results` are saved, as ssv-dkg's operator does.
    #[arg(long, alias = "outputPath")]
    pub output_path: Option<PathBuf>,
    /// Execution RPC to check contract owners' resign/reshare signatures (EIP-1271); without
    /// it only EOA owners are accepted.
    #[arg(long, alias = "ethEndpointURL")]
    pub eth_endpoint_url: Option<url::Url>,
    /// Server limits (also the config file's `limits:` section, camelCase keys).
    #[command(flatten, next_help_heading = "Server limits")]
    pub limits: ServerLimitOverrides,
}

/// `dkg operator`'s values after merging flags, config file and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedOperator {
    /// The operator keystore.
    pub priv_key: PathBuf,
    /// The file holding its password.
    pub priv_key_password: PathBuf,
    /// The operator's registered id (non-zero).
    pub operator_id: u64,
    /// HTTPS port.
    pub port: u16,
    /// Listen address.
    pub listen: String,
    /// TLS certificate, if one is given.
    pub server_tls_cert_path: Option<PathBuf>,
    /// TLS private key of the certificate.
    pub server_tls_key_path: Option<PathBuf>,
    /// Version string on the wire.
    pub wire_version: String,
    /// Where accepted results are saved.
    pub output_path: PathBuf,
    /// Every server bound.
    pub limits: ServerLimits,
    /// Execution RPC for EIP-1271 owner checks.
    pub eth_endpoint_url: Option<url::Url>,
}

impl OperatorArgs {
    /// Flags over `--config-path` over ssv-dkg's defaults.
    pub fn resolve(self) -> eyre::Result<ResolvedOperator> {
        let file = match &self.config_path {
            Some(p) => read_operator_config(p)?,
            None => OperatorConfigFile::default(),
        };
        Ok(ResolvedOperator {
            priv_key: required(
                layered(self.priv_key, file.priv_key),
                "--priv-key",
                "privKey",
                "is required",
            )?,
            priv_key_password: required(
                layered(self.priv_key_password, file.priv_key_password),
                "--priv-key-password",
                "privKeyPassword",
                "is required",
            )?,
            operator_id: required(
                layered(self.operator_id, file.operator_id).filter(|id| *id != 0),
                "--operator-id",
                "operatorID",
                "must be given and non-zero",
            )?,
            port: layered(self.port, file.port).unwrap_or(defaults::OPERATOR_PORT),
            listen: self.listen,
            server_tls_cert_path: layered(self.server_tls_cert_path, file.server_tls_cert_path),
            server_tls_key_path: layered(self.server_tls_key_path, file.server_tls_key_path),
            wire_version: self.wire_version,
            output_path: layered(self.output_path, file.output_path)
                .unwrap_or_else(|| defaults::OUTPUT_PATH.into()),
            limits: self.limits.or(file.limits).resolve()?,
            eth_endpoint_url: match self.eth_endpoint_url {
                Some(u) => Some(u),
                None => file
                    .eth_endpoint_url
                    .map(|t| t.parse::<url::Url>())
                    .transpose()
                    .wrap_err("ethEndpointURL in the config file")?,
            },
        })
    }
}

/// `dkg ping`.
#[derive(Debug, Args)]
pub struct PingArgs {
    /// Where the operators come from.
    #[command(flatten)]
    pub info: OperatorsInfoArgs,
    /// Only these operator ids (default: all in the info).
    #[arg(long, alias = "operatorIDs", value_delimiter = ',')]
    pub operator_ids: Vec<u64>,
    /// CA certificate(s) to trust for operator TLS (as `dkg init`); default: system roots.
    #[arg(long, alias = "clientCACertPath", value_delimiter = ',')]
    pub client_ca_cert_path: Vec<PathBuf>,
    /// Skip TLS certificate verification (ssv-dkg's ping always does; here it is opt-in, like init).
    #[arg(long, alias = "tlsInsecure")]
    pub tls_insecure: bool,
}

/// `dkg verify`: the ceremony folder and what it must hold (each given value is checked).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The ceremony folder (`ceremony-<time>`) to verify.
    #[arg(long, alias = "ceremonyDir")]
    pub ceremony_dir: PathBuf,
    /// The expected ceremony parameters.
    #[command(flatten)]
    pub ceremony: CeremonyArgs,
}

#[derive(Deserialize)]
struct OperatorInfoJson {
    id: u64,
    public_key: String,
    ip: String,
}

pub(crate) fn load_operators(
    info: &OperatorsInfoArgs,
    ids: &[u64],
) -> eyre::Result<Vec<OperatorInfo>> {
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
    /// Runs the subcommand; `--json` makes `init`, `ping` and `verify` report one JSON object
    /// per line.
    pub async fn run(self, global: &crate::cli::GlobalOpts) -> eyre::Result<()> {
        match self {
            Self::Init(a) => run_init(a, global.json).await,
            Self::Operator(a) => run_operator(*a).await,
            Self::Ping(a) => run_ping(a, global.json).await,
            Self::Verify(a) => run_verify(a, global.json),
            Self::GenerateResignMsg(a) => super::dkg_change::run_generate_resign(*a, global.json),
            Self::Resign(a) => super::dkg_change::run_resign(*a, global).await,
            Self::GenerateReshareMsg(a) => super::dkg_change::run_generate_reshare(*a, global.json),
            Self::Reshare(a) => super::dkg_change::run_reshare(*a, global).await,
        }
    }
}

async fn run_init(a: InitArgs, json: bool) -> eyre::Result<()> {
    let a = a.resolve()?;
    let ops = if a.info.operators_info.is_none() && a.info.operators_info_path.is_none() {
        fetch_operators(&a.ssv_api_url, &a.request.network_name, &a.operator_ids).await?
    } else {
        load_operators(&a.info, &a.operator_ids)?
    };
    let tls = client_tls(&a.client_ca_cert_path, a.tls_insecure)?;
    let init = Arc::new(Initiator::new(ops, &tls)?);
    let dir = init.run_and_write(&a.request, &a.output_path).await?;
    if json {
        println!("{}", init_json(&a.request, init.operators(), &dir));
    } else {
        println!("ceremony written to {}", dir.display());
    }
    Ok(())
}

/// `dkg init --json`'s summary of a written ceremony.
fn init_json(
    r: &CeremonyRequest,
    ops: &[OperatorInfo],
    dir: &std::path::Path,
) -> serde_json::Value {
    serde_json::json!({
        "event": "dkg_init",
        "ceremony_dir": dir,
        "validators": r.validators,
        "first_nonce": r.nonce,
        "owner": r.owner,
        "withdraw_address": r.withdraw_address,
        "amount_gwei": r.amount_gwei,
        "network": r.network_name,
        "operator_ids": ops.iter().map(|o| o.id).collect::<Vec<_>>(),
    })
}

async fn run_operator(a: OperatorArgs) -> eyre::Result<()> {
    let a = a.resolve()?;
    let key = OperatorPrivateKey::read_keystore_files(&a.priv_key, &a.priv_key_password)
        .map_err(|e| eyre!("operator key: {e}"))?;
    // A certificate that was asked for and is not there is an error, never a silent substitute.
    let tls = match (&a.server_tls_cert_path, &a.server_tls_key_path) {
        (Some(c), Some(k)) => TlsMaterial::from_files(c, k)
            .wrap_err("--server-tls-cert-path / --server-tls-key-path")?,
        (Some(_), None) | (None, Some(_)) => {
            return Err(eyre!(
                "give both --server-tls-cert-path and --server-tls-key-path (or neither, for a \
                 self-signed certificate)"
            ));
        }
        (None, None) => {
            tracing::warn!("no TLS certificate given: serving a self-signed one");
            TlsMaterial::self_signed(&[])?
        }
    };
    let addr: SocketAddr = format!("{}:{}", a.listen, a.port)
        .parse()
        .wrap_err("listen address")?;
    match raise_open_file_limit() {
        Ok((soft, _)) => tracing::info!(open_files = soft, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
    let mut state = OperatorState::new(a.operator_id, key, a.wire_version)
        .with_output_path(a.output_path)
        .with_limits(a.limits);
    if let Some(url) = a.eth_endpoint_url {
        state = state.with_eth_rpc(url);
    }
    let state = Arc::new(state);
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

/// Operator TLS trust for `init` and `ping`: the given CA files (else system roots), or none.
pub(crate) fn client_tls(ca_paths: &[PathBuf], insecure: bool) -> eyre::Result<ClientTls> {
    let mut ca = Vec::new();
    for p in ca_paths {
        ca.push(std::fs::read_to_string(p).wrap_err_with(|| format!("reading {}", p.display()))?);
    }
    Ok(ClientTls {
        ca_certs_pem: ca,
        insecure,
    })
}

async fn run_ping(a: PingArgs, json: bool) -> eyre::Result<()> {
    let ops = load_operators(&a.info, &a.operator_ids)?;
    let tls = client_tls(&a.client_ca_cert_path, a.tls_insecure)?;
    // Ping any number of operators: bypass the cluster-size check by pinging one by one.
    let mut failed = 0;
    for op in ops {
        let single = Initiator::ping_only(op.clone(), &tls)?;
        let answer = single.ping_one(&op).await;
        let ok = matches!(&answer, Ok(p) if supported_operator_version(&p.version));
        if !ok {
            failed += 1;
        }
        if json {
            println!("{}", ping_json(op.id, &answer));
        } else {
            println!("{}", ping_line(op.id, &answer));
        }
    }
    if failed > 0 {
        return Err(eyre!(
            "{failed} operator(s) did not answer correctly or run an unsupported version"
        ));
    }
    Ok(())
}

fn ping_line(id: u64, answer: &Result<PingInfo, crate::dkg::initiator::InitiatorError>) -> String {
    match answer {
        Ok(p) if !supported_operator_version(&p.version) => format!(
            "operator {}: online, but version {:?} cannot run a ceremony with this \
             initiator (needs {SUPPORTED_VERSIONS}): the operator must upgrade",
            p.id, p.version
        ),
        Ok(p) => format!(
            "operator {}: online, version {}, multisig {}, eth client {}",
            p.id, p.version, p.multisig, p.eth_client_connected
        ),
        Err(e) => format!("operator {id}: ERROR {e}"),
    }
}

fn ping_json(
    id: u64,
    answer: &Result<PingInfo, crate::dkg::initiator::InitiatorError>,
) -> serde_json::Value {
    match answer {
        Ok(p) => serde_json::json!({
            "event": "dkg_ping",
            "operator": p.id,
            "online": true,
            "version": p.version,
            "supported": supported_operator_version(&p.version),
            "multisig": p.multisig,
            "eth_client_connected": p.eth_client_connected,
        }),
        Err(e) => serde_json::json!({
            "event": "dkg_ping",
            "operator": id,
            "online": false,
            "error": e.to_string(),
        }),
    }
}

fn run_verify(a: VerifyArgs, json: bool) -> eyre::Result<()> {
    let v = verify_ceremony_dir(&a.ceremony_dir, &a.ceremony.expectations())?;
    if json {
        println!("{}", verify_json(&v));
    } else {
        println!(
            "{}: {} validator(s) verified",
            a.ceremony_dir.display(),
            v.validators.len()
        );
    }
    Ok(())
}

fn verify_json(v: &VerifiedCeremony) -> serde_json::Value {
    let validators: Vec<serde_json::Value> = v
        .validators
        .iter()
        .map(|x| {
            serde_json::json!({
                "nonce": x.nonce,
                "pubkey": format!("0x{}", hex::encode(x.pubkey)),
                "owner": x.owner,
                "operator_ids": x.operator_ids,
                "withdrawal_credentials": format!("0x{}", hex::encode(x.withdrawal_credentials)),
                "amount_gwei": x.amount_gwei,
                "network": x.network,
                "folder": x.folder,
            })
        })
        .collect();
    serde_json::json!({
        "event": "dkg_verify",
        "ceremony_dir": v.dir,
        "layout": match v.layout {
            CeremonyLayout::Folders => "folders",
            CeremonyLayout::AggregatesOnly => "aggregates_only",
        },
        "validators": validators,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        init: InitArgs,
    }

    fn resolve(args: &[&str]) -> eyre::Result<ResolvedInit> {
        let mut argv = vec!["dkg-init"];
        argv.extend_from_slice(args);
        Wrap::try_parse_from(argv)?.init.resolve()
    }

    const YAML: &str = "operatorIDs: [11, 22, 33, 44]\nwithdrawAddress: \"0x81592c3de184a3e2c0dcb5a261bc107bfa91f494\"\nowner: \"0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9\"\nnonce: 1\nnetwork: \"holesky\"\nvalidators: 10\noperatorsInfoPath: ./data/initiator/operators_info.json\noutputPath: ./data/initiator/output\nclientCACertPath: ./data/initiator/rootCA.crt\n";

    #[test]
    fn flags_win_over_the_config_file_which_wins_over_defaults() {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = dir.path().join("initiator.yaml");
        std::fs::write(&cfg, YAML).expect("write");
        let cfg = cfg.to_str().expect("utf8");

        let r = resolve(&["--configPath", cfg]).expect("file only");
        assert_eq!(r.operator_ids, vec![11, 22, 33, 44]);
        assert_eq!(
            r.request.owner,
            "0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9"
                .parse::<Address>()
                .expect("addr")
        );
        assert_eq!(r.request.nonce, 1);
        assert_eq!(r.request.network_name, "holesky");
        assert_eq!(r.request.validators, 10);
        assert_eq!(r.request.amount_gwei, 32_000_000_000);
        assert!(!r.request.compounding);
        assert_eq!(r.output_path, PathBuf::from("./data/initiator/output"));
        assert_eq!(
            r.info.operators_info_path,
            Some(PathBuf::from("./data/initiator/operators_info.json"))
        );
        assert_eq!(
            r.client_ca_cert_path,
            vec![PathBuf::from("./data/initiator/rootCA.crt")]
        );

        let r = resolve(&[
            "--config-path",
            cfg,
            "--nonce",
            "7",
            "--network",
            "hoodi",
            "--operator-ids",
            "1,2,3,4",
            "--operators-info",
            "[]",
            "--compounding",
            "--output-path",
            "/abs/out",
        ])
        .expect("flags override");
        assert_eq!(r.request.nonce, 7);
        assert_eq!(r.request.network_name, "hoodi");
        assert_eq!(r.operator_ids, vec![1, 2, 3, 4]);
        // The command line's operators info replaces the file's path entirely.
        assert_eq!(r.info.operators_info.as_deref(), Some("[]"));
        assert_eq!(r.info.operators_info_path, None);
        assert!(r.request.compounding);
        assert_eq!(r.output_path, PathBuf::from("/abs/out"));
        assert_eq!(r.request.validators, 10);

        // `--json`'s summary carries what was resolved.
        let v = init_json(&r.request, &[], std::path::Path::new("/abs/out/ceremony-x"));
        assert_eq!(v["event"], "dkg_init");
        assert_eq!(
            (v["first_nonce"].as_u64(), v["validators"].as_u64()),
            (Some(7), Some(10))
        );
        assert_eq!(v["network"], "hoodi");
        assert_eq!(v["ceremony_dir"], "/abs/out/ceremony-x");
    }

    #[test]
    fn defaults_and_missing_required_values() {
        let r = resolve(&[
            "--operator-ids",
            "1,2,3,4",
            "--owner",
            "0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9",
            "--withdrawAddress",
            "0x81592c3de184a3e2c0dcb5a261bc107bfa91f494",
        ])
        .expect("flags only");
        assert_eq!(
            (
                r.request.nonce,
                r.request.network_name.as_str(),
                r.request.amount_gwei,
                r.request.validators
            ),
            (0, "mainnet", 32_000_000_000, 1)
        );
        assert_eq!(r.output_path, PathBuf::from("./data/output"));
        assert_eq!(r.ssv_api_url, DEFAULT_SSV_API);
        let e = resolve(&["--operator-ids", "1,2,3,4"]).expect_err("no owner");
        assert!(e.to_string().contains("--owner"), "{e}");
        let e = resolve(&["--owner", "0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9"])
            .expect_err("no ids");
        assert!(e.to_string().contains("--operator-ids"), "{e}");

        let dir = tempfile::tempdir().expect("tmp");
        let cfg = dir.path().join("bad.yaml");
        std::fs::write(&cfg, "outputPath: /data/output\n").expect("write");
        let e = resolve(&["--config-path", cfg.to_str().expect("utf8")]).expect_err("abs path");
        assert!(e.to_string().contains("outputPath"), "{e}");
        std::fs::write(&cfg, "owner: \"0x12\"\noperatorIDs: [1,2,3,4]\n").expect("write");
        let e = resolve(&["--config-path", cfg.to_str().expect("utf8")]).expect_err("bad owner");
        assert!(e.to_string().contains("owner"), "{e}");
    }
}

#[cfg(test)]
mod init_from_api_tests {
    use std::net::SocketAddr;

    use clap::Parser;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::dkg::operator::RunningOperator;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        init: InitArgs,
    }

    /// Loopback stand-in for the SSV API: one JSON body per request path.
    async fn api(routes: Vec<(String, String)>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let routes = routes.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let path = req.split_whitespace().nth(1).unwrap_or("");
                    let (status, body) = routes
                        .iter()
                        .find(|(p, _)| p == path)
                        .map(|(_, b)| (200, b.clone()))
                        .unwrap_or((404, "{}".into()));
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn init_without_operators_info_takes_them_from_the_ssv_api() {
        let tls = TlsMaterial::self_signed(&[]).expect("cert");
        let mut servers: Vec<RunningOperator> = Vec::new();
        let mut routes = Vec::new();
        for id in [5u64, 6, 7, 8] {
            let key = OperatorPrivateKey::generate(2048).expect("key");
            let body = serde_json::json!({
                "id": id,
                "public_key": key.public_key().to_base64_pem(),
                "dkg_address": "",
            });
            let state = Arc::new(OperatorState::new(id, key, defaults::WIRE_VERSION.into()));
            let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
            let s = serve(state, addr, &tls).await.expect("serve");
            let mut body = body;
            body["dkg_address"] = serde_json::Value::String(s.url());
            routes.push((format!("/api/v4/hoodi/operators/{id}"), body.to_string()));
            servers.push(s);
        }
        let base = api(routes).await;
        let out = tempfile::tempdir().expect("tmp");
        let args = Wrap::try_parse_from([
            "dkg-init",
            "--operator-ids",
            "8,6,5,7",
            "--owner",
            "0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9",
            "--withdraw-address",
            "0x81592c3de184a3e2c0dcb5a261bc107bfa91f494",
            "--network",
            "hoodi",
            "--nonce",
            "3",
            "--tls-insecure",
            "--ssv-api-url",
            &base,
            "--output-path",
            out.path().to_str().expect("utf8"),
        ])
        .expect("args");
        run_init(args.init, false)
            .await
            .expect("ceremony with API operators");
        let ceremony = std::fs::read_dir(out.path())
            .expect("out")
            .next()
            .expect("a ceremony folder")
            .expect("entry")
            .path();
        let v = verify_ceremony_dir(
            &ceremony,
            &VerifyExpectations {
                validators: Some(1),
                nonce: Some(3),
                network: Some("hoodi".into()),
                operator_ids: Some(vec![5, 6, 7, 8]),
                ..Default::default()
            },
        )
        .expect("verifies");
        assert_eq!(v.validators.len(), 1);

        // An id the API does not know fails before any ceremony, naming it.
        let args = Wrap::try_parse_from([
            "dkg-init",
            "--operator-ids",
            "5,6,7,9",
            "--owner",
            "0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9",
            "--withdraw-address",
            "0x81592c3de184a3e2c0dcb5a261bc107bfa91f494",
            "--network",
            "hoodi",
            "--ssv-api-url",
            &base,
            "--output-path",
            out.path().to_str().expect("utf8"),
        ])
        .expect("args");
        let e = run_init(args.init, false).await.expect_err("unknown id");
        assert!(e.to_string().contains("operator 9"), "{e}");
        drop(servers);
    }
}

#[cfg(test)]
mod operator_args_tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        op: OperatorArgs,
    }

    fn resolve(args: &[&str]) -> eyre::Result<ResolvedOperator> {
        let mut argv = vec!["dkg-operator"];
        argv.extend_from_slice(args);
        Wrap::try_parse_from(argv)?.op.resolve()
    }

    #[test]
    fn config_file_then_flags() {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = dir.path().join("operator1.yaml");
        std::fs::write(
            &cfg,
            "privKey: ./k.json\nprivKeyPassword: ./pw\noperatorID: 11\nport: 3031\nethEndpointURL: http://x:8545\nlimits:\n  maxConnections: 99\n  initPerIpPerMinute: 7\n",
        )
        .expect("write");
        let cfg = cfg.to_str().expect("utf8");
        let r = resolve(&["--configPath", cfg]).expect("file");
        assert_eq!(r.priv_key, PathBuf::from("./k.json"));
        assert_eq!(r.priv_key_password, PathBuf::from("./pw"));
        assert_eq!((r.operator_id, r.port), (11, 3031));
        assert_eq!(r.output_path, PathBuf::from("./data/output"));
        assert_eq!(r.limits.max_connections, 99);
        assert_eq!(r.limits.init_per_ip_per_minute, 7);
        assert_eq!(r.limits.max_instances, 1024, "ssv-dkg's default");
        let r = resolve(&[
            "--config-path",
            cfg,
            "--operatorID",
            "12",
            "--port",
            "4000",
            "--max-connections",
            "10",
            "--body-read-timeout-secs",
            "5",
        ])
        .expect("flags win");
        assert_eq!((r.operator_id, r.port), (12, 4000));
        assert_eq!(r.limits.max_connections, 10);
        assert_eq!(r.limits.init_per_ip_per_minute, 7, "file value kept");
        assert_eq!(
            r.limits.body_read_timeout,
            std::time::Duration::from_secs(5)
        );
        let e = resolve(&["--config-path", cfg, "--max-instances", "0"]).expect_err("zero");
        assert!(e.to_string().contains("maxInstances"), "{e}");
        let e = resolve(&["--priv-key", "k", "--priv-key-password", "p"]).expect_err("no id");
        assert!(e.to_string().contains("--operator-id"), "{e}");
        let e = resolve(&[
            "--priv-key",
            "k",
            "--priv-key-password",
            "p",
            "--operator-id",
            "0",
        ])
        .expect_err("zero id");
        assert!(e.to_string().contains("non-zero"), "{e}");
        let e = resolve(&["--operator-id", "3", "--priv-key-password", "p"]).expect_err("no key");
        assert!(e.to_string().contains("--priv-key"), "{e}");
    }
}
