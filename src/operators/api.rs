//! The SSV API's operator endpoints, as the SSV web app uses them (ssv-web `src/api/operator.ts`,
//! `src/types/api.ts`): `GET <base>/api/v4/<network>/operators?search=&ordering=id:asc&type=
//! verified_operator&has_dkg_address=true&page=1&perPage=100` answers
//! `{operators: [Operator], pagination: {total, pages, per_page, page, current_first, current_last}}`,
//! and `GET .../operators/<id>` one `Operator`.
//!
//! The API is a stranger's server: every reply is bounded in size and time, 5xx and timeouts are
//! retried a few times, and each operator object is parsed on its own so that one bad entry (a
//! missing field, a key that is not an RSA key) is skipped with its reason instead of failing the
//! listing. Facts the chain holds (fees, validator counts, privacy, keys) are only hints here:
//! `operators::candidates` and `operators::health` take them from the chain.

use std::{collections::BTreeSet, str::FromStr, sync::Arc, time::Duration};

use alloy::primitives::{Address, U256};
use serde::Serialize;
use serde_json::Value;

use crate::crypto::rsa_keys::{OperatorPublicKey, RsaKeyError};

/// The public SSV API; override for tests, mirrors and devnets.
pub const DEFAULT_SSV_API: &str = "https://api.ssv.network";
/// Operators asked for per page (the API may answer with fewer; its `pagination` is followed).
pub const PER_PAGE: u32 = 100;
/// Pages read at most: 20 000 operators, ten times what mainnet lists in 2026.
pub const MAX_PAGES: u64 = 200;
/// Largest reply read: a page of 100 operators is about 150 KB.
pub const MAX_REPLY_BYTES: usize = 8 * 1024 * 1024;
/// How much of an error body is quoted back.
const QUOTED_BODY: usize = 200;

/// How the client waits and retries.
#[derive(Debug, Clone, Copy)]
pub struct ApiOptions {
    /// One request's deadline.
    pub request_timeout: Duration,
    /// The whole listing's deadline (every page, retries included).
    pub total_timeout: Duration,
    /// Retries of a request that timed out, failed to connect or got a 5xx/429.
    pub retries: u32,
    /// Pause before the first retry (doubled for each further one).
    pub retry_pause: Duration,
    /// Pages fetched at once after the first.
    pub concurrency: usize,
    /// Operators asked for per page.
    pub per_page: u32,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(20),
            total_timeout: Duration::from_secs(120),
            retries: 2,
            retry_pause: Duration::from_millis(500),
            concurrency: 4,
            per_page: PER_PAGE,
        }
    }
}

/// A failure talking to the SSV API. Each names the URL and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The base URL does not parse.
    #[error("SSV API URL {url:?} is not a URL")]
    BadUrl {
        /// As given.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// The HTTP client could not be built.
    #[error("SSV API client setup")]
    Client(#[source] reqwest::Error),
    /// No answer in time, after the retries.
    #[error(
        "SSV API {url} did not answer within {secs} s ({attempts} attempt(s)); the API is slow or down: retry later, or set operators.ssv_api_url (--ssv-api-url) to a mirror"
    )]
    Timeout {
        /// The request.
        url: String,
        /// The per-request deadline.
        secs: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// The request failed below HTTP (connection refused, TLS, reset), after the retries.
    #[error("SSV API {url}: request failed ({attempts} attempt(s))")]
    Request {
        /// The request.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// A non-success HTTP status (5xx and 429 after the retries).
    #[error("SSV API {url} answered HTTP {status}: {body}")]
    Status {
        /// The request.
        url: String,
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The reply exceeds [`MAX_REPLY_BYTES`].
    #[error("SSV API {url}: the reply is larger than {limit} bytes; not an operator listing")]
    TooLarge {
        /// The request.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// The reply is not the JSON shape the API documents.
    #[error("SSV API {url}: the reply is not {what}")]
    Shape {
        /// The request.
        url: String,
        /// What was expected.
        what: &'static str,
        /// The JSON error, when it did not parse at all.
        #[source]
        source: Option<serde_json::Error>,
    },
    /// The listing reports more pages than the agent reads.
    #[error(
        "SSV API {url} reports {pages} pages of operators; the agent reads at most {MAX_PAGES}: narrow the search"
    )]
    TooManyPages {
        /// The first page's request.
        url: String,
        /// Pages reported.
        pages: u64,
    },
    /// The whole listing took longer than allowed.
    #[error(
        "the SSV API listing did not complete within {secs} s ({read} of {pages} pages read); retry later or narrow the search"
    )]
    Deadline {
        /// The deadline.
        secs: u64,
        /// Pages read.
        read: u64,
        /// Pages reported.
        pages: u64,
    },
    /// One operator asked for by id is unusable.
    #[error("SSV API {url}: operator {id}: {reason}")]
    Operator {
        /// The id asked for.
        id: u64,
        /// The request.
        url: String,
        /// What is wrong with it.
        #[source]
        reason: SkipReason,
    },
}

/// Why an operator object from the API was not used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SkipReason {
    /// A required field is absent or null.
    #[error("the `{0}` field is missing")]
    Missing(&'static str),
    /// A field has the wrong type or an unparsable value.
    #[error("the `{field}` field is not {expected}")]
    Field {
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// `public_key` is not an RSA public key.
    #[error("public_key is not a valid RSA operator key")]
    Key(#[source] Arc<RsaKeyError>),
    /// The same id appeared twice in one listing (the later copy is dropped).
    #[error("listed twice")]
    Duplicate,
    /// Asked for one id, got another.
    #[error("the API answered with operator {0}")]
    OtherId(u64),
}

/// An operator object the API returned but the agent did not use.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Its id, when readable.
    pub id: Option<u64>,
    /// Why, in words.
    #[serde(serialize_with = "display")]
    pub reason: SkipReason,
}

fn display<S: serde::Serializer, T: std::fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// One operator as the SSV API describes it. Chain facts here are the API's copy.
#[derive(Debug, Clone, Serialize)]
pub struct ApiOperator {
    /// Operator id.
    pub id: u64,
    /// Display name (`Operator <id>` when the API has none).
    pub name: String,
    /// The RSA key the API lists (checked against the chain before any use).
    #[serde(serialize_with = "key_b64")]
    pub public_key: OperatorPublicKey,
    /// Owner account.
    pub owner: Option<Address>,
    /// ETH fee per block (`eth_fee`), as the API last saw it.
    pub eth_fee: Option<U256>,
    /// SSV fee per block (`fee`, legacy clusters), as the API last saw it.
    pub ssv_fee: Option<U256>,
    /// `type == "verified_operator"` (or `verified_operator: true`).
    pub verified: bool,
    /// Private as the API last saw it.
    pub is_private: bool,
    /// The ssv-dkg endpoint (`dkg_address`), trimmed; `None` when empty.
    pub dkg_address: Option<String>,
    /// Performance over 24 hours, percent.
    pub performance_24h: f64,
    /// Performance over 30 days, percent.
    pub performance_30d: f64,
    /// Validators the API counts.
    pub validators_count: u64,
    /// MEV relays, from the comma-separated `mev_relays`.
    pub mev_relays: Vec<String>,
    /// Where it runs.
    pub location: String,
    /// Cloud or hosting provider.
    pub setup_provider: String,
    /// Execution client.
    pub eth1_node_client: String,
    /// Consensus client.
    pub eth2_node_client: String,
    /// The API's status word (`Active`, `Inactive`, `No validators`, ...).
    pub status: String,
    /// The API marks it removed.
    pub is_deleted: bool,
}

fn key_b64<S: serde::Serializer>(k: &OperatorPublicKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.to_base64_pem())
}

impl ApiOperator {
    /// Parses one operator object; the error says which field is wrong.
    pub fn from_json(v: &Value) -> Result<Self, SkipReason> {
        let id = uint(v, "id")?.ok_or(SkipReason::Missing("id"))?;
        let key_text = v
            .get("public_key")
            .and_then(Value::as_str)
            .ok_or(SkipReason::Missing("public_key"))?;
        let public_key = OperatorPublicKey::from_base64_pem(key_text)
            .map_err(|e| SkipReason::Key(Arc::new(e)))?;
        let text = |field: &str| {
            v.get(field)
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or("")
                .to_string()
        };
        let owner = match text("owner_address").as_str() {
            "" => None,
            s => Some(Address::from_str(s).map_err(|_| SkipReason::Field {
                field: "owner_address",
                expected: "an address",
            })?),
        };
        let name = match text("name") {
            n if n.is_empty() => format!("Operator {id}"),
            n => n,
        };
        let dkg = text("dkg_address");
        let perf = |window: &'static str| -> Result<f64, SkipReason> {
            match v.get("performance").and_then(|p| p.get(window)) {
                None | Some(Value::Null) => Ok(0.0),
                Some(x) => x.as_f64().ok_or(SkipReason::Field {
                    field: "performance",
                    expected: "a number per window",
                }),
            }
        };
        Ok(Self {
            id,
            name,
            public_key,
            owner,
            eth_fee: wei(v, "eth_fee")?,
            ssv_fee: wei(v, "fee")?,
            verified: text("type") == "verified_operator"
                || v.get("verified_operator").and_then(Value::as_bool) == Some(true),
            is_private: v.get("is_private").and_then(Value::as_bool) == Some(true),
            dkg_address: (!dkg.is_empty()).then(|| dkg.trim_end_matches('/').to_string()),
            performance_24h: perf("24h")?,
            performance_30d: perf("30d")?,
            validators_count: uint(v, "validators_count")?.unwrap_or(0),
            mev_relays: text("mev_relays")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            location: text("location"),
            setup_provider: text("setup_provider"),
            eth1_node_client: text("eth1_node_client"),
            eth2_node_client: text("eth2_node_client"),
            status: text("status"),
            is_deleted: v.get("is_deleted").and_then(Value::as_bool) == Some(true),
        })
    }
}

/// An unsigned integer given as a JSON number or a digit string.
fn uint(v: &Value, field: &'static str) -> Result<Option<u64>, SkipReason> {
    let bad = SkipReason::Field {
        field,
        expected: "an unsigned integer",
    };
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(bad),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad),
        Some(_) => Err(bad),
    }
}

/// Wei per block given as a digit string (as the API does) or a JSON number.
fn wei(v: &Value, field: &'static str) -> Result<Option<U256>, SkipReason> {
    let bad = SkipReason::Field {
        field,
        expected: "wei as digits",
    };
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => U256::from_str_radix(s.trim(), 10)
            .map(Some)
            .map_err(|_| bad),
        Some(Value::Number(n)) => n.as_u64().map(|x| Some(U256::from(x))).ok_or(bad),
        Some(_) => Err(bad),
    }
}

/// What the API can order by (ssv-web's `OrderBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKey {
    /// `id`.
    Id,
    /// `name`.
    Name,
    /// `validatorsCount`.
    ValidatorsCount,
    /// `performance30d`.
    Performance30d,
    /// `ethFee`.
    EthFee,
}

impl OrderKey {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Name => "name",
            Self::ValidatorsCount => "validatorsCount",
            Self::Performance30d => "performance30d",
            Self::EthFee => "ethFee",
        }
    }
}

/// A listing request: the web app's search and filters that the API applies itself.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Free-text search (name, id, owner).
    pub search: Option<String>,
    /// `type=verified_operator`.
    pub verified_only: bool,
    /// `has_dkg_address=true`.
    pub dkg_only: bool,
    /// `ordering=<key>:<asc|desc>` (the whole listing is read in `id:asc` regardless, so that an
    /// operator registered while paging cannot shift entries between pages).
    pub ordering: Option<(OrderKey, bool)>,
}

/// The `pagination` object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pagination {
    /// Operators matching.
    pub total: u64,
    /// Pages at this page size.
    pub pages: u64,
    /// Page size the API used.
    pub per_page: u64,
    /// This page.
    pub page: u64,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page {
    /// Usable operators.
    pub operators: Vec<ApiOperator>,
    /// Entries skipped, with reasons.
    pub skipped: Vec<Skipped>,
    /// The page's pagination.
    pub pagination: Pagination,
}

/// A whole listing.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Usable operators in id order.
    pub operators: Vec<ApiOperator>,
    /// Entries skipped, with reasons.
    pub skipped: Vec<Skipped>,
    /// Pages read.
    pub pages: u64,
    /// What the first page said the total is.
    pub total: u64,
}

/// A client of one network's operator endpoints.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    /// `<base>/api/v4/<network>/`.
    root: url::Url,
    opts: ApiOptions,
}

impl ApiClient {
    /// A client for `<base_url>/api/v4/<network>/`.
    pub fn new(base_url: &str, network: &str, opts: ApiOptions) -> Result<Self, ApiError> {
        let root = format!(
            "{}/api/v4/{network}/",
            base_url.trim().trim_end_matches('/')
        );
        let root = url::Url::parse(&root).map_err(|source| ApiError::BadUrl {
            url: base_url.to_string(),
            source,
        })?;
        let http = reqwest::Client::builder()
            .timeout(opts.request_timeout)
            .connect_timeout(opts.request_timeout.min(Duration::from_secs(10)))
            // The API answers itself; a redirect elsewhere is not followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ApiError::Client)?;
        Ok(Self { http, root, opts })
    }

    /// The URL of `path` under the network root.
    fn url(&self, path: &str) -> url::Url {
        // `path` is built here from ids and fixed words, so joining cannot fail.
        self.root.join(path).unwrap_or_else(|_| self.root.clone())
    }

    /// `GET operators/<id>`: one operator (bare, or wrapped as `{"operator": {...}}`).
    pub async fn operator(&self, id: u64) -> Result<ApiOperator, ApiError> {
        let url = self.url(&format!("operators/{id}"));
        let body = self.get_json(&url).await?;
        let obj = body
            .get("operator")
            .filter(|o| o.is_object())
            .unwrap_or(&body);
        let bad = |reason| ApiError::Operator {
            id,
            url: url.to_string(),
            reason,
        };
        if !obj.is_object() {
            return Err(ApiError::Shape {
                url: url.to_string(),
                what: "an operator object",
                source: None,
            });
        }
        let op = ApiOperator::from_json(obj).map_err(bad)?;
        if op.id != id {
            return Err(bad(SkipReason::OtherId(op.id)));
        }
        Ok(op)
    }

    /// `GET operators?...&page=<page>&perPage=<per_page>`.
    pub async fn page(&self, q: &ListQuery, page: u64, per_page: u32) -> Result<Page, ApiError> {
        let url = self.list_url(q, page, per_page);
        let body = self.get_json(&url).await?;
        let shape = |what| ApiError::Shape {
            url: url.to_string(),
            what,
            source: None,
        };
        let list = body
            .get("operators")
            .and_then(Value::as_array)
            .ok_or_else(|| shape("an operator listing (no `operators` array)"))?;
        let p = body
            .get("pagination")
            .ok_or_else(|| shape("an operator listing (no `pagination`)"))?;
        let n = |f: &str| p.get(f).and_then(Value::as_u64);
        let pagination = Pagination {
            total: n("total").unwrap_or(list.len() as u64),
            pages: n("pages")
                .ok_or_else(|| shape("an operator listing (no `pagination.pages`)"))?,
            per_page: n("per_page").unwrap_or(u64::from(per_page)),
            page: n("page").unwrap_or(page),
        };
        let mut operators = Vec::with_capacity(list.len());
        let mut skipped = Vec::new();
        for v in list {
            match ApiOperator::from_json(v) {
                Ok(o) => operators.push(o),
                Err(reason) => skipped.push(Skipped {
                    id: uint(v, "id").ok().flatten(),
                    reason,
                }),
            }
        }
        Ok(Page {
            operators,
            skipped,
            pagination,
        })
    }

    fn list_url(&self, q: &ListQuery, page: u64, per_page: u32) -> url::Url {
        let mut url = self.url("operators");
        {
            let mut qp = url.query_pairs_mut();
            if let Some(s) = q.search.as_deref().filter(|s| !s.trim().is_empty()) {
                qp.append_pair("search", s.trim());
            }
            let (key, desc) = q.ordering.unwrap_or((OrderKey::Id, false));
            qp.append_pair(
                "ordering",
                &format!("{}:{}", key.as_str(), if desc { "desc" } else { "asc" }),
            );
            if q.verified_only {
                qp.append_pair("type", "verified_operator");
            }
            if q.dkg_only {
                qp.append_pair("has_dkg_address", "true");
            }
            qp.append_pair("page", &page.to_string());
            qp.append_pair("perPage", &per_page.to_string());
        }
        url
    }

    /// Every page of the listing (in `id:asc` order, see [`ListQuery::ordering`]), several at a
    /// time, within [`ApiOptions::total_timeout`]. Duplicates are dropped with a reason.
    pub async fn list_all(&self, q: &ListQuery) -> Result<Listing, ApiError> {
        let q = ListQuery {
            ordering: None,
            ..q.clone()
        };
        let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let pages_seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let work = self.list_pages(&q, read.clone(), pages_seen.clone());
        match tokio::time::timeout(self.opts.total_timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(ApiError::Deadline {
                secs: self.opts.total_timeout.as_secs(),
                read: read.load(std::sync::atomic::Ordering::Relaxed),
                pages: pages_seen.load(std::sync::atomic::Ordering::Relaxed),
            }),
        }
    }

    async fn list_pages(
        &self,
        q: &ListQuery,
        read: Arc<std::sync::atomic::AtomicU64>,
        pages_seen: Arc<std::sync::atomic::AtomicU64>,
    ) -> Result<Listing, ApiError> {
        use std::sync::atomic::Ordering::Relaxed;
        let per_page = self.opts.per_page.max(1);
        let first = self.page(q, 1, per_page).await?;
        read.store(1, Relaxed);
        let pages = first.pagination.pages;
        pages_seen.store(pages, Relaxed);
        if pages > MAX_PAGES {
            return Err(ApiError::TooManyPages {
                url: self.list_url(q, 1, per_page).to_string(),
                pages,
            });
        }
        let total = first.pagination.total;
        let mut got = vec![first];
        let sem = Arc::new(tokio::sync::Semaphore::new(self.opts.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for page in 2..=pages {
            let (me, q, sem) = (self.clone(), q.clone(), sem.clone());
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await;
                me.page(&q, page, per_page).await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            // A page task only fails by panicking inside the parser, which it does not do; keep the
            // error path anyway rather than unwrap in a library.
            let page = joined.map_err(|_| ApiError::Shape {
                url: self.list_url(q, 0, per_page).to_string(),
                what: "readable (a page task stopped)",
                source: None,
            })??;
            read.fetch_add(1, Relaxed);
            got.push(page);
        }
        Ok(merge(got, pages, total))
    }

    /// GET with retries, bounded body, JSON parse.
    async fn get_json(&self, url: &url::Url) -> Result<Value, ApiError> {
        let bytes = self.get_bytes(url).await?;
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Shape {
            url: url.to_string(),
            what: "JSON",
            source: Some(e),
        })
    }

    async fn get_bytes(&self, url: &url::Url) -> Result<Vec<u8>, ApiError> {
        let attempts = self.opts.retries + 1;
        let mut pause = self.opts.retry_pause;
        let mut attempt = 1;
        loop {
            let last = attempt == attempts;
            match self.get_once(url, attempt).await {
                Err(e) if !last && retryable(&e) => {
                    tracing::debug!(%url, attempt, error = %e, "SSV API request failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn get_once(&self, url: &url::Url, attempt: u32) -> Result<Vec<u8>, ApiError> {
        let u = url.to_string();
        let transport = |source: reqwest::Error| {
            if source.is_timeout() {
                ApiError::Timeout {
                    url: u.clone(),
                    secs: self.opts.request_timeout.as_secs(),
                    attempts: attempt,
                }
            } else {
                ApiError::Request {
                    url: u.clone(),
                    attempts: attempt,
                    source,
                }
            }
        };
        let mut resp = self
            .http
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_REPLY_BYTES as u64)
        {
            return Err(ApiError::TooLarge {
                url: u,
                limit: MAX_REPLY_BYTES,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(ApiError::TooLarge {
                    url: u,
                    limit: MAX_REPLY_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let end = body.len().min(QUOTED_BODY);
            return Err(ApiError::Status {
                url: u,
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body[..end]).trim().to_string(),
            });
        }
        Ok(body)
    }
}

/// Worth another attempt: timeouts, connection failures, 5xx and 429.
fn retryable(e: &ApiError) -> bool {
    match e {
        ApiError::Timeout { .. } | ApiError::Request { .. } => true,
        ApiError::Status { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// Pages into one listing in id order, dropping repeated ids.
fn merge(pages: Vec<Page>, page_count: u64, total: u64) -> Listing {
    let mut out = Listing {
        pages: page_count.max(1),
        total,
        ..Listing::default()
    };
    let mut seen = BTreeSet::new();
    for p in pages {
        out.skipped.extend(p.skipped);
        for o in p.operators {
            if seen.insert(o.id) {
                out.operators.push(o);
            } else {
                out.skipped.push(Skipped {
                    id: Some(o.id),
                    reason: SkipReason::Duplicate,
                });
            }
        }
    }
    out.operators.sort_by_key(|o| o.id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::operators::test_key as key;

    #[test]
    fn parses_the_web_apps_operator_shape() {
        let v = serde_json::json!({
            "id": 7, "id_str": "7", "declared_fee": "0", "previous_fee": "0",
            "fee": "382640000000", "eth_fee": "1770000000", "public_key": key(),
            "owner_address": "0x0000000000000000000000000000000000000001",
            "address_whitelist": "", "verified_operator": false, "whitelist_addresses": [],
            "whitelisting_contract": "", "is_private": false, "location": "Zurich, Switzerland",
            "setup_provider": "AWS", "eth1_node_client": "Geth", "eth2_node_client": "Lighthouse",
            "mev_relays": "Flashbots, Ultra Sound,", "description": "", "website_url": "",
            "twitter_url": "", "linkedin_url": "", "dkg_address": " https://dkg.example:3030/ ",
            "logo": "", "type": "verified_operator", "name": "Seven",
            "performance": {"24h": 100, "30d": 99.51}, "is_valid": true, "is_deleted": false,
            "is_active": 1, "status": "Active", "validators_count": 12, "version": "v4",
            "network": "hoodi", "migrated": true, "effective_balance": "0", "updated_at": 0
        });
        let o = ApiOperator::from_json(&v).unwrap();
        assert_eq!(o.id, 7);
        assert!(o.verified);
        assert_eq!(o.eth_fee, Some(U256::from(1_770_000_000u64)));
        assert_eq!(o.ssv_fee, Some(U256::from(382_640_000_000u64)));
        assert_eq!(o.dkg_address.as_deref(), Some("https://dkg.example:3030"));
        assert_eq!(o.mev_relays, vec!["Flashbots", "Ultra Sound"]);
        assert_eq!((o.performance_24h, o.performance_30d), (100.0, 99.51));
        assert_eq!(o.validators_count, 12);
    }

    #[test]
    fn each_bad_field_is_named() {
        let base = serde_json::json!({"id": 1, "public_key": key()});
        assert!(ApiOperator::from_json(&base).is_ok());
        let cases: Vec<(Value, &str)> = vec![
            (
                serde_json::json!({"public_key": key()}),
                "`id` field is missing",
            ),
            (
                serde_json::json!({"id": 1}),
                "`public_key` field is missing",
            ),
            (
                serde_json::json!({"id": 1, "public_key": "bm90IGEga2V5"}),
                "not a valid RSA",
            ),
            (
                serde_json::json!({"id": "x", "public_key": key()}),
                "`id` field is not",
            ),
            (
                serde_json::json!({"id": 1, "public_key": key(), "eth_fee": "1e9"}),
                "`eth_fee`",
            ),
            (
                serde_json::json!({"id": 1, "public_key": key(), "performance": {"30d": "high"}}),
                "`performance`",
            ),
        ];
        for (v, want) in cases {
            let e = ApiOperator::from_json(&v).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn listing_urls_carry_the_web_apps_parameters() {
        let c = ApiClient::new("https://api.example/", "hoodi", ApiOptions::default()).unwrap();
        let q = ListQuery {
            search: Some(" lido ".into()),
            verified_only: true,
            dkg_only: true,
            ordering: Some((OrderKey::Performance30d, true)),
        };
        assert_eq!(
            c.list_url(&q, 2, 100).as_str(),
            "https://api.example/api/v4/hoodi/operators?search=lido&ordering=performance30d%3Adesc&type=verified_operator&has_dkg_address=true&page=2&perPage=100"
        );
        assert_eq!(
            c.url("operators/12").as_str(),
            "https://api.example/api/v4/hoodi/operators/12"
        );
    }
}
