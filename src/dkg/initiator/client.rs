//! HTTPS client to operators: TLS trust options, POST/GET with ssv-dkg's error bodies decoded,
//! and failures that name the operator. Operators are strangers on the internet too: replies are
//! read up to [`MAX_REPLY_BYTES`], redirects are not followed, and only `https://` is spoken unless
//! the caller allows plain HTTP.

use std::time::Duration;

use crate::dkg::wire::{ErrSsz, Ssz};

/// Why a request to an operator failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The client's TLS trust (CA files) could not be set up.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// The operator could not be reached or did not answer with a ceremony reply.
    #[error("operator {id} ({url}): {reason}")]
    Operator {
        /// The operator.
        id: u64,
        /// Its address.
        url: String,
        /// What happened (timeout, refused connection, HTTP status with its ErrSSZ text, size cap).
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

/// The largest operator reply read: the largest legitimate one (an exchange or deal-bundle
/// transport with every field at its schema maximum) is 8 384 bytes; a Pong 6 338, an ErrSSZ 516.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// How the initiator's HTTP client behaves beyond TLS trust.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Allow `http://` operator addresses (tests, a TLS-terminating proxy on localhost).
    pub allow_http: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: REQUEST_TIMEOUT,
            allow_http: false,
        }
    }
}

/// An HTTPS-only client with the given timeout (see [`build_client_with`]).
pub fn build_client(tls: &ClientTls, timeout: Duration) -> Result<reqwest::Client, ClientError> {
    build_client_with(
        tls,
        ClientOptions {
            timeout,
            allow_http: false,
        },
    )
}

/// The operator client: no redirects (an operator answers itself or not at all), HTTPS only
/// unless `opts.allow_http`.
pub fn build_client_with(
    tls: &ClientTls,
    opts: ClientOptions,
) -> Result<reqwest::Client, ClientError> {
    let mut b = reqwest::Client::builder()
        .timeout(opts.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .https_only(!opts.allow_http)
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
    let mut resp = req.send().await.map_err(|e| err(describe(&e)))?;
    let status = resp.status();
    let too_large = || {
        err(format!(
            "{path} reply is larger than {MAX_REPLY_BYTES} bytes: not an ssv-dkg operator reply"
        ))
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_REPLY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| err(describe(&e)))? {
        if bytes.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    if status.is_success() {
        return Ok(bytes);
    }
    if status.is_redirection() {
        return Err(err(format!(
            "{path} answered HTTP {} (a redirect, which is not followed: give the operator's own \
             address)",
            status.as_u16()
        )));
    }
    let text = ErrSsz::from_ssz(&bytes)
        .map(|e| String::from_utf8_lossy(&e.error).into_owned())
        .unwrap_or_else(|_| String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned());
    Err(err(format!(
        "{path} answered HTTP {}: {text}",
        status.as_u16()
    )))
}
