//! Finds and reads the compiled real contracts that `scripts/build-real-contracts.sh` writes to
//! `.cache/real-ssv/<first 12 hex of the archive's sha256>/`. The key comes from the peer folder's
//! `SHA256SUMS`, so artifacts built from another archive are never picked up by mistake.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use alloy::primitives::Bytes;

use super::RealError;

/// Overrides the artifact cache folder (default `<repo>/.cache/real-ssv`).
pub const REAL_ARTIFACTS_ENV: &str = "SSV_AGENT_REAL_SSV_DIR";
/// Overrides the peer folder holding the archives and `SHA256SUMS`
/// (default `<repo>/../shared/peers/ssv-network`).
pub const PEER_DIR_ENV: &str = "SSV_AGENT_SSV_NETWORK_PEER";

/// The archive of SSV Network v2.0.0 (ssv-sdk copy).
pub const V2_ARCHIVE: &str = "ssv-network-v2.0.0-sdk-2349d5a.tar.gz";
/// The archive of SSV Network v1.2.0.
pub const V1_ARCHIVE: &str = "ssv-network-v1.2.0-085874c.tar.gz";

/// The command that builds the artifacts.
pub const BUILD_COMMAND: &str = "scripts/build-real-contracts.sh";

/// One compiled contract.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Contract name.
    pub name: String,
    /// Creation code (constructor arguments are appended by the deployer).
    pub bytecode: Bytes,
    /// Runtime code (what `anvil_setCode` places).
    pub deployed_bytecode: Bytes,
}

/// The compiled contracts of one archive.
#[derive(Debug, Clone)]
pub struct ArchiveArtifacts {
    /// Folder holding the artifacts.
    pub dir: PathBuf,
    contracts: HashMap<String, Artifact>,
}

impl ArchiveArtifacts {
    /// The named contract.
    pub fn get(&self, name: &str) -> Result<&Artifact, RealError> {
        self.contracts
            .get(name)
            .ok_or_else(|| RealError::ArtifactMissing {
                name: name.to_string(),
                dir: self.dir.clone(),
            })
    }
}

/// The artifacts of both archives.
#[derive(Debug, Clone)]
pub struct RealArtifacts {
    /// SSV Network v2.0.0.
    pub v2: ArchiveArtifacts,
    /// SSV Network v1.2.0.
    pub v1: ArchiveArtifacts,
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `$SSV_AGENT_REAL_SSV_DIR`, else `<repo>/.cache/real-ssv`.
pub fn cache_dir() -> PathBuf {
    env_dir(REAL_ARTIFACTS_ENV).unwrap_or_else(|| repo_root().join(".cache/real-ssv"))
}

/// `$SSV_AGENT_SSV_NETWORK_PEER`, else `<repo>/../shared/peers/ssv-network`.
pub fn peer_dir() -> PathBuf {
    env_dir(PEER_DIR_ENV).unwrap_or_else(|| repo_root().join("../shared/peers/ssv-network"))
}

/// archive name -> sha256 hex, from `SHA256SUMS`.
fn read_sums(peer: &Path) -> Result<HashMap<String, String>, RealError> {
    let path = peer.join("SHA256SUMS");
    let text = std::fs::read_to_string(&path).map_err(|source| RealError::Io {
        what: format!("reading {} (the real SSV Network sources)", path.display()),
        source,
    })?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let sum = it.next()?;
            let name = it.next()?.trim_start_matches('*');
            (sum.len() == 64).then(|| (name.to_string(), sum.to_string()))
        })
        .collect())
}

fn load_archive(
    cache: &Path,
    sums: &HashMap<String, String>,
    archive: &str,
) -> Result<ArchiveArtifacts, RealError> {
    let sum = sums.get(archive).ok_or_else(|| RealError::NotListed {
        archive: archive.to_string(),
    })?;
    let dir = cache.join(&sum[..12]);
    // The build script writes the manifest last: without it the folder is incomplete.
    if !dir.join("manifest.json").is_file() {
        return Err(RealError::NotBuilt { dir });
    }
    let mut contracts = HashMap::new();
    let entries = std::fs::read_dir(&dir).map_err(|source| RealError::Io {
        what: format!("listing {}", dir.display()),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_none_or(|e| e != "json") || name == "manifest" {
            continue;
        }
        contracts.insert(name.to_string(), read_artifact(&path, name)?);
    }
    Ok(ArchiveArtifacts { dir, contracts })
}

fn read_artifact(path: &Path, name: &str) -> Result<Artifact, RealError> {
    let text = std::fs::read_to_string(path).map_err(|source| RealError::Io {
        what: format!("reading {}", path.display()),
        source,
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| RealError::BadArtifact {
            path: path.to_owned(),
            source,
        })?;
    let code = |key: &str| -> Result<Bytes, RealError> {
        v[key]
            .as_str()
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| RealError::ArtifactField {
                path: path.to_owned(),
                field: key.to_string(),
            })
    };
    Ok(Artifact {
        name: name.to_string(),
        bytecode: code("bytecode")?,
        deployed_bytecode: code("deployedBytecode")?,
    })
}

impl RealArtifacts {
    /// Loads both archives' artifacts from [`cache_dir`], keyed by [`peer_dir`]'s `SHA256SUMS`.
    pub fn load() -> Result<Self, RealError> {
        Self::load_from(&cache_dir(), &peer_dir())
    }

    /// Loads from explicit folders.
    pub fn load_from(cache: &Path, peer: &Path) -> Result<Self, RealError> {
        let sums = read_sums(peer)?;
        Ok(Self {
            v2: load_archive(cache, &sums, V2_ARCHIVE)?,
            v1: load_archive(cache, &sums, V1_ARCHIVE)?,
        })
    }
}
