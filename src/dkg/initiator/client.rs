//! HTTPS client to operators: TLS trust options, POST/GET with ssv-dkg's error bodies decoded,
//! and failures that name the operator.

use std::time::Duration;

use crate::dkg::wire::{ErrSsz, Ssz};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("operator {id} ({url}): {reason}")]
    Operator {
        id: u64,
        url: String,
        reason: String,
    },
}

/// How operator certificates are trusted.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    /// PEM CA certificates to trust (ssv-dkg `--clientCACertPath`); empty = system roots.
    pub ca_certs_pem: Vec<String>,
    /// Skip verification entirely (`--tlsInsecure`).
    pub insecure: bool,
}

/// Go's initiator allows 30 s per request; the deal round against Go operators takes ~20 s.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Below the 10 s after which our operator server closes an idle keep-alive connection.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(4);

pub fn build_client(tls: &ClientTls, timeout: Duration) -> Result<reqwest::Client, ClientError> {
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(64)
        // Our operator server (hyper's header-read timeout) drops a keep-alive connection idle for
        // 10 s, Go's after 60 s; reusing one at that moment fails the request ("peer closed
        // connection"), which bulk ceremonies hit. Retire idle connections well before that.
        .pool_idle_timeout(IDLE_CONNECTION_TIMEOUT);
    for pem in &tls.ca_certs_pem {
        let c = reqwest::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        b = b.add_root_certificate(c);
    }
    if tls.insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    b.build().map_err(|e| ClientError::Tls(e.to_string()))
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "did not answer in time".into()
    } else if e.is_connect() {
        "unreachable (connection failed)".into()
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s.push_str(": ");
            s.push_str(&inner.to_string());
            src = inner.source();
        }
        s
    }
}

/// Sends one request; a non-200 answer becomes an error carrying the operator's ErrSSZ text.
pub async fn call(
    client: &reqwest::Client,
    id: u64,
    base: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> Result<Vec<u8>, ClientError> {
    let url = format!("{}/{}", base.trim_end_matches('/'), path);
    let err = |reason: String| ClientError::Operator {
        id,
        url: base.to_string(),
        reason,
    };
    let req = match body {
        Some(b) => client.post(&url).body(b),
        None => client.get(&url),
    };
    let resp = req.send().await.map_err(|e| err(describe(&e)))?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| err(describe(&e)))?;
    if status.is_success() {
        return Ok(bytes.to_vec());
    }
    let text = ErrSsz::from_ssz(&bytes)
        .map(|e| String::from_utf8_lossy(&e.error).into_owned())
        .unwrap_or_else(|_| String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned());
    Err(err(format!(
        "{path} answered HTTP {}: {text}",
        status.as_u16()
    )))
}
