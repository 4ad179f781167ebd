//! A TEST DOUBLE of the SSV API's operator endpoints (`https://api.ssv.network/api/v4/<network>/
//! operators`), served on loopback over plain HTTP for the devnet, the demo and the tests. It is
//! not the SSV API: it answers `GET /api/v4/<network>/operators` (search, `type=verified_operator`,
//! `has_dkg_address=true`, `ordering=<key>:<asc|desc>`, `page`, `perPage` capped like a real server)
//! and `GET /api/v4/<network>/operators/<id>` with the JSON shapes of ssv-web's `src/types/api.ts`.
//!
//! [`devnet_records`] describes the devnet's operators with realistic metadata (names, locations,
//! clients, MEV relays, performance, some verified) and the fees, validator counts and privacy
//! the chain reports; [`ApiDouble::update`] lets a test make it lag the chain or break an entry,
//! and [`ApiFaults`] makes it slow or failing. It faces loopback only, and is bounded anyway:
//! connections, header and connection time, request size.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use http_body_util::{BodyExt, Full, Limited};
use hyper::{
    Method, Request, Response, StatusCode,
    body::{Bytes, Incoming},
};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::DevnetError;

/// Operators per page the double answers with at most, whatever `perPage` asks for.
pub const DEFAULT_MAX_PER_PAGE: u64 = 100;
const MAX_CONNECTIONS: usize = 64;
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECTION_CAP: Duration = Duration::from_secs(60);
/// GET requests carry no body worth reading.
const MAX_REQUEST_BODY: usize = 16 * 1024;

/// Misbehaviour on demand, for the tests of the client's error handling.
#[derive(Debug, Clone, Default)]
pub struct ApiFaults {
    /// Wait this long before answering each request.
    pub delay: Duration,
    /// Answer this many requests (from now on) with `fail_status`.
    pub fail_next: u32,
    /// The status of those answers (503 when 0).
    pub fail_status: u16,
    /// Answer every listing page with this number with `fail_status` (not counted in `fail_next`).
    pub fail_page: Option<u64>,
    /// Answer with a body that is not JSON.
    pub garbage: bool,
}

#[derive(Debug)]
struct State {
    network: String,
    records: Vec<Value>,
    faults: ApiFaults,
    max_per_page: u64,
    requests: u64,
}

/// A running double; dropping it stops it.
#[derive(Debug)]
pub struct ApiDouble {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ApiDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ApiDouble {
    /// Serves `records` (operator objects) for `network` on a free loopback port.
    pub async fn start(network: &str, records: Vec<Value>) -> Result<Self, DevnetError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| DevnetError::Io("binding the SSV API double".into(), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| DevnetError::Io("the SSV API double's address".into(), e))?;
        let state = Arc::new(Mutex::new(State {
            network: network.to_string(),
            records,
            faults: ApiFaults::default(),
            max_per_page: DEFAULT_MAX_PER_PAGE,
            requests: 0,
        }));
        let task = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(Self { addr, state, task })
    }

    /// The base URL to give the agent (`operators.ssv_api_url`, `--ssv-api-url`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the served records (a stale fee, a missing field, a bad key, more operators).
    pub fn update(&self, f: impl FnOnce(&mut Vec<Value>)) {
        f(&mut self.lock().records);
    }

    /// A copy of the served records.
    pub fn records(&self) -> Vec<Value> {
        self.lock().records.clone()
    }

    /// Sets the misbehaviour.
    pub fn set_faults(&self, faults: ApiFaults) {
        self.lock().faults = faults;
    }

    /// Caps the page size (100 by default).
    pub fn set_max_per_page(&self, n: u64) {
        self.lock().max_per_page = n.max(1);
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.lock().requests
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a handler panicked mid-update; the records are still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        // Over the limit, the connection is closed at once rather than queued.
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(state, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(tcp), svc);
            let _ = tokio::time::timeout(CONNECTION_CAP, conn).await;
        });
    }
}

fn reply(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = json!({"error": {"code": status.as_u16(), "message": message}});
    reply(status, body.to_string().into_bytes())
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    if Limited::new(req.into_body(), MAX_REQUEST_BODY)
        .collect()
        .await
        .is_err()
    {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let page = param(&params, "page").and_then(|p| p.parse::<u64>().ok());
    let (faults, network) = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.requests += 1;
        let f = s.faults.clone();
        if s.faults.fail_next > 0 {
            s.faults.fail_next -= 1;
        }
        (f, s.network.clone())
    };
    if !faults.delay.is_zero() {
        tokio::time::sleep(faults.delay).await;
    }
    let status = StatusCode::from_u16(if faults.fail_status == 0 {
        503
    } else {
        faults.fail_status
    })
    .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    if faults.fail_next > 0 || (faults.fail_page.is_some() && faults.fail_page == page) {
        return error(status, "the double was told to fail this request");
    }
    if faults.garbage {
        return reply(StatusCode::OK, b"<html>maintenance</html>".to_vec());
    }
    if method != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "only GET");
    }
    let prefix = format!("/api/v4/{network}/operators");
    let s = state.lock().unwrap_or_else(|p| p.into_inner());
    match path.strip_prefix(&prefix) {
        Some("") | Some("/") => list(&s, &params),
        Some(rest) => match rest.trim_start_matches('/').parse::<u64>() {
            Ok(id) => match s.records.iter().find(|r| r["id"].as_u64() == Some(id)) {
                Some(r) => reply(StatusCode::OK, r.to_string().into_bytes()),
                None => error(StatusCode::NOT_FOUND, "Operator not found"),
            },
            Err(_) => error(StatusCode::NOT_FOUND, "no such route"),
        },
        None => error(StatusCode::NOT_FOUND, "no such route"),
    }
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The listing with the API's filters, ordering and paging.
fn list(s: &State, params: &[(String, String)]) -> Response<Full<Bytes>> {
    let search = param(params, "search").map(str::to_lowercase);
    let verified = param(params, "type") == Some("verified_operator");
    let dkg = param(params, "has_dkg_address") == Some("true");
    let mut rows: Vec<&Value> = s
        .records
        .iter()
        .filter(|r| !verified || r["type"] == "verified_operator")
        .filter(|r| !dkg || r["dkg_address"].as_str().is_some_and(|a| !a.is_empty()))
        .filter(|r| {
            search.as_deref().is_none_or(|q| {
                r["name"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase().contains(q))
                    || r["id"].as_u64().is_some_and(|id| id.to_string() == q)
                    || r["owner_address"]
                        .as_str()
                        .is_some_and(|o| o.to_lowercase() == q)
            })
        })
        .collect();
    let ordering = param(params, "ordering").unwrap_or("id:asc");
    let (key, dir) = ordering.split_once(':').unwrap_or((ordering, "asc"));
    let sort_key = |r: &Value| -> (f64, String) {
        let num = |v: &Value| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0.0)
        };
        match key {
            "name" => (0.0, r["name"].as_str().unwrap_or("").to_lowercase()),
            "validatorsCount" => (num(&r["validators_count"]), String::new()),
            "performance30d" => (num(&r["performance"]["30d"]), String::new()),
            "ethFee" => (num(&r["eth_fee"]), String::new()),
            "fee" => (num(&r["fee"]), String::new()),
            _ => (num(&r["id"]), String::new()),
        }
    };
    if ![
        "id",
        "name",
        "validatorsCount",
        "performance30d",
        "ethFee",
        "fee",
    ]
    .contains(&key)
    {
        return error(StatusCode::BAD_REQUEST, "unknown ordering");
    }
    rows.sort_by(|a, b| {
        let (ka, kb) = (sort_key(a), sort_key(b));
        let o = ka.0.total_cmp(&kb.0).then(ka.1.cmp(&kb.1));
        let o = if dir == "desc" { o.reverse() } else { o };
        o.then(sort_key_id(a).cmp(&sort_key_id(b)))
    });
    let per_page = param(params, "perPage")
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(10)
        .clamp(1, s.max_per_page);
    let page = param(params, "page")
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(1)
        .max(1);
    let total = rows.len() as u64;
    let pages = total.div_ceil(per_page);
    let start = ((page - 1) * per_page).min(total) as usize;
    let end = (start + per_page as usize).min(rows.len());
    let body = json!({
        "operators": rows[start..end],
        "pagination": {
            "total": total,
            "pages": pages,
            "per_page": per_page,
            "page": page,
            "current_first": rows.get(start).map(|r| r["id"].clone()),
            "current_last": if end > start { rows[end - 1]["id"].clone() } else { Value::Null },
        }
    });
    reply(StatusCode::OK, body.to_string().into_bytes())
}

fn sort_key_id(r: &Value) -> u64 {
    r["id"].as_u64().unwrap_or(0)
}

/// What the devnet's double says about one operator beyond the chain's facts.
#[derive(Debug, Clone, Copy)]
pub struct Metadata {
    /// Display name.
    pub name: &'static str,
    /// Verified by the SSV DAO.
    pub verified: bool,
    /// Performance over 24 hours and 30 days, percent.
    pub performance: (f64, f64),
    /// Comma-separated MEV relays.
    pub mev_relays: &'static str,
    /// Location.
    pub location: &'static str,
    /// Hosting.
    pub setup_provider: &'static str,
    /// Execution client.
    pub eth1: &'static str,
    /// Consensus client.
    pub eth2: &'static str,
}

const fn m(
    name: &'static str,
    verified: bool,
    performance: (f64, f64),
    mev_relays: &'static str,
    location: &'static str,
    setup_provider: &'static str,
    (eth1, eth2): (&'static str, &'static str),
) -> Metadata {
    Metadata {
        name,
        verified,
        performance,
        mev_relays,
        location,
        setup_provider,
        eth1,
        eth2,
    }
}

/// The devnet operators' descriptions, by id. The best-looking ones on paper (7, 8, 9: verified,
/// the highest performance) are the ones whose DKG nodes fail (see `devnet::dkg_operators`), so a
/// choice that ranks without checking health picks exactly the wrong operators.
pub const METADATA: [Metadata; 13] = [
    m(
        "Aurora Staking",
        true,
        (99.92, 99.71),
        "Flashbots,Ultra Sound,Aestus",
        "Frankfurt, Germany",
        "AWS",
        ("Geth", "Lighthouse"),
    ),
    m(
        "Borealis Nodes",
        true,
        (99.80, 99.55),
        "Flashbots,bloXroute Max Profit",
        "Paris, France",
        "OVH",
        ("Nethermind", "Teku"),
    ),
    m(
        "Cobalt Validators",
        false,
        (99.40, 99.20),
        "Ultra Sound",
        "Zurich, Switzerland",
        "Hetzner",
        ("Besu", "Prysm"),
    ),
    m(
        "Delta Infra",
        true,
        (99.60, 99.35),
        "Flashbots,Titan Relay",
        "Virginia, United States",
        "Google Cloud",
        ("Reth", "Lodestar"),
    ),
    m(
        "Ember Stake",
        false,
        (98.90, 98.75),
        "Aestus,Agnostic Gnosis",
        "Singapore",
        "Bare metal",
        ("Erigon", "Nimbus"),
    ),
    m(
        "Fjord Operators",
        true,
        (99.95, 99.90),
        "Flashbots",
        "Oslo, Norway",
        "Azure",
        ("Geth", "Teku"),
    ),
    m(
        "Glacier Labs",
        true,
        (99.99, 99.97),
        "Flashbots,Ultra Sound",
        "Reykjavik, Iceland",
        "Bare metal",
        ("Nethermind", "Lighthouse"),
    ),
    m(
        "Harbor Node",
        true,
        (99.97, 99.95),
        "Ultra Sound,Titan Relay",
        "Rotterdam, Netherlands",
        "AWS",
        ("Geth", "Prysm"),
    ),
    m(
        "Iris Staking",
        true,
        (99.98, 99.96),
        "Flashbots,Aestus",
        "Tokyo, Japan",
        "Google Cloud",
        ("Besu", "Teku"),
    ),
    m(
        "Juniper Ops",
        true,
        (99.10, 98.95),
        "Flashbots",
        "Toronto, Canada",
        "OVH",
        ("Geth", "Lighthouse"),
    ),
    m(
        "Kestrel Validators",
        false,
        (97.50, 97.10),
        "",
        "Sydney, Australia",
        "Hetzner",
        ("Nethermind", "Nimbus"),
    ),
    m(
        "Lumen Private",
        true,
        (99.85, 99.80),
        "Flashbots,Ultra Sound",
        "London, United Kingdom",
        "AWS",
        ("Reth", "Lighthouse"),
    ),
    m(
        "Meridian Private",
        false,
        (99.30, 99.00),
        "Titan Relay",
        "Madrid, Spain",
        "Azure",
        ("Geth", "Teku"),
    ),
];

/// The chain's side of one operator, as the double repeats it.
#[derive(Debug, Clone)]
pub struct ChainSide {
    /// Operator id.
    pub id: u64,
    /// Owner.
    pub owner: alloy::primitives::Address,
    /// Registered key (base64 PEM).
    pub public_key: String,
    /// ETH fee per block (v2).
    pub eth_fee: alloy::primitives::U256,
    /// SSV fee per block.
    pub ssv_fee: alloy::primitives::U256,
    /// Validators.
    pub validators: u64,
    /// Private.
    pub is_private: bool,
    /// Whitelisted addresses.
    pub whitelist: Vec<alloy::primitives::Address>,
}

/// One operator object in the API's shape.
pub fn record(c: &ChainSide, meta: &Metadata, dkg_address: Option<&str>, network: &str) -> Value {
    json!({
        "id": c.id,
        "id_str": c.id.to_string(),
        "declared_fee": "0",
        "previous_fee": "0",
        "fee": c.ssv_fee.to_string(),
        "eth_fee": c.eth_fee.to_string(),
        "public_key": c.public_key,
        "owner_address": c.owner.to_checksum(None),
        "address_whitelist": "",
        "verified_operator": meta.verified,
        "whitelist_addresses": c.whitelist.iter().map(|a| a.to_checksum(None)).collect::<Vec<_>>(),
        "whitelisting_contract": "",
        "is_private": c.is_private,
        "location": meta.location,
        "setup_provider": meta.setup_provider,
        "eth1_node_client": meta.eth1,
        "eth2_node_client": meta.eth2,
        "mev_relays": meta.mev_relays,
        "description": format!("{} on the ssv-agent devnet", meta.name),
        "website_url": "",
        "twitter_url": "",
        "linkedin_url": "",
        "dkg_address": dkg_address.unwrap_or(""),
        "logo": "",
        "type": if meta.verified { "verified_operator" } else { "operator" },
        "name": meta.name,
        "performance": {"24h": meta.performance.0, "30d": meta.performance.1},
        "is_valid": true,
        "is_deleted": false,
        "is_active": 1,
        "status": if c.validators > 0 { "Active" } else { "No validators" },
        "validators_count": c.validators,
        "version": "v4",
        "network": network,
        "migrated": true,
        "effective_balance": (c.validators * 32).to_string(),
        "updated_at": 0,
    })
}

/// The devnet's operators in the API's shape: metadata by id (cycled past 13), chain facts as
/// given, and each one's DKG endpoint (or none).
pub fn devnet_records(
    chain: &[ChainSide],
    endpoints: &[(u64, Option<String>)],
    network: &str,
) -> Vec<Value> {
    chain
        .iter()
        .map(|c| {
            let meta = &METADATA[(c.id as usize + METADATA.len() - 1) % METADATA.len()];
            let dkg = endpoints
                .iter()
                .find(|(id, _)| *id == c.id)
                .and_then(|(_, e)| e.as_deref());
            record(c, meta, dkg, network)
        })
        .collect()
}
