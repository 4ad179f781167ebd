//! Effective balance (EB) on the devnet, the same way for the doubles and the real contracts:
//! four oracle accounts vote a Merkle root with `commitRoot` until it reaches quorum, then anyone
//! proves a cluster's EB against it with the permissionless `updateClusterBalance`. That is what
//! makes compounding (0x02) validators above 32 ETH billable on the devnet.
//!
//! The leaf is what SSVClusters checks: `keccak256(bytes.concat(keccak256(abi.encode(clusterId,
//! uint32 effectiveBalance))))` (OpenZeppelin's standard-tree leaf), with OpenZeppelin
//! `MerkleProof`'s sorted-pair hashing. The tree has the cluster's leaf and one filler leaf, so the
//! proof is never trivially empty.

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, TransactionReceipt},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolEvent, SolValue},
};

use super::{
    DAO_ACCOUNT, DevnetError, dev_account,
    tx::{TxError, call_tx, rpc, transact},
};
use crate::{
    chain::{
        contracts::Cluster,
        reads::{cluster_id, decode_cluster_log},
    },
    network::NetworkProfile,
};

/// First dev-mnemonic index of the four oracle accounts (10..=13, beyond anvil's ten unlocked
/// accounts; the devnet impersonates and funds them).
pub const ORACLE_MNEMONIC_INDEX: u32 = 10;

mod abi {
    #![allow(missing_docs, clippy::too_many_arguments)]
    use alloy::sol;

    sol! {
        /// The oracle side of SSVNetwork v2.0.0 (same selectors on the double).
        interface EffectiveBalanceOracle {
            struct Cluster {
                uint32 validatorCount;
                uint64 networkFeeIndex;
                uint64 index;
                bool active;
                uint256 balance;
            }
            function replaceOracle(uint32 oracleId, address newOracle) external;
            function commitRoot(bytes32 merkleRoot, uint64 blockNum) external;
            function updateClusterBalance(uint64 blockNum, address clusterOwner, uint64[] operatorIds, Cluster cluster, uint32 effectiveBalance, bytes32[] merkleProof) external;
            event RootCommitted(bytes32 indexed merkleRoot, uint64 indexed blockNum);
        }
    }
}
pub use abi::EffectiveBalanceOracle;

/// The four oracle accounts (ids 1..=4): public test keys, never real money.
pub fn oracle_accounts() -> [PrivateKeySigner; 4] {
    std::array::from_fn(|i| dev_account(ORACLE_MNEMONIC_INDEX + i as u32))
}

/// What [`set_effective_balance`](super::Devnet::set_effective_balance) did.
#[derive(Debug, Clone)]
pub struct EffectiveBalanceUpdate {
    /// The block whose root was committed (and that `updateClusterBalance` names).
    pub root_block: u64,
    /// The committed root.
    pub root: B256,
    /// The `commitRoot` receipts, one per oracle vote (the last one holds `RootCommitted`).
    pub commit_receipts: Vec<TransactionReceipt>,
    /// The `updateClusterBalance` receipt (its logs hold `ClusterBalanceUpdated`, and
    /// `ClusterLiquidated` when the new EB made the cluster liquidatable).
    pub receipt: TransactionReceipt,
    /// The cluster snapshot after the update.
    pub cluster: Cluster,
}

/// The standard-tree leaf SSVClusters verifies.
pub fn leaf(owner: Address, operator_ids: &[u64], effective_balance: u32) -> B256 {
    let inner = keccak256((cluster_id(owner, operator_ids), effective_balance).abi_encode());
    keccak256(inner)
}

/// OpenZeppelin `MerkleProof` pair hash: the smaller word first.
fn hash_pair(a: B256, b: B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// A two-leaf tree: the cluster's leaf and a filler. Returns (root, proof).
pub fn root_and_proof(leaf: B256) -> (B256, Vec<B256>) {
    let filler = keccak256(b"ssv-agent devnet filler leaf");
    (hash_pair(leaf, filler), vec![filler])
}

fn to_abi(c: &Cluster) -> abi::EffectiveBalanceOracle::Cluster {
    abi::EffectiveBalanceOracle::Cluster {
        validatorCount: c.validatorCount,
        networkFeeIndex: c.networkFeeIndex,
        index: c.index,
        active: c.active,
        balance: c.balance,
    }
}

/// Impersonates and funds the oracle accounts and registers them as oracles 1..=4.
pub(super) async fn configure_oracles(
    p: &DynProvider,
    profile: &NetworkProfile,
) -> Result<(), TxError> {
    let dao = dev_account(DAO_ACCOUNT).address();
    for (i, o) in oracle_accounts().iter().enumerate() {
        let a = o.address();
        rpc(p, "anvil_impersonateAccount", (a,)).await?;
        rpc(
            p,
            "anvil_setBalance",
            (
                a,
                U256::from(100u64) * U256::from(10u64).pow(U256::from(18)),
            ),
        )
        .await?;
        let call = EffectiveBalanceOracle::replaceOracleCall {
            oracleId: i as u32 + 1,
            newOracle: a,
        };
        transact(
            p,
            "SSVNetwork.replaceOracle",
            call_tx(dao, profile.ssv_network, call.abi_encode()),
        )
        .await?;
    }
    Ok(())
}

/// The owner's latest snapshot of the cluster on `operator_ids`, from SSVNetwork's logs.
pub(super) async fn cluster_snapshot(
    p: &DynProvider,
    profile: &NetworkProfile,
    owner: Address,
    operator_ids: &[u64],
) -> Result<Option<Cluster>, TxError> {
    let mut ids = operator_ids.to_vec();
    ids.sort_unstable();
    let filter = Filter::new()
        .address(profile.ssv_network)
        .topic1(B256::left_padding_from(owner.as_slice()))
        .from_block(0u64);
    let logs = p.get_logs(&filter).await.map_err(|source| TxError::Rpc {
        what: format!("reading the cluster events of {owner}"),
        source,
    })?;
    Ok(logs
        .iter()
        .filter_map(decode_cluster_log)
        .filter(|(event_ids, _)| *event_ids == ids)
        .map(|(_, c)| c)
        .last())
}

/// Commits a root for the current head block (votes until `RootCommitted`), then proves the
/// cluster's `effective_balance_eth` with `updateClusterBalance` sent by oracle 1.
pub(super) async fn set_effective_balance(
    p: &DynProvider,
    profile: &NetworkProfile,
    owner: Address,
    operator_ids: &[u64],
    effective_balance_eth: u32,
) -> Result<EffectiveBalanceUpdate, DevnetError> {
    let mut ids = operator_ids.to_vec();
    ids.sort_unstable();
    let cluster =
        cluster_snapshot(p, profile, owner, &ids)
            .await?
            .ok_or(DevnetError::NoCluster {
                owner,
                operator_ids: ids.clone(),
            })?;
    let root_block = p.get_block_number().await.map_err(|source| TxError::Rpc {
        what: "reading the head block".into(),
        source,
    })?;
    let l = leaf(owner, &ids, effective_balance_eth);
    let (root, proof) = root_and_proof(l);
    let oracles = oracle_accounts();
    let mut committed = false;
    let mut commit_receipts = Vec::new();
    for o in &oracles {
        let call = EffectiveBalanceOracle::commitRootCall {
            merkleRoot: root,
            blockNum: root_block,
        };
        let r = transact(
            p,
            "SSVNetwork.commitRoot",
            call_tx(o.address(), profile.ssv_network, call.abi_encode()),
        )
        .await?;
        committed =
            r.inner.logs().iter().any(|l| {
                l.topic0() == Some(&EffectiveBalanceOracle::RootCommitted::SIGNATURE_HASH)
            });
        commit_receipts.push(r);
        if committed {
            break;
        }
    }
    if !committed {
        return Err(DevnetError::RootNotCommitted { block: root_block });
    }
    let update = EffectiveBalanceOracle::updateClusterBalanceCall {
        blockNum: root_block,
        clusterOwner: owner,
        operatorIds: ids.clone(),
        cluster: to_abi(&cluster),
        effectiveBalance: effective_balance_eth,
        merkleProof: proof,
    };
    let receipt = transact(
        p,
        "SSVNetwork.updateClusterBalance",
        call_tx(
            oracles[0].address(),
            profile.ssv_network,
            update.abi_encode(),
        ),
    )
    .await?;
    let cluster = receipt
        .inner
        .logs()
        .iter()
        .filter_map(decode_cluster_log)
        .map(|(_, c)| c)
        .last()
        .unwrap_or(cluster);
    Ok(EffectiveBalanceUpdate {
        root_block,
        root,
        commit_receipts,
        receipt,
        cluster,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proof_verifies_as_openzeppelin_merkle_proof_does() {
        let l = leaf(Address::repeat_byte(7), &[4, 1, 3, 2], 64);
        let (root, proof) = root_and_proof(l);
        let computed = proof.iter().fold(l, |acc, p| hash_pair(acc, *p));
        assert_eq!(computed, root);
        // Ids are sorted as the contract's cluster key expects, whatever order is given.
        assert_eq!(l, leaf(Address::repeat_byte(7), &[1, 2, 3, 4], 64));
        assert_ne!(l, leaf(Address::repeat_byte(7), &[1, 2, 3, 4], 65));
    }
}
