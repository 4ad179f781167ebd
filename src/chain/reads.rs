//! Typed reads the stages need: contract version, operators, protocol parameters, the owner nonce
//! and cluster snapshots reconstructed from events, validator existence and balances.

use alloy::{
    eips::BlockId,
    primitives::{Address, B256, Bytes, U256, keccak256},
    providers::Provider,
    rpc::types::{Filter, Log, TransactionRequest},
    sol_types::{SolEvent, SolValue},
};
use serde::{Deserialize, Serialize};

use super::{
    Cause, Chain, ChainError, Revert,
    contracts::{Cluster, SSVNetwork, SSVNetworkViews, SSVToken},
    logs::Flow,
    scan_cache,
};

/// SSVNetwork generation, from `getVersion()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SsvVersion {
    /// v1.x: SSV-billed clusters, `amount` arguments, SSV approve.
    V1,
    /// v2.x: ETH-billed clusters, payable calls.
    V2,
}

impl SsvVersion {
    /// From `getVersion()` ("v2.0.0"); an unknown major version is an error, never a guess.
    pub fn parse(v: &str) -> Result<Self, ChainError> {
        match v.trim_start_matches('v').split('.').next() {
            Some("1") => Ok(Self::V1),
            Some("2") => Ok(Self::V2),
            _ => Err(ChainError::Unexpected {
                what: "SSVNetwork.getVersion".into(),
                detail: format!(
                    "unsupported SSVNetwork version {v:?} (this agent knows v1.x and v2.x)"
                ),
            }),
        }
    }
}

/// How a cluster pays, from `getClusterAssetType` (v2) or implied (v1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Billing {
    /// Legacy SSV-token billing.
    Ssv,
    /// Native ETH billing.
    Eth,
}

/// Topics of every SSVNetwork event that carries the latest `Cluster` of an owner.
pub fn cluster_event_topics() -> Vec<B256> {
    vec![
        SSVNetwork::ValidatorAdded::SIGNATURE_HASH,
        SSVNetwork::ValidatorRemoved::SIGNATURE_HASH,
        SSVNetwork::ClusterLiquidated::SIGNATURE_HASH,
        SSVNetwork::ClusterReactivated::SIGNATURE_HASH,
        SSVNetwork::ClusterWithdrawn::SIGNATURE_HASH,
        SSVNetwork::ClusterDeposited::SIGNATURE_HASH,
        SSVNetwork::ClusterMigratedToETH::SIGNATURE_HASH,
        SSVNetwork::ClusterBalanceUpdated::SIGNATURE_HASH,
    ]
}

/// Decodes `(operatorIds, cluster)` from a cluster-bearing SSVNetwork log; `None` for others.
pub fn decode_cluster_log(log: &Log) -> Option<(Vec<u64>, Cluster)> {
    let topic = *log.topic0()?;
    let inner = &log.inner;
    macro_rules! pick {
        ($($ev:ident),*) => {
            $(if topic == SSVNetwork::$ev::SIGNATURE_HASH {
                let e = SSVNetwork::$ev::decode_log(inner).ok()?;
                return Some((e.data.operatorIds.clone(), e.data.cluster.clone()));
            })*
        };
    }
    pick!(
        ValidatorAdded,
        ValidatorRemoved,
        ClusterLiquidated,
        ClusterReactivated,
        ClusterWithdrawn,
        ClusterDeposited,
        ClusterMigratedToETH,
        ClusterBalanceUpdated
    );
    None
}

/// The cluster key SSVNetwork stores: keccak256(owner ‖ each sorted id as a 32-byte word).
pub fn cluster_id(owner: Address, operator_ids: &[u64]) -> B256 {
    let mut ids = operator_ids.to_vec();
    ids.sort_unstable();
    let mut buf = Vec::with_capacity(20 + 32 * ids.len());
    buf.extend_from_slice(owner.as_slice());
    for id in ids {
        buf.extend_from_slice(&U256::from(id).to_be_bytes::<32>());
    }
    keccak256(buf)
}

/// The stored cluster hash: keccak256(validatorCount ‖ networkFeeIndex ‖ index ‖ balance ‖ active),
/// packed, balance before active.
pub fn cluster_hash(c: &Cluster) -> B256 {
    let mut buf = Vec::with_capacity(53);
    buf.extend_from_slice(&c.validatorCount.to_be_bytes());
    buf.extend_from_slice(&c.networkFeeIndex.to_be_bytes());
    buf.extend_from_slice(&c.index.to_be_bytes());
    buf.extend_from_slice(&c.balance.to_be_bytes::<32>());
    buf.push(u8::from(c.active));
    keccak256(buf)
}

#[derive(Serialize, Deserialize)]
struct CachedCluster {
    validator_count: u32,
    network_fee_index: u64,
    index: u64,
    active: bool,
    balance: U256,
}

impl From<&Cluster> for CachedCluster {
    fn from(c: &Cluster) -> Self {
        Self {
            validator_count: c.validatorCount,
            network_fee_index: c.networkFeeIndex,
            index: c.index,
            active: c.active,
            balance: c.balance,
        }
    }
}

impl From<CachedCluster> for Cluster {
    fn from(c: CachedCluster) -> Self {
        Self {
            validatorCount: c.validator_count,
            networkFeeIndex: c.network_fee_index,
            index: c.index,
            active: c.active,
            balance: c.balance,
        }
    }
}

impl Chain {
    fn views(&self) -> SSVNetworkViews::SSVNetworkViewsInstance<&alloy::providers::DynProvider> {
        SSVNetworkViews::new(self.profile().ssv_views, self.provider())
    }

    /// Latest block number.
    pub async fn head(&self) -> Result<u64, ChainError> {
        // Through the retrying provider: rate-limited endpoints answer this 429 like any call.
        self.scan_provider
            .get_block_number()
            .await
            .map_err(self.rpc_err("eth_blockNumber"))
    }

    /// `getVersion()` of SSVNetwork, e.g. "v2.0.0".
    pub async fn ssv_version_string(&self) -> Result<String, ChainError> {
        SSVNetwork::new(self.profile().ssv_network, self.provider())
            .getVersion()
            .call()
            .await
            .map_err(self.call_err("SSVNetwork.getVersion"))
    }

    /// The SSVNetwork generation (v1 or v2), never guessed: an unknown major version is an error.
    pub async fn ssv_version(&self) -> Result<SsvVersion, ChainError> {
        SsvVersion::parse(&self.ssv_version_string().await?)
    }

    /// `getClusterAssetType`: ETH or SSV billing of an existing cluster (`None` if none exists).
    /// On v1 every cluster is SSV-billed.
    pub async fn cluster_billing(
        &self,
        owner: Address,
        ids: &[u64],
    ) -> Result<Option<Billing>, ChainError> {
        if self.ssv_version().await? == SsvVersion::V1 {
            return Ok(Some(Billing::Ssv));
        }
        match self
            .views()
            .getClusterAssetType(owner, ids.to_vec())
            .call()
            .await
        {
            Ok(1) => Ok(Some(Billing::Eth)),
            Ok(0) => Ok(Some(Billing::Ssv)),
            Ok(other) => Err(ChainError::Unexpected {
                what: "getClusterAssetType".into(),
                detail: format!("unknown asset type {other}"),
            }),
            Err(e) => match self.call_err("SSVNetworkViews.getClusterAssetType")(e) {
                ChainError::Revert { revert, .. } if revert.is_cluster_missing() => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Whether `owner` may use each of the (private) operators: the ids the views say whitelist it.
    pub async fn whitelisted_operators(
        &self,
        ids: &[u64],
        owner: Address,
    ) -> Result<Vec<u64>, ChainError> {
        self.views()
            .getWhitelistedOperators(ids.to_vec(), owner)
            .call()
            .await
            .map_err(self.call_err("getWhitelistedOperators"))
    }

    /// The public key bytes an operator registered with (`OperatorAdded`), as the chain stores
    /// them: `abi.encode(string base64Pem)`. Returns the decoded base64 string.
    pub async fn operator_public_key(&self, id: u64) -> Result<Option<String>, ChainError> {
        let filter = Filter::new()
            .address(self.profile().ssv_network)
            .event_signature(SSVNetwork::OperatorAdded::SIGNATURE_HASH)
            .topic1(B256::from(U256::from(id)));
        let head = self.head().await?;
        let mut found = None;
        self.log_scanner()
            .scan_forward(&filter, self.profile().registry_sync_offset, head, |logs| {
                found = logs
                    .iter()
                    .find_map(|l| SSVNetwork::OperatorAdded::decode_log(&l.inner).ok());
                if found.is_some() {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            })
            .await?;
        Ok(found.map(|e| decode_operator_key(&e.data.publicKey)))
    }

    /// [`Chain::operator_public_key`] for many operators in one log scan (an `OperatorAdded`
    /// filter on all their ids, stopping once every key is found); in the order of `ids`.
    pub async fn operator_public_keys(
        &self,
        ids: &[u64],
    ) -> Result<Vec<Option<String>>, ChainError> {
        let mut wanted: Vec<u64> = ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let mut found: std::collections::BTreeMap<u64, String> = Default::default();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let topics: Vec<B256> = wanted
            .iter()
            .map(|id| B256::from(U256::from(*id)))
            .collect();
        let filter = Filter::new()
            .address(self.profile().ssv_network)
            .event_signature(SSVNetwork::OperatorAdded::SIGNATURE_HASH)
            .topic1(topics);
        let head = self.head().await?;
        self.log_scanner()
            .scan_forward(&filter, self.profile().registry_sync_offset, head, |logs| {
                for l in logs {
                    if let Ok(e) = SSVNetwork::OperatorAdded::decode_log(&l.inner) {
                        // The first registration of an id is the one that stands (ids never repeat).
                        found
                            .entry(e.data.operatorId)
                            .or_insert_with(|| decode_operator_key(&e.data.publicKey));
                    }
                }
                if found.len() == wanted.len() {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            })
            .await?;
        Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    /// `getValidatorsPerOperatorLimit()`.
    pub async fn validators_per_operator_limit(&self) -> Result<u32, ChainError> {
        self.views()
            .getValidatorsPerOperatorLimit()
            .call()
            .await
            .map_err(self.call_err("getValidatorsPerOperatorLimit"))
    }

    /// Whether `owner` registered `pubkey` (`getValidator`).
    pub async fn validator_exists(
        &self,
        owner: Address,
        pubkey: &[u8],
    ) -> Result<bool, ChainError> {
        self.views()
            .getValidator(owner, Bytes::copy_from_slice(pubkey))
            .call()
            .await
            .map_err(self.call_err("getValidator"))
    }

    /// ETH balance of an address.
    pub async fn eth_balance(&self, who: Address) -> Result<U256, ChainError> {
        self.provider()
            .get_balance(who)
            .await
            .map_err(self.rpc_err("eth_getBalance"))
    }

    /// SSV token balance of an address.
    pub async fn ssv_balance(&self, who: Address) -> Result<U256, ChainError> {
        SSVToken::new(self.profile().ssv_token, self.provider())
            .balanceOf(who)
            .call()
            .await
            .map_err(self.call_err("SSVToken.balanceOf"))
    }

    /// The owner nonce: every `ValidatorAdded` ever emitted for `owner` (removed validators
    /// included), counted from the registry sync offset, resuming from the scan cache if set. The
    /// same scan reads every cluster-bearing event, so with a cache it also stores the owner's
    /// cluster snapshots: a snapshot asked for next needs only the blocks since.
    pub async fn owner_nonce(&self, owner: Address) -> Result<u64, ChainError> {
        let head = self.head().await?;
        let key = nonce_key(self, owner);
        let (mut from, mut count) = (self.profile().registry_sync_offset, 0u64);
        let cached = self
            .cache_dir()
            .and_then(|d| scan_cache::load::<u64>(d, &key))
            .filter(|(h, _)| *h < head);
        let resumed = cached.is_some();
        if let Some((h, c)) = cached {
            (from, count) = (h + 1, c);
        }
        let filter = Filter::new()
            .address(self.profile().ssv_network)
            .event_signature(cluster_event_topics())
            .topic1(owner.into_word());
        let settled = head.saturating_sub(scan_cache::REORG_MARGIN);
        let mut newest: std::collections::BTreeMap<Vec<u64>, Cluster> = Default::default();
        let tally =
            |logs: &[Log],
             count: &mut u64,
             newest: &mut std::collections::BTreeMap<Vec<u64>, Cluster>| {
                for log in logs {
                    if log.topic0() == Some(&SSVNetwork::ValidatorAdded::SIGNATURE_HASH) {
                        *count += 1;
                    }
                    if let Some((ids, c)) = decode_cluster_log(log) {
                        newest.insert(ids, c);
                    }
                }
            };
        let mut scanner = self.log_scanner();
        // Scan the settled part first so its results can be cached, then the recent tail.
        if from <= settled {
            scanner
                .scan_forward(&filter, from, settled, |logs| {
                    tally(logs, &mut count, &mut newest);
                    Flow::Continue
                })
                .await?;
            if let Some(dir) = self.cache_dir() {
                // The owner's known clusters as of `from - 1` (what a resumed scan continues).
                let index_key = clusters_key(self, owner);
                let known = match scan_cache::load::<Vec<Vec<u64>>>(dir, &index_key) {
                    Some((h, sets)) if resumed && h + 1 == from => Some(sets),
                    _ if !resumed => Some(Vec::new()),
                    _ => None,
                };
                for (ids, c) in &newest {
                    let ck = cluster_key(self, owner, ids);
                    scan_cache::store(dir, &ck, settled, &Some(CachedCluster::from(c)))?;
                }
                if let Some(mut sets) = known {
                    sets.extend(newest.keys().cloned());
                    sets.sort();
                    sets.dedup();
                    scan_cache::store(dir, &index_key, settled, &sets)?;
                }
                scan_cache::store(dir, &key, settled, &count)?;
            }
            from = settled + 1;
        }
        scanner
            .scan_forward(&filter, from, head, |logs| {
                tally(logs, &mut count, &mut Default::default());
                Flow::Continue
            })
            .await?;
        Ok(count)
    }

    /// The cluster's current snapshot: the `Cluster` of the newest owner-filtered event for exactly
    /// these operator ids (any of the eight cluster-bearing events), or `None` if there is none.
    pub async fn cluster_snapshot(
        &self,
        owner: Address,
        operator_ids: &[u64],
    ) -> Result<Option<Cluster>, ChainError> {
        let head = self.head().await?;
        self.cluster_snapshot_at(owner, operator_ids, head).await
    }

    /// [`Chain::cluster_snapshot`] as of block `head`.
    pub async fn cluster_snapshot_at(
        &self,
        owner: Address,
        operator_ids: &[u64],
        head: u64,
    ) -> Result<Option<Cluster>, ChainError> {
        let mut ids = operator_ids.to_vec();
        ids.sort_unstable();
        let key = cluster_key(self, owner, &ids);
        // A cluster of its own, or one the owner index (from the nonce scan) shows never existed.
        let cached = self.cache_dir().and_then(|d| {
            scan_cache::load::<Option<CachedCluster>>(d, &key).or_else(|| {
                scan_cache::load::<Vec<Vec<u64>>>(d, &clusters_key(self, owner))
                    .filter(|(_, sets)| !sets.contains(&ids))
                    .map(|(h, _)| (h, None))
            })
        });
        let from = match &cached {
            Some((h, _)) if *h < head => h + 1,
            _ => self.profile().registry_sync_offset,
        };
        let filter = Filter::new()
            .address(self.profile().ssv_network)
            .event_signature(cluster_event_topics())
            .topic1(owner.into_word());
        let mut newest: Option<(u64, u64, Cluster)> = None;
        self.log_scanner()
            .scan_backward(&filter, from, head, |logs| {
                for log in logs {
                    let Some((log_ids, cluster)) = decode_cluster_log(log) else {
                        continue;
                    };
                    if log_ids != ids {
                        continue;
                    }
                    let pos = (log.block_number.unwrap_or(0), log.log_index.unwrap_or(0));
                    if newest.as_ref().is_none_or(|(b, i, _)| pos > (*b, *i)) {
                        newest = Some((pos.0, pos.1, cluster));
                    }
                }
                if newest.is_some() {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            })
            .await?;
        let settled = head.saturating_sub(scan_cache::REORG_MARGIN);
        // The answer also holds at the settled height unless the newest event is above it.
        let cacheable = newest.as_ref().is_none_or(|(b, _, _)| *b <= settled);
        let result = match newest {
            Some((_, _, c)) => Some(c),
            None => cached.and_then(|(_, c)| c).map(Cluster::from),
        };
        if let (Some(dir), true) = (self.cache_dir(), cacheable) {
            scan_cache::store(
                dir,
                &key,
                settled,
                &result.as_ref().map(CachedCluster::from),
            )?;
        }
        Ok(result)
    }
}

fn nonce_key(chain: &Chain, owner: Address) -> String {
    let p = chain.profile();
    format!("nonce:{}:{}:{owner}", p.chain_id, p.ssv_network)
}

/// The operator sets the owner had clusters with, as of the cached height.
fn clusters_key(chain: &Chain, owner: Address) -> String {
    let p = chain.profile();
    format!("clusters:{}:{}:{owner}", p.chain_id, p.ssv_network)
}

fn cluster_key(chain: &Chain, owner: Address, sorted_ids: &[u64]) -> String {
    let p = chain.profile();
    let ids = sorted_ids
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    format!("cluster:{}:{}:{owner}:{ids}", p.chain_id, p.ssv_network)
}

/// On-chain operator keys are `abi.encode(string)`; older deployments stored the raw string.
pub fn decode_operator_key(bytes: &[u8]) -> String {
    String::abi_decode(bytes).unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned())
}

impl Chain {
    /// Maps a contract-call error to a [`ChainError`]: a decoded [`Revert`], or the transport
    /// error scrubbed of the endpoint's secrets.
    pub fn call_err(
        &self,
        what: &str,
    ) -> impl FnOnce(alloy::contract::Error) -> ChainError + use<> {
        let what = what.to_string();
        let url = self.config().url.clone();
        move |e| match e.as_revert_data() {
            Some(data) => ChainError::Revert {
                what,
                revert: Revert::from_data(&data),
            },
            None => ChainError::Rpc {
                what,
                source: Cause::scrubbed(&e, Some(&url)),
            },
        }
    }
}

/// Runs `calls` (to, calldata) at `block`; each result is the return data, or the call's own
/// error (reverts decoded). Returns the results and the round trips used. More calls than one
/// JSON-RPC batch holds go through Multicall3 where it is deployed (`chain::multicall`), unless
/// the chain was opened with `multicall` off; otherwise, and for small reads, plain batches.
pub async fn eth_call_batch(
    chain: &Chain,
    calls: &[(Address, Vec<u8>)],
    block: u64,
) -> Result<(Vec<Result<Bytes, ChainError>>, u64), ChainError> {
    if calls.len() > CALLS_PER_BATCH && chain.config().multicall {
        let (deployed, trips) = chain.multicall3_deployed(block).await?;
        if deployed {
            let (out, t) = super::multicall::aggregated(chain, calls, block).await?;
            return Ok((out, trips + t));
        }
        let (out, t) = plain_call_batch(chain, calls, block).await?;
        return Ok((out, trips + t));
    }
    plain_call_batch(chain, calls, block).await
}

/// [`eth_call_batch`] without Multicall3: one `eth_call` per call, [`CALLS_PER_BATCH`] to a
/// JSON-RPC batch, one batch after the other.
pub async fn plain_call_batch(
    chain: &Chain,
    calls: &[(Address, Vec<u8>)],
    block: u64,
) -> Result<(Vec<Result<Bytes, ChainError>>, u64), ChainError> {
    let client = chain.provider().client();
    let url = chain.config().url.clone();
    let mut out = Vec::with_capacity(calls.len());
    let mut trips = 0;
    for chunk in calls.chunks(CALLS_PER_BATCH) {
        let mut batch = alloy::rpc::client::BatchRequest::new(client);
        let mut waiters = Vec::with_capacity(chunk.len());
        for (to, data) in chunk {
            let tx = TransactionRequest::default()
                .to(*to)
                .input(Bytes::from(data.clone()).into());
            let w = batch
                .add_call::<_, Bytes>("eth_call", &(tx, BlockId::number(block)))
                .map_err(|e| ChainError::Unexpected {
                    what: "building an eth_call batch".into(),
                    detail: e.to_string(),
                })?;
            waiters.push(w);
        }
        batch
            .send()
            .await
            .map_err(chain.rpc_err("batched eth_call"))?;
        trips += 1;
        for w in waiters {
            out.push(w.await.map_err(
                |e| match e.as_error_resp().and_then(|r| r.as_revert_data()) {
                    Some(d) => ChainError::Revert {
                        what: "eth_call".into(),
                        revert: Revert::from_data(&d),
                    },
                    None => ChainError::Rpc {
                        what: "eth_call".into(),
                        source: Cause::scrubbed(&e, Some(&url)),
                    },
                },
            ));
        }
    }
    Ok((out, trips))
}

/// Calls per JSON-RPC batch: large enough to keep round trips low, small enough for node limits.
pub const CALLS_PER_BATCH: usize = 1_000;

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::address;

    #[test]
    fn cluster_hash_packs_balance_before_active() {
        let c = Cluster {
            validatorCount: 1,
            networkFeeIndex: 2,
            index: 3,
            active: true,
            balance: U256::from(4),
        };
        let mut pre = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3];
        pre.extend_from_slice(&U256::from(4).to_be_bytes::<32>());
        pre.push(1);
        assert_eq!(pre.len(), 53);
        assert_eq!(cluster_hash(&c), keccak256(pre));
    }

    #[test]
    fn cluster_id_sorts_and_pads_ids() {
        let owner = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        assert_eq!(
            cluster_id(owner, &[4, 3, 2, 1]),
            cluster_id(owner, &[1, 2, 3, 4])
        );
        let mut pre = owner.to_vec();
        for i in 1u64..=4 {
            pre.extend_from_slice(&U256::from(i).to_be_bytes::<32>());
        }
        assert_eq!(cluster_id(owner, &[1, 2, 3, 4]), keccak256(pre));
    }

    #[test]
    fn operator_key_decodes_abi_string_and_raw() {
        let s = "LS0tLS1CRUdJTiBSU0E=".to_string();
        assert_eq!(decode_operator_key(&s.abi_encode()), s);
        assert_eq!(decode_operator_key(s.as_bytes()), s);
    }
}
