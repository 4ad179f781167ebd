//! `ssv-agent dkg generate-resign-msg|resign` (and the reshare pair): ssv-dkg v3.1.0's commands
//! with its camelCase flags as aliases. The owner signature is made with the agent's configured
//! signer (`[signer]` of the config) when it is the owner, or given with `--signatures` (made
//! elsewhere over the hash `generate-*-msg` writes: a Safe or another EIP-1271 wallet, a key the
//! agent does not hold).

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use clap::Args;
use eyre::{WrapErr, eyre};

use crate::chain::signer::load_signer;
use crate::dkg::defaults;
use crate::dkg::initiator::{Initiator, OperatorInfo};
use crate::dkg::outputs::SignedProofJson;
use crate::dkg::owner_sig::OwnerSignature;
use crate::dkg::resign::{ChangeOutput, ChangeParams, parse_proofs};
use crate::network::dkg_fork_version;

use super::dkg::{
    OperatorsInfoArgs, client_tls, layered, layered_list, layered_operators, layered_parsed,
    load_operators, parse_address, required, with_default,
};
use crate::dkg::initiator::config_file::{DkgConfigFile, read_dkg_config};

/// What resign and reshare (and their message generators) share. Every value may also come from
/// an ssv-dkg YAML file (`--config-path`); a flag on the command line wins over the file.
#[derive(Debug, Clone, Args)]
#[command(
    mut_arg("nonce", |a| with_default(a, defaults::NONCE)),
    mut_arg("network", |a| with_default(a, defaults::NETWORK)),
    mut_arg("amount", |a| with_default(a, defaults::AMOUNT_GWEI)),
    mut_arg("output_path", |a| with_default(a, defaults::OUTPUT_PATH)),
)]
pub struct ChangeArgs {
    /// ssv-dkg YAML config (keys are the camelCase flag names; paths relative, inside the cwd).
    #[arg(long, alias = "configPath")]
    pub config_path: Option<PathBuf>,
    /// Where the operators come from.
    #[command(flatten)]
    pub info: OperatorsInfoArgs,
    /// The validators' current operator ids (comma separated), as in the proofs.
    #[arg(long, alias = "operatorIDs", value_delimiter = ',')]
    pub operator_ids: Vec<u64>,
    /// SSV cluster owner address (the owner the proofs name).
    #[arg(long)]
    pub owner: Option<Address>,
    /// Owner nonce of the first validator's new keyshares; the others follow consecutively.
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Withdrawal address.
    #[arg(long, alias = "withdrawAddress")]
    pub withdraw_address: Option<Address>,
    /// Network: mainnet, holesky, hoodi, sepolia or prater.
    #[arg(long)]
    pub network: Option<String>,
    /// Deposit amount in gwei.
    #[arg(long)]
    pub amount: Option<u64>,
    /// 0x02 (compounding) withdrawal credentials instead of 0x01.
    #[arg(long)]
    pub compounding: bool,
    /// The old ceremony's proofs.json (one validator's array or a bulk run's array of arrays).
    #[arg(long, alias = "proofsFilePath", conflicts_with = "proofs_string")]
    pub proofs_file_path: Option<PathBuf>,
    /// The same proofs JSON as text.
    #[arg(long, alias = "proofsString")]
    pub proofs_string: Option<String>,
    /// Where the message hash or the new ceremony folder is written.
    #[arg(long, alias = "outputPath")]
    pub output_path: Option<PathBuf>,
}

/// A resign or reshare with every value settled (flags over the config file over defaults).
#[derive(Debug, Clone)]
pub struct Change {
    info: OperatorsInfoArgs,
    operator_ids: Vec<u64>,
    new_operator_ids: Vec<u64>,
    params: ChangeParams,
    proofs_file_path: Option<PathBuf>,
    proofs_string: Option<String>,
    output_path: PathBuf,
    run: RunChangeArgs,
}

impl ChangeArgs {
    /// Layers the flags over `--config-path`; `new_ids` and `run` are the command's own flags
    /// (empty / default when the command has none).
    pub fn resolve(self, new_ids: Vec<u64>, run: RunChangeArgs) -> eyre::Result<Change> {
        let mut file = match &self.config_path {
            Some(p) => read_dkg_config(p)?,
            None => DkgConfigFile::default(),
        };
        let (operator_ids, info) = layered_operators(self.operator_ids, self.info, &mut file)?;
        let owner = layered_parsed(self.owner, file.owner, |t| parse_address("owner", t))?;
        let withdraw_address = layered_parsed(self.withdraw_address, file.withdraw_address, |t| {
            parse_address("withdrawAddress", t)
        })?;
        let network =
            layered(self.network, file.network).unwrap_or_else(|| defaults::NETWORK.into());
        let params = ChangeParams {
            owner: required(owner, "--owner", "owner", "is required")?,
            nonce: layered(self.nonce, file.nonce).unwrap_or(defaults::NONCE),
            withdraw_address: required(
                withdraw_address,
                "--withdraw-address",
                "withdrawAddress",
                "is required",
            )?,
            compounding: self.compounding || file.compounding.unwrap_or(false),
            amount_gwei: layered(self.amount, file.amount).unwrap_or(defaults::AMOUNT_GWEI),
            fork_version: dkg_fork_version(&network)
                .ok_or_else(|| eyre!("unknown network {network:?}"))?,
            network_name: network,
        };
        // The two proofs sources are one choice: the command line replaces the file's.
        let (proofs_file_path, proofs_string) =
            if self.proofs_file_path.is_some() || self.proofs_string.is_some() {
                (self.proofs_file_path, self.proofs_string)
            } else {
                (file.proofs_file_path, file.proofs_string)
            };
        Ok(Change {
            info,
            operator_ids,
            new_operator_ids: layered_list(new_ids, file.new_operator_ids),
            params,
            proofs_file_path,
            proofs_string,
            output_path: layered(self.output_path, file.output_path)
                .unwrap_or_else(|| defaults::OUTPUT_PATH.into()),
            run: RunChangeArgs {
                client_ca_cert_path: layered_list(
                    run.client_ca_cert_path,
                    file.client_ca_cert_path,
                ),
                tls_insecure: run.tls_insecure || file.tls_insecure.unwrap_or(false),
                signatures: layered(run.signatures, file.signatures),
            },
        })
    }
}

impl Change {
    /// The signed-for parameters.
    pub fn params(&self) -> ChangeParams {
        self.params.clone()
    }

    /// The old proofs, from the file or the text.
    pub fn proofs(&self) -> eyre::Result<Vec<Vec<SignedProofJson>>> {
        let text = match (&self.proofs_file_path, &self.proofs_string) {
            (Some(p), None) => {
                std::fs::read_to_string(p).wrap_err_with(|| format!("reading {}", p.display()))?
            }
            (None, Some(t)) => t.clone(),
            (Some(_), Some(_)) => {
                return Err(eyre!(
                    "give one of proofsFilePath and proofsString, not both"
                ));
            }
            (None, None) => {
                return Err(eyre!(
                    "give --proofs-file-path or --proofs-string (or proofsFilePath / proofsString in the config file)"
                ));
            }
        };
        Ok(parse_proofs(&text)?)
    }

    /// The current operators, in id order.
    pub fn operators(&self) -> eyre::Result<Vec<OperatorInfo>> {
        sorted_operators(&self.info, &self.operator_ids)
    }

    /// The new operators (reshare), in id order.
    pub fn new_operators(&self) -> eyre::Result<Vec<OperatorInfo>> {
        if self.new_operator_ids.is_empty() {
            return Err(eyre!(
                "no new operators: give --new-operator-ids (or newOperatorIDs in the config file)"
            ));
        }
        sorted_operators(&self.info, &self.new_operator_ids)
    }
}

fn sorted_operators(info: &OperatorsInfoArgs, ids: &[u64]) -> eyre::Result<Vec<OperatorInfo>> {
    let mut ops = load_operators(info, ids)?;
    ops.sort_by_key(|o| o.id);
    Ok(ops)
}

/// How a resign/reshare reaches the operators and gets the owner's signature.
#[derive(Debug, Clone, Default, Args)]
pub struct RunChangeArgs {
    /// CA certificate(s) to trust for operator TLS.
    #[arg(long, alias = "clientCACertPath", value_delimiter = ',')]
    pub client_ca_cert_path: Vec<PathBuf>,
    /// Skip TLS certificate verification.
    #[arg(long, alias = "tlsInsecure")]
    pub tls_insecure: bool,
    /// The owner's signature (hex) over the `generate-*-msg` hash; default: sign with the
    /// configured signer, which must be the owner.
    #[arg(long)]
    pub signatures: Option<String>,
}

/// `dkg generate-resign-msg`.
#[derive(Debug, Args)]
pub struct GenerateResignMsgArgs {
    /// The resign.
    #[command(flatten)]
    pub change: ChangeArgs,
}

/// `dkg resign`.
#[derive(Debug, Args)]
pub struct ResignArgs {
    /// The resign.
    #[command(flatten)]
    pub change: ChangeArgs,
    /// Connection and owner signature.
    #[command(flatten)]
    pub run: RunChangeArgs,
}

/// The owner signature source: `--signatures`, else the configured signer (must be the owner).
pub(crate) fn owner_signature(
    given: Option<&str>,
    owner: Address,
    global: &crate::cli::GlobalOpts,
) -> eyre::Result<OwnerSignature> {
    if let Some(s) = given {
        return Ok(OwnerSignature::from_hex(s)?);
    }
    let config = global.load_config()?;
    let signer = load_signer(&config.signer, |k| std::env::var(k).ok()).wrap_err(
        "no --signatures given and no configured signer to sign the owner message with",
    )?;
    if signer.address() != owner {
        return Err(eyre!(
            "the configured signer is {}, not the owner {owner}: sign the generate-*-msg hash \
             with the owner (e.g. its Safe) and pass --signatures",
            signer.address()
        ));
    }
    Ok(OwnerSignature::Signer(signer))
}

/// Writes `<out>/<name>.txt` (the text to sign) and `<out>/<name>.json` (the same with its
/// EIP-191 digest, what a Safe's `isValidSignature` is asked about).
pub(crate) fn write_message(
    out: &Path,
    name: &str,
    hex_text: &str,
    json: bool,
) -> eyre::Result<()> {
    let txt = crate::dkg::resign::write_message_hash(out, &format!("{name}.txt"), hex_text)?;
    let digest = crate::dkg::wire::eip191_of_text(hex_text);
    let detail = serde_json::json!({
        "message": hex_text,
        "eip191_digest": format!("0x{}", hex::encode(digest)),
        "how": "sign `message` as an EIP-191 personal message (Safe: Sign message), pass the signature with --signatures",
    });
    let js = crate::dkg::resign::write_message_hash(
        out,
        &format!("{name}.json"),
        &format!("{detail}\n"),
    )?;
    if json {
        println!(
            "{}",
            serde_json::json!({"event": format!("dkg_generate_{name}_msg"), "file": txt, "safe_file": js, "message": hex_text})
        );
    } else {
        println!(
            "{name} message hash written to {} (and {})",
            txt.display(),
            js.display()
        );
    }
    Ok(())
}

/// Prints what a resign/reshare wrote.
pub(crate) fn report(event: &str, outs: &[ChangeOutput], json: bool) {
    let dir = outs
        .first()
        .and_then(|o| o.dir.parent())
        .map(Path::to_path_buf);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "event": event,
                "ceremony_dir": dir,
                "validators": outs.iter().map(|o| serde_json::json!({
                    "pubkey": format!("0x{}", hex::encode(o.validator_pubkey)),
                    "nonce": o.nonce,
                    "keyshares": o.keyshares,
                })).collect::<Vec<_>>(),
            })
        );
    } else if let Some(d) = dir {
        println!("{} validators written to {}", outs.len(), d.display());
    }
}

/// `dkg generate-resign-msg`: checks the proofs, writes `resign.txt`.
pub(crate) fn run_generate_resign(a: GenerateResignMsgArgs, json: bool) -> eyre::Result<()> {
    let c = a.change.resolve(Vec::new(), RunChangeArgs::default())?;
    let msgs = crate::dkg::resign::resign_messages(&c.operators()?, &c.params(), &c.proofs()?)?;
    write_message(
        &c.output_path,
        "resign",
        &crate::dkg::resign::resign_message_hex(&msgs),
        json,
    )
}

/// `dkg resign`.
pub(crate) async fn run_resign(a: ResignArgs, global: &crate::cli::GlobalOpts) -> eyre::Result<()> {
    let c = a.change.resolve(Vec::new(), a.run)?;
    let signature = owner_signature(c.run.signatures.as_deref(), c.params.owner, global)?;
    let tls = client_tls(&c.run.client_ca_cert_path, c.run.tls_insecure)?;
    let init = Initiator::new(c.operators()?, &tls)?;
    let outs = crate::dkg::resign::resign(
        &init,
        crate::dkg::resign::ResignRequest {
            proofs: c.proofs()?,
            params: c.params(),
            signature,
        },
        &c.output_path,
    )
    .await?;
    report("dkg_resign", &outs, global.json);
    Ok(())
}

/// `dkg generate-reshare-msg`.
#[derive(Debug, Args)]
pub struct GenerateReshareMsgArgs {
    /// The reshare (`--operator-ids` is the current set).
    #[command(flatten)]
    pub change: ChangeArgs,
    /// The new operator ids (comma separated); 4, 7, 10 or 13.
    #[arg(long, alias = "newOperatorIDs", value_delimiter = ',')]
    pub new_operator_ids: Vec<u64>,
}

/// `dkg reshare`.
#[derive(Debug, Args)]
pub struct ReshareArgs {
    /// The reshare (`--operator-ids` is the current set).
    #[command(flatten)]
    pub change: ChangeArgs,
    /// The new operator ids (comma separated); 4, 7, 10 or 13.
    #[arg(long, alias = "newOperatorIDs", value_delimiter = ',')]
    pub new_operator_ids: Vec<u64>,
    /// Connection and owner signature.
    #[command(flatten)]
    pub run: RunChangeArgs,
}

/// `dkg generate-reshare-msg`: checks the proofs, writes `reshare.txt`.
pub(crate) fn run_generate_reshare(a: GenerateReshareMsgArgs, json: bool) -> eyre::Result<()> {
    let c = a
        .change
        .resolve(a.new_operator_ids, RunChangeArgs::default())?;
    let msgs = crate::dkg::reshare::reshare_messages(
        &c.operators()?,
        &c.new_operators()?,
        &c.params(),
        &c.proofs()?,
    )?;
    write_message(
        &c.output_path,
        "reshare",
        &crate::dkg::reshare::reshare_message_hex(&msgs),
        json,
    )
}

/// `dkg reshare`.
pub(crate) async fn run_reshare(
    a: ReshareArgs,
    global: &crate::cli::GlobalOpts,
) -> eyre::Result<()> {
    let c = a.change.resolve(a.new_operator_ids, a.run)?;
    let signature = owner_signature(c.run.signatures.as_deref(), c.params.owner, global)?;
    let tls = client_tls(&c.run.client_ca_cert_path, c.run.tls_insecure)?;
    let old = c.operators()?;
    let init = Initiator::new(old.clone(), &tls)?;
    let outs = crate::dkg::reshare::reshare(
        &init,
        crate::dkg::reshare::ReshareRequest {
            proofs: c.proofs()?,
            old_operators: old,
            new_operators: c.new_operators()?,
            params: c.params(),
            signature,
        },
        &c.output_path,
    )
    .await?;
    report("dkg_reshare", &outs, global.json);
    Ok(())
}
