//! Every check a deposit must pass before ETH moves. The deposit contract verifies only
//! `deposit_data_root`; a wrong signature, fork version or withdrawal address is accepted on chain
//! and the ETH is lost, so these checks are the only protection.
//!
//! All failures of an entry are collected (not just the first) so one run tells the user
//! everything that is wrong. Only two checks can be waived, both for files that are valid but
//! unusual: `network_name` (devnets reuse a public fork version under another name) and a 0x01
//! deposit above 32 ETH (the excess is not lost, it is swept back to the withdrawal address).

use alloy::primitives::Address;

use super::data::{
    COMPOUNDING_WITHDRAWAL_PREFIX, DepositDataJson, ETH1_ADDRESS_WITHDRAWAL_PREFIX,
    MAX_COMPOUNDING_AMOUNT_GWEI, MIN_ACTIVATION_AMOUNT_GWEI, deposit_data_root,
    deposit_message_root, deposit_signing_root,
};
use crate::crypto::bls::{self, BlsError, Dst};
use crate::network::NetworkProfile;

/// Checks a user may knowingly waive (`--allow-*` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allowances {
    /// Accept a `network_name` other than the profile's (`--allow-network-name`).
    pub network_name: bool,
    /// Accept 0x01 credentials with more than 32 ETH (`--allow-excess-amount`).
    pub excess_amount: bool,
}

/// What the connected nodes reported; `None` = not asked (offline check).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeFacts {
    /// `eth_chainId` of the execution node.
    pub el_chain_id: Option<u64>,
    /// `/eth/v1/config/deposit_contract` of the beacon node: (chain id, address).
    pub beacon_deposit_contract: Option<(u64, Address)>,
    /// `genesis_fork_version` from the beacon node's `/eth/v1/beacon/genesis`.
    pub beacon_genesis_fork_version: Option<[u8; 4]>,
}

/// What the deposits are checked against.
#[derive(Debug, Clone)]
pub struct CheckContext<'a> {
    /// Network the deposit is for.
    pub profile: &'a NetworkProfile,
    /// The configured withdrawal address; credentials must point to it.
    pub withdrawal_address: Address,
    /// Configured credential type, when the config says (0x02 if true, 0x01 if false).
    pub compounding: Option<bool>,
    /// Configured amount in gwei, when the config says.
    pub amount_gwei: Option<u64>,
    /// Facts from the connected nodes.
    pub node: NodeFacts,
    /// Waived checks.
    pub allow: Allowances,
}

/// One failed check of one deposit entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckFailure {
    /// The pubkey is not a valid BLS12-381 G1 point (or is the identity).
    #[error("pubkey 0x{pubkey} is not a valid BLS public key: {reason}")]
    Pubkey {
        /// Hex pubkey.
        pubkey: String,
        /// blst's reason.
        reason: String,
    },
    /// Credentials prefix is neither 0x01 nor 0x02 (0x00 BLS credentials cannot be used here).
    #[error(
        "withdrawal_credentials prefix 0x{got:02x}: expected 0x01 (execution address) or 0x02 (compounding)"
    )]
    CredentialsPrefix {
        /// The prefix byte.
        got: u8,
    },
    /// Credentials prefix differs from the configured type.
    #[error(
        "withdrawal_credentials prefix 0x{got:02x}: the config asks for 0x{expected:02x} credentials"
    )]
    CredentialsType {
        /// Configured prefix.
        expected: u8,
        /// File prefix.
        got: u8,
    },
    /// Bytes 1..12 are not zero.
    #[error("withdrawal_credentials 0x{got}: bytes 1..12 must be zero")]
    CredentialsPadding {
        /// Hex credentials.
        got: String,
    },
    /// The credentials point to another address.
    #[error(
        "withdrawal_credentials point to {got}, expected the configured withdrawal address {expected}"
    )]
    WithdrawalAddress {
        /// Configured address.
        expected: Address,
        /// Address in the file.
        got: Address,
    },
    /// Amount outside 32..2048 ETH.
    #[error("amount {got} gwei is outside the allowed range {min}..={max} gwei (32..2048 ETH)")]
    AmountRange {
        /// Lower bound.
        min: u64,
        /// Upper bound.
        max: u64,
        /// File amount.
        got: u64,
    },
    /// 0x01 credentials with other than exactly 32 ETH.
    #[error(
        "amount {got} gwei with 0x01 credentials: expected exactly 32000000000 gwei (32 ETH); use 0x02 credentials for more, or --allow-excess-amount"
    )]
    AmountForCredentials {
        /// File amount.
        got: u64,
    },
    /// Amount differs from the configured one.
    #[error("amount {got} gwei, expected the configured {expected} gwei")]
    AmountConfigured {
        /// Configured amount.
        expected: u64,
        /// File amount.
        got: u64,
    },
    /// `deposit_message_root` is not the hash-tree-root of the message.
    #[error("deposit_message_root 0x{got}: expected 0x{expected}")]
    MessageRoot {
        /// Recomputed.
        expected: String,
        /// File value.
        got: String,
    },
    /// `deposit_data_root` is not the hash-tree-root of the deposit data.
    #[error("deposit_data_root 0x{got}: expected 0x{expected}")]
    DataRoot {
        /// Recomputed.
        expected: String,
        /// File value.
        got: String,
    },
    /// The signature does not verify under the profile's deposit domain.
    #[error(
        "signature does not verify for {network} (genesis fork version 0x{fork_version}): {reason}; the deposit contract would accept it and the ETH would be lost"
    )]
    Signature {
        /// Profile name.
        network: String,
        /// Fork version used for the domain.
        fork_version: String,
        /// Why.
        reason: String,
    },
    /// `fork_version` differs from the profile's genesis fork version.
    #[error("fork_version 0x{got}: expected 0x{expected} ({network}'s genesis fork version)")]
    ForkVersion {
        /// Profile name.
        network: String,
        /// Profile fork version.
        expected: String,
        /// File value.
        got: String,
    },
    /// `network_name` differs from the profile's.
    #[error("network_name `{got}`: expected `{expected}` (or --allow-network-name)")]
    NetworkName {
        /// Profile's name.
        expected: String,
        /// File value.
        got: String,
    },
}

/// A network-level mismatch: the profile or the connected nodes are not what the deposit needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkMismatch {
    /// A known chain id whose canonical deposit contract differs from the profile's.
    #[error(
        "profile `{network}` (chain id {chain_id}) names deposit contract {got}, but that chain's deposit contract is {expected}"
    )]
    ProfileDepositContract {
        /// Profile name.
        network: String,
        /// Chain id.
        chain_id: u64,
        /// Canonical address.
        expected: Address,
        /// Profile's address.
        got: Address,
    },
    /// A known chain id whose genesis fork version differs from the profile's.
    #[error(
        "profile `{network}` (chain id {chain_id}) has genesis fork version 0x{got}, but that chain's is 0x{expected}"
    )]
    ProfileForkVersion {
        /// Profile name.
        network: String,
        /// Chain id.
        chain_id: u64,
        /// Canonical.
        expected: String,
        /// Profile's.
        got: String,
    },
    /// The execution node is on another chain.
    #[error("execution node reports chain id {got}, expected {expected} ({network})")]
    ElChainId {
        /// Profile name.
        network: String,
        /// Profile chain id.
        expected: u64,
        /// Node's.
        got: u64,
    },
    /// The beacon node follows another deposit contract.
    #[error(
        "beacon node follows deposit contract {got} on chain {got_chain_id}, expected {expected} on chain {expected_chain_id}"
    )]
    BeaconDepositContract {
        /// Profile address.
        expected: Address,
        /// Profile chain id.
        expected_chain_id: u64,
        /// Node's address.
        got: Address,
        /// Node's chain id.
        got_chain_id: u64,
    },
    /// The beacon node has another genesis fork version.
    #[error("beacon node genesis fork version 0x{got}, expected 0x{expected}")]
    BeaconForkVersion {
        /// Profile's.
        expected: String,
        /// Node's.
        got: String,
    },
}

/// Why a deposit file may not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepositCheckError {
    /// Profile or nodes mismatch; nothing in the file matters then.
    #[error("{0}")]
    Network(#[from] NetworkMismatch),
    /// One or more entries failed.
    #[error("deposit entry {index} (pubkey 0x{pubkey}) failed {} check(s):\n  - {}", failures.len(), join(failures))]
    Entry {
        /// Position in the file.
        index: usize,
        /// Hex pubkey.
        pubkey: String,
        /// Every failed check.
        failures: Vec<CheckFailure>,
    },
    /// The same pubkey appears twice (a second deposit would be a top-up, never intended here).
    #[error("pubkey 0x{pubkey} appears in entries {first} and {second}: one deposit per validator")]
    DuplicatePubkey {
        /// Hex pubkey.
        pubkey: String,
        /// First position.
        first: usize,
        /// Second position.
        second: usize,
    },
}

fn join(failures: &[CheckFailure]) -> String {
    failures
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join("\n  - ")
}

/// Canonical (deposit contract, genesis fork version) of public chains, by chain id; a profile
/// claiming one of these chain ids must agree, whatever its name.
pub fn known_chain(chain_id: u64) -> Option<(Address, [u8; 4])> {
    [
        NetworkProfile::mainnet(),
        NetworkProfile::hoodi(),
        NetworkProfile::holesky(),
    ]
    .into_iter()
    .find(|p| p.chain_id == chain_id)
    .map(|p| (p.deposit_contract, p.genesis_fork_version))
}

/// Checks the profile against public-chain facts and the connected nodes.
pub fn check_network(ctx: &CheckContext<'_>) -> Result<(), NetworkMismatch> {
    let p = ctx.profile;
    if let Some((contract, fork)) = known_chain(p.chain_id) {
        if contract != p.deposit_contract {
            return Err(NetworkMismatch::ProfileDepositContract {
                network: p.name.clone(),
                chain_id: p.chain_id,
                expected: contract,
                got: p.deposit_contract,
            });
        }
        if fork != p.genesis_fork_version {
            return Err(NetworkMismatch::ProfileForkVersion {
                network: p.name.clone(),
                chain_id: p.chain_id,
                expected: hex::encode(fork),
                got: hex::encode(p.genesis_fork_version),
            });
        }
    }
    if let Some(got) = ctx.node.el_chain_id
        && got != p.chain_id
    {
        return Err(NetworkMismatch::ElChainId {
            network: p.name.clone(),
            expected: p.chain_id,
            got,
        });
    }
    if let Some((got_chain_id, got)) = ctx.node.beacon_deposit_contract
        && (got != p.deposit_contract || got_chain_id != p.chain_id)
    {
        return Err(NetworkMismatch::BeaconDepositContract {
            expected: p.deposit_contract,
            expected_chain_id: p.chain_id,
            got,
            got_chain_id,
        });
    }
    if let Some(got) = ctx.node.beacon_genesis_fork_version
        && got != p.genesis_fork_version
    {
        return Err(NetworkMismatch::BeaconForkVersion {
            expected: hex::encode(p.genesis_fork_version),
            got: hex::encode(got),
        });
    }
    Ok(())
}

/// Every per-entry check; returns all failures (empty = the entry may be sent).
pub fn check_entry(entry: &DepositDataJson, ctx: &CheckContext<'_>) -> Vec<CheckFailure> {
    let mut out = Vec::new();
    let p = ctx.profile;
    let msg = entry.message();

    if let Err(e) = blst::min_pk::PublicKey::key_validate(&entry.pubkey) {
        out.push(CheckFailure::Pubkey {
            pubkey: hex::encode(entry.pubkey),
            reason: format!("{e:?}"),
        });
    }

    let wc = entry.withdrawal_credentials;
    let prefix = wc[0];
    let prefix_ok =
        prefix == ETH1_ADDRESS_WITHDRAWAL_PREFIX || prefix == COMPOUNDING_WITHDRAWAL_PREFIX;
    if !prefix_ok {
        out.push(CheckFailure::CredentialsPrefix { got: prefix });
    } else if let Some(compounding) = ctx.compounding {
        let expected = if compounding {
            COMPOUNDING_WITHDRAWAL_PREFIX
        } else {
            ETH1_ADDRESS_WITHDRAWAL_PREFIX
        };
        if expected != prefix {
            out.push(CheckFailure::CredentialsType {
                expected,
                got: prefix,
            });
        }
    }
    if wc[1..12].iter().any(|b| *b != 0) {
        out.push(CheckFailure::CredentialsPadding {
            got: hex::encode(wc),
        });
    }
    let got_address = Address::from_slice(&wc[12..]);
    if got_address != ctx.withdrawal_address {
        out.push(CheckFailure::WithdrawalAddress {
            expected: ctx.withdrawal_address,
            got: got_address,
        });
    }

    let amount = entry.amount;
    if !(MIN_ACTIVATION_AMOUNT_GWEI..=MAX_COMPOUNDING_AMOUNT_GWEI).contains(&amount) {
        out.push(CheckFailure::AmountRange {
            min: MIN_ACTIVATION_AMOUNT_GWEI,
            max: MAX_COMPOUNDING_AMOUNT_GWEI,
            got: amount,
        });
    } else if prefix == ETH1_ADDRESS_WITHDRAWAL_PREFIX
        && amount != MIN_ACTIVATION_AMOUNT_GWEI
        && !ctx.allow.excess_amount
    {
        out.push(CheckFailure::AmountForCredentials { got: amount });
    }
    if let Some(expected) = ctx.amount_gwei
        && expected != amount
    {
        out.push(CheckFailure::AmountConfigured {
            expected,
            got: amount,
        });
    }

    let message_root = deposit_message_root(&msg);
    if message_root != entry.deposit_message_root {
        out.push(CheckFailure::MessageRoot {
            expected: hex::encode(message_root),
            got: hex::encode(entry.deposit_message_root),
        });
    }
    let data_root = deposit_data_root(&msg, &entry.signature);
    if data_root != entry.deposit_data_root {
        out.push(CheckFailure::DataRoot {
            expected: hex::encode(data_root),
            got: hex::encode(entry.deposit_data_root),
        });
    }

    // The profile's fork version, never the file's: a file signed for another network must fail.
    let root = deposit_signing_root(&msg, p.genesis_fork_version);
    if let Err(e) = bls::verify(&entry.pubkey, &root, &entry.signature, Dst::Pop) {
        let reason = match e {
            BlsError::VerifyFailed { .. } => {
                "wrong signature for this message and domain".to_string()
            }
            other => other.to_string(),
        };
        out.push(CheckFailure::Signature {
            network: p.name.clone(),
            fork_version: hex::encode(p.genesis_fork_version),
            reason,
        });
    }
    if entry.fork_version != p.genesis_fork_version {
        out.push(CheckFailure::ForkVersion {
            network: p.name.clone(),
            expected: hex::encode(p.genesis_fork_version),
            got: hex::encode(entry.fork_version),
        });
    }
    if entry.network_name != p.deposit_network_name() && !ctx.allow.network_name {
        out.push(CheckFailure::NetworkName {
            expected: p.deposit_network_name().to_string(),
            got: entry.network_name.clone(),
        });
    }
    out
}

/// Checks the network, then every entry, then duplicates; `Ok` only when all pass.
pub fn check_deposits(
    entries: &[DepositDataJson],
    ctx: &CheckContext<'_>,
) -> Result<(), DepositCheckError> {
    check_network(ctx)?;
    for (index, entry) in entries.iter().enumerate() {
        let failures = check_entry(entry, ctx);
        if !failures.is_empty() {
            return Err(DepositCheckError::Entry {
                index,
                pubkey: hex::encode(entry.pubkey),
                failures,
            });
        }
    }
    for (second, entry) in entries.iter().enumerate() {
        if let Some(first) = entries[..second]
            .iter()
            .position(|e| e.pubkey == entry.pubkey)
        {
            return Err(DepositCheckError::DuplicatePubkey {
                pubkey: hex::encode(entry.pubkey),
                first,
                second,
            });
        }
    }
    Ok(())
}
