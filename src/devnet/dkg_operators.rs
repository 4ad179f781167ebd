//! The devnet's ssv-dkg side and its SSV API double, as one set of services: the project's
//! operator servers for the registered operators, each in a real condition an initiator meets on
//! the network (see [`role`]), and the [`ApiDouble`](super::ssv_api_double::ApiDouble) listing
//! them with the chain's fees. The unhealthy conditions are real, not flags the agent could read:
//! the offline operator publishes an endpoint where nothing listens, the old one is a server that
//! reports an old ssv-dkg version, the rotated one serves a key that is not the registered one.

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};

use alloy::primitives::Address;
use serde::Serialize;

use super::{
    DevnetError, DevnetInfo, WHITELISTED_ACCOUNT, dev_account,
    ssv_api_double::{ApiDouble, ChainSide, devnet_records},
};
use crate::{
    chain::Chain,
    crypto::rsa_keys::OperatorPrivateKey,
    dkg::{
        initiator::ClientTls,
        operator::{OperatorState, RunningOperator, TlsMaterial, serve},
    },
    ssv::views::{FeeViews, read_operators},
};

/// The ssv-dkg version the healthy devnet operators report.
pub const DKG_VERSION: &str = "v3.1.0";
/// The version the outdated operator reports.
pub const OLD_DKG_VERSION: &str = "v2.1.0";

/// The condition of a devnet operator's DKG node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DkgRole {
    /// Serves its registered key on the current version.
    Healthy,
    /// Publishes no DKG endpoint.
    NoEndpoint,
    /// Publishes an endpoint where nothing listens.
    Offline,
    /// Reports [`OLD_DKG_VERSION`].
    OldVersion,
    /// Serves a key it generated later and never registered.
    RotatedKey,
}

/// Which devnet operator is in which condition (ids past 11 that are not listed are healthy; on
/// a devnet of 4 operators all are).
pub fn role(id: u64) -> DkgRole {
    match id {
        6 | 11 => DkgRole::NoEndpoint,
        7 => DkgRole::Offline,
        8 => DkgRole::OldVersion,
        9 => DkgRole::RotatedKey,
        _ => DkgRole::Healthy,
    }
}

/// One operator's published endpoint and condition.
#[derive(Debug, Clone, Serialize)]
pub struct DkgEndpoint {
    /// Operator id.
    pub id: u64,
    /// Its condition.
    pub role: DkgRole,
    /// What it publishes as `dkg_address`.
    pub url: Option<String>,
}

/// The running services; dropping them stops every server.
#[derive(Debug)]
pub struct DevnetServices {
    servers: BTreeMap<u64, RunningOperator>,
    endpoints: Vec<DkgEndpoint>,
    ca_pem: String,
    api: ApiDouble,
}

impl DevnetServices {
    /// Starts the operator servers and the API double for the devnet described by `info`.
    pub async fn start(info: &DevnetInfo) -> Result<Self, DevnetError> {
        let tls = TlsMaterial::self_signed(&[])
            .map_err(|e| DevnetError::Setup(format!("operator TLS: {e}")))?;
        let mut servers = BTreeMap::new();
        let mut endpoints = Vec::new();
        for op in &info.operators {
            let role = role(op.id);
            let url = match role {
                DkgRole::NoEndpoint => None,
                DkgRole::Offline => Some(format!("https://127.0.0.1:{}", closed_port()?)),
                DkgRole::Healthy | DkgRole::OldVersion | DkgRole::RotatedKey => {
                    let s = serve_one(op, role, &tls).await?;
                    let url = s.url();
                    servers.insert(op.id, s);
                    Some(url)
                }
            };
            endpoints.push(DkgEndpoint {
                id: op.id,
                role,
                url,
            });
        }
        let chain_side = chain_side(info).await?;
        let pairs: Vec<(u64, Option<String>)> =
            endpoints.iter().map(|e| (e.id, e.url.clone())).collect();
        let records = devnet_records(&chain_side, &pairs, &info.profile.name);
        let api = ApiDouble::start(&info.profile.name, records).await?;
        Ok(Self {
            servers,
            endpoints,
            ca_pem: tls.cert_pem.clone(),
            api,
        })
    }

    /// The SSV API double's base URL.
    pub fn ssv_api_url(&self) -> String {
        self.api.url()
    }

    /// The API double (tests change its records and faults).
    pub fn api(&self) -> &ApiDouble {
        &self.api
    }

    /// Every operator's endpoint and condition.
    pub fn endpoints(&self) -> &[DkgEndpoint] {
        &self.endpoints
    }

    /// One operator's published endpoint.
    pub fn endpoint(&self, id: u64) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|e| e.id == id)
            .and_then(|e| e.url.as_deref())
    }

    /// The operators' self-signed certificate, as the initiator must trust it.
    pub fn tls(&self) -> ClientTls {
        ClientTls {
            ca_certs_pem: vec![self.ca_pem.clone()],
            insecure: false,
        }
    }

    /// The certificate PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Stops one operator's server (it becomes unreachable, as a node that went down).
    pub fn stop_operator(&mut self, id: u64) -> bool {
        self.servers.remove(&id).is_some()
    }
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> Result<u16, DevnetError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| DevnetError::Io("finding a closed port".into(), e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| DevnetError::Io("finding a closed port".into(), e))
}

async fn serve_one(
    op: &super::DevnetOperator,
    role: DkgRole,
    tls: &TlsMaterial,
) -> Result<RunningOperator, DevnetError> {
    let (ks, pw, id) = (op.keystore.clone(), op.password_file.clone(), op.id);
    let key = tokio::task::spawn_blocking(move || match role {
        // A key generated after registration and never registered: what an operator that
        // re-created its keys without updating the chain serves.
        DkgRole::RotatedKey => OperatorPrivateKey::generate(2048),
        _ => OperatorPrivateKey::read_keystore_files(&ks, &pw),
    })
    .await
    .map_err(|e| DevnetError::Keys(e.to_string()))?
    .map_err(|e| DevnetError::Keys(format!("operator {id}: {e}")))?;
    let version = match role {
        DkgRole::OldVersion => OLD_DKG_VERSION,
        _ => DKG_VERSION,
    };
    let state = Arc::new(OperatorState::new(id, key, version.to_string()));
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    serve(state, addr, tls)
        .await
        .map_err(|e| DevnetError::Setup(format!("operator {id} server: {e}")))
}

/// Fees, validator counts and privacy as the views report them, for the API double.
async fn chain_side(info: &DevnetInfo) -> Result<Vec<ChainSide>, DevnetError> {
    let setup = |e: crate::chain::ChainError| DevnetError::Setup(format!("reading operators: {e}"));
    let chain = Chain::connect(&info.rpc_url, &info.profile, None)
        .await
        .map_err(setup)?;
    let head = chain.head().await.map_err(setup)?;
    let ids: Vec<u64> = info.operators.iter().map(|o| o.id).collect();
    let (eth, ssv) = match chain.ssv_version().await.map_err(setup)? {
        crate::chain::reads::SsvVersion::V1 => {
            let ssv = read_operators(&chain, FeeViews::V1, &ids, head)
                .await
                .map_err(setup)?;
            (None, ssv)
        }
        crate::chain::reads::SsvVersion::V2 => (
            Some(
                read_operators(&chain, FeeViews::V2Eth, &ids, head)
                    .await
                    .map_err(setup)?,
            ),
            read_operators(&chain, FeeViews::V2Ssv, &ids, head)
                .await
                .map_err(setup)?,
        ),
    };
    let whitelisted: Address = dev_account(WHITELISTED_ACCOUNT).address();
    Ok(info
        .operators
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let e = eth.as_ref().map(|v| &v[i]);
            ChainSide {
                id: op.id,
                owner: op.owner,
                public_key: op.public_key.clone(),
                eth_fee: e.map_or(alloy::primitives::U256::ZERO, |e| e.fee),
                ssv_fee: ssv[i].fee,
                validators: u64::from(ssv[i].validator_count)
                    + e.map_or(0, |e| u64::from(e.validator_count)),
                is_private: op.private,
                whitelist: if op.private {
                    vec![whitelisted]
                } else {
                    Vec::new()
                },
            }
        })
        .collect())
}
