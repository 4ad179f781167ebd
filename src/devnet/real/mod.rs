//! The real-contract tier of the devnet: the REAL SSV Network v1.2.0 / v2.0.0 code (compiled from
//! `../shared/peers/ssv-network` by `scripts/build-real-contracts.sh`, never copied into the repo),
//! deployed on anvil the way the real networks are: every module its own contract, `SSVNetwork`
//! and `SSVNetworkViews` behind OpenZeppelin `ERC1967Proxy` at the profile's real proxy addresses,
//! `initialize(...)`, `updateModule`, the DAO parameters, and the real v1.2.0 -> v2.0.0 upgrade.
//! It exists so the project's doubles (`anvil/contracts`) can be held against the real thing.

mod artifacts;
mod deploy;

use std::path::PathBuf;

pub use artifacts::{
    ArchiveArtifacts, Artifact, BUILD_COMMAND, PEER_DIR_ENV, REAL_ARTIFACTS_ENV, RealArtifacts,
    V1_ARCHIVE, V2_ARCHIVE, cache_dir, peer_dir,
};
pub use deploy::{EIP1967_IMPLEMENTATION_SLOT, RealDeployment};
pub(crate) use deploy::{place_real_token, stake_for_oracle_weight};

/// SSV the DAO account stakes when oracles are set up (1 SSV): `commitRoot` weighs each oracle
/// vote as a quarter of the cSSV supply and counts none while the supply is zero.
pub const ORACLE_STAKE: alloy::primitives::U256 =
    alloy::primitives::U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// A failure of the real-contract tier.
#[derive(Debug, thiserror::Error)]
pub enum RealError {
    /// The artifacts for the current archive were never built (or the build was interrupted).
    #[error(
        "the real SSV Network contracts are not built ({dir}/manifest.json is missing): run `{BUILD_COMMAND}` (it needs Node.js 20 and `cd anvil && npm ci`; about 2.5 min cold, cached afterwards)"
    )]
    NotBuilt {
        /// The artifact folder that was expected.
        dir: PathBuf,
    },
    /// `SHA256SUMS` does not name an archive the tier needs.
    #[error("{archive} is not listed in the peer folder's SHA256SUMS (set {PEER_DIR_ENV})")]
    NotListed {
        /// Archive name.
        archive: String,
    },
    /// A contract the deployment needs has no artifact.
    #[error("no artifact for {name} in {dir}: rebuild with `{BUILD_COMMAND} --force`")]
    ArtifactMissing {
        /// Contract name.
        name: String,
        /// Artifact folder.
        dir: PathBuf,
    },
    /// An artifact is not valid JSON.
    #[error("artifact {path} is not valid JSON")]
    BadArtifact {
        /// Artifact file.
        path: PathBuf,
        /// Parse error.
        #[source]
        source: serde_json::Error,
    },
    /// An artifact lacks a hex field.
    #[error("artifact {path} has no hex `{field}`")]
    ArtifactField {
        /// Artifact file.
        path: PathBuf,
        /// Missing field.
        field: String,
    },
    /// A filesystem error.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A deployment transaction or RPC call failed.
    #[error(transparent)]
    Tx(#[from] crate::devnet::tx::TxError),
    /// `upgrade_to_v2` on a deployment that is already v2.
    #[error("the real SSVNetwork is already v2.0.0")]
    AlreadyV2,
}
