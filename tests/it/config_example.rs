//! `config.toml.example` parses with the real `Config` (unknown keys are refused, so a renamed or
//! removed key breaks this test), its values are the documented safe defaults, and every key of
//! `Config` appears in it (uncommented or as a commented example).

use ssv_agent::config::Config;

fn example() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml.example");
    std::fs::read_to_string(path).expect("config.toml.example exists at the repository root")
}

#[test]
fn example_parses_with_config_from_toml() {
    let c = Config::from_toml(&example()).expect("config.toml.example parses");
    assert_eq!(c.network, "hoodi");
    assert_eq!(c.profile().unwrap().chain_id, 560_048);
    // Safe defaults: one validator, 32 ETH, 0x01, a gas cap, confirmations, runway above minimum.
    assert_eq!(c.validators.count, 1);
    assert_eq!(c.validators.amount_gwei, 32_000_000_000);
    assert!(!c.validators.compounding);
    assert!(c.deposit.confirmations >= 1);
    assert!(c.deposit.max_fee_per_gas_gwei > 0.0);
    assert!(c.funding.runway_days >= c.funding.min_runway_days);
    assert!(!c.funding.allow_migration && !c.watch.reactivate);
    // No key material in the example: the signer is named by file or env var only.
    assert!(c.signer.private_key_file.is_none() && c.signer.keystore_file.is_none());
    // The uncommented values equal the built-in defaults, so the example documents them.
    let d = Config::from_toml("").unwrap();
    assert_eq!(
        toml::to_string(&c).unwrap(),
        toml::to_string(&d).unwrap(),
        "an uncommented value in config.toml.example differs from Config's default"
    );
}

#[test]
fn every_config_key_is_documented() {
    let text = example();
    // Serialise a config with every optional field set, so all keys appear.
    let mut c = Config::from_toml("").unwrap();
    c.signer.private_key_file = Some("k".into());
    c.signer.private_key_env = Some("E".into());
    c.signer.keystore_file = Some("k".into());
    c.signer.keystore_password_file = Some("p".into());
    c.rpc.log_cache_dir = Some("c".into());
    c.validators.operators_info_file = Some("o".into());
    c.operators.max_yearly_fee = Some(ssv_agent::amount::Amount(Default::default()));
    c.validators.withdrawal_address = Some(Default::default());
    c.custom_network = Some(c.profile().unwrap());
    c.watch.alert_webhook_url = Some("https://hooks.example/x".parse().unwrap());
    let full: toml::Table = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
    let mut missing = Vec::new();
    for (key, value) in &full {
        match value.as_table() {
            Some(t) => {
                if !text.contains(&format!("[{key}]")) {
                    missing.push(format!("[{key}]"));
                }
                for k in t.keys() {
                    // Documented either as `key = ...` or as a commented `# key = ...`.
                    if !text.lines().any(|l| {
                        l.trim_start_matches(['#', ' '])
                            .starts_with(&format!("{k} ="))
                    }) {
                        missing.push(format!("{key}.{k}"));
                    }
                }
            }
            None => {
                if !text.lines().any(|l| l.starts_with(&format!("{key} ="))) {
                    missing.push(key.clone());
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in config.toml.example: {missing:?}"
    );
}

#[test]
fn commented_examples_parse_when_uncommented() {
    // Uncommenting the signer and validator examples must give a valid config.
    let text = example()
        .replace("# private_key_file = ", "private_key_file = ")
        .replace("# operators_info_file = ", "operators_info_file = ")
        .replace("# max_yearly_fee = ", "max_yearly_fee = ")
        .replace(
            "# withdrawal_address = \"0x0000000000000000000000000000000000000000\"",
            "withdrawal_address = \"0x000000000000000000000000000000000000dEaD\"",
        );
    let c = Config::from_toml(&text).expect("uncommented examples parse");
    assert!(c.signer.private_key_file.is_some());
    assert!(c.validators.withdrawal_address.is_some());
    assert_eq!(
        c.operators
            .max_yearly_fee
            .map(|a| a.0.to_string())
            .as_deref(),
        Some("10000000000000000")
    );
    // The automatic choice is one uncommented line away.
    let auto = example().replace("operators = []  # <-- fill in", "# operators = []");
    let auto = auto.replace("# operators = \"auto\"", "operators = \"auto\"");
    let c = Config::from_toml(&auto).expect("operators = \"auto\" parses");
    assert_eq!(
        c.validators.operators,
        ssv_agent::config::OperatorChoice::Auto
    );
}
