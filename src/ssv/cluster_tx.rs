//! Transactions that add money to a cluster: a top-up (`deposit`) and a reactivation, each in the
//! chain's currency (ETH value on v2; SSV `approve` then the amount-taking call on v1). The watch
//! service and the pipeline's fund stage both send through here, with their own journal.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};

use crate::{
    chain::{
        Chain, ChainError,
        contracts::{Cluster, SSVNetwork, SSVNetworkV1, SSVToken},
        reads::SsvVersion,
        send::send,
    },
    journal::{JournalError, TxRecord},
};

/// What a watch transaction does to a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `deposit` into an active cluster.
    TopUp,
    /// `reactivate` a liquidated cluster with a balance.
    Reactivate,
}

impl Action {
    /// The journal kind of the value-carrying transaction.
    pub fn kind(self) -> &'static str {
        match self {
            Self::TopUp => "topup",
            Self::Reactivate => "reactivate",
        }
    }
}

/// One transaction to send for one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What to do.
    pub action: Action,
    /// Cluster key.
    pub cluster_id: B256,
    /// Owner.
    pub owner: Address,
    /// Sorted operator ids.
    pub operator_ids: Vec<u64>,
    /// Latest snapshot.
    pub snapshot: Cluster,
    /// Amount to add.
    pub amount: U256,
}

/// Builds the value-carrying call of `plan` for `version`.
fn main_call(chain: &Chain, version: SsvVersion, plan: &Plan) -> TransactionRequest {
    let net = chain.profile().ssv_network;
    let ids = plan.operator_ids.clone();
    let cluster = plan.snapshot.clone();
    let (value, input) = match (version, plan.action) {
        (SsvVersion::V2, Action::TopUp) => (
            plan.amount,
            SSVNetwork::depositCall {
                clusterOwner: plan.owner,
                operatorIds: ids,
                cluster,
            }
            .abi_encode(),
        ),
        (SsvVersion::V2, Action::Reactivate) => (
            plan.amount,
            SSVNetwork::reactivateCall {
                operatorIds: ids,
                cluster,
            }
            .abi_encode(),
        ),
        (SsvVersion::V1, Action::TopUp) => (
            U256::ZERO,
            SSVNetworkV1::depositCall {
                clusterOwner: plan.owner,
                operatorIds: ids,
                amount: plan.amount,
                cluster,
            }
            .abi_encode(),
        ),
        (SsvVersion::V1, Action::Reactivate) => (
            U256::ZERO,
            SSVNetworkV1::reactivateCall {
                operatorIds: ids,
                amount: plan.amount,
                cluster,
            }
            .abi_encode(),
        ),
    };
    let tx = TransactionRequest::default().with_to(net).with_input(input);
    if value.is_zero() {
        tx
    } else {
        tx.with_value(value)
    }
}

/// Sends `plan` (with the v1 approve first), handing every transaction and the amount it adds to
/// the cluster (0 for an approve) to `journal` before it is broadcast. Returns the hash of the
/// value-carrying transaction.
pub async fn execute(
    chain: &Chain,
    version: SsvVersion,
    plan: &Plan,
    mut journal: impl FnMut(&TxRecord, U256) -> Result<(), JournalError>,
) -> Result<B256, ChainError> {
    if version == SsvVersion::V1 {
        let approve = TransactionRequest::default()
            .with_to(chain.profile().ssv_token)
            .with_input(
                SSVToken::approveCall {
                    spender: chain.profile().ssv_network,
                    amount: plan.amount,
                }
                .abi_encode(),
            );
        // Journaled with a zero amount: only the deposit itself counts toward the spend caps.
        send(chain, "approve", approve, |r| journal(r, U256::ZERO)).await?;
    }
    let tx = main_call(chain, version, plan);
    let amount = plan.amount;
    let (rec, _) = send(chain, plan.action.kind(), tx, |r| journal(r, amount)).await?;
    Ok(rec.tx_hash)
}
