//! ssv-dkg's YAML config for `start-operator` (`--configPath`), the operator counterpart of
//! `initiator::config_file`: camelCase flag names as keys, every key optional, paths relative and
//! inside the working directory.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::limits::ServerLimitOverrides;
use crate::dkg::initiator::config_file::{ConfigFileError, is_local};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperatorConfig {
    #[serde(rename = "privKey")]
    priv_key: Option<String>,
    #[serde(rename = "privKeyPassword")]
    priv_key_password: Option<String>,
    port: Option<u16>,
    #[serde(rename = "operatorID")]
    operator_id: Option<u64>,
    #[serde(rename = "serverTLSCertPath")]
    server_tls_cert_path: Option<String>,
    #[serde(rename = "serverTLSKeyPath")]
    server_tls_key_path: Option<String>,
    #[serde(rename = "outputPath")]
    output_path: Option<String>,
    /// This operator's server limits (not an ssv-dkg key): camelCase names of `ServerLimits`.
    limits: Option<ServerLimitOverrides>,
    /// Execution RPC for EIP-1271 owner checks of `/resign` and `/reshare`.
    #[serde(rename = "ethEndpointURL")]
    eth_endpoint_url: Option<String>,
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

/// The values a `start-operator` config file sets.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OperatorConfigFile {
    /// `privKey`: the operator keystore (local path).
    pub priv_key: Option<PathBuf>,
    /// `privKeyPassword`: the file holding its password (local path).
    pub priv_key_password: Option<PathBuf>,
    /// `port`: the HTTPS port.
    pub port: Option<u16>,
    /// `operatorID`.
    pub operator_id: Option<u64>,
    /// `serverTLSCertPath` (local path).
    pub server_tls_cert_path: Option<PathBuf>,
    /// `serverTLSKeyPath` (local path).
    pub server_tls_key_path: Option<PathBuf>,
    /// `outputPath` (local path).
    pub output_path: Option<PathBuf>,
    /// The `limits:` section.
    pub limits: ServerLimitOverrides,
    /// `ethEndpointURL`: the execution RPC for contract owners' signatures (EIP-1271).
    pub eth_endpoint_url: Option<String>,
}

/// Parses config text; `path` only names the file in errors. Unknown keys are errors; keys
/// of ssv-dkg this operator does not need are accepted and ignored.
pub fn parse_operator_config(
    text: &str,
    path: &Path,
) -> Result<OperatorConfigFile, ConfigFileError> {
    let raw: RawOperatorConfig = if text.trim().is_empty() {
        RawOperatorConfig::default()
    } else {
        serde_saphyr::from_str(text).map_err(|source| ConfigFileError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?
    };
    let local =
        |key: &'static str, v: Option<String>| -> Result<Option<PathBuf>, ConfigFileError> {
            match v {
                None => Ok(None),
                Some(v) if is_local(&v) => Ok(Some(PathBuf::from(v))),
                Some(v) => Err(ConfigFileError::NotLocal {
                    path: path.to_owned(),
                    key,
                    value: v,
                }),
            }
        };
    Ok(OperatorConfigFile {
        priv_key: local("privKey", raw.priv_key)?,
        priv_key_password: local("privKeyPassword", raw.priv_key_password)?,
        port: raw.port,
        operator_id: raw.operator_id,
        server_tls_cert_path: local("serverTLSCertPath", raw.server_tls_cert_path)?,
        server_tls_key_path: local("serverTLSKeyPath", raw.server_tls_key_path)?,
        output_path: local("outputPath", raw.output_path)?,
        limits: raw.limits.unwrap_or_default(),
        eth_endpoint_url: raw.eth_endpoint_url,
    })
}

/// Reads and parses an operator config file.
pub fn read_operator_config(path: &Path) -> Result<OperatorConfigFile, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_operator_config(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like ssv-dkg's `examples/config/operator1.example.yaml`.
    const EXAMPLE: &str = "privKey: ./data/operator1/encrypted_private_key.json
privKeyPassword: ./data/operator1/password
port: 3030
operatorID: 11
logLevel: info
logFormat: json
logLevelFormat: capitalColor
logFilePath: ./data/operator1/debug.log
outputPath: ./data/operator1/output
ethEndpointURL: http://ethnode:8545
serverTLSCertPath: ./data/operator1/tls.crt
serverTLSKeyPath: ./data/operator1/tls.key
";

    #[test]
    fn reads_the_upstream_shape() {
        let c = parse_operator_config(EXAMPLE, Path::new("op.yaml")).expect("parse");
        assert_eq!(
            c.priv_key,
            Some(PathBuf::from("./data/operator1/encrypted_private_key.json"))
        );
        assert_eq!(
            c.priv_key_password,
            Some(PathBuf::from("./data/operator1/password"))
        );
        assert_eq!((c.port, c.operator_id), (Some(3030), Some(11)));
        assert_eq!(
            c.server_tls_key_path,
            Some(PathBuf::from("./data/operator1/tls.key"))
        );
        assert_eq!(
            c.output_path,
            Some(PathBuf::from("./data/operator1/output"))
        );
    }

    #[test]
    fn reads_a_limits_section_and_refuses_unknown_limit_keys() {
        let c = parse_operator_config(
            "operatorID: 1\nlimits:\n  maxConnections: 100\n  bodyReadTimeoutSecs: 5\n",
            Path::new("op.yaml"),
        )
        .expect("parse");
        assert_eq!(c.limits.max_connections, Some(100));
        assert_eq!(c.limits.body_read_timeout_secs, Some(5));
        let e = parse_operator_config("limits:\n  maxConections: 1\n", Path::new("op.yaml"))
            .expect_err("typo");
        assert!(e.to_string().contains("maxConections"), "{e}");
    }

    #[test]
    fn rejects_non_local_paths_unknown_keys_and_bad_values() {
        let e = parse_operator_config("privKey: /keys/op.json\n", Path::new("op.yaml"))
            .expect_err("absolute");
        assert!(
            matches!(e, ConfigFileError::NotLocal { key: "privKey", .. }),
            "{e}"
        );
        let e = parse_operator_config("operatorId: 3\n", Path::new("op.yaml"))
            .expect_err("unknown key");
        assert!(e.to_string().contains("operatorId"), "{e}");
        let e =
            parse_operator_config("port: 70000\n", Path::new("op.yaml")).expect_err("port range");
        assert!(matches!(e, ConfigFileError::Parse { .. }), "{e}");
    }
}
