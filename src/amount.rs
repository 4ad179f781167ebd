//! Amounts as people type them in flags and config: plain wei (`1000000000000000`), or a decimal
//! with a unit (`0.05eth`, `0.05 ETH`, `20gwei`, `3 ssv`; SSV has 18 decimals like ether).

use alloy::primitives::{U256, utils::parse_units};

/// An amount that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not an amount: {reason} (write wei as digits, or a decimal with eth, gwei or ssv, e.g. 0.05eth)"
)]
pub struct AmountError {
    /// What was given.
    pub input: String,
    /// Why it failed.
    pub reason: String,
}

/// An amount from the config file, parsed at load: wei digits (a TOML string or integer) or a
/// decimal with a unit (`"0.5eth"`), so a bad value fails when the config is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Amount(pub U256);

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) => parse_amount(&t)
                .map(Amount)
                .map_err(serde::de::Error::custom),
            Raw::Number(n) => Ok(Self(U256::from(n))),
        }
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

/// Parses wei digits or `<decimal><unit>` with unit eth | ether | gwei | wei | ssv.
pub fn parse_amount(input: &str) -> Result<U256, AmountError> {
    let err = |reason: String| AmountError {
        input: input.to_string(),
        reason,
    };
    let s = input.trim().to_ascii_lowercase().replace('_', "");
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number = number.trim();
    let (units, decimals) = match unit.trim() {
        "" | "wei" => ("wei", 0),
        "gwei" => ("gwei", 9),
        "eth" | "ether" | "ssv" => ("ether", 18),
        other => return Err(err(format!("unknown unit `{other}`"))),
    };
    if number.is_empty() {
        return Err(err("no number".into()));
    }
    // Refuse digits below one wei instead of silently dropping them.
    let fraction = number.split_once('.').map_or(0, |(_, f)| f.len());
    if fraction > decimals {
        return Err(err(format!(
            "{fraction} decimals, but {units} has {decimals} (one wei is the smallest amount)"
        )));
    }
    parse_units(number, units)
        .map(Into::into)
        .map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wei_and_units() {
        assert_eq!(parse_amount("1000").unwrap(), U256::from(1000u64));
        assert_eq!(
            parse_amount("0.05eth").unwrap(),
            U256::from(50_000_000_000_000_000u64)
        );
        assert_eq!(
            parse_amount(" 0.05 ETH ").unwrap(),
            U256::from(50_000_000_000_000_000u64)
        );
        assert_eq!(
            parse_amount("20gwei").unwrap(),
            U256::from(20_000_000_000u64)
        );
        assert_eq!(
            parse_amount("3 ssv").unwrap(),
            U256::from(3_000_000_000_000_000_000u64)
        );
    }

    #[test]
    fn refuses_nonsense() {
        assert!(parse_amount("").is_err());
        assert!(parse_amount("eth").is_err());
        assert!(parse_amount("1.5").is_err(), "fractional wei");
        assert!(parse_amount("0.0000000001gwei").is_err(), "below one wei");
        let e = parse_amount("2 dollars").unwrap_err();
        assert!(e.to_string().contains("unknown unit `dollars`"), "{e}");
    }
}
