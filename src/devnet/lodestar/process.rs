//! Process plumbing for the devnet beacon node: free loopback ports and a stop that never leaves a
//! Lodestar behind.

use std::{
    net::TcpListener,
    process::Child,
    thread,
    time::{Duration, Instant},
};

use super::LodestarError;

/// How a stop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// The process left on SIGTERM within the grace period; its exit status.
    Graceful(String),
    /// The grace period ran out and the process was killed.
    Killed,
    /// The process had already exited (and is now reaped).
    AlreadyExited,
}

/// A port that was free on 127.0.0.1 a moment ago (the OS picks it; released before returning).
pub(super) fn free_tcp_port(what: &'static str) -> Result<u16, LodestarError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|source| LodestarError::NoFreePort { what, source })?;
    let port = listener
        .local_addr()
        .map_err(|source| LodestarError::NoFreePort { what, source })?;
    Ok(port.port())
}

/// SIGTERM, poll for up to `grace`, then SIGKILL and reap. Only ever signals this child's pid.
pub(super) fn terminate(child: &mut Child, grace: Duration) -> Result<StopOutcome, LodestarError> {
    let pid = child.id();
    if let Ok(Some(_)) = child.try_wait() {
        return Ok(StopOutcome::AlreadyExited);
    }
    signal(pid, libc::SIGTERM)?;
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(StopOutcome::Graceful(status.to_string())),
            Ok(None) => thread::sleep(Duration::from_millis(100)),
            Err(source) => return Err(LodestarError::StopFailed { pid, source }),
        }
    }
    tracing::warn!(pid, ?grace, "Lodestar ignored SIGTERM; killing it");
    child
        .kill()
        .map_err(|source| LodestarError::StopFailed { pid, source })?;
    child
        .wait()
        .map_err(|source| LodestarError::StopFailed { pid, source })?;
    Ok(StopOutcome::Killed)
}

/// Like [`terminate`] for a process that is not our child (a detached node): the pid must still run
/// a command line containing `marker`, and exit is seen in /proc instead of by waiting.
pub(super) fn terminate_pid(
    pid: u32,
    marker: &str,
    grace: Duration,
) -> Result<StopOutcome, LodestarError> {
    let Some(cmdline) = cmdline(pid) else {
        return Ok(StopOutcome::AlreadyExited);
    };
    if !cmdline.contains(marker) {
        return Err(LodestarError::NotOurs {
            pid,
            marker: marker.to_string(),
        });
    }
    signal(pid, libc::SIGTERM)?;
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !running(pid) {
            return Ok(StopOutcome::Graceful(
                "exited (not our child: status unknown)".into(),
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
    signal(pid, libc::SIGKILL)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(pid) {
        if Instant::now() > deadline {
            return Err(LodestarError::StopFailed {
                pid,
                source: std::io::Error::other("still running 5 s after SIGKILL"),
            });
        }
        thread::sleep(Duration::from_millis(100));
    }
    Ok(StopOutcome::Killed)
}

/// The command line of `pid` (arguments joined by spaces), `None` once it is gone or a zombie.
fn cmdline(pid: u32) -> Option<String> {
    // /proc/<pid>/cmdline reads empty while a process is in the middle of exec; give it a moment.
    for _ in 0..20 {
        if !running(pid) {
            return None;
        }
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        if !raw.is_empty() {
            return Some(String::from_utf8_lossy(&raw).replace('\0', " "));
        }
        thread::sleep(Duration::from_millis(50));
    }
    Some(String::new())
}

/// Alive and not a zombie (a zombie has exited and only waits for its parent to reap it).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself contain spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn signal(pid: u32, sig: libc::c_int) -> Result<(), LodestarError> {
    let raw = libc::pid_t::try_from(pid).map_err(|_| LodestarError::Signal {
        pid,
        source: std::io::Error::other("pid does not fit pid_t"),
    })?;
    // SAFETY: kill(2) takes plain integers and touches no memory of ours. The pid is our own unreaped
    // child, or a detached node whose command line was just checked.
    let rc = unsafe { libc::kill(raw, sig) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    // ESRCH: it exited between try_wait and kill; the caller's wait reaps it.
    if err.raw_os_error() == Some(libc::ESRCH) {
        Ok(())
    } else {
        Err(LodestarError::Signal { pid, source: err })
    }
}
