//! Readable explanations of SSVNetwork custom errors, so a refused simulation tells the staker what
//! to do rather than printing a selector.

/// A sentence for a decoded SSVNetwork error name (as `chain::reads::revert_name` returns it).
pub fn explain(name: &str) -> String {
    let hint = match name {
        "IncorrectClusterState" => {
            "the cluster snapshot passed is stale: a newer cluster event exists; the snapshot is rebuilt from events, retry"
        }
        "ClusterDoesNotExist" | "ClusterDoesNotExists" => {
            "no cluster exists for this owner and operator set"
        }
        "ClusterIsLiquidated" => {
            "the cluster is liquidated: reactivate it (with enough balance) before registering or depositing"
        }
        "IncorrectClusterVersion" => {
            "the cluster is SSV-billed (legacy): it must be migrated to ETH (migrateClusterToETH) before it takes new validators"
        }
        "InsufficientBalance" => {
            "the cluster would be liquidatable after this call: send more funds"
        }
        "ValidatorAlreadyExists" | "ValidatorAlreadyExistsWithData" => {
            "the validator is already registered by this owner"
        }
        "OperatorDoesNotExist" => "one of the operators does not exist (or was removed)",
        "CallerNotWhitelisted" | "CallerNotWhitelistedWithData" => {
            "an operator is private and does not whitelist this owner"
        }
        "ExceedValidatorLimit" | "ExceedValidatorLimitWithData" => {
            "an operator has reached its validator limit"
        }
        "InvalidOperatorIdsLength" => "the operator set must have 4, 7, 10 or 13 operators",
        "UnsortedOperatorsList" => "operator ids must be strictly ascending",
        "OperatorsListNotUnique" => "operator ids must be unique",
        "InvalidPublicKeyLength" => "a validator public key is not 48 bytes",
        "PublicKeysSharesLengthMismatch" => {
            "bulk registration got a different number of keys and shares"
        }
        "EmptyPublicKeysList" => "bulk registration got no keys",
        "TokenTransferFailed" => {
            "the SSV transferFrom failed: approve at least the amount and hold that much SSV"
        }
        "ClusterAlreadyEnabled" => {
            "the cluster is active; reactivate is only for liquidated clusters"
        }
        "ClusterNotLiquidatable" => "the cluster is not liquidatable",
        "MaxPrecisionExceeded" => "an amount is not a multiple of the contract's packing unit",
        _ => return format!("{name} (SSVNetwork custom error)"),
    };
    format!("{name}: {hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_names() {
        assert!(explain("IncorrectClusterVersion").contains("migrate"));
        assert!(explain("InsufficientBalance").starts_with("InsufficientBalance:"));
        assert_eq!(explain("Foo"), "Foo (SSVNetwork custom error)");
    }
}
