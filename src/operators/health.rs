//! The health a staker needs before a ceremony, per operator: registered on chain, an `https://`
//! DKG endpoint, something listening there, a signed ssv-dkg health check over TLS, a version the
//! agent speaks, the id it answers as and the key it serves against the chain's, its Ethereum
//! client bit and the round-trip time. Each problem is said in words with what to do.
//!
//! The check is the initiator's own ping ([`Initiator::ping_one`] with the key registered on
//! chain), so an operator that passes here passes the ceremony's ping. When that ping refuses the
//! reply, the reply is fetched once more and decoded to say *why* (another id, another key, not
//! ssv-dkg v3), since "refused" alone is what ssv-dkg's users find unreadable (ssv-dkg#106, #109).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;

use crate::{
    crypto::rsa_keys::OperatorPublicKey,
    dkg::{
        initiator::{
            ClientTls, Initiator, InitiatorError, OperatorInfo, PingInfo, SUPPORTED_VERSIONS,
            client, supported_operator_version,
        },
        transport::verify_transport,
        wire::{Pong, SignedTransport, Ssz},
    },
};

/// Whether the agent can run a ceremony with an operator reporting `version`: the initiator's own
/// rule, so `check` and the ceremony agree.
pub fn speaks(version: &str) -> bool {
    supported_operator_version(version)
}

/// Longest wait for a TCP connection before the health check proper.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One operator to check.
#[derive(Debug, Clone)]
pub struct Target {
    /// Operator id.
    pub id: u64,
    /// Its ssv-dkg endpoint, if it publishes one.
    pub endpoint: Option<String>,
    /// The key registered on chain (`None`: none found).
    pub registered_key: Option<OperatorPublicKey>,
    /// Whether the chain says it exists (registered and not removed).
    pub on_chain: bool,
    /// Set when it is private and its whitelist on chain does not include this owner.
    pub not_allowed_for: Option<alloy::primitives::Address>,
}

/// How to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Operator TLS trust.
    pub tls: ClientTls,
    /// Longest wait for one operator's health check.
    pub timeout: Duration,
    /// Operators checked at once.
    pub concurrency: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            tls: ClientTls::default(),
            timeout: Duration::from_secs(10),
            concurrency: 16,
        }
    }
}

/// What keeps an operator out of a ceremony, in words with what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Problem {
    /// Not registered, or removed.
    #[error("is not registered on this network (or was removed): pick another operator")]
    NotOnChain,
    /// Private, and the owner is not on its whitelist.
    #[error(
        "is private and its whitelist on chain does not include {owner}: a cluster with it could not be registered; pick another operator, or ask it to whitelist you"
    )]
    NotWhitelisted {
        /// The owner.
        owner: alloy::primitives::Address,
    },
    /// No `OperatorAdded` event holds its key.
    #[error("has no registered key on chain (no OperatorAdded event found): pick another operator")]
    NoRegisteredKey,
    /// No DKG endpoint.
    #[error(
        "publishes no DKG endpoint (dkg_address): ask the operator to run ssv-dkg and publish its address, or pick another operator"
    )]
    NoEndpoint,
    /// An endpoint that is not `https://host:port`.
    #[error(
        "its DKG endpoint {address:?} is not an https://host:port address (ssv-dkg speaks HTTPS only): ask the operator to fix it, or pick another operator"
    )]
    BadAddress {
        /// The endpoint.
        address: String,
    },
    /// Nothing listens.
    #[error(
        "nothing answers at {endpoint}: its ssv-dkg node is down, or the address or a firewall is wrong; ask the operator to bring it up, or pick another operator"
    )]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// The connection error.
        #[source]
        cause: Arc<std::io::Error>,
    },
    /// No TCP connection in time.
    #[error(
        "no connection to {endpoint} within {secs} s: the host is down or filtered; ask the operator, or pick another operator"
    )]
    ConnectTimeout {
        /// The endpoint.
        endpoint: String,
        /// The wait.
        secs: u64,
    },
    /// Connected, but HTTPS or the health request failed.
    #[error(
        "{endpoint} takes connections but its HTTPS health check failed: if its certificate is self-signed, trust it with --operator-ca-cert or --tls-insecure (every ssv-dkg message stays RSA-signed); otherwise ask the operator to check its node"
    )]
    Https {
        /// The endpoint.
        endpoint: String,
        /// What the initiator saw.
        #[source]
        cause: Arc<InitiatorError>,
    },
    /// Connected, no answer in time.
    #[error(
        "{endpoint} did not answer its health check within {secs} s: the node is overloaded or stuck; ask the operator, or pick another operator"
    )]
    NoAnswer {
        /// The endpoint.
        endpoint: String,
        /// The wait.
        secs: u64,
    },
    /// The reply is not an ssv-dkg v3 health check.
    #[error(
        "answers, but not with an ssv-dkg v3 health check (an older ssv-dkg, or another service at that address): ask the operator to upgrade to ssv-dkg v3.1.x, or pick another operator"
    )]
    NotV3,
    /// A version the agent cannot speak.
    #[error(
        "runs ssv-dkg {version:?}, which this agent cannot speak (it speaks {SUPPORTED_VERSIONS}): ask the operator to upgrade to ssv-dkg v3.1.x, or pick another operator"
    )]
    Version {
        /// What it reports.
        version: String,
    },
    /// Answers as another operator.
    #[error(
        "answers as operator {claimed}: its ssv-dkg runs with the wrong operatorID; ask the operator to fix its configuration, or pick another operator"
    )]
    WrongId {
        /// The id it claims.
        claimed: u64,
    },
    /// Serves another key than the chain's.
    #[error(
        "serves a key that differs from the one registered on chain: shares encrypted to it would be useless to its SSV node; ask the operator to run ssv-dkg with its registered operator key, or pick another operator"
    )]
    KeyMismatch,
    /// The check itself stopped (a bug in the agent, not the operator's doing).
    #[error(
        "could not be checked: the check stopped unexpectedly; rerun it, and report it if it repeats"
    )]
    CheckFailed,
    /// The reply's signature does not verify with the key it names.
    #[error(
        "its health check is not signed by the key it names: the reply was altered or the node is broken; pick another operator"
    )]
    BadSignature,
}

impl Problem {
    /// A stable name for machines.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotOnChain => "not_on_chain",
            Self::NotWhitelisted { .. } => "not_whitelisted",
            Self::NoRegisteredKey => "no_registered_key",
            Self::NoEndpoint => "no_endpoint",
            Self::BadAddress { .. } => "bad_address",
            Self::Unreachable { .. } => "unreachable",
            Self::ConnectTimeout { .. } => "connect_timeout",
            Self::Https { .. } => "https",
            Self::NoAnswer { .. } => "no_answer",
            Self::NotV3 => "not_v3",
            Self::Version { .. } => "version",
            Self::WrongId { .. } => "wrong_id",
            Self::KeyMismatch => "key_mismatch",
            Self::BadSignature => "bad_signature",
            Self::CheckFailed => "check_failed",
        }
    }

    /// The sentence with its causes.
    pub fn explain(&self) -> String {
        let mut s = self.to_string();
        let mut cur = std::error::Error::source(self);
        while let Some(c) = cur {
            s.push_str(" (");
            s.push_str(&c.to_string());
            s.push(')');
            cur = c.source();
        }
        s
    }
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Problem", 2)?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("message", &self.explain())?;
        st.end()
    }
}

/// One operator's health.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// Operator id.
    pub id: u64,
    /// The endpoint checked.
    pub endpoint: Option<String>,
    /// A TCP connection could be opened (`None`: not tried).
    pub reachable: Option<bool>,
    /// A signed ssv-dkg health check came back over TLS.
    pub answered: bool,
    /// The ssv-dkg version it reports.
    pub version: Option<String>,
    /// Whether the agent speaks that version.
    pub speaks_version: Option<bool>,
    /// The id it answers as.
    pub claimed_id: Option<u64>,
    /// Whether the key it serves is the one registered on chain.
    pub key_matches_chain: Option<bool>,
    /// Its Ethereum client bit.
    pub eth_client_connected: Option<bool>,
    /// Whether it can serve multisig owners.
    pub multisig: Option<bool>,
    /// Health check round trip, milliseconds.
    pub rtt_ms: Option<u64>,
    /// What keeps it out of a ceremony.
    pub problems: Vec<Problem>,
    /// Facts worth knowing that do not.
    pub notes: Vec<String>,
}

impl Health {
    fn new(t: &Target) -> Self {
        Self {
            id: t.id,
            endpoint: t.endpoint.clone(),
            reachable: None,
            answered: false,
            version: None,
            speaks_version: None,
            claimed_id: None,
            key_matches_chain: None,
            eth_client_connected: None,
            multisig: None,
            rtt_ms: None,
            problems: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Fit for a ceremony.
    pub fn healthy(&self) -> bool {
        self.problems.is_empty()
    }

    /// The first problem in words, for one-line reasons.
    pub fn summary(&self) -> String {
        match self.problems.first() {
            None => format!(
                "healthy: ssv-dkg {} in {} ms",
                self.version.as_deref().unwrap_or("?"),
                self.rtt_ms.unwrap_or(0)
            ),
            Some(p) => p.explain(),
        }
    }

    fn record_version(&mut self, version: &str) {
        self.version = Some(version.to_string());
        let ok = speaks(version);
        self.speaks_version = Some(ok);
        if !ok {
            self.problems.push(Problem::Version {
                version: version.to_string(),
            });
        }
    }

    fn record_pong(&mut self, p: &PingInfo) {
        self.answered = true;
        self.claimed_id = Some(p.id);
        self.key_matches_chain = Some(true);
        self.eth_client_connected = Some(p.eth_client_connected);
        self.multisig = Some(p.multisig);
        self.record_version(&p.version);
        if !p.eth_client_connected {
            self.notes.push(
                "its Ethereum client is not connected: ssv-dkg needs it only to check multisig owners' signatures when resigning or resharing; a new validator's ceremony works without it".into(),
            );
        }
    }
}

/// Checks every target, `opts.concurrency` at a time; the results keep the targets' order.
pub async fn check_all(targets: &[Target], opts: &CheckOptions) -> Vec<Health> {
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, t) in targets.iter().cloned().enumerate() {
        let (sem, opts) = (sem.clone(), opts.clone());
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (i, check(&t, &opts).await)
        });
    }
    let mut out: Vec<Option<Health>> = vec![None; targets.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, h)) = joined {
            out[i] = Some(h);
        }
    }
    // A check task only ends without a result by panicking; say so rather than drop the operator.
    out.into_iter()
        .zip(targets)
        .map(|(h, t)| {
            h.unwrap_or_else(|| {
                let mut h = Health::new(t);
                h.problems.push(Problem::CheckFailed);
                h
            })
        })
        .collect()
}

/// Checks one operator.
pub async fn check(t: &Target, opts: &CheckOptions) -> Health {
    let mut h = Health::new(t);
    if !t.on_chain {
        h.problems.push(Problem::NotOnChain);
        return h;
    }
    if let Some(owner) = t.not_allowed_for {
        // Still checked below: the owner may be whitelisted later, and the rest is worth knowing.
        h.problems.push(Problem::NotWhitelisted { owner });
    }
    let Some(key) = t.registered_key.clone() else {
        h.problems.push(Problem::NoRegisteredKey);
        return h;
    };
    let Some(endpoint) = t.endpoint.clone() else {
        h.problems.push(Problem::NoEndpoint);
        return h;
    };
    let Some(host_port) = host_port(&endpoint) else {
        h.problems.push(Problem::BadAddress { address: endpoint });
        return h;
    };
    if let Err(p) = connect(&endpoint, &host_port, opts.timeout.min(CONNECT_TIMEOUT)).await {
        h.reachable = Some(false);
        h.problems.push(p);
        return h;
    }
    h.reachable = Some(true);
    let op = OperatorInfo {
        id: t.id,
        key: key.clone(),
        url: endpoint.clone(),
    };
    let initiator = match Initiator::ping_only(op.clone(), &opts.tls) {
        Ok(i) => i,
        Err(e) => {
            h.problems.push(Problem::Https {
                endpoint,
                cause: Arc::new(e),
            });
            return h;
        }
    };
    let started = Instant::now();
    let ping = tokio::time::timeout(opts.timeout, initiator.ping_one(&op)).await;
    h.rtt_ms = Some(started.elapsed().as_millis() as u64);
    match ping {
        Ok(Ok(p)) => h.record_pong(&p),
        Err(_) => h.problems.push(Problem::NoAnswer {
            endpoint,
            secs: opts.timeout.as_secs(),
        }),
        Ok(Err(e @ InitiatorError::Operator { .. })) => {
            diagnose(&mut h, &op, &key, opts, e).await;
        }
        Ok(Err(e)) => h.problems.push(Problem::Https {
            endpoint,
            cause: Arc::new(e),
        }),
    }
    h
}

/// `https://host:port[/path]` -> `host:port` (443 when no port is given).
fn host_port(endpoint: &str) -> Option<String> {
    let u = url::Url::parse(endpoint).ok()?;
    if u.scheme() != "https" {
        return None;
    }
    // `host_str` keeps the brackets of an IPv6 literal, as `host:port` needs them.
    let host = u.host_str()?;
    let port = u.port_or_known_default()?;
    Some(format!("{host}:{port}"))
}

/// A plain TCP connection first: it tells "nothing there" apart from "TLS or HTTP trouble".
async fn connect(endpoint: &str, host_port: &str, wait: Duration) -> Result<(), Problem> {
    match tokio::time::timeout(wait, tokio::net::TcpStream::connect(host_port)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Problem::Unreachable {
            endpoint: endpoint.to_string(),
            cause: Arc::new(e),
        }),
        Err(_) => Err(Problem::ConnectTimeout {
            endpoint: endpoint.to_string(),
            secs: wait.as_secs(),
        }),
    }
}

/// The ping refused the reply: fetch it once more and decode what it claims.
async fn diagnose(
    h: &mut Health,
    op: &OperatorInfo,
    registered: &OperatorPublicKey,
    opts: &CheckOptions,
    refused: InitiatorError,
) {
    h.answered = true;
    let fallback = |h: &mut Health, e: InitiatorError| {
        h.problems.push(Problem::Https {
            endpoint: op.url.clone(),
            cause: Arc::new(e),
        });
    };
    let Ok(http) = client::build_client(&opts.tls, opts.timeout) else {
        return fallback(h, refused);
    };
    let Ok(bytes) = client::call(&http, op.id, &op.url, "health_check", None).await else {
        return fallback(h, refused);
    };
    let Ok(st) = SignedTransport::from_ssz(&bytes) else {
        h.problems.push(Problem::NotV3);
        return;
    };
    let Ok(pong) = Pong::from_ssz(&st.message.data) else {
        h.problems.push(Problem::NotV3);
        return;
    };
    h.record_version(&String::from_utf8_lossy(&st.message.version));
    h.claimed_id = Some(pong.id);
    h.eth_client_connected = Some(pong.eth_client_connected);
    h.multisig = Some(pong.multisig);
    let served = std::str::from_utf8(&pong.pubkey)
        .ok()
        .and_then(|s| OperatorPublicKey::from_base64_pem(s).ok());
    let matches = served.as_ref() == Some(registered);
    h.key_matches_chain = Some(matches);
    let before = h.problems.len();
    if pong.id != op.id {
        h.problems.push(Problem::WrongId { claimed: pong.id });
    }
    if !matches {
        h.problems.push(Problem::KeyMismatch);
    }
    let signed_by_served = served
        .as_ref()
        .is_some_and(|k| verify_transport(&st, k, "operator").is_ok());
    if !signed_by_served {
        h.problems.push(Problem::BadSignature);
    }
    if h.problems.len() == before {
        // Nothing the decode can name: keep what the ping said.
        fallback(h, refused);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_addresses() {
        assert!(speaks("v3.1.0") && speaks("v3.2.1"));
        assert!(!speaks("v2.1.0") && !speaks("v3.0.3") && !speaks("dev") && !speaks(""));
        assert_eq!(
            host_port("https://10.0.0.1:3030/").as_deref(),
            Some("10.0.0.1:3030")
        );
        assert_eq!(
            host_port("https://dkg.example").as_deref(),
            Some("dkg.example:443")
        );
        assert_eq!(
            host_port("https://[::1]:3030").as_deref(),
            Some("[::1]:3030")
        );
        assert_eq!(host_port("http://10.0.0.1:3030"), None);
        assert_eq!(host_port("10.0.0.1:3030"), None);
    }

    #[tokio::test]
    async fn what_can_be_said_without_a_network() {
        let key = OperatorPublicKey::from_base64_pem(&crate::operators::test_key()).expect("key");
        let t = |endpoint: Option<&str>, on_chain: bool, key: Option<OperatorPublicKey>| Target {
            id: 1,
            endpoint: endpoint.map(String::from),
            registered_key: key,
            on_chain,
            not_allowed_for: None,
        };
        let o = CheckOptions::default();
        let kinds = |h: Health| h.problems.iter().map(Problem::kind).collect::<Vec<_>>();
        assert_eq!(
            kinds(check(&t(None, false, None), &o).await),
            ["not_on_chain"]
        );
        assert_eq!(
            kinds(check(&t(None, true, None), &o).await),
            ["no_registered_key"]
        );
        assert_eq!(
            kinds(check(&t(None, true, Some(key.clone())), &o).await),
            ["no_endpoint"]
        );
        assert_eq!(
            kinds(check(&t(Some("http://127.0.0.1:1"), true, Some(key.clone())), &o).await),
            ["bad_address"]
        );
        // A closed loopback port: refused at once.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let h = check(
            &t(Some(&format!("https://127.0.0.1:{port}")), true, Some(key)),
            &o,
        )
        .await;
        assert_eq!(h.reachable, Some(false));
        assert_eq!(kinds(h.clone()), ["unreachable"]);
        assert!(h.summary().contains("nothing answers"), "{}", h.summary());
    }
}
