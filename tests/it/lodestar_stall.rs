//! The devnet's single Lodestar node survives CPU starvation. With 1 s slots, stock Lodestar calls
//! itself "syncing" once its head is an epoch (8 slots) behind the clock; alone, with no peer to
//! sync from, no validator proposed again and every test waiting on the beacon chain hung (a loaded
//! CI machine did this). The node is frozen (SIGSTOP) for 15 s, then must report itself synced and
//! reach the clock again.
//!
//! Needs anvil (`cd anvil && npm ci`) and Lodestar (`scripts/install-lodestar.sh`).

use std::time::{Duration, Instant};

use serde_json::Value;
use ssv_agent::devnet::{Devnet, DevnetOptions};

async fn get(url: &str, path: &str) -> Value {
    reqwest::get(format!("{url}{path}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn number(v: &Value) -> u64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap()
}

async fn head_slot(url: &str) -> u64 {
    number(&get(url, "/eth/v1/beacon/headers/head").await["data"]["header"]["message"]["slot"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_beacon_node_proposes_again_when_it_thaws() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Devnet::start(DevnetOptions {
        beacon: true,
        dir: Some(tmp.path().join("devnet")),
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| {
        panic!("cannot start the devnet with Lodestar ({e}); install: `cd anvil && npm ci`, `scripts/install-lodestar.sh`")
    });
    let url = d.beacon_url().unwrap().to_string();
    let pid = d.info().beacon_pid.expect("the beacon node's pid") as i32;
    let genesis = number(&get(&url, "/eth/v1/beacon/genesis").await["data"]["genesis_time"]);
    let clock_slot = || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        now.saturating_sub(genesis)
    };

    let before = head_slot(&url).await;
    // SAFETY: signals to the child this test started; a failed call only fails the test.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    tokio::time::sleep(Duration::from_secs(15)).await;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    let frozen_at = clock_slot();

    let started = Instant::now();
    let mut last = before;
    while started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Ok(resp) = reqwest::get(format!("{url}/eth/v1/beacon/headers/head")).await else {
            continue;
        };
        let Ok(v) = resp.json::<Value>().await else {
            continue;
        };
        last = number(&v["data"]["header"]["message"]["slot"]);
        if last > frozen_at {
            let syncing = get(&url, "/eth/v1/node/syncing").await;
            assert_eq!(syncing["data"]["is_syncing"], false, "{syncing}");
            println!(
                "head at slot {last} {:?} after the thaw (slot {before} before the freeze)",
                started.elapsed()
            );
            return;
        }
    }
    let syncing = get(&url, "/eth/v1/node/syncing").await;
    panic!(
        "the head stayed at slot {last} (slot {frozen_at} when thawed, {before} before): the node stalled: {syncing}"
    );
}
