//! Sending as someone whose key we do not hold, on an anvil fork only (`ssv-agent run --dry-run`):
//! `anvil_impersonateAccount` unlocks the owner on the fork, and `eth_sendTransaction` lets anvil
//! sign. Refuses any node that is not anvil, so a dry run can never reach a real chain this way.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::{TransactionReceipt, TransactionRequest},
};

use super::{Chain, ChainError, send::simulate};

/// One transaction executed on the fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkTx {
    /// What it does (`deposit`, `register`, `topup`, ...).
    pub kind: String,
    /// Hash on the fork.
    pub hash: B256,
    /// Recipient contract.
    pub to: Address,
    /// Gas the fork used.
    pub gas_used: u64,
    /// ETH sent with it, in wei.
    pub value: U256,
    /// Block on the fork.
    pub block: u64,
}

/// Fails unless the node says it is anvil (`web3_clientVersion` starts with `anvil`).
pub async fn require_anvil(chain: &Chain) -> Result<(), ChainError> {
    let version: String = chain
        .provider()
        .raw_request("web3_clientVersion".into(), ())
        .await
        .map_err(Chain::rpc_err("web3_clientVersion"))?;
    if version.to_ascii_lowercase().starts_with("anvil") {
        Ok(())
    } else {
        Err(ChainError::Rpc {
            what: "impersonation".into(),
            message: format!(
                "the node is `{version}`, not anvil; impersonation is only used on a local fork"
            ),
        })
    }
}

/// Unlocks `who` on the anvil fork so transactions from it need no key.
pub async fn impersonate(chain: &Chain, who: Address) -> Result<(), ChainError> {
    require_anvil(chain).await?;
    chain
        .provider()
        .raw_request::<_, serde_json::Value>("anvil_impersonateAccount".into(), (who,))
        .await
        .map_err(Chain::rpc_err("anvil_impersonateAccount"))?;
    Ok(())
}

/// Simulates, then sends `tx` from the impersonated `from` and waits for its receipt; a revert is
/// decoded (simulation) or reported with its hash.
pub async fn send_as(
    chain: &Chain,
    from: Address,
    kind: &str,
    tx: TransactionRequest,
) -> Result<(ForkTx, TransactionReceipt), ChainError> {
    let tx = tx.with_from(from).with_chain_id(chain.profile().chain_id);
    let gas = simulate(chain, kind, &tx).await?;
    let tx = tx.with_gas_limit(gas.saturating_mul(12) / 10);
    let to = tx.to.and_then(|t| t.to().copied()).unwrap_or_default();
    let value = tx.value.unwrap_or(U256::ZERO);
    let pending = chain
        .provider()
        .send_transaction(tx)
        .await
        .map_err(Chain::rpc_err(format!(
            "eth_sendTransaction ({kind}) on the fork"
        )))?;
    let hash = *pending.tx_hash();
    let receipt = pending.get_receipt().await.map_err(|e| ChainError::Rpc {
        what: format!("receipt of the {kind} transaction {hash} on the fork"),
        message: e.to_string(),
    })?;
    if !receipt.status() {
        return Err(ChainError::Revert {
            what: format!("{kind} transaction {hash} on the fork"),
            reason: "status 0".into(),
        });
    }
    Ok((
        ForkTx {
            kind: kind.to_string(),
            hash,
            to,
            gas_used: receipt.gas_used,
            value,
            block: receipt.block_number.unwrap_or_default(),
        },
        receipt,
    ))
}
