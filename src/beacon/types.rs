//! Beacon API response shapes the agent reads. Every number is accepted both as a decimal string
//! (the spec's and Lodestar's form) and as a JSON number (some clients, older tooling), and fields
//! that only newer clients send (`finalized`, `el_offline`, ...) are optional.

use alloy::primitives::Address;
use serde::{Deserialize, Deserializer};

/// `FAR_FUTURE_EPOCH`.
pub const FAR_FUTURE_EPOCH: u64 = u64::MAX;

/// The `{"data": ...}` envelope.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope<T> {
    /// The payload.
    pub data: T,
}

/// `/eth/v1/beacon/genesis`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Genesis {
    /// Unix seconds of slot 0.
    #[serde(deserialize_with = "de_u64")]
    pub genesis_time: u64,
    /// Genesis validators root (hex).
    pub genesis_validators_root: String,
    /// Genesis fork version.
    #[serde(deserialize_with = "de_fork_version")]
    pub genesis_fork_version: [u8; 4],
}

/// `/eth/v1/beacon/states/{state}/fork`: the fork a state is in, which decides signing domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Fork {
    /// Version before `epoch`.
    #[serde(deserialize_with = "de_fork_version")]
    pub previous_version: [u8; 4],
    /// Version from `epoch` on.
    #[serde(deserialize_with = "de_fork_version")]
    pub current_version: [u8; 4],
    /// Epoch of the last fork.
    #[serde(deserialize_with = "de_u64")]
    pub epoch: u64,
}

/// `/eth/v1/config/deposit_contract`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DepositContractInfo {
    /// Chain id of the execution chain.
    #[serde(deserialize_with = "de_u64")]
    pub chain_id: u64,
    /// Deposit contract address.
    pub address: Address,
}

/// `/eth/v1/node/syncing`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SyncStatus {
    /// Head slot of the node.
    #[serde(deserialize_with = "de_u64")]
    pub head_slot: u64,
    /// Slots behind the wall clock.
    #[serde(deserialize_with = "de_u64")]
    pub sync_distance: u64,
    /// Still syncing.
    pub is_syncing: bool,
    /// Optimistic (execution payloads not yet validated); absent in old clients.
    #[serde(default)]
    pub is_optimistic: Option<bool>,
    /// Execution client offline; absent in old clients.
    #[serde(default)]
    pub el_offline: Option<bool>,
}

/// The `validator` object inside a validator response.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ValidatorFields {
    /// 0x-prefixed pubkey.
    pub pubkey: String,
    /// 0x-prefixed withdrawal credentials.
    pub withdrawal_credentials: String,
    /// Effective balance in gwei.
    #[serde(deserialize_with = "de_u64")]
    pub effective_balance: u64,
    /// Slashed flag.
    pub slashed: bool,
    /// Epoch the validator became eligible (FAR_FUTURE while not yet).
    #[serde(deserialize_with = "de_u64")]
    pub activation_eligibility_epoch: u64,
    /// Activation epoch (FAR_FUTURE while not yet scheduled).
    #[serde(deserialize_with = "de_u64")]
    pub activation_epoch: u64,
    /// Exit epoch.
    #[serde(deserialize_with = "de_u64")]
    pub exit_epoch: u64,
    /// Withdrawable epoch.
    #[serde(deserialize_with = "de_u64")]
    pub withdrawable_epoch: u64,
}

/// `/eth/v1/beacon/states/{state}/validators/{id}` data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ValidatorInfo {
    /// Validator index.
    #[serde(deserialize_with = "de_u64")]
    pub index: u64,
    /// Balance in gwei.
    #[serde(deserialize_with = "de_u64")]
    pub balance: u64,
    /// Status string as the node reports it.
    pub status: String,
    /// The registry record.
    pub validator: ValidatorFields,
}

/// One entry of `/eth/v1/beacon/states/{state}/pending_deposits` (Electra).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PendingDeposit {
    /// 0x-prefixed pubkey.
    pub pubkey: String,
    /// Amount in gwei.
    #[serde(deserialize_with = "de_u64")]
    pub amount: u64,
    /// Slot the deposit request was included in (0 for pre-Electra eth1 deposits).
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub slot: Option<u64>,
}

/// `/eth/v1/beacon/states/{state}/finality_checkpoints`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FinalityCheckpoints {
    /// Last finalized checkpoint.
    pub finalized: Checkpoint,
}

/// An epoch/root pair.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Checkpoint {
    /// Epoch.
    #[serde(deserialize_with = "de_u64")]
    pub epoch: u64,
    /// Block root.
    pub root: String,
}

/// Beacon-API validator statuses (the 9 fine-grained ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidatorStatus {
    /// Deposit processed, not yet eligible.
    PendingInitialized,
    /// Eligible, waiting in the activation queue.
    PendingQueued,
    /// Active, no exit scheduled.
    ActiveOngoing,
    /// Active, exit scheduled.
    ActiveExiting,
    /// Active, slashed.
    ActiveSlashed,
    /// Exited, not slashed.
    ExitedUnslashed,
    /// Exited, slashed.
    ExitedSlashed,
    /// Withdrawable.
    WithdrawalPossible,
    /// Withdrawn.
    WithdrawalDone,
}

impl ValidatorStatus {
    /// Parses the API string; `None` for a status this agent does not know.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending_initialized" => Self::PendingInitialized,
            "pending_queued" => Self::PendingQueued,
            "active_ongoing" => Self::ActiveOngoing,
            "active_exiting" => Self::ActiveExiting,
            "active_slashed" => Self::ActiveSlashed,
            "exited_unslashed" => Self::ExitedUnslashed,
            "exited_slashed" => Self::ExitedSlashed,
            "withdrawal_possible" => Self::WithdrawalPossible,
            "withdrawal_done" => Self::WithdrawalDone,
            _ => return None,
        })
    }

    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingInitialized => "pending_initialized",
            Self::PendingQueued => "pending_queued",
            Self::ActiveOngoing => "active_ongoing",
            Self::ActiveExiting => "active_exiting",
            Self::ActiveSlashed => "active_slashed",
            Self::ExitedUnslashed => "exited_unslashed",
            Self::ExitedSlashed => "exited_slashed",
            Self::WithdrawalPossible => "withdrawal_possible",
            Self::WithdrawalDone => "withdrawal_done",
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    Num(u64),
    Str(String),
}

fn parse_num(v: NumOrStr) -> Result<u64, String> {
    match v {
        NumOrStr::Num(n) => Ok(n),
        NumOrStr::Str(s) => s.parse().map_err(|_| format!("`{s}` is not a decimal u64")),
    }
}

/// Decimal string or JSON number.
pub fn de_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    parse_num(NumOrStr::deserialize(d)?).map_err(serde::de::Error::custom)
}

fn de_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<NumOrStr>::deserialize(d)? {
        None => Ok(None),
        Some(v) => parse_num(v).map(Some).map_err(serde::de::Error::custom),
    }
}

fn de_fork_version<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 4], D::Error> {
    let s = String::deserialize(d)?;
    crate::network::parse_fork_version(&s).map_err(serde::de::Error::custom)
}
