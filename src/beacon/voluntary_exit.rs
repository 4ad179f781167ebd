//! The consensus-spec `VoluntaryExit`: its SSZ root, the `DOMAIN_VOLUNTARY_EXIT` domain with the
//! fork version the beacon chain checks it under, the signing root, and the Beacon API JSON of a
//! `SignedVoluntaryExit` (`POST /eth/v1/beacon/pool/voluntary_exits`).
//!
//! The fork version follows `get_domain(state, DOMAIN_VOLUNTARY_EXIT, exit.epoch)`: the state's
//! previous version for an epoch before the current fork, else the current one; from Deneb on
//! (EIP-7044) exits are signed under `CAPELLA_FORK_VERSION` whatever the epoch, so a signed exit
//! stays valid across later forks.

use serde::{Deserialize, Serialize};
use tree_hash::TreeHash;
use tree_hash_derive::TreeHash;

use super::types::{Fork, de_u64};
use crate::deposit::data::signing_root;

/// `DOMAIN_VOLUNTARY_EXIT` from the phase0 spec.
pub const DOMAIN_VOLUNTARY_EXIT: [u8; 4] = [0x04, 0x00, 0x00, 0x00];

/// `VoluntaryExit { epoch, validator_index }`: the validator may leave from `epoch` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoluntaryExit {
    /// Earliest epoch the exit may be processed in.
    pub epoch: u64,
    /// Beacon validator index.
    pub validator_index: u64,
}

#[derive(TreeHash)]
struct SszVoluntaryExit {
    epoch: u64,
    validator_index: u64,
}

#[derive(TreeHash)]
struct SszForkData {
    current_version: [u8; 4],
    genesis_validators_root: [u8; 32],
}

impl VoluntaryExit {
    /// `hash_tree_root(VoluntaryExit)`.
    pub fn root(&self) -> [u8; 32] {
        SszVoluntaryExit {
            epoch: self.epoch,
            validator_index: self.validator_index,
        }
        .tree_hash_root()
        .0
    }

    /// `compute_signing_root(exit, domain)`: what the validator key (or each share) signs.
    pub fn signing_root(&self, domain: [u8; 32]) -> [u8; 32] {
        signing_root(self.root(), domain)
    }
}

/// `compute_domain(domain_type, fork_version, genesis_validators_root)`.
pub fn compute_domain(
    domain_type: [u8; 4],
    fork_version: [u8; 4],
    genesis_validators_root: [u8; 32],
) -> [u8; 32] {
    let fork_data_root = SszForkData {
        current_version: fork_version,
        genesis_validators_root,
    }
    .tree_hash_root()
    .0;
    let mut domain = [0u8; 32];
    domain[..4].copy_from_slice(&domain_type);
    domain[4..].copy_from_slice(&fork_data_root[..28]);
    domain
}

/// The forks that decide an exit's domain, as the node reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitForks {
    /// The head state's `fork` (`/eth/v1/beacon/states/head/fork`).
    pub state_fork: Fork,
    /// `CAPELLA_FORK_VERSION` and `DENEB_FORK_EPOCH` from the spec, when the node has them.
    pub capella_version: Option<[u8; 4]>,
    /// `DENEB_FORK_EPOCH`.
    pub deneb_epoch: Option<u64>,
}

impl ExitForks {
    /// The fork version an exit for `exit_epoch` is signed under while the chain is at
    /// `current_epoch`.
    pub fn version(&self, exit_epoch: u64, current_epoch: u64) -> [u8; 4] {
        if let (Some(capella), Some(deneb)) = (self.capella_version, self.deneb_epoch)
            && current_epoch >= deneb
        {
            return capella;
        }
        if exit_epoch < self.state_fork.epoch {
            self.state_fork.previous_version
        } else {
            self.state_fork.current_version
        }
    }

    /// The `DOMAIN_VOLUNTARY_EXIT` domain for `exit_epoch` on a chain with this genesis root.
    pub fn domain(
        &self,
        exit_epoch: u64,
        current_epoch: u64,
        genesis_validators_root: [u8; 32],
    ) -> [u8; 32] {
        compute_domain(
            DOMAIN_VOLUNTARY_EXIT,
            self.version(exit_epoch, current_epoch),
            genesis_validators_root,
        )
    }
}

/// The Beacon API JSON of a `SignedVoluntaryExit` (numbers as decimal strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedVoluntaryExitJson {
    /// The exit.
    pub message: VoluntaryExitJson,
    /// 0x-prefixed 96-byte BLS signature.
    pub signature: String,
}

/// The Beacon API JSON of a `VoluntaryExit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoluntaryExitJson {
    /// Epoch, decimal.
    #[serde(serialize_with = "ser_dec", deserialize_with = "de_u64")]
    pub epoch: u64,
    /// Validator index, decimal.
    #[serde(serialize_with = "ser_dec", deserialize_with = "de_u64")]
    pub validator_index: u64,
}

fn ser_dec<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

impl SignedVoluntaryExitJson {
    /// The JSON for `exit` signed with `signature`.
    pub fn new(exit: &VoluntaryExit, signature: &[u8; 96]) -> Self {
        Self {
            message: VoluntaryExitJson {
                epoch: exit.epoch,
                validator_index: exit.validator_index,
            },
            signature: format!("0x{}", hex::encode(signature)),
        }
    }
}

/// Parses a 0x-prefixed 32-byte hex root (`genesis_validators_root`).
pub fn parse_root(s: &str) -> Option<[u8; 32]> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s))
        .ok()?
        .try_into()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fork(prev: u8, cur: u8, epoch: u64) -> Fork {
        Fork {
            previous_version: [prev, 0, 0, 0],
            current_version: [cur, 0, 0, 0],
            epoch,
        }
    }

    #[test]
    fn exit_root_is_the_ssz_root_of_two_uint64() {
        // hash_tree_root of a two-field container: sha256(le64(epoch) pad32 || le64(index) pad32).
        let exit = VoluntaryExit {
            epoch: 7,
            validator_index: 300,
        };
        let mut chunks = [0u8; 64];
        chunks[..8].copy_from_slice(&7u64.to_le_bytes());
        chunks[32..40].copy_from_slice(&300u64.to_le_bytes());
        let want: [u8; 32] = sha2::Digest::finalize(sha2::Digest::chain_update(
            <sha2::Sha256 as sha2::Digest>::new(),
            chunks,
        ))
        .into();
        assert_eq!(exit.root(), want);
    }

    #[test]
    fn mainnet_capella_exit_domain_is_the_published_one() {
        // Mainnet's exit domain since Deneb (EIP-7044): CAPELLA_FORK_VERSION 0x03000000 with the
        // mainnet genesis validators root; the value ethstaker-deposit 1.3.1 computes.
        let gvr = parse_root("0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95")
            .unwrap();
        let domain = compute_domain(DOMAIN_VOLUNTARY_EXIT, [3, 0, 0, 0], gvr);
        assert_eq!(
            hex::encode(domain),
            "04000000bba4da96354c9f25476cf1bc69bf583a7f9e0af049305b62de676640"
        );
    }

    #[test]
    fn fork_version_follows_the_exit_epoch_then_capella_from_deneb() {
        let f = ExitForks {
            state_fork: fork(1, 2, 10),
            capella_version: Some([3, 0, 0, 0]),
            deneb_epoch: Some(100),
        };
        assert_eq!(f.version(9, 50), [1, 0, 0, 0], "before the fork: previous");
        assert_eq!(f.version(10, 50), [2, 0, 0, 0], "from the fork: current");
        assert_eq!(f.version(10, 100), [3, 0, 0, 0], "Deneb locks Capella's");
        let phase0 = ExitForks {
            state_fork: fork(9, 9, 0),
            capella_version: Some([3, 0, 0, 0]),
            deneb_epoch: Some(u64::MAX),
        };
        assert_eq!(phase0.version(5, 5), [9, 0, 0, 0]);
    }

    #[test]
    fn json_numbers_are_decimal_strings() {
        let j = SignedVoluntaryExitJson::new(
            &VoluntaryExit {
                epoch: 3,
                validator_index: 8,
            },
            &[0xaa; 96],
        );
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(v["message"]["epoch"], "3");
        assert_eq!(v["message"]["validator_index"], "8");
        assert!(v["signature"].as_str().unwrap().starts_with("0xaaaa"));
        let back: SignedVoluntaryExitJson = serde_json::from_value(v).unwrap();
        assert_eq!(back, j);
    }
}
