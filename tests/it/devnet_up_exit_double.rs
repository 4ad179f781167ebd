//! `ssv-agent devnet up --beacon` leaves the exit double running as its own process next to the
//! detached anvil and Lodestar (recorded in devnet.json, logging to exit-double.log), and
//! `devnet down` stops all three. Needs anvil (`cd anvil && npm ci`) and Lodestar
//! (`scripts/install-lodestar.sh`).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

fn agent() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ssv-agent"));
    c.env_remove("SSV_AGENT_RPC_URL")
        .env_remove("SSV_AGENT_BEACON_URL");
    c
}

fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|state| state != "Z" && state != "X")
}

/// Runs `devnet down` when the test ends, whatever happened, so nothing outlives it.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        if self.0.join("devnet.json").exists() {
            let _ = agent()
                .args(["devnet", "down", "--dir"])
                .arg(&self.0)
                .output();
        }
    }
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn log_has(dir: &Path, text: &str) -> bool {
    std::fs::read_to_string(dir.join("exit-double.log")).is_ok_and(|l| l.contains(text))
}

#[test]
fn devnet_up_starts_the_exit_double_and_down_stops_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let _down = Down(dir.clone());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = agent()
        .args([
            "devnet",
            "up",
            "--beacon",
            "--port",
            &port.to_string(),
            "--dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "devnet up failed (needs `cd anvil && npm ci` and scripts/install-lodestar.sh):\n{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("exit double"), "{stdout}");
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("devnet.json")).unwrap()).unwrap();
    let pid = |k: &str| info[k].as_u64().unwrap_or_else(|| panic!("{k} in {info}"));
    let (double, beacon, anvil) = (pid("exit_double_pid"), pid("beacon_pid"), pid("anvil_pid"));
    let cmdline = std::fs::read(format!("/proc/{double}/cmdline")).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("exit-double"),
        "pid {double} is not the double"
    );
    wait_for("the double watching", Duration::from_secs(30), || {
        log_has(&dir, "watching SSVNetwork for ValidatorExited")
    });
    assert!(alive(double) && alive(beacon) && alive(anvil));

    let o = agent()
        .args(["devnet", "down", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "devnet down failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    wait_for("all three stopped", Duration::from_secs(20), || {
        !alive(double) && !alive(beacon) && !alive(anvil)
    });
    assert!(!dir.join("devnet.json").exists());
}
