//! Every function, event and error the agent binds to (abi/*.sol via `sol!`) has the same
//! signature, selector, output types and indexing as in the real ABIs in ../shared/abi-reference.

use alloy::json_abi::JsonAbi;
use ssv_agent::chain::contracts::{
    DepositContract, SSVNetwork, SSVNetworkV1, SSVNetworkViews, SSVToken,
};

fn reference(path: &str) -> JsonAbi {
    let full = format!(
        "{}/../shared/abi-reference/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("read {full}: {e} (../shared must sit beside the repo)"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let arr = v.get("abi").cloned().unwrap_or(v);
    serde_json::from_value(arr).unwrap()
}

fn types(params: &[alloy::json_abi::Param]) -> Vec<String> {
    params
        .iter()
        .map(|p| p.selector_type().into_owned())
        .collect()
}

/// Checks `ours` against `refs` and returns how many items were compared.
fn check(name: &str, ours: &JsonAbi, refs: &[JsonAbi]) -> usize {
    let mut n = 0;
    for f in ours.functions() {
        let found = refs
            .iter()
            .flat_map(|r| r.functions())
            .find(|g| g.signature() == f.signature())
            .unwrap_or_else(|| {
                panic!(
                    "{name}: function {} is not in the reference ABI",
                    f.signature()
                )
            });
        assert_eq!(
            found.selector(),
            f.selector(),
            "{name}: selector of {}",
            f.signature()
        );
        assert_eq!(
            types(&found.outputs),
            types(&f.outputs),
            "{name}: outputs of {}",
            f.signature()
        );
        n += 1;
    }
    for e in ours.events() {
        let found = refs
            .iter()
            .flat_map(|r| r.events())
            .find(|g| g.signature() == e.signature())
            .unwrap_or_else(|| {
                panic!(
                    "{name}: event {} is not in the reference ABI",
                    e.signature()
                )
            });
        assert_eq!(
            found.selector(),
            e.selector(),
            "{name}: topic0 of {}",
            e.signature()
        );
        let idx =
            |ev: &alloy::json_abi::Event| ev.inputs.iter().map(|i| i.indexed).collect::<Vec<_>>();
        assert_eq!(
            idx(found),
            idx(e),
            "{name}: indexed flags of {}",
            e.signature()
        );
        n += 1;
    }
    for e in ours.errors() {
        let found = refs
            .iter()
            .flat_map(|r| r.errors())
            .find(|g| g.signature() == e.signature())
            .unwrap_or_else(|| {
                panic!(
                    "{name}: error {} is not in the reference ABI",
                    e.signature()
                )
            });
        assert_eq!(
            found.selector(),
            e.selector(),
            "{name}: selector of {}",
            e.signature()
        );
        n += 1;
    }
    n
}

#[test]
fn v2_network_bindings_match_reference() {
    let n = check(
        "SSVNetwork",
        &SSVNetwork::abi::contract(),
        &[reference("v2.0.0/SSVNetwork.json")],
    );
    assert!(n > 50, "only {n} items compared");
}

#[test]
fn v1_network_bindings_match_reference() {
    let n = check(
        "SSVNetworkV1",
        &SSVNetworkV1::abi::contract(),
        &[reference("v1.2.0/SSVNetwork.json")],
    );
    assert_eq!(n, 5);
}

#[test]
fn views_bindings_match_reference_v2_and_v1_share_selectors() {
    let ours = SSVNetworkViews::abi::contract();
    check(
        "SSVNetworkViews",
        &ours,
        &[reference("v2.0.0/SSVNetworkViews.json")],
    );
    // The views the agent also calls on v1 chains must exist there with the same selector.
    let v1 = reference("v1.2.0/SSVNetworkViews.json");
    for name in [
        "getOperatorById",
        "getNetworkFee",
        "getLiquidationThresholdPeriod",
        "getMinimumLiquidationCollateral",
        "getBalance",
        "getBurnRate",
        "isLiquidatable",
        "isLiquidated",
        "getValidator",
    ] {
        let ours_f = &ours.function(name).unwrap()[0];
        let theirs = &v1
            .function(name)
            .unwrap_or_else(|| panic!("v1 views lack {name}"))[0];
        assert_eq!(
            ours_f.selector(),
            theirs.selector(),
            "v1 selector of {name}"
        );
        // A static tuple encodes like its fields in a row, so v1's unwrapped outputs decode alike.
        let flat =
            |f: &alloy::json_abi::Function| types(&f.outputs).join(",").replace(['(', ')'], "");
        assert_eq!(flat(ours_f), flat(theirs), "v1 outputs of {name}");
    }
}

#[test]
fn token_and_deposit_contract_bindings_match_reference() {
    check(
        "SSVToken",
        &SSVToken::abi::contract(),
        &[reference("SSVToken.json")],
    );
    check(
        "DepositContract",
        &DepositContract::abi::contract(),
        &[reference("DepositContract.json")],
    );
}
