//! The initiator: pings operators, runs init ceremonies (concurrently for bulk), validates every
//! result like ssv-dkg, posts `/results`, and writes ssv-dkg's files only when all of that passed.

pub mod client;
pub mod config_file;
// Issue 14 (operator discovery) rewrites the SSV API client; its docs land with that work.
#[allow(missing_docs)]
pub mod ssv_api;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy::primitives::Address;

use futures::future::join_all;

use crate::crypto::rsa_keys::OperatorPublicKey;
use crate::deposit::data::{
    MAX_COMPOUNDING_AMOUNT_GWEI, MIN_ACTIVATION_AMOUNT_GWEI, withdrawal_credentials,
};
use crate::dkg::kyber::DealBundle;
use crate::dkg::outputs::{OutputError, ValidatorFiles, write_ceremony};
use crate::dkg::results::{KnownOperator, ResultError, validate_results};
use crate::dkg::rsa_signer::{FastSigner, PssSigner, SignerError};
use crate::dkg::transport::{
    TransportError, sign_bundle, sign_transport, threshold_for, verify_transport,
};
use crate::dkg::wire::ids::{instance_id, new_request_id};
use crate::dkg::wire::{
    DkgResult, Exchange, Init, KyberMessage, Operator, Pong, ResultData, SignedTransport, Ssz,
    Transport, TransportType,
};
pub use client::{ClientError, ClientOptions, ClientTls};

/// One operator as listed in operators info (`id`, `public_key`, `ip`).
#[derive(Debug, Clone)]
pub struct OperatorInfo {
    /// The operator's registry id.
    pub id: u64,
    /// Its registered RSA key: every reply must be signed by it.
    pub key: OperatorPublicKey,
    /// `https://host:port` (optionally with a path prefix).
    pub url: String,
}

/// Ceremony parameters (ssv-dkg `init` flags).
#[derive(Debug, Clone)]
pub struct CeremonyRequest {
    /// The cluster owner the shares are signed for.
    pub owner: Address,
    /// Nonce of the first validator; validator i uses nonce + i.
    pub nonce: u64,
    /// The execution address of the withdrawal credentials.
    pub withdraw_address: Address,
    /// 0x02 (compounding) credentials instead of 0x01.
    pub compounding: bool,
    /// Deposit amount in gwei (32..=2048 ETH).
    pub amount_gwei: u64,
    /// The `network_name` written into the deposit data.
    pub network_name: String,
    /// The genesis fork version the deposit is signed under.
    pub fork_version: [u8; 4],
    /// How many validators (ceremonies), 1..=[`MAX_VALIDATORS`].
    pub validators: usize,
}

/// Why a ceremony (or the initiator's setup) failed. Variants that name an operator are its
/// fault; the others are the request's or this machine's.
#[derive(Debug, thiserror::Error)]
pub enum InitiatorError {
    /// An operator could not be reached or answered out of protocol at the HTTP level.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// An operator's reply breaks the protocol.
    #[error("operator {id}: {reason}")]
    Operator {
        /// The operator.
        id: u64,
        /// What its reply got wrong.
        reason: String,
    },
    /// The request itself is invalid (cluster size, amount, owner, validator count).
    #[error("invalid ceremony request: {0}")]
    Request(String),
    /// Signing a message of the ceremony failed.
    #[error("ceremony for nonce {nonce} failed: {source}")]
    Sign {
        /// The ceremony's owner nonce.
        nonce: u64,
        /// The signing failure.
        #[source]
        source: TransportError,
    },
    /// The operators' results do not validate.
    #[error("ceremony for nonce {nonce} failed: {source}")]
    Results {
        /// The ceremony's owner nonce.
        nonce: u64,
        /// What is wrong with them (names the operator when one is at fault).
        #[source]
        source: ResultError,
    },
    /// The ceremony's files could not be encoded for `/results`.
    #[error("ceremony for nonce {nonce} failed: encoding the results: {source}")]
    Encode {
        /// The ceremony's owner nonce.
        nonce: u64,
        /// The encoder's failure.
        #[source]
        source: serde_json::Error,
    },
    /// A ceremony or validation task panicked or was cancelled.
    #[error("ceremony task failed: {0}")]
    Task(#[source] tokio::task::JoinError),
    /// The ceremony files could not be written.
    #[error("writing the ceremony files: {0}")]
    Output(#[source] OutputError),
    /// The initiator's RSA identity could not be made.
    #[error("initiator key: {0}")]
    Key(#[source] SignerError),
    /// The OS random generator failed (request ids).
    #[error("random request id: {0}")]
    Rng(#[source] getrandom::Error),
    /// Operators whose version cannot run a ceremony with this initiator: (id, version).
    #[error(
        "{}; this initiator speaks ssv-dkg's v3.1 wire format ({SUPPORTED_VERSIONS}): ask the \
         operator to upgrade to ssv-dkg v3.1.x, or choose another operator",
        describe_unsupported(.0)
    )]
    UnsupportedVersion(Vec<(u64, String)>),
}

/// The operator versions a ceremony can run with, in words (see [`supported_operator_version`]).
pub const SUPPORTED_VERSIONS: &str = "ssv-dkg v3.1.0 and later v3 releases";

fn describe_unsupported(ops: &[(u64, String)]) -> String {
    ops.iter()
        .map(|(id, v)| {
            format!("operator {id} runs ssv-dkg version {v:?}, which it cannot speak to")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `v3.1.0`, `3.1.2`, `v3.1.1-rc1`, `v3.1.0-4-gabc123` (git describe) -> (3, 1, x).
pub fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let v = v.strip_prefix('v').unwrap_or(v);
    let core = v.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let (major, minor, patch) = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some((major, minor, patch))
}

/// Whether this initiator can run a ceremony with an operator reporting `version`: the v3.1 wire
/// format, i.e. v3.1.0 or any later v3 release. v3.0.x reads the same SSZ but puts a 20-byte address
/// where v3.1 has 32-byte credentials; v1/v2 use other SSZ structs; `dev` builds say nothing. Each
/// operator is addressed with its own version string, so patch releases can mix in one cluster.
pub fn supported_operator_version(version: &str) -> bool {
    matches!(parse_version(version), Some((3, minor, _)) if minor >= 1)
}

/// ssv-dkg accepts only `https://` operator addresses; plain HTTP only when asked for.
fn check_scheme(o: &OperatorInfo, opts: ClientOptions) -> Result<(), InitiatorError> {
    if o.url.starts_with("https://") || (opts.allow_http && o.url.starts_with("http://")) {
        Ok(())
    } else {
        Err(op_err(o.id, format!("address {} is not https://", o.url)))
    }
}

pub(crate) fn op_err(id: u64, reason: impl Into<String>) -> InitiatorError {
    InitiatorError::Operator {
        id,
        reason: reason.into(),
    }
}

/// What ping learned about an operator.
#[derive(Debug, Clone)]
pub struct PingInfo {
    /// The operator's id (checked against the one asked for).
    pub id: u64,
    /// The ssv-dkg version string of its reply.
    pub version: String,
    /// Whether it runs with a multisig owner.
    pub multisig: bool,
    /// Whether its execution-layer client is connected.
    pub eth_client_connected: bool,
}

/// Runs ceremonies with one fixed set of operators (sorted by id) over one HTTPS client.
#[derive(Debug)]
pub struct Initiator {
    client: reqwest::Client,
    operators: Vec<OperatorInfo>,
}

/// The most validators one `init` run makes (ssv-dkg's bulk limit).
pub const MAX_VALIDATORS: usize = 100;

/// ssv-dkg runs at most 20 bulk ceremonies at once.
pub const MAX_CONCURRENT_CEREMONIES: usize = 20;

impl Initiator {
    /// An initiator for a cluster of 4, 7, 10 or 13 operators with unique non-zero ids and
    /// `https://` addresses, with the default client options.
    pub fn new(operators: Vec<OperatorInfo>, tls: &ClientTls) -> Result<Self, InitiatorError> {
        Self::with_options(operators, tls, ClientOptions::default())
    }

    /// [`Self::new`] with client options (timeout, whether `http://` addresses are allowed).
    pub fn with_options(
        mut operators: Vec<OperatorInfo>,
        tls: &ClientTls,
        opts: ClientOptions,
    ) -> Result<Self, InitiatorError> {
        operators.sort_by_key(|o| o.id);
        if threshold_for(operators.len()).is_none() {
            return Err(InitiatorError::Request(format!(
                "{} operators given; a cluster has 4, 7, 10 or 13",
                operators.len()
            )));
        }
        if operators.windows(2).any(|w| w[0].id == w[1].id) || operators.iter().any(|o| o.id == 0) {
            return Err(InitiatorError::Request(
                "operator ids must be unique and non-zero".into(),
            ));
        }
        for o in &operators {
            check_scheme(o, opts)?;
        }
        Ok(Self {
            client: client::build_client_with(tls, opts)?,
            operators,
        })
    }

    /// Same, with a per-request timeout other than the default 60 s.
    pub fn with_timeout(
        operators: Vec<OperatorInfo>,
        tls: &ClientTls,
        timeout: std::time::Duration,
    ) -> Result<Self, InitiatorError> {
        Self::with_options(
            operators,
            tls,
            ClientOptions {
                timeout,
                ..ClientOptions::default()
            },
        )
    }

    /// An initiator that can only ping (no cluster-size rules), for `dkg ping`.
    pub fn ping_only(op: OperatorInfo, tls: &ClientTls) -> Result<Self, InitiatorError> {
        let opts = ClientOptions::default();
        check_scheme(&op, opts)?;
        Ok(Self {
            client: client::build_client_with(tls, opts)?,
            operators: vec![op],
        })
    }

    /// The operators, by ascending id.
    pub fn operators(&self) -> &[OperatorInfo] {
        &self.operators
    }

    /// `GET /health_check` on one operator; checks the Pong against the listed key and id.
    pub async fn ping_one(&self, op: &OperatorInfo) -> Result<PingInfo, InitiatorError> {
        let bytes = client::call(&self.client, op.id, &op.url, "health_check", None).await?;
        let st = SignedTransport::from_ssz(&bytes).map_err(|e| {
            op_err(
                op.id,
                format!("health check reply is not ssv-dkg v3 SSZ ({e}); an older ssv-dkg?"),
            )
        })?;
        verify_transport(&st, &op.key, &format!("operator {}", op.id)).map_err(|_| {
            op_err(
                op.id,
                "health check is not signed by the operator's registered key",
            )
        })?;
        let pong =
            Pong::from_ssz(&st.message.data).map_err(|e| op_err(op.id, format!("pong: {e}")))?;
        if pong.id != op.id {
            return Err(op_err(op.id, format!("answers as operator {}", pong.id)));
        }
        if pong.pubkey != op.key.to_base64_pem().as_bytes() {
            return Err(op_err(
                op.id,
                "runs with a key that differs from the registered one",
            ));
        }
        Ok(PingInfo {
            id: op.id,
            version: String::from_utf8_lossy(&st.message.version).into_owned(),
            multisig: pong.multisig,
            eth_client_connected: pong.eth_client_connected,
        })
    }

    /// Pings every operator concurrently; one answer per operator, in id order.
    pub async fn ping(&self) -> Vec<(u64, Result<PingInfo, InitiatorError>)> {
        let futs = self
            .operators
            .iter()
            .map(|o| async move { (o.id, self.ping_one(o).await) });
        join_all(futs).await
    }

    /// Pings everyone (all must answer), then runs `req.validators` ceremonies and returns their
    /// validated files, sorted by nonce. Nothing is written here.
    pub async fn run(
        self: &Arc<Self>,
        req: &CeremonyRequest,
    ) -> Result<Vec<ValidatorFiles>, InitiatorError> {
        if !(1..=MAX_VALIDATORS).contains(&req.validators) {
            return Err(InitiatorError::Request(format!(
                "{} validators; 1 to {MAX_VALIDATORS} allowed",
                req.validators
            )));
        }
        if !(MIN_ACTIVATION_AMOUNT_GWEI..=MAX_COMPOUNDING_AMOUNT_GWEI).contains(&req.amount_gwei) {
            return Err(InitiatorError::Request(format!(
                "amount {} gwei outside 32..2048 ETH",
                req.amount_gwei
            )));
        }
        if req.owner == Address::ZERO {
            return Err(InitiatorError::Request("owner is the zero address".into()));
        }
        // One initiator identity per run, made while the pings are in flight. ssv-dkg makes one per
        // ceremony; operators only pin the key per instance (the instance id hashes it together
        // with a fresh random request id), so sharing it across a bulk run is invisible on the
        // wire and saves a 2048-bit key generation per validator.
        let keygen = tokio::task::spawn_blocking(FastSigner::generate);
        let pings = self.ping().await;
        let key = Arc::new(
            keygen
                .await
                .map_err(InitiatorError::Task)?
                .map_err(InitiatorError::Key)?,
        );
        let mut versions = Vec::with_capacity(self.operators.len());
        for (id, r) in pings {
            versions.push((id, r?.version));
        }
        let unsupported: Vec<(u64, String)> = versions
            .iter()
            .filter(|(_, v)| !supported_operator_version(v))
            .cloned()
            .collect();
        if !unsupported.is_empty() {
            return Err(InitiatorError::UnsupportedVersion(unsupported));
        }
        let versions = Arc::new(versions);
        let sem = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_CEREMONIES));
        let mut tasks = Vec::with_capacity(req.validators);
        for i in 0..req.validators {
            let me = self.clone();
            let versions = versions.clone();
            let sem = sem.clone();
            let req = req.clone();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = sem.acquire().await;
                me.ceremony(&key, &req, req.nonce + i as u64, &versions)
                    .await
            }));
        }
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.map_err(InitiatorError::Task)??);
        }
        out.sort_by_key(|v| v.nonce);
        Ok(out)
    }

    /// Runs and writes: returns the ceremony folder.
    pub async fn run_and_write(
        self: &Arc<Self>,
        req: &CeremonyRequest,
        output: &Path,
    ) -> Result<PathBuf, InitiatorError> {
        let files = self.run(req).await?;
        write_ceremony(output, &files).map_err(InitiatorError::Output)
    }

    async fn send_all(
        &self,
        path: &'static str,
        bodies: Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, InitiatorError> {
        let futs = self.operators.iter().zip(bodies).map(|(o, b)| async move {
            client::call(&self.client, o.id, &o.url, path, Some(b)).await
        });
        let mut out = Vec::with_capacity(self.operators.len());
        for r in join_all(futs).await {
            out.push(r?);
        }
        Ok(out)
    }

    /// Checks each reply is a transport from its operator for this instance, of the expected type.
    fn check_replies(
        &self,
        replies: Vec<Vec<u8>>,
        iid: &[u8; 24],
        expected: TransportType,
    ) -> Result<Vec<SignedTransport>, InitiatorError> {
        self.operators
            .iter()
            .zip(replies)
            .map(|(op, bytes)| check_reply(op, &bytes, iid, expected))
            .collect()
    }

    /// POSTs `bodies[i]` to `ops[i]` concurrently; one answer per operator, in `ops` order (for
    /// resign and reshare, which judge who answered against a threshold).
    pub(crate) async fn post_each(
        &self,
        ops: &[OperatorInfo],
        path: &'static str,
        bodies: Vec<Vec<u8>>,
    ) -> Vec<Result<Vec<u8>, InitiatorError>> {
        let futs = ops.iter().zip(bodies).map(|(o, b)| async move {
            client::call(&self.client, o.id, &o.url, path, Some(b))
                .await
                .map_err(InitiatorError::from)
        });
        join_all(futs).await
    }

    /// One ceremony for owner nonce `nonce`: `/init`, the two `/dkg` rounds, validation of the
    /// results, `/results`. Returns the validated files (nothing is written here).
    async fn ceremony(
        &self,
        key: &FastSigner,
        req: &CeremonyRequest,
        nonce: u64,
        versions: &[(u64, String)],
    ) -> Result<ValidatorFiles, InitiatorError> {
        let sign_err = |source| InitiatorError::Sign { nonce, source };
        let request_id = new_request_id().map_err(InitiatorError::Rng)?;
        let init = self.init_message(req, nonce);
        let init_ssz = init.to_ssz();
        let iid = instance_id(
            key.public_key().to_base64_pem().as_bytes(),
            &init_ssz,
            &request_id,
        );
        let bodies =
            init_bodies(key, request_id, &init_ssz, &self.operators, versions).map_err(sign_err)?;
        let exchanges = self.round_exchange(bodies, &iid).await?;
        let bundle = sign_bundle(key, iid, exchanges).map_err(sign_err)?;
        let deals = self.round_deals(bundle.to_ssz(), &iid).await?;
        let bundle = sign_bundle(key, iid, deals).map_err(sign_err)?;
        let results = self.round_results(bundle.to_ssz(), &iid).await?;
        let files = self
            .validate(&init, iid, results, &req.network_name, nonce)
            .await?;
        self.post_results(key, &init, iid, &files, versions, nonce)
            .await?;
        Ok(files)
    }

    /// dkg-spec `Init` for validator nonce `nonce`.
    fn init_message(&self, req: &CeremonyRequest, nonce: u64) -> Init {
        Init {
            operators: self
                .operators
                .iter()
                .map(|o| Operator {
                    id: o.id,
                    pubkey: o.key.to_base64_pem().as_bytes().to_vec(),
                })
                .collect(),
            t: threshold_for(self.operators.len()).unwrap_or(0),
            withdrawal_credentials: withdrawal_credentials(req.withdraw_address, req.compounding)
                .to_vec(),
            fork: req.fork_version,
            owner: req.owner.into_array(),
            nonce,
            amount: req.amount_gwei,
        }
    }

    /// Round 1: `/init` to everyone; each must answer with an exchange message holding a
    /// 48-byte key.
    async fn round_exchange(
        &self,
        bodies: Vec<Vec<u8>>,
        iid: &[u8; 24],
    ) -> Result<Vec<SignedTransport>, InitiatorError> {
        let exchanges = self.check_replies(
            self.send_all("init", bodies).await?,
            iid,
            TransportType::Exchange,
        )?;
        for (o, st) in self.operators.iter().zip(&exchanges) {
            let ex = Exchange::from_ssz(&st.message.data)
                .map_err(|e| op_err(o.id, format!("exchange: {e}")))?;
            if ex.pk.len() != 48 {
                return Err(op_err(
                    o.id,
                    format!("exchange key is {} bytes", ex.pk.len()),
                ));
            }
        }
        Ok(exchanges)
    }

    /// Round 2: the exchanges to everyone; each must answer with its own deal bundle (a
    /// complaint aborts).
    async fn round_deals(
        &self,
        bundle: Vec<u8>,
        iid: &[u8; 24],
    ) -> Result<Vec<SignedTransport>, InitiatorError> {
        let n = self.operators.len();
        let deals = self.check_replies(
            self.send_all("dkg", vec![bundle; n]).await?,
            iid,
            TransportType::Kyber,
        )?;
        for (o, st) in self.operators.iter().zip(&deals) {
            let km = KyberMessage::from_ssz(&st.message.data)
                .map_err(|e| op_err(o.id, format!("kyber message: {e}")))?;
            if km.kind != TransportType::KyberDealBundle {
                return Err(op_err(
                    o.id,
                    format!(
                        "sent {:?} instead of its deals (complaint); aborting",
                        km.kind
                    ),
                ));
            }
            let b = DealBundle::from_json(&km.data).map_err(|e| op_err(o.id, e.to_string()))?;
            if u64::from(b.dealer_index) + 1 != o.id {
                return Err(op_err(
                    o.id,
                    format!("deal bundle claims dealer index {}", b.dealer_index),
                ));
            }
        }
        Ok(deals)
    }

    /// Round 3: the deals to everyone; each must answer with its result.
    async fn round_results(
        &self,
        bundle: Vec<u8>,
        iid: &[u8; 24],
    ) -> Result<Vec<DkgResult>, InitiatorError> {
        let n = self.operators.len();
        let outputs = self.check_replies(
            self.send_all("dkg", vec![bundle; n]).await?,
            iid,
            TransportType::Output,
        )?;
        let mut results = Vec::with_capacity(n);
        for (o, st) in self.operators.iter().zip(&outputs) {
            let r = DkgResult::from_ssz(&st.message.data)
                .map_err(|e| op_err(o.id, format!("result: {e}")))?;
            if r.operator_id != o.id {
                return Err(op_err(
                    o.id,
                    format!("result claims operator {}", r.operator_id),
                ));
            }
            results.push(r);
        }
        Ok(results)
    }

    /// [`validate_results`] off the async workers that drive the HTTP rounds (pairings and
    /// interpolation take milliseconds each).
    pub(crate) async fn validate(
        &self,
        init: &Init,
        iid: [u8; 24],
        results: Vec<DkgResult>,
        network: &str,
        nonce: u64,
    ) -> Result<ValidatorFiles, InitiatorError> {
        self.validate_for(&self.operators, init, iid, results, network, nonce)
            .await
    }

    /// [`Self::validate`] for the cluster `ops` (a reshare's new operators).
    pub(crate) async fn validate_for(
        &self,
        ops: &[OperatorInfo],
        init: &Init,
        iid: [u8; 24],
        results: Vec<DkgResult>,
        network: &str,
        nonce: u64,
    ) -> Result<ValidatorFiles, InitiatorError> {
        let known: Vec<KnownOperator> = ops
            .iter()
            .map(|o| KnownOperator {
                id: o.id,
                key: o.key.clone(),
            })
            .collect();
        let network = network.to_string();
        let init = init.clone();
        let validated = tokio::task::spawn_blocking(move || {
            validate_results(&init, &known, iid, &results, &network)
        })
        .await
        .map_err(InitiatorError::Task)?
        .map_err(|source| InitiatorError::Results { nonce, source })?;
        Ok(validated.files)
    }

    /// Final: `/results` to every operator; any rejection fails the ceremony (like ssv-dkg).
    pub(crate) async fn post_results(
        &self,
        key: &FastSigner,
        init: &Init,
        iid: [u8; 24],
        files: &ValidatorFiles,
        versions: &[(u64, String)],
        nonce: u64,
    ) -> Result<(), InitiatorError> {
        self.post_results_to(&self.operators, key, init, iid, files, versions, nonce)
            .await
    }

    /// [`Self::post_results`] to the cluster `ops`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn post_results_to(
        &self,
        ops: &[OperatorInfo],
        key: &FastSigner,
        init: &Init,
        iid: [u8; 24],
        files: &ValidatorFiles,
        versions: &[(u64, String)],
        nonce: u64,
    ) -> Result<(), InitiatorError> {
        let encode_err = |source| InitiatorError::Encode { nonce, source };
        let rd = ResultData {
            operators: init.operators.clone(),
            identifier: iid,
            deposit_data: serde_json::to_vec(&files.deposit[0]).map_err(encode_err)?,
            keyshares_data: serde_json::to_vec(&files.keyshares).map_err(encode_err)?,
            proofs: serde_json::to_vec(&files.proofs).map_err(encode_err)?,
        };
        let t = Transport {
            kind: TransportType::Result,
            identifier: iid,
            data: rd.to_ssz(),
            version: versions
                .first()
                .map(|(_, v)| v.clone().into_bytes())
                .unwrap_or_default(),
        };
        let body = sign_transport(key, t)
            .map_err(|source| InitiatorError::Sign { nonce, source })?
            .to_ssz();
        for r in self.post_each(ops, "results", vec![body; ops.len()]).await {
            r?;
        }
        Ok(())
    }
}

/// One operator's reply: a transport signed by its registered key, for instance `iid`, of type
/// `expected` (an `Error` transport is reported with its text).
pub(crate) fn check_reply(
    op: &OperatorInfo,
    bytes: &[u8],
    iid: &[u8; 24],
    expected: TransportType,
) -> Result<SignedTransport, InitiatorError> {
    let st = SignedTransport::from_ssz(bytes)
        .map_err(|e| op_err(op.id, format!("reply is not a valid message: {e}")))?;
    if st.signer != op.key.to_base64_pem().as_bytes() {
        return Err(op_err(
            op.id,
            "reply signed by a key that differs from the registered one",
        ));
    }
    verify_transport(&st, &op.key, &format!("operator {}", op.id)).map_err(|_| {
        op_err(
            op.id,
            "reply signature does not verify with its registered key",
        )
    })?;
    if &st.message.identifier != iid {
        return Err(op_err(op.id, "reply for another ceremony instance"));
    }
    if st.message.kind == TransportType::Error {
        let text = String::from_utf8_lossy(&st.message.data).into_owned();
        return Err(op_err(
            op.id,
            format!("ceremony failed at the operator: {text}"),
        ));
    }
    if st.message.kind != expected {
        return Err(op_err(
            op.id,
            format!(
                "sent {:?} where {:?} was expected",
                st.message.kind, expected
            ),
        ));
    }
    Ok(st)
}

/// The signed `/init` bodies, one per operator, each addressed with the version string that
/// operator reported. Operators of one version get the same bytes, so each distinct version is
/// signed once.
fn init_bodies(
    key: &FastSigner,
    request_id: [u8; 24],
    init_ssz: &[u8],
    operators: &[OperatorInfo],
    versions: &[(u64, String)],
) -> Result<Vec<Vec<u8>>, TransportError> {
    let mut signed: Vec<(String, Vec<u8>)> = Vec::new();
    let mut bodies = Vec::with_capacity(operators.len());
    for o in operators {
        let version = versions
            .iter()
            .find(|(id, _)| *id == o.id)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if let Some((_, body)) = signed.iter().find(|(v, _)| *v == version) {
            bodies.push(body.clone());
            continue;
        }
        let t = Transport {
            kind: TransportType::Init,
            identifier: request_id,
            data: init_ssz.to_vec(),
            version: version.clone().into_bytes(),
        };
        let body = sign_transport(key, t)?.to_ssz();
        bodies.push(body.clone());
        signed.push((version, body));
    }
    Ok(bodies)
}

// `ssv_api.rs` (issue 14's area) still calls the join helper by its old name.
use futures::future::join_all as futures_join_all;

#[cfg(test)]
mod version_tests {
    use super::*;

    #[test]
    fn v3_1_and_later_v3_releases_are_supported() {
        for v in [
            "v3.1.0",
            "v3.1.1",
            "3.1.2",
            "v3.1.1-rc1",
            "v3.1.0-4-gabc123",
            "v3.2.0",
        ] {
            assert!(supported_operator_version(v), "{v}");
        }
        for v in [
            "v3.0.3", "v2.1.0", "v1.2.0", "v4.0.0", "dev", "", "v3.1", "v3.1.0.1", "vx.y.z",
            "garbage",
        ] {
            assert!(!supported_operator_version(v), "{v}");
        }
    }

    #[test]
    fn the_refusal_names_each_operator_and_version() {
        let e = InitiatorError::UnsupportedVersion(vec![(22, "v2.1.0".into()), (33, "x".into())]);
        let text = e.to_string();
        for part in [
            "operator 22",
            "\"v2.1.0\"",
            "operator 33",
            "\"x\"",
            "upgrade",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }
}
