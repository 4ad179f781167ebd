//! The metrics endpoint: `GET /metrics` over hyper (HTTP/1.1), in the style of the DKG operator
//! server (`dkg::operator::server`): 404 for any other path, 405 for any other method, no request
//! body ever read (a request announcing one is answered and its connection closed), a cap on open
//! connections, a header read timeout, a connection lifetime, and an accept loop that backs off on
//! errors (EMFILE) instead of spinning.

use std::{sync::Arc, time::Duration};

use http_body_util::Full;
use hyper::{
    Method, Request, Response, StatusCode,
    body::{Bytes, Incoming},
    header::{ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, TRANSFER_ENCODING},
};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
};

use super::metrics::{CONTENT_TYPE as METRICS_TYPE, SharedMetrics};

/// The only path served.
pub const METRICS_PATH: &str = "/metrics";

/// Bounds of the metrics server (a scraper needs one connection; the rest guard against a
/// misconfigured public bind).
#[derive(Debug, Clone)]
pub struct MetricsServerLimits {
    /// Connections open at once; more wait in the listen queue.
    pub max_connections: usize,
    /// Time to receive a request's headers.
    pub header_read_timeout: Duration,
    /// A connection is closed after this long (after answering its current request).
    pub connection_lifetime: Duration,
    /// Largest request head (bytes).
    pub max_header_bytes: usize,
}

impl Default for MetricsServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 16,
            header_read_timeout: Duration::from_secs(5),
            connection_lifetime: Duration::from_secs(60),
            max_header_bytes: 8 * 1024,
        }
    }
}

/// Accept-error back-off: from 10 ms, doubling, to at most 1 s (or until a connection closes).
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

type Resp = Response<Full<Bytes>>;

fn text(status: StatusCode, body: &'static str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Whether the request announced a body (never read here: the connection must close after it).
fn announces_body(req: &Request<Incoming>) -> bool {
    let length = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    length.is_some_and(|n| n > 0) || req.headers().contains_key(TRANSFER_ENCODING)
}

/// The answer to one request; the body, if any, stays unread.
fn respond(metrics: &SharedMetrics, req: &Request<Incoming>) -> Resp {
    let mut r = if req.uri().path() != METRICS_PATH {
        text(
            StatusCode::NOT_FOUND,
            "not found: the metrics are at /metrics\n",
        )
    } else if req.method() != Method::GET {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET /metrics\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        r
    } else {
        let mut r = Response::new(Full::new(Bytes::from(metrics.encode())));
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_TYPE));
        r
    };
    if announces_body(req) {
        r.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

async fn serve_connection(
    tcp: TcpStream,
    metrics: SharedMetrics,
    limits: Arc<MetricsServerLimits>,
) {
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let r = respond(&metrics, &req);
        async move { Ok::<_, std::convert::Infallible>(r) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .serve_connection(TokioIo::new(tcp), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = tokio::time::sleep(limits.connection_lifetime) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(limits.header_read_timeout, conn).await;
        }
    }
}

fn spawn_connection(
    tcp: TcpStream,
    metrics: &SharedMetrics,
    limits: &Arc<MetricsServerLimits>,
    permit: OwnedSemaphorePermit,
    closed: &Arc<Notify>,
) {
    let _ = tcp.set_nodelay(true);
    let (metrics, limits, closed) = (metrics.clone(), limits.clone(), closed.clone());
    tokio::spawn(async move {
        serve_connection(tcp, metrics, limits).await;
        drop(permit);
        closed.notify_one();
    });
}

/// Serves the metrics with the default limits until the listener fails; spawn it as a task.
pub async fn serve(listener: TcpListener, metrics: SharedMetrics) {
    serve_with(listener, metrics, MetricsServerLimits::default()).await;
}

/// Serves the metrics with `limits`; spawn it as a task (abort it to stop).
pub async fn serve_with(
    listener: TcpListener,
    metrics: SharedMetrics,
    limits: MetricsServerLimits,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let limits = Arc::new(limits);
    let closed = Arc::new(Notify::new());
    let mut backoff = BACKOFF_MIN;
    let mut last_warning: Option<tokio::time::Instant> = None;
    loop {
        // At the cap, stop accepting: new connections wait in the listen queue.
        let Ok(permit) = connections.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((tcp, _)) => {
                backoff = BACKOFF_MIN;
                spawn_connection(tcp, &metrics, &limits, permit, &closed);
            }
            Err(e) => {
                drop(permit);
                // One line a minute at most: a descriptor shortage repeats on every accept.
                if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(error = %e, "metrics server: accept failed, backing off");
                    last_warning = Some(tokio::time::Instant::now());
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = closed.notified() => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}
