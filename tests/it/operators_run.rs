//! `ssv-agent run` choosing its operators on the devnet (anvil at Hoodi's addresses + real
//! Lodestar + the devnet's DKG nodes and SSV API double): with `validators.operators = "auto"` it
//! avoids the offline operator (7), the outdated one (8) and the one serving an unregistered key
//! (9), says why it chose each, pins the choice in run.json and completes; a fixed list with the
//! offline operator is refused, or with `replace_unhealthy = true` the operator is swapped before
//! the ceremony and the run completes; once a ceremony output exists the choice never changes,
//! even when a chosen operator then goes down.
//!
//! Needs anvil (`cd anvil && npm ci`) and Lodestar (`scripts/install-lodestar.sh`).

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;
use ssv_agent::{
    config::{Config, OperatorChoice},
    journal::{STATE_FILE, Stage, ValidatorState},
    pipeline::{
        local::{LocalOptions, LocalSetup},
        plan::{RUN_FILE, validator_folders},
    },
    ssv::keyshares::KeysharesFile,
};

fn write(setup: &LocalSetup, name: &str, config: &Config) -> PathBuf {
    let path = setup.dir.join(format!("{name}.toml"));
    std::fs::write(&path, toml::to_string(config).unwrap()).unwrap();
    path
}

/// `run` through the binary, off the runtime's threads (the devnet's servers live on them).
async fn run(config: &Path, ca: &Path) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ssv-agent"));
    c.env_remove("SSV_AGENT_TEST_KILL_AT")
        .env_remove("SSV_AGENT_RPC_URL")
        .env_remove("SSV_AGENT_BEACON_URL")
        .arg("--config")
        .arg(config)
        .args(["run", "--poll-secs", "1", "--operator-ca-cert"])
        .arg(ca);
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn succeeded(o: &Output, what: &str) -> String {
    let e = stderr(o);
    assert!(o.status.success(), "{what} failed:\n{e}");
    e
}

fn run_file(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join(RUN_FILE)).expect("run.json")).unwrap()
}

/// The operators of the one ceremony output in `out`, and that its validator is funded.
fn finished_with(out: &Path) -> Vec<u64> {
    let folders = validator_folders(out).unwrap();
    assert_eq!(folders.len(), 1, "{folders:?}");
    let dir = &folders[0].2;
    let s: ValidatorState =
        serde_json::from_slice(&std::fs::read(dir.join(STATE_FILE)).unwrap()).unwrap();
    assert_eq!(s.stage, Stage::Funded);
    let ks = KeysharesFile::parse(&std::fs::read_to_string(dir.join("keyshares.json")).unwrap())
        .unwrap();
    ks.shares[0].payload.operator_ids.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_chooses_healthy_operators_replaces_before_the_ceremony_and_never_after() {
    let tmp = tempfile::tempdir().unwrap();
    let mut setup = match LocalSetup::start(&LocalOptions {
        dir: tmp.path().join("local"),
        operators: 4,
        beacon: true,
    })
    .await
    {
        Ok(s) => s,
        Err(e) => panic!(
            "cannot start the devnet with Lodestar ({e}); install the peers: `cd anvil && npm ci` and `scripts/install-lodestar.sh`"
        ),
    };
    let ca = setup.dir.join("operators-ca.pem");
    std::fs::write(&ca, setup.services().ca_pem()).unwrap();

    // 1. Automatic choice: the best-looking operators on paper (7, 9, 8) are the unhealthy ones.
    let auto_out = tmp.path().join("auto");
    let auto = write(&setup, "auto", &setup.config_auto(1, &auto_out));
    let started = std::time::Instant::now();
    let e = succeeded(&run(&auto, &ca).await, "the automatic run");
    println!("automatic run in {:?}:\n{e}", started.elapsed());
    for id in [1, 2, 4, 10] {
        assert!(
            e.contains(&format!("operator {id} (")) && e.contains("chosen: verified"),
            "{e}"
        );
    }
    for (id, why) in [
        (7, "nothing answers at"),
        (8, "runs ssv-dkg \"v2.1.0\""),
        (9, "serves a key that differs"),
    ] {
        assert!(
            e.lines()
                .any(|l| l.contains(&format!("passed over: operator {id} (")) && l.contains(why)),
            "operator {id} should be passed over ({why}):\n{e}"
        );
    }
    assert!(e.contains("the wallet needs"), "the cost is reported:\n{e}");
    let plan = run_file(&auto_out);
    assert_eq!(plan["operator_ids"], serde_json::json!([1, 2, 4, 10]));
    assert_eq!(plan["selection"]["requested"], "auto");
    assert_eq!(plan["selection"]["chosen"].as_array().unwrap().len(), 4);
    assert_eq!(finished_with(&auto_out), vec![1, 2, 4, 10]);

    // 2. A fixed list with the offline operator is refused, naming it, unless replacement is on.
    let fixed_out = tmp.path().join("fixed");
    let mut fixed = setup.config(1, &fixed_out);
    fixed.validators.operators = OperatorChoice::Ids(vec![1, 2, 3, 7]);
    // Endpoints from the SSV API this time, not from operators_info.json.
    fixed.validators.operators_info_file = None;
    let o = run(&write(&setup, "fixed", &fixed), &ca).await;
    let e = stderr(&o);
    assert!(
        !o.status.success(),
        "a fixed list with an offline operator ran:\n{e}"
    );
    assert!(
        e.contains("operator 7 nothing answers at") && e.contains("replace_unhealthy = true"),
        "{e}"
    );
    assert!(
        !fixed_out.join(RUN_FILE).exists(),
        "a refused run pinned nothing"
    );
    fixed.operators.replace_unhealthy = true;
    let e = succeeded(
        &run(&write(&setup, "fixed", &fixed), &ca).await,
        "the repaired run",
    );
    println!("fixed list with replacement:\n{e}");
    assert!(
        e.contains("operator 7 replaced by operator 4 before any ceremony output exists: operator 7 nothing answers"),
        "{e}"
    );
    let plan = run_file(&fixed_out);
    assert_eq!(plan["operator_ids"], serde_json::json!([1, 2, 3, 4]));
    assert_eq!(
        plan["selection"]["requested"],
        serde_json::json!([1, 2, 3, 7])
    );
    assert_eq!(plan["selection"]["replaced"][0]["replaced"], 7);
    assert_eq!(plan["selection"]["replaced"][0]["by"], 4);
    assert_eq!(finished_with(&fixed_out), vec![1, 2, 3, 4]);

    // 3. After the outputs exist, a chosen operator goes down and the policy now excludes it:
    // the choice stands, nothing is re-chosen, and the finished runs still finish.
    assert!(setup.services_mut().stop_operator(1));
    let before = std::fs::read(auto_out.join(RUN_FILE)).unwrap();
    let mut later = setup.config_auto(1, &auto_out);
    later.operators.exclude = vec![1];
    let e = succeeded(
        &run(&write(&setup, "later", &later), &ca).await,
        "the rerun",
    );
    assert!(e.contains("pinned by the ceremony outputs"), "{e}");
    assert!(!e.contains("chosen:"), "nothing is chosen again:\n{e}");
    assert_eq!(std::fs::read(auto_out.join(RUN_FILE)).unwrap(), before);
    let e = succeeded(
        &run(&write(&setup, "fixed", &fixed), &ca).await,
        "the fixed rerun",
    );
    assert!(e.contains("pinned by the ceremony outputs"), "{e}");
    assert_eq!(
        run_file(&fixed_out)["operator_ids"],
        serde_json::json!([1, 2, 3, 4])
    );

    // 4. A folder holding an output of those operators, with a ceremony still to run while one
    // of them is down: refused, pinned, never replaced.
    let pinned_out = tmp.path().join("pinned");
    std::fs::create_dir_all(&pinned_out).unwrap();
    let (_, _, made) = &validator_folders(&auto_out).unwrap()[0];
    let copy = pinned_out.join(made.file_name().unwrap());
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["deposit_data.json", "keyshares.json", "proofs.json"] {
        std::fs::copy(made.join(f), copy.join(f)).unwrap();
    }
    let o = run(
        &write(&setup, "pinned", &setup.config_auto(1, &pinned_out)),
        &ca,
    )
    .await;
    let e = stderr(&o);
    assert!(!o.status.success(), "ran with a pinned operator down:\n{e}");
    assert!(
        e.contains("operator 1 nothing answers at")
            && e.contains("pinned since the first ceremony output")
            && e.contains("never replaced"),
        "{e}"
    );
    assert!(!e.contains("chosen:") && !e.contains("replaced by"), "{e}");
    assert!(!pinned_out.join(RUN_FILE).exists());
    assert_eq!(validator_folders(&pinned_out).unwrap().len(), 1);
}

/// `run --dry-run` makes the same choice and refuses the same fixed list as the real run; it
/// writes no run file, and the ceremony output it keeps pins the operators by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dry_run_chooses_and_refuses_like_the_real_run() {
    let tmp = tempfile::tempdir().unwrap();
    let setup = match LocalSetup::start(&LocalOptions {
        dir: tmp.path().join("local"),
        operators: 4,
        beacon: false,
    })
    .await
    {
        Ok(s) => s,
        Err(e) => panic!("cannot start the devnet ({e}); install anvil: `cd anvil && npm ci`"),
    };
    let ca = setup.dir.join("operators-ca.pem");
    std::fs::write(&ca, setup.services().ca_pem()).unwrap();
    // No beacon node: a closed loopback port, which a dry run tolerates with a warning.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let beacon = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dry = |config: PathBuf| {
        let ca = ca.clone();
        async move {
            let mut c = Command::new(env!("CARGO_BIN_EXE_ssv-agent"));
            c.env_remove("SSV_AGENT_TEST_KILL_AT")
                .env_remove("SSV_AGENT_RPC_URL")
                .env_remove("SSV_AGENT_BEACON_URL")
                .arg("--config")
                .arg(&config)
                .args(["run", "--dry-run", "--operator-ca-cert"])
                .arg(&ca);
            tokio::task::spawn_blocking(move || c.output().unwrap())
                .await
                .unwrap()
        }
    };

    let out = tmp.path().join("dry");
    let mut auto = setup.config_auto(1, &out);
    auto.beacon.url = beacon.clone();
    let e = succeeded(&dry(write(&setup, "dry-auto", &auto)).await, "the dry run");
    for id in [1, 2, 4, 10] {
        assert!(e.contains(&format!("operator {id} (")), "{e}");
    }
    assert!(e.contains("passed over: operator 7 (Glacier Labs)"), "{e}");
    assert!(!out.join(RUN_FILE).exists(), "a dry run writes no run file");
    let folders = validator_folders(&out).unwrap();
    assert_eq!(folders.len(), 1);
    let ks = KeysharesFile::parse(
        &std::fs::read_to_string(folders[0].2.join("keyshares.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(ks.shares[0].payload.operator_ids, vec![1, 2, 4, 10]);
    // The kept output pins the operators: a fixed list naming others is refused.
    let mut other = setup.config(1, &out);
    other.beacon.url = beacon.clone();
    let o = dry(write(&setup, "dry-other", &other)).await;
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(
            "were made with operators [1, 2, 4, 10], but validators.operators now says [1, 2, 3, 4]"
        ),
        "{}",
        stderr(&o)
    );

    // The fixed list with the offline operator: the same refusal as the real run.
    let mut fixed = setup.config(1, &tmp.path().join("dry-fixed"));
    fixed.beacon.url = beacon;
    fixed.validators.operators = OperatorChoice::Ids(vec![1, 2, 3, 7]);
    fixed.validators.operators_info_file = None;
    let o = dry(write(&setup, "dry-fixed", &fixed)).await;
    let e = stderr(&o);
    assert!(!o.status.success(), "{e}");
    assert!(
        e.contains("operator 7 nothing answers at") && e.contains("replace_unhealthy = true"),
        "{e}"
    );
}
