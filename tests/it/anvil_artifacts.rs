//! The committed artifacts in anvil/artifacts are exactly what the pinned solc makes of
//! anvil/contracts, and every ABI entry of the doubles matches the reference ABIs.

use std::process::Command;

fn node_script(args: &[&str]) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/anvil");
    assert!(
        std::path::Path::new(dir).join("node_modules/solc").exists(),
        "solc is not installed: run `cd anvil && npm ci` (pinned solc 0.8.37)"
    );
    let out = Command::new("node")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("node runs (install Node.js 20)");
    assert!(
        out.status.success(),
        "node {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn artifacts_match_sources() {
    node_script(&["compile.js", "--check"]);
}

#[test]
fn double_abis_match_reference() {
    node_script(&["check-abi.js"]);
}
