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

use super::dkg::{OperatorsInfoArgs, client_tls, load_operators};

/// What resign and reshare (and their message generators) share.
#[derive(Debug, Clone, Args)]
pub struct ChangeArgs {
    /// Where the operators come from.
    #[command(flatten)]
    pub info: OperatorsInfoArgs,
    /// The validators' current operator ids (comma separated), as in the proofs.
    #[arg(long, alias = "operatorIDs", value_delimiter = ',', required = true)]
    pub operator_ids: Vec<u64>,
    /// SSV cluster owner address (the owner the proofs name).
    #[arg(long)]
    pub owner: Address,
    /// Owner nonce of the first validator's new keyshares; the others follow consecutively.
    #[arg(long, default_value_t = defaults::NONCE)]
    pub nonce: u64,
    /// Withdrawal address.
    #[arg(long, alias = "withdrawAddress")]
    pub withdraw_address: Address,
    /// Network: mainnet, holesky, hoodi, sepolia or prater.
    #[arg(long, default_value = defaults::NETWORK)]
    pub network: String,
    /// Deposit amount in gwei.
    #[arg(long, default_value_t = defaults::AMOUNT_GWEI)]
    pub amount: u64,
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
    #[arg(long, alias = "outputPath", default_value = defaults::OUTPUT_PATH)]
    pub output_path: PathBuf,
}

impl ChangeArgs {
    /// The signed-for parameters.
    pub fn params(&self) -> eyre::Result<ChangeParams> {
        Ok(ChangeParams {
            owner: self.owner,
            nonce: self.nonce,
            withdraw_address: self.withdraw_address,
            compounding: self.compounding,
            amount_gwei: self.amount,
            network_name: self.network.clone(),
            fork_version: dkg_fork_version(&self.network)
                .ok_or_else(|| eyre!("unknown network {:?}", self.network))?,
        })
    }

    /// The old proofs, from the file or the text.
    pub fn proofs(&self) -> eyre::Result<Vec<Vec<SignedProofJson>>> {
        let text = match (&self.proofs_file_path, &self.proofs_string) {
            (Some(p), None) => {
                std::fs::read_to_string(p).wrap_err_with(|| format!("reading {}", p.display()))?
            }
            (None, Some(t)) => t.clone(),
            _ => return Err(eyre!("give --proofs-file-path or --proofs-string")),
        };
        Ok(parse_proofs(&text)?)
    }

    /// The current operators, in id order.
    pub fn operators(&self) -> eyre::Result<Vec<OperatorInfo>> {
        let mut ops = load_operators(&self.info, &self.operator_ids)?;
        ops.sort_by_key(|o| o.id);
        Ok(ops)
    }
}

/// How a resign/reshare reaches the operators and gets the owner's signature.
#[derive(Debug, Clone, Args)]
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
    let c = &a.change;
    let msgs = crate::dkg::resign::resign_messages(&c.operators()?, &c.params()?, &c.proofs()?)?;
    write_message(
        &c.output_path,
        "resign",
        &crate::dkg::resign::resign_message_hex(&msgs),
        json,
    )
}

/// `dkg resign`.
pub(crate) async fn run_resign(a: ResignArgs, global: &crate::cli::GlobalOpts) -> eyre::Result<()> {
    let c = &a.change;
    let signature = owner_signature(a.run.signatures.as_deref(), c.owner, global)?;
    let tls = client_tls(&a.run.client_ca_cert_path, a.run.tls_insecure)?;
    let init = Initiator::new(c.operators()?, &tls)?;
    let outs = crate::dkg::resign::resign(
        &init,
        crate::dkg::resign::ResignRequest {
            proofs: c.proofs()?,
            params: c.params()?,
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
    #[arg(long, alias = "newOperatorIDs", value_delimiter = ',', required = true)]
    pub new_operator_ids: Vec<u64>,
}

/// `dkg reshare`.
#[derive(Debug, Args)]
pub struct ReshareArgs {
    /// The reshare (`--operator-ids` is the current set).
    #[command(flatten)]
    pub change: ChangeArgs,
    /// The new operator ids (comma separated); 4, 7, 10 or 13.
    #[arg(long, alias = "newOperatorIDs", value_delimiter = ',', required = true)]
    pub new_operator_ids: Vec<u64>,
    /// Connection and owner signature.
    #[command(flatten)]
    pub run: RunChangeArgs,
}

fn new_operators(c: &ChangeArgs, ids: &[u64]) -> eyre::Result<Vec<OperatorInfo>> {
    let mut ops = load_operators(&c.info, ids)?;
    ops.sort_by_key(|o| o.id);
    Ok(ops)
}

/// `dkg generate-reshare-msg`: checks the proofs, writes `reshare.txt`.
pub(crate) fn run_generate_reshare(a: GenerateReshareMsgArgs, json: bool) -> eyre::Result<()> {
    let c = &a.change;
    let msgs = crate::dkg::reshare::reshare_messages(
        &c.operators()?,
        &new_operators(c, &a.new_operator_ids)?,
        &c.params()?,
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
    let c = &a.change;
    let signature = owner_signature(a.run.signatures.as_deref(), c.owner, global)?;
    let tls = client_tls(&a.run.client_ca_cert_path, a.run.tls_insecure)?;
    let old = c.operators()?;
    let init = Initiator::new(old.clone(), &tls)?;
    let outs = crate::dkg::reshare::reshare(
        &init,
        crate::dkg::reshare::ReshareRequest {
            proofs: c.proofs()?,
            old_operators: old,
            new_operators: new_operators(c, &a.new_operator_ids)?,
            params: c.params()?,
            signature,
        },
        &c.output_path,
    )
    .await?;
    report("dkg_reshare", &outs, global.json);
    Ok(())
}
