//! The interop genesis deposits of `lodestar dev`, made for real in the anvil deposit contract.
//!
//! `lodestar dev --genesisValidators N` starts from `eth1_data = {deposit_root: root of N interop
//! deposits, deposit_count: N}`, and an eth1 vote is only valid when the contract holds at least N
//! deposits. So the contract must hold exactly those N deposits, in order, before any other deposit,
//! or the new deposit can never be voted in. Each one is as Lodestar's `interopDeposits` builds it:
//! the consensus-specs interop key `i`, BLS (0x00) withdrawal credentials `sha256(pubkey)` with the
//! first byte zeroed, 32 ETH, signed under the genesis fork version.

use alloy::{
    primitives::{Address, Bytes, FixedBytes, TxHash, U256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
};
use blst::min_pk::SecretKey;
use sha2::{Digest, Sha256};

use crate::{
    chain::contracts::DepositContract,
    crypto::bls::{self, Dst},
    deposit::data::{DepositMessage, deposit_data_root, deposit_signing_root},
};

/// 32 ETH in gwei, `MAX_EFFECTIVE_BALANCE` of the pre-Electra presets Lodestar 1.5.1 runs.
pub const INTEROP_AMOUNT_GWEI: u64 = 32_000_000_000;
/// Depth of the deposit contract's merkle tree.
const DEPOSIT_TREE_DEPTH: usize = 32;
/// The BLS12-381 group order r, big-endian.
const CURVE_ORDER_BE: [u8; 32] = [
    0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
    0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
];

/// A failure to derive or place the interop deposits.
#[derive(Debug, thiserror::Error)]
pub enum InteropError {
    /// The interop derivation gave an invalid secret key (cannot happen for real indices).
    #[error("interop key {index} is not a valid BLS secret key")]
    BadKey {
        /// The validator index.
        index: u32,
    },
    /// A call or transaction to the deposit contract failed.
    #[error("deposit contract {contract}: {what} failed: {reason}")]
    Rpc {
        /// The deposit contract.
        contract: Address,
        /// The call.
        what: String,
        /// The node's error.
        reason: String,
    },
    /// The contract already holds deposits that are not the interop ones.
    #[error(
        "deposit contract {contract} already holds {count} deposits (root {root}) that are not the \
         {wanted} interop genesis deposits; start from a fresh devnet chain"
    )]
    ContractNotEmpty {
        /// The deposit contract.
        contract: Address,
        /// Its deposit count.
        count: u64,
        /// Its deposit root.
        root: String,
        /// How many interop deposits the genesis needs.
        wanted: u32,
    },
    /// An interop deposit reverted.
    #[error("interop deposit {index} reverted in transaction {tx_hash}")]
    Reverted {
        /// The validator index.
        index: u32,
        /// The transaction.
        tx_hash: TxHash,
    },
    /// `get_deposit_count` answered something other than 8 little-endian bytes.
    #[error("deposit contract {contract} returned a deposit count of {got_len} bytes, expected 8")]
    BadCount {
        /// The deposit contract.
        contract: Address,
        /// Bytes returned.
        got_len: usize,
    },
    /// After seeding, the contract's count and root are not Lodestar's genesis eth1 data.
    #[error(
        "after seeding, deposit contract {contract} has count {got_count} and root {got_root}; \
         expected {expected_count} and {expected_root} (Lodestar's genesis eth1 data)"
    )]
    RootMismatch {
        /// The deposit contract.
        contract: Address,
        /// The count Lodestar's genesis expects.
        expected_count: u64,
        /// The root Lodestar's genesis expects.
        expected_root: String,
        /// The contract's count.
        got_count: u64,
        /// The contract's root.
        got_root: String,
    },
}

/// One interop deposit, ready for `deposit(...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteropDeposit {
    /// Interop validator index.
    pub index: u32,
    /// Public key, withdrawal credentials, amount.
    pub message: DepositMessage,
    /// POP signature under the deposit domain.
    pub signature: [u8; 96],
    /// `hash_tree_root(DepositData)`.
    pub data_root: [u8; 32],
}

/// What [`seed_interop_deposits`] left in the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteropSeed {
    /// `get_deposit_root()`, equal to Lodestar's genesis `eth1_data.deposit_root`.
    pub deposit_root: [u8; 32],
    /// `get_deposit_count()`.
    pub deposit_count: u64,
    /// Transactions sent now (empty when the contract already held exactly these deposits).
    pub tx_hashes: Vec<TxHash>,
}

/// The consensus-specs interop secret key `i`: `int_le(sha256(le32(i))) mod r` (Lodestar's
/// `interopSecretKey`). These keys are public test keys, never for real funds.
pub fn interop_secret_key(index: u32) -> Result<SecretKey, InteropError> {
    let mut preimage = [0u8; 32];
    preimage[..4].copy_from_slice(&index.to_le_bytes());
    let digest: [u8; 32] = Sha256::digest(preimage).into();
    let reduced = U256::from_le_bytes(digest) % U256::from_be_bytes(CURVE_ORDER_BE);
    SecretKey::from_bytes(&reduced.to_be_bytes::<32>()).map_err(|_| InteropError::BadKey { index })
}

/// Interop deposit `index` signed for a chain with `genesis_fork_version`.
pub fn interop_deposit(
    index: u32,
    genesis_fork_version: [u8; 4],
) -> Result<InteropDeposit, InteropError> {
    let sk = interop_secret_key(index)?;
    let pubkey = bls::public_key(&sk);
    let mut withdrawal_credentials: [u8; 32] = Sha256::digest(pubkey).into();
    withdrawal_credentials[0] = 0x00; // BLS_WITHDRAWAL_PREFIX
    let message = DepositMessage {
        pubkey,
        withdrawal_credentials,
        amount_gwei: INTEROP_AMOUNT_GWEI,
    };
    let signature = bls::sign(
        &sk,
        &deposit_signing_root(&message, genesis_fork_version),
        Dst::Pop,
    );
    let data_root = deposit_data_root(&message, &signature);
    Ok(InteropDeposit {
        index,
        message,
        signature,
        data_root,
    })
}

/// The first `count` interop deposits, in contract order.
pub fn interop_deposits(
    count: u32,
    genesis_fork_version: [u8; 4],
) -> Result<Vec<InteropDeposit>, InteropError> {
    (0..count)
        .map(|i| interop_deposit(i, genesis_fork_version))
        .collect()
}

/// `hash_tree_root(List[DepositData, 2**32])` of these leaves: what the deposit contract's
/// `get_deposit_root()` returns after exactly these deposits, and what genesis `eth1_data` holds.
pub fn deposit_tree_root(data_roots: &[[u8; 32]]) -> [u8; 32] {
    let mut zero = [0u8; 32];
    let mut layer: Vec<[u8; 32]> = data_roots.to_vec();
    for _ in 0..DEPOSIT_TREE_DEPTH {
        if layer.len() % 2 == 1 {
            layer.push(zero);
        }
        layer = layer
            .chunks_exact(2)
            .map(|pair| hash_pair(&pair[0], &pair[1]))
            .collect();
        zero = hash_pair(&zero, &zero);
    }
    let root = layer.first().copied().unwrap_or(zero);
    let mut length = [0u8; 32];
    length[..8].copy_from_slice(&(data_roots.len() as u64).to_le_bytes());
    hash_pair(&root, &length)
}

fn hash_pair(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(a);
    h.update(b);
    h.finalize().into()
}

/// Makes the `count` interop genesis deposits of `lodestar dev --genesisValidators count` into
/// `deposit_contract`, one transaction at a time from `from` (an unlocked anvil account or the
/// provider's wallet), and checks that the contract's root then equals Lodestar's genesis deposit
/// root. A contract that already holds exactly these deposits is left alone; any other non-empty
/// contract is an error, because the genesis deposits must come first.
pub async fn seed_interop_deposits(
    provider: &DynProvider,
    from: Address,
    deposit_contract: Address,
    genesis_fork_version: [u8; 4],
    count: u32,
) -> Result<InteropSeed, InteropError> {
    let deposits = interop_deposits(count, genesis_fork_version)?;
    let leaves: Vec<[u8; 32]> = deposits.iter().map(|d| d.data_root).collect();
    let expected_root = deposit_tree_root(&leaves);
    let contract = DepositContract::new(deposit_contract, provider.clone());

    let (have_count, have_root) = contract_state(&contract).await?;
    if have_count == u64::from(count) && have_root == expected_root {
        return Ok(InteropSeed {
            deposit_root: have_root,
            deposit_count: have_count,
            tx_hashes: vec![],
        });
    }
    if have_count != 0 {
        return Err(InteropError::ContractNotEmpty {
            contract: deposit_contract,
            count: have_count,
            root: format!("0x{}", hex::encode(have_root)),
            wanted: count,
        });
    }

    let value = U256::from(INTEROP_AMOUNT_GWEI) * U256::from(1_000_000_000u64);
    let mut tx_hashes = Vec::with_capacity(deposits.len());
    // Sequential on purpose: parallel sends from one account race on nonces and land out of order.
    for d in &deposits {
        let call = contract.deposit(
            Bytes::copy_from_slice(&d.message.pubkey),
            Bytes::copy_from_slice(&d.message.withdrawal_credentials),
            Bytes::copy_from_slice(&d.signature),
            FixedBytes(d.data_root),
        );
        let tx: TransactionRequest = call.into_transaction_request().from(from).value(value);
        let pending = provider
            .send_transaction(tx)
            .await
            .map_err(|e| InteropError::Rpc {
                contract: deposit_contract,
                what: format!("sending interop deposit {}", d.index),
                reason: e.to_string(),
            })?;
        let receipt = pending.get_receipt().await.map_err(|e| InteropError::Rpc {
            contract: deposit_contract,
            what: format!("waiting for interop deposit {}", d.index),
            reason: e.to_string(),
        })?;
        if !receipt.status() {
            return Err(InteropError::Reverted {
                index: d.index,
                tx_hash: receipt.transaction_hash,
            });
        }
        tx_hashes.push(receipt.transaction_hash);
    }

    let (got_count, got_root) = contract_state(&contract).await?;
    if got_count != u64::from(count) || got_root != expected_root {
        return Err(InteropError::RootMismatch {
            contract: deposit_contract,
            expected_count: u64::from(count),
            expected_root: format!("0x{}", hex::encode(expected_root)),
            got_count,
            got_root: format!("0x{}", hex::encode(got_root)),
        });
    }
    Ok(InteropSeed {
        deposit_root: got_root,
        deposit_count: got_count,
        tx_hashes,
    })
}

/// `(get_deposit_count(), get_deposit_root())`; the count is 8 little-endian bytes.
async fn contract_state(
    contract: &DepositContract::DepositContractInstance<DynProvider>,
) -> Result<(u64, [u8; 32]), InteropError> {
    let address = *contract.address();
    let rpc = |what: &str, e: alloy::contract::Error| InteropError::Rpc {
        contract: address,
        what: what.to_string(),
        reason: e.to_string(),
    };
    let raw_count = contract
        .get_deposit_count()
        .call()
        .await
        .map_err(|e| rpc("get_deposit_count()", e))?;
    let count_le: [u8; 8] = raw_count
        .as_ref()
        .try_into()
        .map_err(|_| InteropError::BadCount {
            contract: address,
            got_len: raw_count.len(),
        })?;
    let root = contract
        .get_deposit_root()
        .call()
        .await
        .map_err(|e| rpc("get_deposit_root()", e))?;
    Ok((u64::from_le_bytes(count_le), root.0))
}
