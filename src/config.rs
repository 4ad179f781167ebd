//! The one typed configuration, loaded from TOML. Secrets never live in the file itself: the file
//! names a key file or an environment variable, and `SSV_AGENT_*` variables override (see
//! `config.toml.example` for every key).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use crate::{
    amount::Amount,
    network::{NetworkError, NetworkProfile},
};

/// Environment variable that overrides `rpc.url` (RPC URLs often embed API keys).
pub const ENV_RPC_URL: &str = "SSV_AGENT_RPC_URL";
/// Environment variable that overrides `beacon.url`.
pub const ENV_BEACON_URL: &str = "SSV_AGENT_BEACON_URL";
/// Environment variable that overrides `watch.alert_webhook_url` (webhook URLs often hold a token).
pub const ENV_ALERT_WEBHOOK_URL: &str = "SSV_AGENT_ALERT_WEBHOOK_URL";
/// Default environment variable holding a hex private key.
pub const ENV_PRIVATE_KEY: &str = "SSV_AGENT_PRIVATE_KEY";
/// Default environment variable holding the keystore password.
pub const ENV_KEYSTORE_PASSWORD: &str = "SSV_AGENT_KEYSTORE_PASSWORD";

/// The whole configuration of the agent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `mainnet`, `hoodi`, `holesky`, or `custom` (then `[custom_network]` is required).
    pub network: String,
    /// The profile used when `network = "custom"`.
    pub custom_network: Option<NetworkProfile>,
    /// Execution-layer JSON-RPC.
    pub rpc: RpcConfig,
    /// Consensus-layer Beacon API.
    pub beacon: BeaconConfig,
    /// Where the owner key comes from.
    pub signer: SignerConfig,
    /// The validators to create.
    pub validators: ValidatorsConfig,
    /// Deposit transaction settings (the fee caps apply to every transaction).
    pub deposit: DepositConfig,
    /// Waiting for transactions: deadline, rebroadcast, replacement.
    pub transactions: TransactionsConfig,
    /// Cluster funding policy at registration.
    pub funding: FundingConfig,
    /// How operators are discovered, checked and chosen (`validators.operators = "auto"`).
    pub operators: OperatorsConfig,
    /// The watch service.
    pub watch: WatchConfig,
}

/// Execution-layer endpoint settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RpcConfig {
    /// HTTP(S) or WS(S) URL.
    pub url: String,
    /// Blocks per `eth_getLogs` request (halved automatically when the provider refuses a range).
    pub log_chunk_blocks: u64,
    /// Where scanned log heights are cached between runs (optional).
    pub log_cache_dir: Option<PathBuf>,
    /// Longest wait for one JSON-RPC answer, seconds (a hung endpoint fails instead of freezing).
    pub request_timeout_secs: u64,
    /// `eth_getLogs` requests in flight at once during history scans.
    pub max_logs_in_flight: usize,
    /// Requests per second at most during scans (unset: only the provider's 429s slow them).
    pub max_requests_per_second: Option<u32>,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8545".into(),
            log_chunk_blocks: 50_000,
            log_cache_dir: None,
            request_timeout_secs: 30,
            max_logs_in_flight: 8,
            max_requests_per_second: None,
        }
    }
}

/// How every transaction is waited for once sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransactionsConfig {
    /// Stop waiting for a transaction after this many seconds (it stays journaled and the next
    /// run resumes it).
    pub timeout_secs: u64,
    /// Rebroadcast the same signed bytes when the node no longer knows the transaction, at most
    /// this often (seconds).
    pub rebroadcast_every_secs: u64,
    /// Replace a transaction still pending after this many seconds with higher fees, never above
    /// `deposit.max_fee_per_gas_gwei` (0 = never replace).
    pub replace_after_secs: u64,
    /// Fee increase of a replacement, percent (at least 10, what nodes require).
    pub replace_fee_bump_percent: u64,
}

impl Default for TransactionsConfig {
    fn default() -> Self {
        Self {
            timeout_secs: 600,
            rebroadcast_every_secs: 60,
            replace_after_secs: 180,
            replace_fee_bump_percent: 15,
        }
    }
}

/// Beacon API settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BeaconConfig {
    /// Beacon node base URL.
    pub url: String,
}

impl Default for BeaconConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:5052".into(),
        }
    }
}

/// The owner key: exactly one source should be set; the env var is the fallback.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignerConfig {
    /// A file holding a hex private key (mode 0600 recommended).
    pub private_key_file: Option<PathBuf>,
    /// Name of an environment variable holding a hex private key.
    pub private_key_env: Option<String>,
    /// An encrypted JSON (Web3 secret storage) keystore.
    pub keystore_file: Option<PathBuf>,
    /// A file holding the keystore password.
    pub keystore_password_file: Option<PathBuf>,
    /// Name of an environment variable holding the keystore password.
    pub keystore_password_env: Option<String>,
}

impl Default for SignerConfig {
    fn default() -> Self {
        Self {
            private_key_file: None,
            private_key_env: None,
            keystore_file: None,
            keystore_password_file: None,
            keystore_password_env: Some(ENV_KEYSTORE_PASSWORD.into()),
        }
    }
}

/// Which operators hold the validators' shares: the agent's choice under the `[operators]`
/// policy, or a fixed list of ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorChoice {
    /// `"auto"`: the agent picks healthy operators that fit the `[operators]` policy.
    Auto,
    /// Operator ids chosen by the user (4, 7, 10 or 13).
    Ids(Vec<u64>),
}

impl Default for OperatorChoice {
    fn default() -> Self {
        Self::Ids(Vec::new())
    }
}

impl OperatorChoice {
    /// The fixed ids, if this is a fixed list.
    pub fn ids(&self) -> Option<&[u64]> {
        match self {
            Self::Auto => None,
            Self::Ids(ids) => Some(ids),
        }
    }
}

impl Serialize for OperatorChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Auto => s.serialize_str("auto"),
            Self::Ids(ids) => ids.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for OperatorChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Ids(Vec<u64>),
        }
        // Untagged alone would say "did not match any variant"; name what is accepted instead.
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected \"auto\" or a list of operator ids like [1, 2, 3, 4]",
            )
        })? {
            Raw::Word(w) if w == "auto" => Ok(Self::Auto),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "`{w}` is not a choice of operators: write \"auto\" or a list of ids like [1, 2, 3, 4]"
            ))),
            Raw::Ids(ids) => Ok(Self::Ids(ids)),
        }
    }
}

/// What to create.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidatorsConfig {
    /// `"auto"` or the chosen SSV operator ids (4, 7, 10 or 13). `operator_ids` is the old name.
    #[serde(alias = "operator_ids")]
    pub operators: OperatorChoice,
    /// Optional ssv-dkg `operators_info.json` (id, public_key, ip); otherwise the endpoints come
    /// from the SSV API (`operators.ssv_api_url`).
    pub operators_info_file: Option<PathBuf>,
    /// Withdrawal address the deposit credentials must point to.
    pub withdrawal_address: Option<Address>,
    /// How many validators (1..=100).
    pub count: u32,
    /// 0x02 (compounding) credentials instead of 0x01.
    pub compounding: bool,
    /// Deposit amount per validator in gwei (32 ETH unless compounding).
    pub amount_gwei: u64,
    /// Output folder for ceremonies and state files.
    pub output_dir: PathBuf,
}

impl Default for ValidatorsConfig {
    fn default() -> Self {
        Self {
            operators: OperatorChoice::default(),
            operators_info_file: None,
            withdrawal_address: None,
            count: 1,
            compounding: false,
            amount_gwei: 32_000_000_000,
            output_dir: PathBuf::from("output"),
        }
    }
}

/// Deposit transaction settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DepositConfig {
    /// Refuse to send when the base fee would push the total above this (gwei).
    pub max_fee_per_gas_gwei: f64,
    /// Priority fee (gwei).
    pub max_priority_fee_per_gas_gwei: f64,
    /// Blocks to wait after inclusion before a transaction counts as done.
    pub confirmations: u64,
}

impl Default for DepositConfig {
    fn default() -> Self {
        Self {
            max_fee_per_gas_gwei: 50.0,
            max_priority_fee_per_gas_gwei: 1.0,
            confirmations: 2,
        }
    }
}

/// How much runway a cluster gets when validators are registered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FundingConfig {
    /// Fund the cluster for this many days of operator + network fees, above the collateral.
    pub runway_days: u64,
    /// Refuse any action that leaves less than this runway.
    pub min_runway_days: u64,
    /// Allow `migrateClusterToETH` for an SSV-billed cluster before registering into it.
    pub allow_migration: bool,
}

impl Default for FundingConfig {
    fn default() -> Self {
        Self {
            runway_days: 182,
            min_runway_days: 30,
            allow_migration: false,
        }
    }
}

/// Operator discovery, health checks and automatic choice (`ssv-agent operators`, and `run` with
/// `validators.operators = "auto"` or `replace_unhealthy`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OperatorsConfig {
    /// SSV API base URL (`<url>/api/v4/<network>/operators`).
    pub ssv_api_url: String,
    /// Operators to choose with `validators.operators = "auto"`: 4, 7, 10 or 13.
    pub count: usize,
    /// Only operators the SSV API marks verified.
    pub verified_only: bool,
    /// Largest yearly fee per validator (chain value), e.g. `"0.01eth"`; none when unset.
    pub max_yearly_fee: Option<Amount>,
    /// Smallest 30-day performance, percent (0 = any).
    pub min_performance_30d: f64,
    /// Smallest number of validators the operator already runs (on chain).
    pub min_validators: u32,
    /// MEV relays the operator must list, e.g. `["Flashbots", "Ultra Sound"]`.
    pub mev_relays: Vec<String>,
    /// Never choose these ids.
    pub exclude: Vec<u64>,
    /// Choose these ids first when they are healthy and fit the policy.
    pub prefer: Vec<u64>,
    /// With a fixed `validators.operators` list: swap an operator that fails its health check for
    /// the best healthy one that fits this policy, before any ceremony output exists.
    pub replace_unhealthy: bool,
    /// Longest wait for one operator's health check, seconds.
    pub check_timeout_secs: u64,
}

impl Default for OperatorsConfig {
    fn default() -> Self {
        Self {
            ssv_api_url: "https://api.ssv.network".into(),
            count: 4,
            verified_only: false,
            max_yearly_fee: None,
            min_performance_30d: 0.0,
            min_validators: 0,
            mev_relays: Vec::new(),
            exclude: Vec::new(),
            prefer: Vec::new(),
            replace_unhealthy: false,
            check_timeout_secs: 10,
        }
    }
}

/// The watch service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    /// Clusters to watch besides the owner's own (operator id lists).
    pub clusters: Vec<Vec<u64>>,
    /// Other owners whose clusters (all of them, found from their events) are watched too. The
    /// signer tops them up with `deposit`, which anyone may send; only an owner can reactivate.
    pub owners: Vec<Address>,
    /// Top up when runway falls under this many days.
    pub floor_days: u64,
    /// Top up to this many days.
    pub target_days: u64,
    /// Largest single top-up, in wei (ETH clusters) or SSV wei (legacy): digits or `"0.5eth"`.
    pub max_topup_per_tx: Amount,
    /// Largest total top-ups in any 24 h window.
    pub max_topup_per_day: Amount,
    /// Seconds between ticks.
    pub interval_secs: u64,
    /// Prometheus metrics listen address, or `off`.
    pub metrics_addr: MetricsAddr,
    /// Reactivate liquidated clusters (otherwise only report them).
    pub reactivate: bool,
    /// `text` or `json` logs.
    pub log_format: LogFormat,
    /// Where alerts are POSTed as JSON (optional; `SSV_AGENT_ALERT_WEBHOOK_URL` overrides).
    pub alert_webhook_url: Option<WebhookUrl>,
    /// Post an ongoing condition (low runway, liquidated, stuck) again after this many hours
    /// (0 = only when it starts).
    pub alert_repeat_hours: u64,
}

/// An alert webhook URL: http(s), checked when the config is read; `Debug` shows it redacted
/// (it may hold a token).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(pub crate::chain::SensitiveUrl);

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookUrl({})", self.0.redacted())
    }
}

impl std::str::FromStr for WebhookUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let url = crate::chain::SensitiveUrl::new(s.trim());
        let ok = url::Url::parse(url.expose())
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        if ok {
            Ok(Self(url))
        } else {
            Err(format!(
                "alert webhook URL {} is not an http:// or https:// URL",
                url.redacted()
            ))
        }
    }
}

impl<'de> Deserialize<'de> for WebhookUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for WebhookUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose())
    }
}

/// Where the watch service serves its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAddr {
    /// Not served.
    Off,
    /// Listen here.
    At(SocketAddr),
}

impl std::str::FromStr for MetricsAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "off" => Ok(Self::Off),
            a => a.parse().map(Self::At).map_err(|_| {
                format!("metrics address `{a}` is not host:port (e.g. 127.0.0.1:9464), or `off`")
            }),
        }
    }
}

impl<'de> Deserialize<'de> for MetricsAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for MetricsAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Off => s.serialize_str("off"),
            Self::At(a) => s.serialize_str(&a.to_string()),
        }
    }
}

/// Log line format of the watch service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            clusters: Vec::new(),
            owners: Vec::new(),
            floor_days: 30,
            target_days: 90,
            max_topup_per_tx: Amount(U256::from(10u64).pow(U256::from(18u64))),
            max_topup_per_day: Amount(U256::from(2u64) * U256::from(10u64).pow(U256::from(18u64))),
            interval_secs: 60,
            metrics_addr: MetricsAddr::At(SocketAddr::from(([127, 0, 0, 1], 9464))),
            reactivate: false,
            log_format: LogFormat::Text,
            alert_webhook_url: None,
            alert_repeat_hours: 6,
        }
    }
}

/// A problem loading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The io error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys or bad values (e.g. a malformed address).
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What toml said, with line and column.
        message: String,
    },
    /// An unknown network or a bad custom profile.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// An `SSV_AGENT_*` variable with a value that cannot be used.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong (secrets redacted).
        message: String,
    },
    /// `network = "custom"` without a `[custom_network]` table.
    #[error(
        "network = \"custom\" needs a [custom_network] table with chain_id and contract addresses"
    )]
    MissingCustomNetwork,
}

impl Config {
    /// Reads and parses a TOML file, then applies the `SSV_AGENT_*` environment overrides.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })?;
        config.apply_env(|k| std::env::var(k).ok())?;
        config.profile()?;
        Ok(config)
    }

    /// Parses TOML text (no environment applied).
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let mut config: Self = toml::from_str(text).map_err(|e| describe(text, &e))?;
        if config.network.is_empty() {
            config.network = "hoodi".into();
        }
        Ok(config)
    }

    /// Applies environment overrides; `get` is injected so tests need not touch the process env.
    /// A malformed webhook URL in the environment is an error (never silently ignored).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(url) = get(ENV_RPC_URL) {
            self.rpc.url = url;
        }
        if let Some(url) = get(ENV_BEACON_URL) {
            self.beacon.url = url;
        }
        if let Some(url) = get(ENV_ALERT_WEBHOOK_URL).filter(|u| !u.trim().is_empty()) {
            let url = url.parse().map_err(|message| ConfigError::Env {
                var: ENV_ALERT_WEBHOOK_URL,
                message,
            })?;
            self.watch.alert_webhook_url = Some(url);
        }
        Ok(())
    }

    /// The network profile this config selects.
    pub fn profile(&self) -> Result<NetworkProfile, ConfigError> {
        match self.network.as_str() {
            "custom" => self
                .custom_network
                .clone()
                .ok_or(ConfigError::MissingCustomNetwork),
            name => Ok(NetworkProfile::by_name(name)?),
        }
    }
}

/// A TOML error as line, key and message, without the offending line's text: toml quotes it, and
/// a value (a webhook or RPC URL with its token) must not reach an error.
fn describe(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return e.message().to_string();
    };
    let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) => format!("line {line_no}, key `{}`: {}", key.trim(), e.message()),
        None => format!("line {line_no} (`{}`): {}", line.trim(), e.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_sections() {
        let c = Config::from_toml("network = \"mainnet\"\n").unwrap();
        assert_eq!(c.profile().unwrap().chain_id, 1);
        assert_eq!(c.validators.amount_gwei, 32_000_000_000);
        assert_eq!(c.deposit.confirmations, 2);
    }

    #[test]
    fn unknown_keys_and_malformed_addresses_are_refused() {
        let e = Config::from_toml("netwrok = \"hoodi\"").unwrap_err();
        assert!(e.contains("netwrok"), "{e}");
        let e = Config::from_toml("[validators]\nwithdrawal_address = \"0x1234\"").unwrap_err();
        assert!(e.contains("withdrawal_address"), "{e}");
    }

    #[test]
    fn operators_are_auto_or_ids_and_the_old_key_still_loads() {
        let c = Config::from_toml("[validators]\noperators = \"auto\"\n").unwrap();
        assert_eq!(c.validators.operators, OperatorChoice::Auto);
        let c = Config::from_toml("[validators]\noperators = [4, 3, 2, 1]\n").unwrap();
        assert_eq!(c.validators.operators.ids(), Some(&[4, 3, 2, 1][..]));
        let c = Config::from_toml("[validators]\noperator_ids = [1, 2, 3, 4]\n").unwrap();
        assert_eq!(c.validators.operators.ids(), Some(&[1, 2, 3, 4][..]));
        let e = Config::from_toml("[validators]\noperators = \"best\"\n").unwrap_err();
        assert!(e.contains("best") && e.contains("auto"), "{e}");
        let e = Config::from_toml("[operators]\ncuont = 4\n").unwrap_err();
        assert!(e.contains("cuont"), "{e}");
        let c = Config::from_toml("[operators]\nmax_yearly_fee = \"0.01eth\"\n").unwrap();
        assert_eq!(
            c.operators.max_yearly_fee,
            Some(Amount(U256::from(10_000_000_000_000_000u64)))
        );
        let e = Config::from_toml("[operators]\nmax_yearly_fee = \"cheap\"\n").unwrap_err();
        assert!(e.contains("max_yearly_fee"), "{e}");
        // Round trip through TOML keeps the choice.
        let mut c = Config::default();
        c.validators.operators = OperatorChoice::Auto;
        let back = Config::from_toml(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(back.validators.operators, OperatorChoice::Auto);
    }

    #[test]
    fn watch_amounts_addresses_and_formats_fail_at_load() {
        let c = Config::from_toml(
            "[watch]\nmax_topup_per_tx = \"0.5eth\"\nmax_topup_per_day = 7\nmetrics_addr = \"off\"\nlog_format = \"json\"\n",
        )
        .unwrap();
        assert_eq!(
            c.watch.max_topup_per_tx.0,
            U256::from(500_000_000_000_000_000u64)
        );
        assert_eq!(c.watch.max_topup_per_day.0, U256::from(7u64));
        assert_eq!(c.watch.metrics_addr, MetricsAddr::Off);
        assert_eq!(c.watch.log_format, LogFormat::Json);
        let owners = Config::from_toml(
            "[watch]\nowners = [\"0x00000000000000000000000000000000000000aa\"]\n",
        )
        .unwrap();
        assert_eq!(owners.watch.owners, vec![Address::with_last_byte(0xaa)]);
        for (bad, key) in [
            ("max_topup_per_tx = \"lots\"", "max_topup_per_tx"),
            ("metrics_addr = \"localhost\"", "metrics_addr"),
            ("log_format = \"xml\"", "log_format"),
            ("owners = [\"0x1234\"]", "owners"),
        ] {
            let e = Config::from_toml(&format!("[watch]\n{bad}\n")).unwrap_err();
            assert!(e.contains(key), "{bad}: {e}");
        }
    }

    #[test]
    fn webhook_url_is_checked_redacted_and_overridden_by_the_environment() {
        let c = Config::from_toml(
            "[watch]\nalert_webhook_url = \"https://hooks.example/T0/SECRETTOKEN\"\nalert_repeat_hours = 0\n",
        )
        .unwrap();
        let url = c.watch.alert_webhook_url.clone().expect("set");
        assert_eq!(url.0.expose(), "https://hooks.example/T0/SECRETTOKEN");
        assert!(
            !format!("{c:?}").contains("SECRETTOKEN"),
            "Debug shows the token"
        );
        assert_eq!(c.watch.alert_repeat_hours, 0);
        let e = Config::from_toml("[watch]\nalert_webhook_url = \"ftp://x/SECRETTOKEN\"\n")
            .unwrap_err();
        assert!(
            e.contains("alert_webhook_url") && !e.contains("SECRETTOKEN"),
            "{e}"
        );
        let mut c = Config::from_toml("").unwrap();
        let env =
            |v: &'static str| move |k: &str| (k == ENV_ALERT_WEBHOOK_URL).then(|| v.to_string());
        c.apply_env(env("http://127.0.0.1:9/hook")).unwrap();
        assert_eq!(
            c.watch.alert_webhook_url.as_ref().unwrap().0.expose(),
            "http://127.0.0.1:9/hook"
        );
        let e = c
            .apply_env(env("not a url/SECRETTOKEN"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(ENV_ALERT_WEBHOOK_URL) && !e.contains("SECRETTOKEN"),
            "{e}"
        );
    }

    #[test]
    fn unknown_network_is_refused() {
        let c = Config::from_toml("network = \"goerli\"").unwrap();
        assert!(c.profile().unwrap_err().to_string().contains("goerli"));
    }

    #[test]
    fn custom_profile_and_env_override() {
        let text = r#"
network = "custom"
[custom_network]
name = "devnet"
chain_id = 31337
ssv_network = "0x58410Bef803ECd7E63B23664C586A6DB72DAf59c"
ssv_views = "0x5AdDb3f1529C5ec70D77400499eE4bbF328368fe"
ssv_token = "0x9F5d4Ec84fC4785788aB44F9de973cF34F7A038e"
deposit_contract = "0x00000000219ab540356cBB839Cbe05303d7705Fa"
registry_sync_offset = 0
deposit_contract_block = 0
genesis_fork_version = "0x10000910"
blocks_per_day = 7200
"#;
        let mut c = Config::from_toml(text).unwrap();
        c.apply_env(|k| (k == ENV_RPC_URL).then(|| "http://10.0.0.1:8545".to_string()))
            .unwrap();
        assert_eq!(c.rpc.url, "http://10.0.0.1:8545");
        let p = c.profile().unwrap();
        assert_eq!(
            (p.chain_id, p.genesis_fork_version),
            (31337, [0x10, 0, 9, 0x10])
        );
        assert!(
            Config::from_toml("network = \"custom\"")
                .unwrap()
                .profile()
                .is_err()
        );
    }
}
