//! The operator's HTTPS server: ssv-dkg's routes over hyper + rustls, with its limits
//! (105 MiB bodies, 10 s to send headers) and SSZ `ErrSSZ` bodies on errors.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

use super::logic::{OperatorError, OperatorState};
use crate::dkg::wire::{ErrSsz, Ssz};

pub const MAX_BODY: usize = 105 * 1024 * 1024;
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-connection cap against slow-body clients (Go: ReadTimeout 90 s, IdleTimeout 60 s).
const CONNECTION_CAP: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("TLS certificate/key: {0}")]
    Tls(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// PEM certificate chain and private key.
pub struct TlsMaterial {
    pub cert_pem: String,
    pub key_pem: zeroize::Zeroizing<String>,
}

impl TlsMaterial {
    /// A self-signed certificate for localhost/127.0.0.1 (plus `extra_names`).
    pub fn self_signed(extra_names: &[String]) -> Result<Self, ServerError> {
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        names.extend(extra_names.iter().cloned());
        let ck = rcgen::generate_simple_self_signed(names)
            .map_err(|e| ServerError::Tls(e.to_string()))?;
        Ok(TlsMaterial {
            cert_pem: ck.cert.pem(),
            key_pem: zeroize::Zeroizing::new(ck.key_pair.serialize_pem()),
        })
    }

    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, ServerError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| ServerError::Tls(format!("{}: {e}", p.display())))
        };
        Ok(TlsMaterial {
            cert_pem: read(cert)?,
            key_pem: zeroize::Zeroizing::new(read(key)?),
        })
    }

    fn acceptor(&self) -> Result<TlsAcceptor, ServerError> {
        use pki_types::pem::PemObject;
        let certs = pki_types::CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ServerError::Tls(format!("certificate PEM: {e}")))?;
        let key = pki_types::PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|_| ServerError::Tls("private key PEM does not parse".into()))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ServerError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| ServerError::Tls(e.to_string()))?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(cfg)))
    }
}

/// A running server; dropping it stops accepting connections.
#[derive(Debug)]
pub struct RunningOperator {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl RunningOperator {
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for RunningOperator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn status_for(e: &OperatorError) -> StatusCode {
    match e {
        OperatorError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn err_response(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    // ErrSSZ holds at most 512 bytes; Go replaces longer texts, we truncate on a char boundary.
    let mut end = text.len().min(512);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let body = ErrSsz {
        error: text.as_bytes()[..end].to_vec(),
    }
    .to_ssz();
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

async fn handle(state: Arc<OperatorState>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let route = (req.method().clone(), req.uri().path().to_string());
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return err_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large or unreadable",
            );
        }
    };
    let st = state.clone();
    let work = move || -> Result<Vec<u8>, OperatorError> {
        match (route.0, route.1.as_str()) {
            (Method::POST, "/init") => st.handle_init(&body),
            (Method::POST, "/dkg") => st.handle_dkg(&body),
            (Method::POST, "/results") => st.handle_results(&body),
            (Method::GET, "/health_check") => st.health_check(),
            (_, path) => Err(OperatorError::Malformed {
                what: "route",
                reason: format!("no route {path}"),
            }),
        }
    };
    // RSA and pairing work is CPU-bound: keep it off the async workers.
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(bytes)) => Response::new(Full::new(Bytes::from(bytes))),
        Ok(Err(OperatorError::Malformed {
            what: "route",
            reason,
        })) => err_response(StatusCode::NOT_FOUND, &reason),
        Ok(Err(e)) => {
            tracing::warn!(operator = state.operator_id, error = %e, "request failed");
            err_response(status_for(&e), &e.to_string())
        }
        Err(_) => err_response(StatusCode::INTERNAL_SERVER_ERROR, "handler failed"),
    }
}

/// Binds `addr` (port 0 picks a free port) and serves until the returned handle is dropped.
pub async fn serve(
    state: Arc<OperatorState>,
    addr: SocketAddr,
    tls: &TlsMaterial,
) -> Result<RunningOperator, ServerError> {
    let acceptor = tls.acceptor()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let state = state.clone();
            tokio::spawn(async move {
                let conn = async {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_TIMEOUT)
                        .max_buf_size(1024 * 1024)
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                };
                let _ = tokio::time::timeout(CONNECTION_CAP, conn).await;
            });
        }
    });
    Ok(RunningOperator { addr: local, task })
}
