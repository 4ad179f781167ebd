//! The operator's HTTPS server: ssv-dkg's routes over hyper + rustls, SSZ `ErrSSZ` bodies on
//! errors, and the bounds of [`ServerLimits`] for a server open to the internet: bodies limited
//! per route (refused by `Content-Length` before reading, GET and unknown routes read nothing),
//! read timeouts, a cap on connections (overall and per address) and on bodies in flight, request
//! rates per address, an accept loop that backs off when file descriptors run out, and WARN lines
//! rate-limited per kind.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

use super::limits::ServerLimits;
use super::logic::{OperatorError, OperatorState};
use super::rate_limit::{RateLimiter, source_key};
use crate::dkg::wire::{ErrSsz, Ssz};

/// ssv-dkg's body cap (105 MiB), kept for reference: this server's per-route limits are far lower
/// (see [`super::limits::wire_max`]).
pub const MAX_BODY: usize = 105 * 1024 * 1024;
/// File descriptors kept free for everything but connections (listener, results files, logs).
const FD_RESERVE: u64 = 64;
/// Accept-error back-off: from 10 ms, doubling, to at most 1 s (or until a connection closes).
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// After `connection_lifetime`, the current request gets this long before the connection is cut.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Why the operator server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The certificate or key is unusable (what is wrong, without the key).
    #[error("TLS certificate/key: {0}")]
    Tls(&'static str),
    /// The self-signed certificate could not be made.
    #[error("TLS certificate/key: {0}")]
    SelfSigned(#[source] rcgen::Error),
    /// The certificate PEM does not parse.
    #[error("TLS certificate/key: certificate PEM: {0}")]
    CertificatePem(#[source] pki_types::pem::Error),
    /// rustls refused the configuration or the certificate/key pair.
    #[error("TLS certificate/key: {0}")]
    Rustls(#[source] rustls::Error),
    /// A certificate or key file cannot be read.
    #[error("reading {path}: {source}")]
    TlsFile {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The limits are invalid.
    #[error(transparent)]
    Limits(#[from] super::limits::LimitError),
}

/// PEM certificate chain and private key. Debug shows the certificate only.
pub struct TlsMaterial {
    /// The certificate chain, PEM.
    pub cert_pem: String,
    /// The private key, PEM (wiped on drop).
    pub key_pem: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

impl TlsMaterial {
    /// A self-signed certificate for localhost/127.0.0.1 (plus `extra_names`).
    pub fn self_signed(extra_names: &[String]) -> Result<Self, ServerError> {
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        names.extend(extra_names.iter().cloned());
        let ck = rcgen::generate_simple_self_signed(names).map_err(ServerError::SelfSigned)?;
        Ok(Self {
            cert_pem: ck.cert.pem(),
            key_pem: zeroize::Zeroizing::new(ck.key_pair.serialize_pem()),
        })
    }

    /// Reads both PEM files; a missing or unreadable file is an error naming it.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, ServerError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|source| ServerError::TlsFile {
                path: p.to_owned(),
                source,
            })
        };
        let me = Self {
            cert_pem: read(cert)?,
            key_pem: zeroize::Zeroizing::new(read(key)?),
        };
        // Fail at start-up, not at the first connection.
        me.acceptor()?;
        Ok(me)
    }

    fn acceptor(&self) -> Result<TlsAcceptor, ServerError> {
        use pki_types::pem::PemObject;
        let certs = pki_types::CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(ServerError::CertificatePem)?;
        if certs.is_empty() {
            return Err(ServerError::Tls("no certificate in the PEM"));
        }
        let key = pki_types::PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|_| ServerError::Tls("private key PEM does not parse"))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(ServerError::Rustls)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(ServerError::Rustls)?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(cfg)))
    }
}

/// A running server; dropping it (or [`RunningOperator::stop`]) stops accepting and closes its
/// connections.
#[derive(Debug)]
pub struct RunningOperator {
    /// The bound address (port 0 resolved).
    pub addr: SocketAddr,
    /// Connections at most open at once (the configured cap, lowered to the open-file limit).
    pub max_connections: usize,
    task: tokio::task::JoinHandle<()>,
    shutdown: watch::Sender<bool>,
}

impl RunningOperator {
    /// `https://127.0.0.1:<port>`, the address to give an initiator on this machine.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }
    /// Stops accepting and closes every connection.
    pub fn stop(&self) {
        self.task.abort();
        let _ = self.shutdown.send(true);
    }
}

impl Drop for RunningOperator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Raises this process's soft open-file limit to its hard limit (a server holds one descriptor per
/// connection, and many systems start services at a soft limit of 1024). Returns (soft, hard).
pub fn raise_open_file_limit() -> std::io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct passed by pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        lim = raised;
    }
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// The soft open-file limit, if it can be read.
fn open_file_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed by pointer.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0).then_some(lim.rlim_cur)
}

/// `max_connections`, lowered so connections alone cannot exhaust the open-file limit.
fn effective_max_connections(limits: &ServerLimits) -> usize {
    let fit = open_file_limit()
        .map(|soft| usize::try_from(soft.saturating_sub(FD_RESERVE).max(8)).unwrap_or(usize::MAX))
        .unwrap_or(usize::MAX);
    if fit < limits.max_connections {
        tracing::warn!(
            configured = limits.max_connections,
            used = fit,
            "max connections lowered to fit the open-file limit (raise `ulimit -n`)"
        );
    }
    limits.max_connections.min(fit)
}

/// The routes, with what each may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Init,
    Dkg,
    Results,
    Resign,
    Reshare,
    Health,
    Unknown,
}

impl Route {
    fn of(method: &Method, path: &str) -> Self {
        match (method, path) {
            (&Method::POST, "/init") => Self::Init,
            (&Method::POST, "/dkg") => Self::Dkg,
            (&Method::POST, "/results") => Self::Results,
            (&Method::POST, "/resign") => Self::Resign,
            (&Method::POST, "/reshare") => Self::Reshare,
            (&Method::GET, "/health_check") => Self::Health,
            _ => Self::Unknown,
        }
    }

    fn body_limit(self, l: &ServerLimits) -> usize {
        match self {
            Self::Init => l.init_body,
            Self::Dkg => l.dkg_body,
            Self::Results => l.results_body,
            Self::Resign => l.resign_body,
            Self::Reshare => l.reshare_body,
            Self::Health | Self::Unknown => 0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Init => "/init",
            Self::Dkg => "/dkg",
            Self::Results => "/results",
            Self::Resign => "/resign",
            Self::Reshare => "/reshare",
            Self::Health => "/health_check",
            Self::Unknown => "/",
        }
    }
}

/// Request rates per source address: all routes together, and per route (ssv-dkg's httprate).
struct Rates {
    all: RateLimiter<IpAddr>,
    init: RateLimiter<IpAddr>,
    dkg: RateLimiter<IpAddr>,
    results: RateLimiter<IpAddr>,
    resign: RateLimiter<IpAddr>,
    reshare: RateLimiter<IpAddr>,
    health: RateLimiter<IpAddr>,
}

impl Rates {
    fn new(l: &ServerLimits) -> Self {
        Self {
            all: RateLimiter::new(l.requests_per_ip_per_minute),
            init: RateLimiter::new(l.init_per_ip_per_minute),
            dkg: RateLimiter::new(l.dkg_per_ip_per_minute),
            results: RateLimiter::new(l.results_per_ip_per_minute),
            resign: RateLimiter::new(l.resign_per_ip_per_minute),
            reshare: RateLimiter::new(l.reshare_per_ip_per_minute),
            health: RateLimiter::new(l.health_check_per_ip_per_minute),
        }
    }

    fn allow(&self, ip: &IpAddr, route: Route) -> bool {
        let per_route = match route {
            Route::Init => &self.init,
            Route::Dkg => &self.dkg,
            Route::Results => &self.results,
            Route::Resign => &self.resign,
            Route::Reshare => &self.reshare,
            Route::Health => &self.health,
            Route::Unknown => return self.all.allow(ip),
        };
        self.all.allow(ip) && per_route.allow(ip)
    }
}

/// Open connections per source address.
#[derive(Default)]
struct PerIp(Mutex<HashMap<IpAddr, usize>>);

/// One connection counted for its address until dropped.
struct IpSlot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    fn enter(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut m = self.0.lock().ok()?;
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.table.0.lock()
            && let Some(n) = m.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// What every connection task shares.
struct Shared {
    state: Arc<OperatorState>,
    limits: ServerLimits,
    acceptor: TlsAcceptor,
    connections: Arc<Semaphore>,
    per_ip: Arc<PerIp>,
    bodies: Arc<Semaphore>,
    /// Handlers doing CPU work at once: one per core. Ceremonies beyond that wait their turn
    /// holding only their request, instead of a blocking thread (and its allocator arena) each.
    cpu: Arc<Semaphore>,
    rates: Rates,
    /// Signalled when a connection closes: an accept loop backing off retries at once.
    closed: Notify,
    shutdown: watch::Receiver<bool>,
}

impl Shared {
    /// WARN, at most `log_lines_per_minute` times a minute per kind.
    fn warn(&self, kind: &'static str, detail: &dyn std::fmt::Display) {
        if let Some(suppressed) = self.state.log_limiter().allow(kind) {
            tracing::warn!(
                operator = self.state.operator_id,
                suppressed,
                "{kind}: {detail}"
            );
        }
    }

    fn debug(&self, kind: &'static str, detail: &dyn std::fmt::Display) {
        if let Some(suppressed) = self.state.log_limiter().allow(kind) {
            tracing::debug!(
                operator = self.state.operator_id,
                suppressed,
                "{kind}: {detail}"
            );
        }
    }
}

fn status_for(e: &OperatorError) -> StatusCode {
    match e {
        OperatorError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        OperatorError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

type Resp = Response<Full<Bytes>>;

fn err_response(status: StatusCode, text: &str) -> Resp {
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

/// An error after which the rest of the request body is not read: the connection must close.
fn closing(mut r: Resp) -> Resp {
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

/// ssv-dkg answers rate-limited requests with 429 and this JSON (not SSZ).
fn too_many(route: Route) -> Resp {
    let body = format!("{{\"error\": \"too many requests to {}\"}}", route.name());
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Whether the request announced a body (which an early answer leaves unread).
fn announces_body(req: &Request<Incoming>) -> bool {
    content_length(req).is_some_and(|n| n > 0)
        || req.headers().contains_key(hyper::header::TRANSFER_ENCODING)
}

/// Closes the connection after `r` if the request's body will not be read.
fn close_if_body(req: &Request<Incoming>, r: Resp) -> Resp {
    if announces_body(req) { closing(r) } else { r }
}

fn content_length(req: &Request<Incoming>) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

enum BodyError {
    TooLarge,
    Timeout,
    Unreadable,
}

/// Reads at most `limit` bytes within the body timeout, holding one of the in-flight permits.
async fn read_body(shared: &Shared, body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    let read = async {
        let _permit = shared
            .bodies
            .acquire()
            .await
            .map_err(|_| BodyError::Unreadable)?;
        match Limited::new(body, limit).collect().await {
            Ok(b) => Ok(b.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
            Err(_) => Err(BodyError::Unreadable),
        }
    };
    tokio::time::timeout(shared.limits.body_read_timeout, read)
        .await
        .unwrap_or(Err(BodyError::Timeout))
}

async fn handle(shared: Arc<Shared>, peer: IpAddr, req: Request<Incoming>) -> Resp {
    let route = Route::of(req.method(), req.uri().path());
    if !shared.rates.allow(&source_key(peer), route) {
        shared.debug("rate limited", &format_args!("{peer} on {}", route.name()));
        return close_if_body(&req, too_many(route));
    }
    if route == Route::Unknown {
        let path: String = req.uri().path().chars().take(64).collect();
        shared.warn("no such route", &format_args!("{} {path}", req.method()));
        let r = err_response(
            StatusCode::NOT_FOUND,
            &format!("no route {} {path}", req.method()),
        );
        return close_if_body(&req, r);
    }
    let limit = route.body_limit(&shared.limits);
    if content_length(&req).is_some_and(|n| n > limit as u64) {
        shared.warn(
            "request body too large",
            &format_args!("{peer}: Content-Length above {limit} on {}", route.name()),
        );
        return closing(err_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body exceeds limit of {limit} bytes"),
        ));
    }
    let body = if limit == 0 {
        // GET: nothing to read; a body sent anyway is left unread and the connection closed.
        Bytes::new()
    } else {
        match read_body(&shared, req.into_body(), limit).await {
            Ok(b) => b,
            Err(BodyError::TooLarge) => {
                shared.warn(
                    "request body too large",
                    &format_args!("{peer}: more than {limit} bytes on {}", route.name()),
                );
                return closing(err_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("request body exceeds limit of {limit} bytes"),
                ));
            }
            Err(BodyError::Timeout) => {
                shared.warn(
                    "request body timed out",
                    &format_args!("{peer} on {}", route.name()),
                );
                return closing(err_response(
                    StatusCode::REQUEST_TIMEOUT,
                    "request body not received in time",
                ));
            }
            Err(BodyError::Unreadable) => {
                return closing(err_response(
                    StatusCode::BAD_REQUEST,
                    "request body unreadable",
                ));
            }
        }
    };
    let st = shared.state.clone();
    let answer = match route {
        // Owner checks may call the execution RPC: these handlers move their CPU work off the
        // async workers themselves.
        Route::Resign => st.handle_resign_from(body.to_vec(), Some(peer)).await,
        Route::Reshare => st.handle_reshare_from(body.to_vec(), Some(peer)).await,
        _ => {
            let Ok(cpu) = shared.cpu.clone().acquire_owned().await else {
                return err_response(StatusCode::SERVICE_UNAVAILABLE, "server is stopping");
            };
            let work = move || -> Result<Vec<u8>, OperatorError> {
                // Held until the work is done, even if the client goes away meanwhile.
                let _cpu = cpu;
                match route {
                    Route::Init => st.handle_init_from(&body, Some(peer)),
                    Route::Dkg => st.handle_dkg(&body),
                    Route::Results => st.handle_results(&body),
                    _ => st.health_check(),
                }
            };
            // RSA and pairing work is CPU-bound: keep it off the async workers.
            match tokio::task::spawn_blocking(work).await {
                Ok(r) => r,
                Err(_) => {
                    return err_response(StatusCode::INTERNAL_SERVER_ERROR, "handler failed");
                }
            }
        }
    };
    match answer {
        Ok(bytes) => Response::new(Full::new(Bytes::from(bytes))),
        Err(e) => {
            shared.warn("request failed", &format_args!("{}: {e}", route.name()));
            err_response(status_for(&e), &e.to_string())
        }
    }
}

/// One connection: TLS handshake and requests within their timeouts, closed after its lifetime
/// (once the current request is answered) or when the server stops.
async fn serve_connection(shared: Arc<Shared>, tcp: TcpStream, peer: IpAddr) {
    let l = &shared.limits;
    let mut shutdown = shared.shutdown.clone();
    let Ok(Ok(tls)) =
        tokio::time::timeout(l.header_read_timeout, shared.acceptor.accept(tcp)).await
    else {
        return;
    };
    let svc_shared = shared.clone();
    let svc = hyper::service::service_fn(move |req| {
        let shared = svc_shared.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(shared, peer, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(l.header_read_timeout)
        .max_buf_size(l.max_header_bytes.max(8192))
        .serve_connection(TokioIo::new(tls), svc);
    tokio::pin!(conn);
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
    };
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = tokio::time::sleep(l.connection_lifetime) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
        _ = stop => {}
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        // At the cap, stop accepting: new connections wait in the listen queue.
        let Ok(permit) = shared.connections.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((tcp, addr)) => {
                backoff = BACKOFF_MIN;
                accepted(&shared, tcp, addr.ip(), permit);
            }
            Err(e) => {
                // EMFILE/ENFILE/ENOBUFS: retrying at once would spin on the same error.
                drop(permit);
                shared.warn("accept failed, backing off", &e);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shared.closed.notified() => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

fn accepted(shared: &Arc<Shared>, tcp: TcpStream, peer: IpAddr, permit: OwnedSemaphorePermit) {
    let Some(slot) = shared
        .per_ip
        .enter(source_key(peer), shared.limits.max_connections_per_ip)
    else {
        shared.warn(
            "connection refused: too many from one address",
            &format_args!("{peer}"),
        );
        return;
    };
    let _ = tcp.set_nodelay(true);
    let shared = shared.clone();
    tokio::spawn(async move {
        serve_connection(shared.clone(), tcp, peer).await;
        drop(slot);
        drop(permit);
        shared.closed.notify_one();
    });
}

/// Binds `addr` (port 0 picks a free port) and serves with `state.limits()` until the returned
/// handle is dropped.
pub async fn serve(
    state: Arc<OperatorState>,
    addr: SocketAddr,
    tls: &TlsMaterial,
) -> Result<RunningOperator, ServerError> {
    let limits = state.limits().clone();
    limits.validate()?;
    let acceptor = tls.acceptor()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    let max_connections = effective_max_connections(&limits);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        acceptor,
        connections: Arc::new(Semaphore::new(max_connections)),
        per_ip: Arc::new(PerIp::default()),
        bodies: Arc::new(Semaphore::new(limits.max_bodies_in_flight)),
        cpu: Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(1, usize::from),
        )),
        rates: Rates::new(&limits),
        closed: Notify::new(),
        shutdown: shutdown_rx,
        limits,
        state,
    });
    let task = tokio::spawn(async move {
        let reporter = shared.clone();
        let report = async move {
            let mut tick = tokio::time::interval(super::log_limit::WINDOW);
            loop {
                tick.tick().await;
                reporter.state.log_limiter().report_suppressed();
            }
        };
        tokio::select! {
            _ = accept_loop(listener, shared) => {}
            _ = report => {}
        }
    });
    Ok(RunningOperator {
        addr: local,
        max_connections,
        task,
        shutdown,
    })
}
