//! Operators by id from the SSV API, for `dkg init` without operators info: `GET
//! <base>/api/v4/<network>/operators/<id>` gives `public_key` and `dkg_address` (what the SSV web app
//! turns into ssv-dkg's operators info).

use std::time::Duration;

use serde::Deserialize;

use super::OperatorInfo;
use crate::crypto::rsa_keys::OperatorPublicKey;

/// The public SSV API; override for tests, mirrors and devnets.
pub const DEFAULT_SSV_API: &str = "https://api.ssv.network";

#[derive(Debug, thiserror::Error)]
pub enum SsvApiError {
    #[error("SSV API client: {0}")]
    Client(String),
    #[error("SSV API {url}: operator {id}: {reason}")]
    Operator {
        id: u64,
        url: String,
        reason: String,
    },
}

#[derive(Deserialize)]
struct ApiOperator {
    id: u64,
    public_key: String,
    #[serde(default)]
    dkg_address: Option<String>,
}

/// The operator object either bare or wrapped as `{"operator": {...}}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ApiReply {
    Bare(ApiOperator),
    Wrapped { operator: ApiOperator },
}

/// Fetches each id (concurrently) and returns them in the order given.
pub async fn fetch_operators(
    base_url: &str,
    network: &str,
    ids: &[u64],
) -> Result<Vec<OperatorInfo>, SsvApiError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| SsvApiError::Client(e.to_string()))?;
    let base = base_url.trim_end_matches('/');
    let futs = ids.iter().map(|id| fetch_one(&client, base, network, *id));
    let mut out = Vec::with_capacity(ids.len());
    for r in super::futures_join_all(futs).await {
        out.push(r?);
    }
    Ok(out)
}

async fn fetch_one(
    client: &reqwest::Client,
    base: &str,
    network: &str,
    id: u64,
) -> Result<OperatorInfo, SsvApiError> {
    let url = format!("{base}/api/v4/{network}/operators/{id}");
    let err = |reason: String| SsvApiError::Operator {
        id,
        url: url.clone(),
        reason,
    };
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| err(format!("request failed: {e}")))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| err(format!("reading the reply: {e}")))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        return Err(err(format!("HTTP {}: {text}", status.as_u16())));
    }
    let op = match serde_json::from_slice::<ApiReply>(&body)
        .map_err(|e| err(format!("reply is not an operator object: {e}")))?
    {
        ApiReply::Bare(o) | ApiReply::Wrapped { operator: o } => o,
    };
    if op.id != id {
        return Err(err(format!("the API answered with operator {}", op.id)));
    }
    let key = OperatorPublicKey::from_base64_pem(&op.public_key)
        .map_err(|e| err(format!("public_key: {e}")))?;
    let address = op.dkg_address.unwrap_or_default();
    let address = address.trim().trim_end_matches('/');
    if address.is_empty() {
        return Err(err(
            "has no DKG endpoint (dkg_address) registered; pass --operators-info instead".into(),
        ));
    }
    if !address.starts_with("https://") {
        return Err(err(format!(
            "dkg_address {address:?} is not https:// (ssv-dkg accepts HTTPS only)"
        )));
    }
    Ok(OperatorInfo {
        id,
        key,
        url: address.to_string(),
    })
}
