//! Deposit data as the consensus specs define it: `DepositMessage`, `DepositData`, the deposit
//! domain and signing roots (SSZ hash-tree-roots through sigp's `tree_hash`, the crate Lighthouse
//! uses, so the merkleisation is not ours to get wrong), and 0x01/0x02 withdrawal credentials.

use alloy::primitives::Address;
use tree_hash::TreeHash;
use tree_hash_derive::TreeHash;

pub use super::json::{DEPOSIT_CLI_VERSION, DepositDataJson, DepositFileError};

/// `DOMAIN_DEPOSIT` from the phase0 spec.
pub const DOMAIN_DEPOSIT: [u8; 4] = [0x03, 0x00, 0x00, 0x00];
/// One ether in gwei, the unit of deposit amounts.
pub const GWEI_PER_ETH: u64 = 1_000_000_000;
/// Smallest deposit that creates a validator (32 ETH).
pub const MIN_ACTIVATION_AMOUNT_GWEI: u64 = 32 * GWEI_PER_ETH;
/// Largest effective balance of a compounding validator (2048 ETH, Electra).
pub const MAX_COMPOUNDING_AMOUNT_GWEI: u64 = 2048 * GWEI_PER_ETH;
/// Prefix of execution-address withdrawal credentials.
pub const ETH1_ADDRESS_WITHDRAWAL_PREFIX: u8 = 0x01;
/// Prefix of compounding withdrawal credentials (Electra).
pub const COMPOUNDING_WITHDRAWAL_PREFIX: u8 = 0x02;

/// What the validator key signs for a deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositMessage {
    /// Validator BLS public key (compressed G1).
    pub pubkey: [u8; 48],
    /// 0x01/0x02 prefix, 11 zero bytes, 20-byte address.
    pub withdrawal_credentials: [u8; 32],
    /// Amount in gwei.
    pub amount_gwei: u64,
}

// SSZ containers; field order is what the hash-tree-root depends on, names are the spec's.
#[derive(TreeHash)]
struct SszDepositMessage {
    pubkey: [u8; 48],
    withdrawal_credentials: [u8; 32],
    amount: u64,
}

#[derive(TreeHash)]
struct SszDepositData {
    pubkey: [u8; 48],
    withdrawal_credentials: [u8; 32],
    amount: u64,
    signature: [u8; 96],
}

#[derive(TreeHash)]
struct SszForkData {
    current_version: [u8; 4],
    genesis_validators_root: [u8; 32],
}

#[derive(TreeHash)]
struct SszSigningData {
    object_root: [u8; 32],
    domain: [u8; 32],
}

/// `hash_tree_root(DepositMessage)`, the file's `deposit_message_root`.
pub fn deposit_message_root(msg: &DepositMessage) -> [u8; 32] {
    SszDepositMessage {
        pubkey: msg.pubkey,
        withdrawal_credentials: msg.withdrawal_credentials,
        amount: msg.amount_gwei,
    }
    .tree_hash_root()
    .0
}

/// `hash_tree_root(DepositData)`, the root the deposit contract recomputes and compares.
pub fn deposit_data_root(msg: &DepositMessage, signature: &[u8; 96]) -> [u8; 32] {
    SszDepositData {
        pubkey: msg.pubkey,
        withdrawal_credentials: msg.withdrawal_credentials,
        amount: msg.amount_gwei,
        signature: *signature,
    }
    .tree_hash_root()
    .0
}

/// `compute_domain(DOMAIN_DEPOSIT, genesis_fork_version, ZERO_HASH)`: deposits are valid across
/// forks, so they are signed with the genesis fork version and a zero genesis validators root.
pub fn compute_deposit_domain(genesis_fork_version: [u8; 4]) -> [u8; 32] {
    let fork_data_root = SszForkData {
        current_version: genesis_fork_version,
        genesis_validators_root: [0u8; 32],
    }
    .tree_hash_root()
    .0;
    let mut domain = [0u8; 32];
    domain[..4].copy_from_slice(&DOMAIN_DEPOSIT);
    domain[4..].copy_from_slice(&fork_data_root[..28]);
    domain
}

/// `compute_signing_root(object, domain)` given the object's root.
pub fn signing_root(object_root: [u8; 32], domain: [u8; 32]) -> [u8; 32] {
    SszSigningData {
        object_root,
        domain,
    }
    .tree_hash_root()
    .0
}

/// The message a deposit signature must cover for a network with this genesis fork version.
pub fn deposit_signing_root(msg: &DepositMessage, genesis_fork_version: [u8; 4]) -> [u8; 32] {
    signing_root(
        deposit_message_root(msg),
        compute_deposit_domain(genesis_fork_version),
    )
}

/// Withdrawal credentials for an execution address: 0x01 (or 0x02 when compounding), 11 zero
/// bytes, then the address.
pub fn withdrawal_credentials(address: Address, compounding: bool) -> [u8; 32] {
    let mut wc = [0u8; 32];
    wc[0] = if compounding {
        COMPOUNDING_WITHDRAWAL_PREFIX
    } else {
        ETH1_ADDRESS_WITHDRAWAL_PREFIX
    };
    wc[12..].copy_from_slice(address.as_slice());
    wc
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::address;

    fn h32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // Deposit domains listed in ../shared/notes/ssv-dkg-protocol.md §5.6 (eth2-key-manager values).
    #[test]
    fn deposit_domains_match_known_networks() {
        let cases = [
            (
                [0, 0, 0, 0],
                "03000000f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a9",
            ),
            (
                [1, 1, 0x70, 0],
                "030000005b83a23759c560b2d0c64576e1dcfc34ea94c4988f3e0d9f77f05387",
            ),
            (
                [0x10, 0, 0x09, 0x10],
                "03000000719103511efa4f1362ff2a50996cccf329cc84cb410c5e5c7d351d03",
            ),
            (
                [0x90, 0, 0, 0x69],
                "03000000d3010778cd08ee514b08fe67b6c503b510987a4ce43f42306d97c67c",
            ),
        ];
        for (fork, want) in cases {
            assert_eq!(
                hex::encode(compute_deposit_domain(fork)),
                want,
                "fork {}",
                hex::encode(fork)
            );
        }
    }

    #[test]
    fn credentials_layout_for_both_prefixes() {
        let a = address!("81592c3de184a3e2c0dcb5a261bc107bfa91f494");
        assert_eq!(
            hex::encode(withdrawal_credentials(a, false)),
            "01000000000000000000000081592c3de184a3e2c0dcb5a261bc107bfa91f494"
        );
        let c = withdrawal_credentials(a, true);
        assert_eq!(c[0], 0x02);
        assert_eq!(&c[1..12], &[0u8; 11]);
        assert_eq!(&c[12..], a.as_slice());
    }

    // The 4-operator ssv-dkg vector: roots from the file, signing root from the notes' independent check.
    #[test]
    fn roots_of_the_4_operator_vector() {
        let msg = DepositMessage {
            pubkey: hex::decode(
                "801bca4e379a2e240ed004acbe8f905a0a43f3322faa251fbb9c8d4d49af8ba9c669e930ea7caa234cb7d537d600e9ee",
            )
            .unwrap()
            .try_into()
            .unwrap(),
            withdrawal_credentials: h32("01000000000000000000000081592c3de184a3e2c0dcb5a261bc107bfa91f494"),
            amount_gwei: 32_000_000_000,
        };
        let sig: [u8; 96] = hex::decode("a6527080ff8c8245adc438f5935b93a6e37b999c94ce0701b1bd7ec11548bf127d656d083ec54952ac73db0bc649853d15ce9cc87babaa67ee1e2b6151564209f6c8488e6f07607a5545bb9d3710b66acd9c1d327a919da4666da0d616ae4096").unwrap().try_into().unwrap();
        assert_eq!(
            hex::encode(deposit_message_root(&msg)),
            "991c0c3f753a74008b72f4352a6e7203fe48699c7d509d78e0f2fb75b5b905ae"
        );
        assert_eq!(
            hex::encode(deposit_data_root(&msg, &sig)),
            "579a33034f701b24e6854aadc2b9b0dd8e843f8443ab96d455c198932464ee34"
        );
        assert_eq!(
            hex::encode(deposit_signing_root(&msg, [0; 4])),
            "d4b5807e4e0d7d1c45e913b8972757229388d07825569b2da91e17eb165b89c5"
        );
        // Any change of the amount must change both roots.
        let other = DepositMessage {
            amount_gwei: msg.amount_gwei + 1,
            ..msg
        };
        assert_ne!(deposit_message_root(&other), deposit_message_root(&msg));
        assert_ne!(
            deposit_data_root(&other, &sig),
            deposit_data_root(&msg, &sig)
        );
    }
}
