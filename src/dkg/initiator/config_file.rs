//! ssv-dkg's YAML config for `init`, `resign` and `reshare` (and their `generate-*-msg`), given with
//! `--configPath`: keys are the camelCase flag names, every key optional (a flag given on the command line wins, then the file, then the default, as with
//! viper). Path values must be relative and stay inside the working directory, as ssv-dkg
//! enforces with Go's `filepath.IsLocal`.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

/// Why an ssv-dkg YAML config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not YAML of the expected keys and types (unknown keys are errors).
    #[error("config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The YAML parser's error (names the key and position; boxed, it is large).
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// An entry of a comma-separated list that does not parse.
    #[error("config file {path}: {key}: {value:?} is not a valid entry")]
    Entry {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The entry.
        value: String,
    },
    /// A path that is absolute or climbs out of the working directory.
    #[error(
        "config file {path}: {key} = {value:?} must be a relative path inside the working directory (ssv-dkg rejects absolute and escaping paths)"
    )]
    NotLocal {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// The path given.
        value: String,
    },
}

/// A list given either as a YAML sequence or as one comma-separated string (viper takes both).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
enum ListOrCsv<T> {
    List(Vec<T>),
    Csv(String),
    One(T),
}

/// The initiator keys of an ssv-dkg config file, as written.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDkgConfig {
    // resign / reshare only.
    #[serde(rename = "newOperatorIDs")]
    new_operator_ids: Option<ListOrCsv<u64>>,
    #[serde(rename = "proofsFilePath")]
    proofs_file_path: Option<String>,
    #[serde(rename = "proofsString")]
    proofs_string: Option<String>,
    signatures: Option<String>,
    #[serde(rename = "operatorIDs")]
    operator_ids: Option<ListOrCsv<u64>>,
    #[serde(rename = "operatorsInfo")]
    operators_info: Option<String>,
    #[serde(rename = "operatorsInfoPath")]
    operators_info_path: Option<String>,
    owner: Option<String>,
    nonce: Option<u64>,
    amount: Option<u64>,
    network: Option<String>,
    #[serde(rename = "withdrawAddress")]
    withdraw_address: Option<String>,
    compounding: Option<bool>,
    validators: Option<usize>,
    #[serde(rename = "clientCACertPath")]
    client_ca_cert_path: Option<ListOrCsv<String>>,
    #[serde(rename = "tlsInsecure")]
    tls_insecure: Option<bool>,
    #[serde(rename = "outputPath")]
    output_path: Option<String>,
    // Base flags of every ssv-dkg command; accepted so real config files load, not used here.
    #[serde(rename = "logLevel")]
    _log_level: Option<String>,
    #[serde(rename = "logFormat")]
    _log_format: Option<String>,
    #[serde(rename = "logLevelFormat")]
    _log_level_format: Option<String>,
    #[serde(rename = "logFilePath")]
    _log_file_path: Option<String>,
    #[serde(rename = "configPath")]
    _config_path: Option<String>,
}

/// The values an `init` config file sets (validated; paths checked to be local).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DkgConfigFile {
    /// `operatorIDs`.
    pub operator_ids: Option<Vec<u64>>,
    /// `operatorsInfo`: operators info JSON text.
    pub operators_info: Option<String>,
    /// `operatorsInfoPath` (local).
    pub operators_info_path: Option<PathBuf>,
    /// Hex text as written; the caller parses it (so errors name the flag).
    pub owner: Option<String>,
    /// `nonce`: the first validator's owner nonce.
    pub nonce: Option<u64>,
    /// `amount` in gwei.
    pub amount: Option<u64>,
    /// `network`.
    pub network: Option<String>,
    /// `withdrawAddress` as written (parsed by the caller).
    pub withdraw_address: Option<String>,
    /// `compounding`.
    pub compounding: Option<bool>,
    /// `validators`.
    pub validators: Option<usize>,
    /// `clientCACertPath` (local).
    pub client_ca_cert_path: Option<Vec<PathBuf>>,
    /// `tlsInsecure`.
    pub tls_insecure: Option<bool>,
    /// `outputPath` (local).
    pub output_path: Option<PathBuf>,
    /// `newOperatorIDs` (reshare).
    pub new_operator_ids: Option<Vec<u64>>,
    /// `proofsFilePath` (resign, reshare; local).
    pub proofs_file_path: Option<PathBuf>,
    /// `proofsString` (resign, reshare).
    pub proofs_string: Option<String>,
    /// `signatures` (resign, reshare): the owner's signature, hex.
    pub signatures: Option<String>,
}

impl DkgConfigFile {
    /// The resign/reshare keys this file sets (an `init` refuses them: they would be ignored).
    pub fn change_keys(&self) -> Vec<&'static str> {
        [
            ("newOperatorIDs", self.new_operator_ids.is_some()),
            ("proofsFilePath", self.proofs_file_path.is_some()),
            ("proofsString", self.proofs_string.is_some()),
            ("signatures", self.signatures.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }
}

/// Go's `filepath.IsLocal` on Unix: non-empty, not absolute, and no `..` that climbs above the
/// starting directory (`a/../b` is fine, `a/../../b` is not).
pub fn is_local(p: &str) -> bool {
    if p.is_empty() {
        return false;
    }
    let mut depth: i64 = 0;
    for c in Path::new(p).components() {
        match c {
            Component::Prefix(_) | Component::RootDir => return false,
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::CurDir => {}
            Component::Normal(_) => depth += 1,
        }
    }
    true
}

fn csv_list<T: std::str::FromStr>(
    v: ListOrCsv<T>,
    path: &Path,
    key: &str,
) -> Result<Vec<T>, ConfigFileError> {
    match v {
        ListOrCsv::List(l) => Ok(l),
        ListOrCsv::One(x) => Ok(vec![x]),
        ListOrCsv::Csv(s) => s
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(|x| {
                x.parse::<T>().map_err(|_| ConfigFileError::Entry {
                    path: path.to_owned(),
                    key: key.to_string(),
                    value: x.to_string(),
                })
            })
            .collect(),
    }
}

/// Parses config text; `path` only names the file in errors.
pub fn parse_dkg_config(text: &str, path: &Path) -> Result<DkgConfigFile, ConfigFileError> {
    let raw: RawDkgConfig = if text.trim().is_empty() {
        RawDkgConfig::default()
    } else {
        serde_saphyr::from_str(text).map_err(|source| ConfigFileError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?
    };
    let local = |key: &'static str, v: String| -> Result<PathBuf, ConfigFileError> {
        if is_local(&v) {
            Ok(PathBuf::from(v))
        } else {
            Err(ConfigFileError::NotLocal {
                path: path.to_owned(),
                key,
                value: v,
            })
        }
    };
    let operator_ids = raw
        .operator_ids
        .map(|v| csv_list(v, path, "operatorIDs"))
        .transpose()?;
    let client_ca_cert_path = match raw.client_ca_cert_path {
        None => None,
        Some(v) => Some(
            csv_list::<String>(v, path, "clientCACertPath")?
                .into_iter()
                .map(|p| local("clientCACertPath", p))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(DkgConfigFile {
        operator_ids,
        operators_info: raw.operators_info,
        operators_info_path: raw
            .operators_info_path
            .map(|p| local("operatorsInfoPath", p))
            .transpose()?,
        owner: raw.owner,
        nonce: raw.nonce,
        amount: raw.amount,
        network: raw.network,
        withdraw_address: raw.withdraw_address,
        compounding: raw.compounding,
        validators: raw.validators,
        client_ca_cert_path,
        tls_insecure: raw.tls_insecure,
        output_path: raw
            .output_path
            .map(|p| local("outputPath", p))
            .transpose()?,
        new_operator_ids: raw
            .new_operator_ids
            .map(|v| csv_list(v, path, "newOperatorIDs"))
            .transpose()?,
        proofs_file_path: raw
            .proofs_file_path
            .map(|p| local("proofsFilePath", p))
            .transpose()?,
        proofs_string: raw.proofs_string,
        signatures: raw.signatures,
    })
}

/// Reads and parses an initiator config file.
pub fn read_dkg_config(path: &Path) -> Result<DkgConfigFile, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_dkg_config(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ssv-dkg's `examples/config/initiator.example.yaml`, key for key.
    const EXAMPLE: &str = r#"operatorIDs: [11, 22, 33, 44]
withdrawAddress: "0x81592c3de184a3e2c0dcb5a261bc107bfa91f494"
owner: "0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9"
nonce: 1
network: "holesky"
validators: 10
operatorsInfoPath: ./data/initiator/operators_info.json
outputPath: ./data/initiator/output
clientCACertPath: ./data/initiator/rootCA.crt
logLevel: info
"#;

    #[test]
    fn reads_the_upstream_example() {
        let c = parse_dkg_config(EXAMPLE, Path::new("initiator.yaml")).expect("parse");
        assert_eq!(c.operator_ids, Some(vec![11, 22, 33, 44]));
        assert_eq!(
            c.withdraw_address.as_deref(),
            Some("0x81592c3de184a3e2c0dcb5a261bc107bfa91f494")
        );
        assert_eq!(c.nonce, Some(1));
        assert_eq!(c.network.as_deref(), Some("holesky"));
        assert_eq!(c.validators, Some(10));
        assert_eq!(
            c.operators_info_path,
            Some(PathBuf::from("./data/initiator/operators_info.json"))
        );
        assert_eq!(
            c.client_ca_cert_path,
            Some(vec![PathBuf::from("./data/initiator/rootCA.crt")])
        );
        assert_eq!(c.amount, None);
        assert_eq!(c.compounding, None);
    }

    #[test]
    fn ids_as_comma_string_and_booleans() {
        let c = parse_dkg_config(
            "operatorIDs: \"4,1, 3,2\"\ncompounding: true\ntlsInsecure: true\namount: 64000000000\n",
            Path::new("c.yaml"),
        )
        .expect("parse");
        assert_eq!(c.operator_ids, Some(vec![4, 1, 3, 2]));
        assert_eq!(c.compounding, Some(true));
        assert_eq!(c.tls_insecure, Some(true));
        assert_eq!(c.amount, Some(64_000_000_000));
    }

    #[test]
    fn rejects_absolute_and_escaping_paths_naming_the_key() {
        for (key, value) in [
            ("outputPath", "/data/output"),
            ("operatorsInfoPath", "../operators.json"),
            ("clientCACertPath", "certs/../../ca.crt"),
        ] {
            let text = format!("{key}: {value}\n");
            match parse_dkg_config(&text, Path::new("c.yaml")) {
                Err(ConfigFileError::NotLocal {
                    key: k, value: v, ..
                }) => {
                    assert_eq!(k, key);
                    assert_eq!(v, value);
                }
                other => panic!("{key}: expected NotLocal, got {other:?}"),
            }
        }
        assert!(is_local("a/../b"));
        assert!(is_local("./data/x"));
        assert!(!is_local(""));
        assert!(!is_local(".."));
    }

    #[test]
    fn unknown_keys_and_bad_types_are_errors() {
        let e = parse_dkg_config("operatorIds: [1]\n", Path::new("c.yaml")).unwrap_err();
        assert!(e.to_string().contains("operatorIds"), "{e}");
        let e = parse_dkg_config("nonce: many\n", Path::new("c.yaml")).unwrap_err();
        assert!(matches!(e, ConfigFileError::Parse { .. }), "{e}");
        let e = parse_dkg_config("operatorIDs: \"1,x\"\n", Path::new("c.yaml")).unwrap_err();
        assert!(e.to_string().contains("\"x\""), "{e}");
        assert_eq!(
            parse_dkg_config("", Path::new("c.yaml")).expect("empty file"),
            DkgConfigFile::default()
        );
    }

    #[test]
    fn reshare_keys_parse_and_are_named_for_init() {
        let text = "operatorIDs: [1, 2, 3, 4]\nnewOperatorIDs: \"1,2,3,5\"\nproofsFilePath: p/proofs.json\nsignatures: \"0xab\"\n";
        let f = parse_dkg_config(text, Path::new("c.yaml")).unwrap();
        assert_eq!(f.new_operator_ids, Some(vec![1, 2, 3, 5]));
        assert_eq!(f.proofs_file_path, Some(PathBuf::from("p/proofs.json")));
        assert_eq!(
            f.change_keys(),
            ["newOperatorIDs", "proofsFilePath", "signatures"]
        );
        assert!(DkgConfigFile::default().change_keys().is_empty());
        let escaping = parse_dkg_config("proofsFilePath: ../proofs.json\n", Path::new("c.yaml"));
        assert!(matches!(
            escaping,
            Err(ConfigFileError::NotLocal {
                key: "proofsFilePath",
                ..
            })
        ));
    }
}
