//! An owner's validators as SSVNetwork's events tell them: which cluster each public key was
//! registered in, whether it was removed since, and whether an exit was requested. One scan of the
//! owner's events serves `status`, `remove` and `exit`.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256},
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use serde::Serialize;

use crate::chain::{Chain, ChainError, contracts::SSVNetwork, logs::Flow, reads::cluster_id};

/// One validator public key the owner registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnedValidator {
    /// 0x-prefixed public key.
    pub pubkey: String,
    /// The cluster's sorted operator ids.
    pub operator_ids: Vec<u64>,
    /// The cluster key.
    pub cluster_id: B256,
    /// Removed from SSV after its (last) registration.
    pub removed: bool,
    /// An exit was requested through SSV (`ValidatorExited`) after its last registration.
    pub exit_requested: bool,
}

/// Every validator `owner` registered, from the registry offset to `head`, in registration order.
pub async fn owner_validators(
    chain: &Chain,
    owner: Address,
    head: u64,
) -> Result<Vec<OwnedValidator>, ChainError> {
    let filter = Filter::new()
        .address(chain.profile().ssv_network)
        .event_signature(vec![
            SSVNetwork::ValidatorAdded::SIGNATURE_HASH,
            SSVNetwork::ValidatorRemoved::SIGNATURE_HASH,
            SSVNetwork::ValidatorExited::SIGNATURE_HASH,
        ])
        .topic1(owner.into_word());
    // Keyed by pubkey, in first-registration order (the Vec keeps the order).
    let mut order: Vec<String> = Vec::new();
    let mut by_key: BTreeMap<String, OwnedValidator> = BTreeMap::new();
    chain
        .log_scanner()
        .scan_forward(
            &filter,
            chain.profile().registry_sync_offset,
            head,
            |logs| {
                for log in logs {
                    apply(log, owner, &mut order, &mut by_key);
                }
                Flow::Continue
            },
        )
        .await?;
    Ok(order
        .into_iter()
        .filter_map(|k| by_key.remove(&k))
        .collect())
}

fn apply(
    log: &Log,
    owner: Address,
    order: &mut Vec<String>,
    by_key: &mut BTreeMap<String, OwnedValidator>,
) {
    let hex = |b: &[u8]| format!("0x{}", hex::encode(b));
    let inner = &log.inner;
    match log.topic0() {
        Some(&SSVNetwork::ValidatorAdded::SIGNATURE_HASH) => {
            let Ok(e) = SSVNetwork::ValidatorAdded::decode_log(inner) else {
                return;
            };
            let key = hex(&e.data.publicKey);
            if !by_key.contains_key(&key) {
                order.push(key.clone());
            }
            let mut ids = e.data.operatorIds;
            ids.sort_unstable();
            by_key.insert(
                key.clone(),
                OwnedValidator {
                    pubkey: key,
                    cluster_id: cluster_id(owner, &ids),
                    operator_ids: ids,
                    removed: false,
                    exit_requested: false,
                },
            );
        }
        Some(&SSVNetwork::ValidatorRemoved::SIGNATURE_HASH) => {
            if let Ok(e) = SSVNetwork::ValidatorRemoved::decode_log(inner)
                && let Some(v) = by_key.get_mut(&hex(&e.data.publicKey))
            {
                v.removed = true;
            }
        }
        Some(&SSVNetwork::ValidatorExited::SIGNATURE_HASH) => {
            if let Ok(e) = SSVNetwork::ValidatorExited::decode_log(inner)
                && let Some(v) = by_key.get_mut(&hex(&e.data.publicKey))
            {
                v.exit_requested = true;
            }
        }
        _ => {}
    }
}
