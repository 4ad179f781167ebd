//! The chosen operators: their DKG endpoints from an ssv-dkg `operators_info.json`
//! (`[{"id", "public_key", "ip"}]`), checked against the keys registered on chain, and pinged.

use std::path::Path;

use serde::Deserialize;

use super::PipelineError;
use crate::{
    chain::Chain,
    crypto::rsa_keys::OperatorPublicKey,
    dkg::initiator::{Initiator, OperatorInfo, PingInfo},
    ssv::{
        keyshares::operator_key_der,
        views::{FeeViews, read_operators},
    },
};

/// ssv-dkg wire generations this agent speaks (the Pong's version string starts with one).
pub const SUPPORTED_DKG_VERSIONS: [&str; 1] = ["v3."];

#[derive(Debug, Deserialize)]
struct InfoEntry {
    id: u64,
    public_key: String,
    ip: String,
}

/// Reads the operators info file and keeps the chosen ids, refusing any id it does not list.
pub fn load_operators_info(path: &Path, ids: &[u64]) -> Result<Vec<OperatorInfo>, PipelineError> {
    let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
        action: "cannot read the operators info file",
        path: path.to_owned(),
        source,
    })?;
    let entries: Vec<InfoEntry> = serde_json::from_str(&text).map_err(|e| {
        PipelineError::Setting(format!(
            "{}: not an ssv-dkg operators info list ([{{\"id\", \"public_key\", \"ip\"}}]): {e}",
            path.display()
        ))
    })?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let e = entries.iter().find(|e| e.id == *id).ok_or_else(|| {
            PipelineError::Setting(format!(
                "operator {id} is chosen in validators.operator_ids but {} does not list it",
                path.display()
            ))
        })?;
        let key = OperatorPublicKey::from_base64_pem(&e.public_key).map_err(|err| {
            PipelineError::Setting(format!(
                "{}: operator {id} public_key: {err}",
                path.display()
            ))
        })?;
        out.push(OperatorInfo {
            id: *id,
            key,
            url: e.ip.trim_end_matches('/').to_string(),
        });
    }
    Ok(out)
}

/// Each listed key must be the one registered on chain: the DKG encrypts shares to it, and SSV
/// nodes only run validators whose shares their registered key can open.
pub async fn check_keys_on_chain(
    chain: &Chain,
    operators: &[OperatorInfo],
) -> Result<(), PipelineError> {
    let head = chain.head().await?;
    let views = FeeViews::for_cluster(chain.ssv_version().await?, None);
    let ids: Vec<u64> = operators.iter().map(|o| o.id).collect();
    let onchain = read_operators(chain, views, &ids, head).await?;
    for (op, info) in operators.iter().zip(&onchain) {
        if !info.exists {
            return Err(PipelineError::preflight_reason(
                "operators",
                format!(
                    "operator {} is not registered (or was removed) on this network; choose another operator",
                    op.id
                ),
            ));
        }
        let onchain = chain.operator_public_key(op.id).await?.ok_or_else(|| {
            PipelineError::preflight_reason(
                "operators",
                format!("no OperatorAdded event found for operator {}", op.id),
            )
        })?;
        let listed = operator_key_der(op.key.to_base64_pem());
        match (operator_key_der(&onchain), listed) {
            (Ok(a), Ok(b)) if a == b => {}
            _ => {
                return Err(PipelineError::preflight_reason(
                    "operators",
                    format!(
                        "the public key listed for operator {} differs from the one registered on chain; fix the operators info file",
                        op.id
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Pings every operator; all must answer, with a signed pong, on a supported version.
pub async fn ping_all(initiator: &Initiator) -> Result<Vec<PingInfo>, PipelineError> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (id, r) in initiator.ping().await {
        match r {
            Ok(p) if SUPPORTED_DKG_VERSIONS
                .iter()
                .any(|v| p.version.starts_with(v)) =>
            {
                out.push(p)
            }
            Ok(p) => problems.push(format!(
                "operator {id} runs ssv-dkg {:?}; this agent speaks v3.x, ask the operator to upgrade",
                p.version
            )),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(PipelineError::preflight_reason(
            "operators",
            problems.join("; "),
        ))
    }
}
