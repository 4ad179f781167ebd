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
    sigterm(pid)?;
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

fn sigterm(pid: u32) -> Result<(), LodestarError> {
    let raw = libc::pid_t::try_from(pid).map_err(|_| LodestarError::Signal {
        pid,
        source: std::io::Error::other("pid does not fit pid_t"),
    })?;
    // SAFETY: kill(2) takes plain integers and touches no memory of ours. The pid is that of our
    // own unreaped child, so it cannot have been recycled for another process.
    let rc = unsafe { libc::kill(raw, libc::SIGTERM) };
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
