//! What an operator does with each request, independent of HTTP: ssv-dkg v3.1.0's `/init`, `/dkg`,
//! `/results` and `/health_check` behaviour, except that the deal round is answered as soon as every
//! deal verifies instead of after kyber's 10 s phases.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::limits::ServerLimits;
use super::log_limit::LogLimiter;
use super::rate_limit::{RateLimiter, source_key};
use crate::crypto::bls::{G1, Scalar};
use crate::crypto::rsa_keys::{OperatorPrivateKey, OperatorPublicKey};
use crate::deposit::data::{MAX_COMPOUNDING_AMOUNT_GWEI, MIN_ACTIVATION_AMOUNT_GWEI};
use crate::dkg::kyber::{DealBundle, Node, Participant};
use crate::dkg::results::build_result;
use crate::dkg::rsa_signer::{FastSigner, PssSigner};
use crate::dkg::transport::{sign_transport, threshold_for, verify_bundle, verify_transport};
use crate::dkg::wire::ids::{instance_id, session_nonce};
use crate::dkg::wire::{
    Exchange, Init, KyberMessage, MultipleSignedTransports, Pong, ResultData, SignedTransport, Ssz,
    Transport, TransportType,
};

/// ssv-dkg keeps an instance at most a minute and at most 1024 of them (the defaults of
/// [`ServerLimits::instance_ttl`] and [`ServerLimits::max_instances`]).
pub const MAX_INSTANCE_TIME: Duration = Duration::from_secs(60);
/// See [`MAX_INSTANCE_TIME`].
pub const MAX_INSTANCES: usize = 1024;

mod changes;
mod reshare;
pub use changes::ResignBatch;
pub use reshare::ReshareBatch;

/// Why an operator refuses a request. The text is what the initiator gets back (ErrSSZ); it
/// never holds key material.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The initiator speaks another wire version (ssv-dkg requires an exact match).
    #[error("wrong version: remote {remote} local {local}")]
    Version {
        /// The version string the request carries.
        remote: String,
        /// This operator's.
        local: String,
    },
    /// A message that is not valid SSZ of its type.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// The decoder's refusal.
        #[source]
        source: crate::dkg::wire::SszError,
    },
    /// A message of the wrong transport type.
    #[error("malformed {what}: {reason}")]
    WrongType {
        /// Which message.
        what: &'static str,
        /// The type found (and expected).
        reason: String,
    },
    /// Deposit data in `/results` that is not JSON of its shape.
    #[error("malformed {what}: {source}")]
    Json {
        /// Which document.
        what: &'static str,
        /// The parser's refusal.
        #[source]
        source: serde_json::Error,
    },
    /// An `/init` this operator does not take part in (cluster, threshold, credentials, ...).
    #[error("invalid init message: {0}")]
    InvalidInit(String),
    /// A signature or signer that is not the one the ceremony allows.
    #[error("{0}")]
    Auth(String),
    /// No live instance with this id (never started, finished, failed or expired).
    #[error("unknown or expired ceremony instance {0}")]
    UnknownInstance(String),
    /// An `/init` whose instance id is already live.
    #[error("instance {0} already exists")]
    Duplicate(String),
    /// The instance table is full of instances past their exchange round.
    #[error("too many concurrent ceremonies ({0}); try later")]
    Overloaded(usize),
    /// A cap or rate for one source address or initiator key is reached.
    #[error("{0}; try later")]
    Busy(String),
    /// The ceremony cannot go on (another operator's message, the DKG, the results).
    #[error("operator {operator_id}: {reason}")]
    Ceremony {
        /// This operator.
        operator_id: u64,
        /// What failed.
        reason: String,
    },
    /// The owner signature over a resign/reshare batch is refused or cannot be checked.
    #[error("owner signature: {0}")]
    Owner(#[source] crate::dkg::owner_sig::OwnerSigError),
    /// A failure on this side (a poisoned lock, no randomness, a signing error).
    #[error("internal: {0}")]
    Internal(String),
}

fn malformed(what: &'static str) -> impl Fn(crate::dkg::wire::SszError) -> OperatorError {
    move |source| OperatorError::Malformed { what, source }
}

enum Phase {
    /// Waiting for everyone's exchange keys.
    Exchange { longterm: Scalar },
    /// Our deals are out; waiting for everyone's.
    Dealt {
        participant: Box<Participant>,
        own_bundle: DealBundle,
    },
    /// Result sent; waiting for `/results`.
    Done { validator_pubkey: [u8; 48] },
    /// Reshare: exchange key sent; waiting for the exchange round.
    ReshareExchange {
        longterm: Scalar,
        plan: Box<reshare::ResharePlan>,
    },
    /// Reshare (new operator): deals or the empty bundle sent; waiting for the deal round.
    ReshareDealt(Box<reshare::ReshareDealt>),
    /// `/results` accepted (and saved): nothing more to do; further `/results` are refused.
    Finished,
}

/// [`Phase`] as a number the instance table reads without locking the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Stage {
    Exchange = 0,
    Dealt = 1,
    Done = 2,
    Finished = 3,
}

impl Phase {
    fn stage(&self) -> Stage {
        match self {
            Self::Exchange { .. } | Self::ReshareExchange { .. } => Stage::Exchange,
            Self::Dealt { .. } | Self::ReshareDealt(_) => Stage::Dealt,
            Self::Done { .. } => Stage::Done,
            Self::Finished => Stage::Finished,
        }
    }
}

/// One entry of the instance table: what admission and expiry need, readable while a handler
/// holds the instance itself (a deal round takes a while).
struct Slot {
    created: Instant,
    /// The `/init` sender's address key ([`source_key`]); `None` for in-process callers.
    source: Option<IpAddr>,
    /// First 8 bytes of the instance id: keccak of the initiator key.
    initiator: [u8; 8],
    stage: AtomicU8,
    inst: Mutex<Instance>,
}

impl Slot {
    fn stage(&self) -> Stage {
        match self.stage.load(Ordering::Relaxed) {
            0 => Stage::Exchange,
            1 => Stage::Dealt,
            2 => Stage::Done,
            _ => Stage::Finished,
        }
    }

    fn set_phase(&self, inst: &mut Instance, phase: Phase) {
        self.stage.store(phase.stage() as u8, Ordering::Relaxed);
        inst.phase = Some(phase);
    }

    /// Within its lifetime, and past the exchange round unless still inside `exchange_ttl`.
    fn alive(&self, limits: &ServerLimits, now: Instant) -> bool {
        let age = now.saturating_duration_since(self.created);
        age < limits.instance_ttl
            && !(self.stage() == Stage::Exchange && age >= limits.exchange_ttl)
    }

    /// Counts against the per-address and per-initiator caps.
    fn unfinished(&self) -> bool {
        self.stage() != Stage::Finished
    }
}

struct Instance {
    init: Init,
    initiator: OperatorPublicKey,
    phase: Option<Phase>,
    own_index: u32,
    /// The Init operators' keys, parsed once (every `/dkg` bundle is checked against them).
    op_keys: Vec<Option<OperatorPublicKey>>,
}

/// Deliberate misbehaviour, for fault tests of initiators and other operators only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Behaves as the protocol says.
    #[default]
    None,
    /// Corrupts the RSA signature of its `/dkg` replies.
    BadReplySignature,
    /// Deals a share to the next operator that does not match its commitments (validly signed).
    WrongShare,
    /// Never answers the deal round (stops answering mid-ceremony).
    StallOnDeals,
}

/// One operator's identity and live ceremonies.
pub struct OperatorState {
    /// The operator's registered id.
    pub operator_id: u64,
    key: FastSigner,
    /// The wire version it speaks; `/init` with another version is refused.
    pub version: String,
    instances: Mutex<HashMap<[u8; 24], Arc<Slot>>>,
    fault: Fault,
    /// Where `/results` are saved (ssv-dkg's `--outputPath`); `None` keeps nothing on disk.
    output_path: Option<std::path::PathBuf>,
    limits: ServerLimits,
    /// Accepted `/init` per initiator key.
    init_rate: RateLimiter<[u8; 8]>,
    log: LogLimiter,
    /// The signed Pong never changes: signed once, so health checks cost no RSA signature.
    pong: OnceLock<Vec<u8>>,
    /// Execution RPC for owner checks of contract owners (EIP-1271); `None`: EOA owners only.
    eth_rpc: Option<url::Url>,
}

impl std::fmt::Debug for OperatorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OperatorState(operator {}, version {})",
            self.operator_id, self.version
        )
    }
}

fn hex_id(id: &[u8; 24]) -> String {
    hex::encode(id)
}

impl OperatorState {
    /// An operator with ssv-dkg's default limits, keeping no results on disk.
    pub fn new(operator_id: u64, key: OperatorPrivateKey, version: String) -> Self {
        let limits = ServerLimits::default();
        Self {
            operator_id,
            key: FastSigner::new(key),
            version,
            instances: Mutex::new(HashMap::new()),
            fault: Fault::None,
            output_path: None,
            init_rate: RateLimiter::new(limits.init_per_initiator_per_minute),
            log: LogLimiter::new(limits.log_lines_per_minute),
            limits,
            pong: OnceLock::new(),
            eth_rpc: None,
        }
    }

    /// Checks contract owners' resign/reshare signatures (EIP-1271) through this RPC
    /// (ssv-dkg's `--ethEndpointURL`); without one only EOA owners are accepted.
    pub fn with_eth_rpc(mut self, url: url::Url) -> Self {
        self.eth_rpc = Some(url);
        self
    }

    /// Runs with these limits (instances here; the server reads the rest from [`Self::limits`]).
    pub fn with_limits(mut self, limits: ServerLimits) -> Self {
        self.init_rate = RateLimiter::new(limits.init_per_initiator_per_minute);
        self.log = LogLimiter::new(limits.log_lines_per_minute);
        self.limits = limits;
        self
    }

    /// The limits this operator and its server run with.
    pub fn limits(&self) -> &ServerLimits {
        &self.limits
    }

    /// The line budget for repeated log lines (shared with the server).
    pub fn log_limiter(&self) -> &LogLimiter {
        &self.log
    }

    /// Unfinished ceremony instances held now (expired ones not counted).
    pub fn live_instances(&self) -> usize {
        let now = Instant::now();
        self.instances
            .lock()
            .map(|m| {
                m.values()
                    .filter(|s| s.alive(&self.limits, now) && s.unfinished())
                    .count()
            })
            .unwrap_or(0)
    }

    /// Saves every accepted `/results` under `path` like ssv-dkg's operator does.
    pub fn with_output_path(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.output_path = Some(path.into());
        self
    }

    /// Test hook: makes this operator misbehave in the given way.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }

    /// The operator's RSA public key (what the initiator must list for it).
    pub fn public_key(&self) -> &OperatorPublicKey {
        self.key.public_key()
    }

    fn reply(
        &self,
        kind: TransportType,
        id: [u8; 24],
        data: Vec<u8>,
    ) -> Result<Vec<u8>, OperatorError> {
        let t = Transport {
            kind,
            identifier: id,
            data,
            version: self.version.as_bytes().to_vec(),
        };
        sign_transport(&self.key, t)
            .map(|st| st.to_ssz())
            .map_err(|e| OperatorError::Internal(e.to_string()))
    }

    fn ceremony_err(&self, reason: impl Into<String>) -> OperatorError {
        OperatorError::Ceremony {
            operator_id: self.operator_id,
            reason: reason.into(),
        }
    }

    /// The signed `Pong` for `/health_check` (signed once, then reused).
    pub fn health_check(&self) -> Result<Vec<u8>, OperatorError> {
        if let Some(p) = self.pong.get() {
            return Ok(p.clone());
        }
        let pong = Pong {
            id: self.operator_id,
            pubkey: self.public_key().to_base64_pem().as_bytes().to_vec(),
            multisig: true,
            eth_client_connected: false,
        };
        let signed = self.reply(TransportType::Pong, [0u8; 24], pong.to_ssz())?;
        Ok(self.pong.get_or_init(|| signed).clone())
    }

    fn instance(&self, id: &[u8; 24]) -> Result<Arc<Slot>, OperatorError> {
        let map = self
            .instances
            .lock()
            .map_err(|_| OperatorError::Internal("lock".into()))?;
        map.get(id)
            .filter(|s| s.alive(&self.limits, Instant::now()))
            .cloned()
            .ok_or_else(|| OperatorError::UnknownInstance(hex_id(id)))
    }

    fn forget(&self, id: &[u8; 24]) {
        if let Ok(mut map) = self.instances.lock() {
            map.remove(id);
        }
    }

    /// Decides whether a new instance may start (under the table lock): expired ones are dropped,
    /// then the duplicate, per-address, per-initiator and table caps and the initiator's rate.
    fn admit(
        &self,
        map: &mut HashMap<[u8; 24], Arc<Slot>>,
        iid: &[u8; 24],
        source: Option<IpAddr>,
        initiator: [u8; 8],
    ) -> Result<(), OperatorError> {
        let l = &self.limits;
        let now = Instant::now();
        map.retain(|_, s| s.alive(l, now));
        if map.contains_key(iid) {
            return Err(OperatorError::Duplicate(hex_id(iid)));
        }
        if let Some(ip) = source {
            let n = map
                .values()
                .filter(|s| s.source == Some(ip) && s.unfinished())
                .count();
            if n >= l.max_instances_per_ip {
                return Err(OperatorError::Busy(format!(
                    "{n} ceremonies from your address are in progress (at most {})",
                    l.max_instances_per_ip
                )));
            }
        }
        let n = map
            .values()
            .filter(|s| s.initiator == initiator && s.unfinished())
            .count();
        if n >= l.max_instances_per_initiator {
            return Err(OperatorError::Busy(format!(
                "{n} ceremonies of this initiator key are in progress (at most {})",
                l.max_instances_per_initiator
            )));
        }
        if map.len() >= l.max_instances {
            // Full: the oldest instance still waiting for its exchange round past the grace makes
            // room (a live initiator sends that round as soon as every operator answered /init).
            let victim = map
                .iter()
                .filter(|(_, s)| {
                    s.stage() == Stage::Exchange
                        && now.saturating_duration_since(s.created) >= l.exchange_grace_when_full
                })
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| *k);
            match victim {
                Some(k) => {
                    map.remove(&k);
                }
                None => return Err(OperatorError::Overloaded(map.len())),
            }
        }
        if !self.init_rate.allow(&initiator) {
            return Err(OperatorError::Busy(format!(
                "this initiator key started more than {} ceremonies in the last minute",
                l.init_per_initiator_per_minute
            )));
        }
        Ok(())
    }

    /// `/init` from an in-process caller (no source address to count).
    pub fn handle_init(&self, body: &[u8]) -> Result<Vec<u8>, OperatorError> {
        self.handle_init_from(body, None)
    }

    /// `/init` sent from `source`: counted against that address's caps.
    pub fn handle_init_from(
        &self,
        body: &[u8],
        source: Option<IpAddr>,
    ) -> Result<Vec<u8>, OperatorError> {
        let (st, init, signer) = self.accept_init(body)?;
        let iid = instance_id(&st.signer, &st.message.data, &st.message.identifier);
        let longterm = Scalar::random().map_err(|e| OperatorError::Internal(e.to_string()))?;
        let exchange = Exchange {
            pk: G1::generator().mul(&longterm).compress().to_vec(),
            commits: vec![],
        };
        let mut initiator = [0u8; 8];
        initiator.copy_from_slice(&iid[..8]);
        let source = source.map(source_key);
        let op_keys = init
            .operators
            .iter()
            .map(|o| {
                std::str::from_utf8(&o.pubkey)
                    .ok()
                    .and_then(|s| OperatorPublicKey::from_base64_pem(s).ok())
            })
            .collect();
        let slot = Slot {
            created: Instant::now(),
            source,
            initiator,
            stage: AtomicU8::new(Stage::Exchange as u8),
            inst: Mutex::new(Instance {
                own_index: (self.operator_id - 1) as u32,
                op_keys,
                init,
                initiator: signer,
                phase: Some(Phase::Exchange { longterm }),
            }),
        };
        {
            let mut map = self
                .instances
                .lock()
                .map_err(|_| OperatorError::Internal("lock".into()))?;
            self.admit(&mut map, &iid, source, initiator)?;
            map.insert(iid, Arc::new(slot));
        }
        self.reply(TransportType::Exchange, iid, exchange.to_ssz())
    }

    /// An `/init` this operator takes part in: our wire version, a valid `Init` signed by the
    /// initiator key it names, with this operator's key listed under its id.
    fn accept_init(
        &self,
        body: &[u8],
    ) -> Result<(SignedTransport, Init, OperatorPublicKey), OperatorError> {
        let st = SignedTransport::from_ssz(body).map_err(malformed("init transport"))?;
        if st.message.version != self.version.as_bytes() {
            return Err(OperatorError::Version {
                remote: String::from_utf8_lossy(&st.message.version).into_owned(),
                local: self.version.clone(),
            });
        }
        if st.message.kind != TransportType::Init {
            return Err(OperatorError::WrongType {
                what: "init transport",
                reason: format!("type {:?}, expected Init", st.message.kind),
            });
        }
        let init = Init::from_ssz(&st.message.data).map_err(malformed("init message"))?;
        validate_init(&init)?;
        let signer = std::str::from_utf8(&st.signer)
            .ok()
            .and_then(|s| OperatorPublicKey::from_base64_pem(s).ok())
            .ok_or_else(|| OperatorError::Auth("initiator public key does not parse".into()))?;
        verify_transport(&st, &signer, "initiator")
            .map_err(|e| OperatorError::Auth(e.to_string()))?;
        let me = init
            .operators
            .iter()
            .find(|o| o.pubkey == self.public_key().to_base64_pem().as_bytes())
            .ok_or_else(|| {
                OperatorError::InvalidInit("my operator key is not in the operator list".into())
            })?;
        if me.id != self.operator_id {
            return Err(OperatorError::InvalidInit(format!(
                "my key is listed with id {}, but I am operator {}",
                me.id, self.operator_id
            )));
        }
        Ok((st, init, signer))
    }

    /// Maps each message to the Init operator that signed it, checking signatures and coverage.
    fn collect_from_operators<'a>(
        &self,
        inst: &Instance,
        m: &'a MultipleSignedTransports,
        expected: TransportType,
    ) -> Result<Vec<(u64, &'a SignedTransport)>, OperatorError> {
        let mut out: Vec<(u64, &SignedTransport)> = Vec::new();
        for st in &m.messages {
            let pos = inst
                .init
                .operators
                .iter()
                .position(|o| o.pubkey == st.signer)
                .ok_or_else(|| {
                    OperatorError::Auth(
                        "a message is signed by a key that is not in the ceremony".into(),
                    )
                })?;
            let op = &inst.init.operators[pos];
            let key = inst
                .op_keys
                .get(pos)
                .and_then(Option::as_ref)
                .ok_or_else(|| {
                    OperatorError::Auth(format!("operator {} key does not parse", op.id))
                })?;
            verify_transport(st, key, &format!("operator {}", op.id))
                .map_err(|e| OperatorError::Auth(e.to_string()))?;
            if st.message.identifier != m.identifier {
                return Err(OperatorError::Auth(format!(
                    "operator {}: message for another instance",
                    op.id
                )));
            }
            if st.message.kind != expected {
                return Err(self.ceremony_err(format!(
                    "operator {} sent {:?} where {:?} was expected",
                    op.id, st.message.kind, expected
                )));
            }
            if out.iter().any(|(id, _)| *id == op.id) {
                return Err(OperatorError::Auth(format!(
                    "operator {} appears twice",
                    op.id
                )));
            }
            out.push((op.id, st));
        }
        if let Some(missing) = inst
            .init
            .operators
            .iter()
            .find(|o| !out.iter().any(|(id, _)| *id == o.id))
        {
            return Err(self.ceremony_err(format!("no message from operator {}", missing.id)));
        }
        Ok(out)
    }

    /// `/dkg`: the exchange round (answers with our deals) or the deal round (answers with our
    /// result). A failed round frees the instance.
    pub fn handle_dkg(&self, body: &[u8]) -> Result<Vec<u8>, OperatorError> {
        let m =
            MultipleSignedTransports::from_ssz(body).map_err(malformed("dkg message bundle"))?;
        let slot = self.instance(&m.identifier)?;
        let r = self.handle_dkg_inner(&slot, &m);
        // A ceremony that failed holds its slot for nothing: free it now.
        if r.is_err() && slot.inst.lock().map(|i| i.phase.is_none()).unwrap_or(true) {
            self.forget(&m.identifier);
        }
        let mut out = r?;
        if self.fault == Fault::BadReplySignature {
            let mut st = SignedTransport::from_ssz(&out).map_err(malformed("own reply"))?;
            if let Some(b) = st.signature.get_mut(7) {
                *b ^= 0x40;
            }
            out = st.to_ssz();
        }
        Ok(out)
    }

    fn handle_dkg_inner(
        &self,
        slot: &Slot,
        m: &MultipleSignedTransports,
    ) -> Result<Vec<u8>, OperatorError> {
        let mut inst = slot
            .inst
            .lock()
            .map_err(|_| OperatorError::Internal("lock".into()))?;
        verify_bundle(m, &inst.initiator).map_err(|e| OperatorError::Auth(e.to_string()))?;
        match inst.phase.take() {
            Some(Phase::Exchange { longterm }) => {
                let msgs = match self.collect_from_operators(&inst, m, TransportType::Exchange) {
                    Ok(v) => v,
                    Err(e) => {
                        inst.phase = Some(Phase::Exchange { longterm });
                        return Err(e);
                    }
                };
                let nodes = self.exchange_nodes(msgs)?;
                self.deal(slot, &mut inst, m.identifier, longterm, nodes)
            }
            Some(Phase::Dealt {
                participant,
                own_bundle,
            }) => {
                if self.fault == Fault::StallOnDeals {
                    drop(inst);
                    std::thread::sleep(Duration::from_secs(8));
                    return Err(self.ceremony_err("stalled on purpose"));
                }
                let msgs = match self.collect_from_operators(&inst, m, TransportType::Kyber) {
                    Ok(v) => v,
                    Err(e) => {
                        inst.phase = Some(Phase::Dealt {
                            participant,
                            own_bundle,
                        });
                        return Err(e);
                    }
                };
                let bundles = self.deal_bundles(msgs)?;
                self.finish(slot, &mut inst, m.identifier, *participant, &bundles)
            }
            Some(Phase::ReshareExchange { longterm, plan }) => {
                self.reshare_exchange_round(slot, &mut inst, m, longterm, plan)
            }
            Some(Phase::ReshareDealt(d)) => self.reshare_deal_round(slot, &mut inst, m, d),
            Some(done @ (Phase::Done { .. } | Phase::Finished)) => {
                inst.phase = Some(done);
                Err(self.ceremony_err("ceremony already produced its result"))
            }
            None => Err(self.ceremony_err("ceremony failed earlier")),
        }
    }

    /// The kyber nodes of the exchange round: each operator's exchange key, a valid G1 point.
    fn exchange_nodes(
        &self,
        msgs: Vec<(u64, &SignedTransport)>,
    ) -> Result<Vec<Node>, OperatorError> {
        let mut nodes = Vec::with_capacity(msgs.len());
        for (id, st) in msgs {
            let ex = Exchange::from_ssz(&st.message.data).map_err(malformed("exchange"))?;
            let public: [u8; 48] = ex.pk.as_slice().try_into().map_err(|_| {
                self.ceremony_err(format!(
                    "operator {id}: exchange key is {} bytes",
                    ex.pk.len()
                ))
            })?;
            G1::from_compressed(&public)
                .ok()
                .filter(|p| !p.is_identity())
                .ok_or_else(|| self.ceremony_err(format!("operator {id}: invalid exchange key")))?;
            nodes.push(Node {
                index: (id - 1) as u32,
                public,
            });
        }
        nodes.sort_by_key(|n| n.index);
        Ok(nodes)
    }

    /// Deals this operator's shares to `nodes` and answers with the signed deal bundle.
    fn deal(
        &self,
        slot: &Slot,
        inst: &mut Instance,
        iid: [u8; 24],
        longterm: Scalar,
        nodes: Vec<Node>,
    ) -> Result<Vec<u8>, OperatorError> {
        let lt_copy = longterm.clone();
        let (participant, mut bundle) = Participant::deal(
            longterm,
            session_nonce(&iid),
            inst.init.t as usize,
            nodes.clone(),
            inst.own_index,
        )
        .map_err(|e| self.ceremony_err(e.to_string()))?;
        if self.fault == Fault::WrongShare {
            corrupt_first_deal(&mut bundle, &nodes, &lt_copy)?;
        }
        let json = bundle
            .to_json()
            .map_err(|e| OperatorError::Internal(e.to_string()))?;
        let km = KyberMessage {
            kind: TransportType::KyberDealBundle,
            data: json,
        };
        slot.set_phase(
            inst,
            Phase::Dealt {
                participant: Box::new(participant),
                own_bundle: bundle,
            },
        );
        self.reply(TransportType::Kyber, iid, km.to_ssz())
    }

    /// Every operator's deal bundle, each from the dealer that signed it.
    fn deal_bundles(
        &self,
        msgs: Vec<(u64, &SignedTransport)>,
    ) -> Result<Vec<DealBundle>, OperatorError> {
        let mut bundles = Vec::with_capacity(msgs.len());
        for (id, st) in msgs {
            let km =
                KyberMessage::from_ssz(&st.message.data).map_err(malformed("kyber message"))?;
            if km.kind != TransportType::KyberDealBundle {
                return Err(self.ceremony_err(format!(
                    "operator {id} sent {:?}, not a deal bundle",
                    km.kind
                )));
            }
            let b = DealBundle::from_json(&km.data)
                .map_err(|e| self.ceremony_err(format!("operator {id}: {e}")))?;
            if u64::from(b.dealer_index) + 1 != id {
                return Err(self.ceremony_err(format!(
                    "operator {id} signed a deal bundle of dealer index {}",
                    b.dealer_index
                )));
            }
            bundles.push(b);
        }
        Ok(bundles)
    }

    /// Finishes the DKG with everyone's deals and answers with this operator's result.
    fn finish(
        &self,
        slot: &Slot,
        inst: &mut Instance,
        iid: [u8; 24],
        participant: Participant,
        bundles: &[DealBundle],
    ) -> Result<Vec<u8>, OperatorError> {
        let dks = participant
            .finish(bundles)
            .map_err(|e| self.ceremony_err(e.to_string()))?;
        let validator_pubkey = dks.public_key();
        let result = build_result(
            &inst.init,
            self.operator_id,
            iid,
            &dks.share,
            validator_pubkey,
            &self.key,
        )
        .map_err(|e| self.ceremony_err(e.to_string()))?;
        slot.set_phase(inst, Phase::Done { validator_pubkey });
        self.reply(TransportType::Output, iid, result.to_ssz())
    }

    /// `/results`: checks the initiator's files against what this operator agreed to and its own
    /// DKG output, then saves them (when an output path is set). Accepted once per ceremony.
    pub fn handle_results(&self, body: &[u8]) -> Result<Vec<u8>, OperatorError> {
        let st = SignedTransport::from_ssz(body).map_err(malformed("results transport"))?;
        let slot = self.instance(&st.message.identifier)?;
        let mut inst = slot
            .inst
            .lock()
            .map_err(|_| OperatorError::Internal("lock".into()))?;
        verify_transport(&st, &inst.initiator, "initiator")
            .map_err(|e| OperatorError::Auth(e.to_string()))?;
        if st.message.kind != TransportType::Result {
            return Err(OperatorError::WrongType {
                what: "results transport",
                reason: format!("type {:?}", st.message.kind),
            });
        }
        let rd = ResultData::from_ssz(&st.message.data).map_err(malformed("result data"))?;
        if rd.identifier != st.message.identifier {
            return Err(OperatorError::Auth(
                "result data for another instance".into(),
            ));
        }
        let validator_pubkey = match &inst.phase {
            Some(Phase::Done { validator_pubkey }) => *validator_pubkey,
            Some(Phase::Finished) => {
                return Err(self.ceremony_err(
                    "results for this ceremony were already accepted; each is saved once",
                ));
            }
            _ => return Err(self.ceremony_err("results before the ceremony finished")),
        };
        let validator_pubkey = &validator_pubkey;
        let deposits: Vec<crate::deposit::json::DepositDataJson> =
            serde_json::from_slice(&rd.deposit_data)
                .or_else(|_| {
                    serde_json::from_slice::<crate::deposit::json::DepositDataJson>(
                        &rd.deposit_data,
                    )
                    .map(|d| vec![d])
                })
                .map_err(|source| OperatorError::Json {
                    what: "deposit data",
                    source,
                })?;
        let dep = deposits
            .first()
            .ok_or_else(|| self.ceremony_err("empty deposit data"))?;
        if dep.pubkey != *validator_pubkey {
            return Err(self.ceremony_err("deposit data is for another validator key"));
        }
        // The entry must sign exactly this ceremony's deposit message under its fork; the
        // signature itself is verified once, with the rest of the files, in `check_results`.
        let root = crate::dkg::results::deposit_signing_root(&inst.init, validator_pubkey)
            .map_err(|e| self.ceremony_err(e.to_string()))?;
        if crate::deposit::data::deposit_signing_root(&dep.message(), dep.fork_version) != root {
            return Err(self.ceremony_err(
                "deposit data is not for this ceremony's withdrawal credentials, amount or fork",
            ));
        }
        match &self.output_path {
            Some(out) => {
                let dir =
                    super::saved_results::save_results(out, &inst.init, *validator_pubkey, &rd)
                        .map_err(|e| self.ceremony_err(e.to_string()))?;
                tracing::info!(operator = self.operator_id, dir = %dir.display(), "results saved");
            }
            None => {
                super::saved_results::check_results(&inst.init, *validator_pubkey, &rd)
                    .map_err(|e| self.ceremony_err(e.to_string()))?;
            }
        }
        slot.set_phase(&mut inst, Phase::Finished);
        Ok(Vec::new())
    }
}

/// Replaces the first deal with an encryption of a random scalar and re-signs the bundle.
fn corrupt_first_deal(
    bundle: &mut DealBundle,
    nodes: &[Node],
    longterm: &Scalar,
) -> Result<(), OperatorError> {
    let internal = |e: String| OperatorError::Internal(e);
    let Some(deal) = bundle.deals.first_mut() else {
        return Ok(());
    };
    let Some(node) = nodes.iter().find(|n| n.index == deal.share_index) else {
        return Ok(());
    };
    let junk = Scalar::random().map_err(|e| internal(e.to_string()))?;
    deal.encrypted_share = crate::crypto::ecies::encrypt(&node.public, &junk.to_be_bytes())
        .map_err(|e| internal(e.to_string()))?;
    let sk = longterm
        .to_secret_key()
        .map_err(|e| internal(e.to_string()))?;
    bundle.signature =
        crate::crypto::bls::sign(&sk, &bundle.hash(), crate::crypto::bls::Dst::Nul).to_vec();
    Ok(())
}

fn validate_init(init: &Init) -> Result<(), OperatorError> {
    let n = init.operators.len();
    let t = threshold_for(n).ok_or_else(|| {
        OperatorError::InvalidInit(format!("{n} operators; only 4, 7, 10 or 13 are allowed"))
    })?;
    if init.t != t {
        return Err(OperatorError::InvalidInit(format!(
            "threshold {} for {n} operators, expected {t}",
            init.t
        )));
    }
    let mut ids: Vec<u64> = init.operators.iter().map(|o| o.id).collect();
    // kyber indexes nodes with u32 (id - 1); id 0 has no index (CS-007 "index-0 share").
    if ids.iter().any(|id| *id == 0 || *id > u64::from(u32::MAX)) {
        return Err(OperatorError::InvalidInit(
            "operator id 0 or above 2^32-1".into(),
        ));
    }
    let sorted = ids.windows(2).all(|w| w[0] < w[1]);
    ids.dedup();
    if !sorted || ids.len() != n {
        return Err(OperatorError::InvalidInit(
            "operators must be unique and sorted by id".into(),
        ));
    }
    if init.withdrawal_credentials.len() != 32 || !matches!(init.withdrawal_credentials[0], 1 | 2) {
        return Err(OperatorError::InvalidInit(
            "withdrawal credentials must be 32 bytes with prefix 0x01 or 0x02".into(),
        ));
    }
    if init.owner == [0u8; 20] {
        return Err(OperatorError::InvalidInit(
            "owner is the zero address".into(),
        ));
    }
    if !(MIN_ACTIVATION_AMOUNT_GWEI..=MAX_COMPOUNDING_AMOUNT_GWEI).contains(&init.amount) {
        return Err(OperatorError::InvalidInit(format!(
            "amount {} gwei out of range",
            init.amount
        )));
    }
    if crate::network::dkg_network_for_fork(init.fork).is_none() {
        return Err(OperatorError::InvalidInit(format!(
            "unknown fork version {}",
            hex::encode(init.fork)
        )));
    }
    Ok(())
}
