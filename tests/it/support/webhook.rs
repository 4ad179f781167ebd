//! A loopback webhook receiver for the alert tests: a real HTTP server (hyper) that records every
//! request's method, path and JSON body, and answers as told: 200, 500, or never (a hung hook).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Bytes};
use hyper_util::rt::TokioIo;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 200 OK.
    Ok,
    /// 500 Internal Server Error.
    Fail,
    /// Reads the request, records it, and never answers.
    Hang,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// HTTP method.
    pub method: String,
    /// Path and query (where a token would be).
    pub path: String,
    /// `Content-Type` header.
    pub content_type: String,
    /// The body as JSON.
    pub json: serde_json::Value,
}

/// A running receiver; dropped = stopped.
pub(crate) struct Webhook {
    /// Where it listens.
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Webhook {
    /// Listens on a free loopback port.
    pub(crate) async fn start(answer: Answer) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let rec = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let rec = rec.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<_>| {
                        let rec = rec.clone();
                        async move {
                            let method = req.method().to_string();
                            let path = req
                                .uri()
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default();
                            let content_type = req
                                .headers()
                                .get("content-type")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string();
                            let body: hyper::body::Incoming = req.into_body();
                            let bytes = body.collect().await.unwrap().to_bytes();
                            let json =
                                serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                            rec.lock().unwrap().push(Received {
                                method,
                                path,
                                content_type,
                                json,
                            });
                            let status = match answer {
                                Answer::Ok => 200,
                                Answer::Fail => 500,
                                Answer::Hang => {
                                    std::future::pending::<()>().await;
                                    unreachable!()
                                }
                            };
                            let mut r = Response::new(Full::new(Bytes::from_static(b"{}")));
                            *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, std::convert::Infallible>(r)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        Self {
            addr,
            received,
            task,
        }
    }

    /// The URL to configure, with a token in its path (which must never reach a log line).
    pub(crate) fn url(&self, token: &str) -> String {
        format!("http://{}/hooks/{token}", self.addr)
    }

    /// Everything received so far.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Bodies received so far of alert kind `kind`.
    pub(crate) fn of_kind(&self, kind: &str) -> Vec<serde_json::Value> {
        self.received()
            .into_iter()
            .map(|r| r.json)
            .filter(|j| j["kind"] == kind)
            .collect()
    }

    /// Waits (at most `within`) until `n` requests have arrived; fails the test otherwise.
    pub(crate) async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < within,
                "the webhook got {} of {n} requests within {within:?}: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
