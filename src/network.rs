//! Network profiles as data: the addresses, fork version and scan offsets of each chain the agent
//! knows. Values are from `../shared/notes/ssv-contracts.md` §1 (SSV node `networkconfig/*.go`,
//! ssv-sdk `chains.ts`, eth2-key-manager `networks.go`).

use alloy::primitives::{Address, address};
use serde::{Deserialize, Serialize};

/// Everything about a chain that the agent must not guess.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkProfile {
    /// Profile name (`mainnet`, `hoodi`, `holesky`, or a custom name).
    pub name: String,
    /// EIP-155 chain id the RPC endpoint must report.
    pub chain_id: u64,
    /// SSVNetwork proxy ("setter").
    pub ssv_network: Address,
    /// SSVNetworkViews proxy ("getter").
    pub ssv_views: Address,
    /// SSV ERC-20 token.
    pub ssv_token: Address,
    /// Beacon chain deposit contract.
    pub deposit_contract: Address,
    /// First block to scan for SSVNetwork events (the SSV node's `RegistrySyncOffset`).
    pub registry_sync_offset: u64,
    /// First block to scan for `DepositEvent` logs.
    pub deposit_contract_block: u64,
    /// `GENESIS_FORK_VERSION`, which signs deposits.
    #[serde(with = "hex_fork_version")]
    pub genesis_fork_version: [u8; 4],
    /// Blocks per day used for runway arithmetic (12 s slots: 7200).
    pub blocks_per_day: u64,
}

/// The names of the built-in profiles.
pub const BUILTIN_NETWORKS: [&str; 3] = ["mainnet", "hoodi", "holesky"];

/// Mainnet's `GENESIS_FORK_VERSION`.
pub const MAINNET_FORK_VERSION: [u8; 4] = [0x00, 0x00, 0x00, 0x00];
/// Hoodi's `GENESIS_FORK_VERSION`.
pub const HOODI_FORK_VERSION: [u8; 4] = [0x10, 0x00, 0x09, 0x10];
/// Holesky's `GENESIS_FORK_VERSION`.
pub const HOLESKY_FORK_VERSION: [u8; 4] = [0x01, 0x01, 0x70, 0x00];

/// The networks ssv-dkg (eth2-key-manager `networks.go`) signs deposits for: the `network_name`
/// deposit files carry and its genesis fork version. A superset of the built-in profiles, so that
/// ceremonies for Sepolia or Prater still run and verify.
pub const DKG_NETWORKS: [(&str, [u8; 4]); 5] = [
    ("mainnet", MAINNET_FORK_VERSION),
    ("holesky", HOLESKY_FORK_VERSION),
    ("hoodi", HOODI_FORK_VERSION),
    ("sepolia", [0x90, 0x00, 0x00, 0x69]),
    ("prater", [0x00, 0x00, 0x10, 0x20]),
];

/// The genesis fork version of a network ssv-dkg knows, by name.
pub fn dkg_fork_version(name: &str) -> Option<[u8; 4]> {
    DKG_NETWORKS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// The name of the network ssv-dkg knows with this genesis fork version.
pub fn dkg_network_for_fork(fork: [u8; 4]) -> Option<&'static str> {
    DKG_NETWORKS
        .iter()
        .find(|(_, f)| *f == fork)
        .map(|(n, _)| *n)
}

impl NetworkProfile {
    /// Ethereum mainnet.
    pub fn mainnet() -> Self {
        Self {
            name: "mainnet".into(),
            chain_id: 1,
            ssv_network: address!("DD9BC35aE942eF0cFa76930954a156B3fF30a4E1"),
            ssv_views: address!("afE830B6Ee262ba11cce5F32fDCd760FFE6a66e4"),
            ssv_token: address!("9D65fF81a3c488d585bBfb0Bfe3c7707c7917f54"),
            deposit_contract: address!("00000000219ab540356cBB839Cbe05303d7705Fa"),
            registry_sync_offset: 17_507_487,
            // The deposit contract was deployed in block 11 052 984.
            deposit_contract_block: 11_052_984,
            genesis_fork_version: MAINNET_FORK_VERSION,
            blocks_per_day: 7_200,
        }
    }

    /// Hoodi testnet (SSV Network v2.0.0 since March 2026).
    pub fn hoodi() -> Self {
        Self {
            name: "hoodi".into(),
            chain_id: 560_048,
            ssv_network: address!("58410Bef803ECd7E63B23664C586A6DB72DAf59c"),
            ssv_views: address!("5AdDb3f1529C5ec70D77400499eE4bbF328368fe"),
            ssv_token: address!("9F5d4Ec84fC4785788aB44F9de973cF34F7A038e"),
            deposit_contract: address!("00000000219ab540356cBB839Cbe05303d7705Fa"),
            registry_sync_offset: 1_065,
            // Hoodi's deposit contract is in its genesis state.
            deposit_contract_block: 0,
            genesis_fork_version: HOODI_FORK_VERSION,
            blocks_per_day: 7_200,
        }
    }

    /// Holesky (sunset by SSV in 2025; kept so old state files and ceremonies still load).
    pub fn holesky() -> Self {
        Self {
            name: "holesky".into(),
            chain_id: 17_000,
            ssv_network: address!("38A4794cCEd47d3baf7370CcC43B560D3a1beEFA"),
            ssv_views: address!("352A18AEe90cdcd825d1E37d9939dCA86C00e281"),
            ssv_token: address!("ad45A78180961079BFaeEe349704F411dfF947C6"),
            deposit_contract: address!("4242424242424242424242424242424242424242"),
            registry_sync_offset: 181_612,
            deposit_contract_block: 0,
            genesis_fork_version: HOLESKY_FORK_VERSION,
            blocks_per_day: 7_200,
        }
    }

    /// A built-in profile by name.
    pub fn by_name(name: &str) -> Result<Self, NetworkError> {
        match name {
            "mainnet" => Ok(Self::mainnet()),
            "hoodi" => Ok(Self::hoodi()),
            "holesky" => Ok(Self::holesky()),
            other => Err(NetworkError::Unknown(other.to_string())),
        }
    }

    /// The `network_name` that ssv-dkg and staking-deposit-cli write into `deposit_data.json`.
    pub fn deposit_network_name(&self) -> &str {
        &self.name
    }

    /// `genesis_fork_version` as the 8 lowercase hex digits deposit files carry (`fork_version`).
    pub fn fork_version_hex(&self) -> String {
        hex::encode(self.genesis_fork_version)
    }
}

/// A problem with a network name or profile.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The name is neither built in nor `custom`.
    #[error(
        "unknown network `{0}`: use one of mainnet, hoodi, holesky, or `custom` with a [custom_network] table"
    )]
    Unknown(String),
    /// A fork version that is not 4 bytes of hex.
    #[error("invalid genesis fork version `{0}`: expected 4 bytes of hex such as 0x10000910")]
    BadForkVersion(String),
}

/// Parses `0x10000910` / `10000910` into 4 bytes.
pub fn parse_fork_version(s: &str) -> Result<[u8; 4], NetworkError> {
    let raw = s.strip_prefix("0x").unwrap_or(s);
    let bytes = hex::decode(raw).map_err(|_| NetworkError::BadForkVersion(s.to_string()))?;
    bytes
        .try_into()
        .map_err(|_| NetworkError::BadForkVersion(s.to_string()))
}

mod hex_fork_version {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8; 4], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(v)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 4], D::Error> {
        let s = String::deserialize(d)?;
        super::parse_fork_version(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_resolve_by_name() {
        for name in BUILTIN_NETWORKS {
            assert_eq!(NetworkProfile::by_name(name).unwrap().name, name);
        }
        assert_eq!(NetworkProfile::hoodi().fork_version_hex(), "10000910");
    }

    #[test]
    fn profiles_and_ssv_dkg_agree_on_fork_versions() {
        for name in BUILTIN_NETWORKS {
            let p = NetworkProfile::by_name(name).unwrap();
            assert_eq!(dkg_fork_version(name), Some(p.genesis_fork_version));
            assert_eq!(dkg_network_for_fork(p.genesis_fork_version), Some(name));
        }
        assert_eq!(dkg_fork_version("sepolia"), Some([0x90, 0, 0, 0x69]));
        assert_eq!(dkg_fork_version("custom"), None);
    }

    #[test]
    fn unknown_network_is_named_in_the_error() {
        let err = NetworkProfile::by_name("sepolia").unwrap_err().to_string();
        assert!(err.contains("`sepolia`"), "{err}");
    }

    #[test]
    fn fork_versions_parse_with_and_without_prefix() {
        assert_eq!(
            parse_fork_version("0x10000910").unwrap(),
            [0x10, 0, 0x09, 0x10]
        );
        assert_eq!(parse_fork_version("01017000").unwrap(), [1, 1, 0x70, 0]);
        assert!(parse_fork_version("0x100009").is_err());
        assert!(parse_fork_version("zz000910").is_err());
    }
}
