//! Waiting for a freshly spawned Lodestar: its Beacon API must answer health and genesis, and it
//! must be on the chain it was started for (fork version, deposit contract), before anyone uses it.

use std::{
    io::{Read, Seek, SeekFrom},
    path::Path,
    time::{Duration, Instant},
};

use serde::Deserialize;

use super::{Lodestar, LodestarError, LodestarOptions};

const POLL: Duration = Duration::from_millis(250);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const LOG_TAIL_BYTES: u64 = 4_096;
/// How often a person waiting is told what the wait is for.
const REPORT_EVERY: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct Genesis {
    genesis_time: String,
    genesis_fork_version: String,
}

#[derive(Deserialize)]
struct DepositContract {
    chain_id: String,
    address: String,
}

/// Polls until ready; returns the node's genesis time. Fails at once if the process exits.
pub(super) async fn wait_ready(
    node: &mut Lodestar,
    opts: &LodestarOptions,
) -> Result<u64, LodestarError> {
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| LodestarError::BadOption {
            field: "HTTP client",
            reason: e.to_string(),
        })?;
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    let mut next_report = REPORT_EVERY;
    loop {
        if started.elapsed() >= next_report {
            opts.progress.step(&format!(
                "waiting for Lodestar's Beacon API ({} s; {last}; {})",
                started.elapsed().as_secs(),
                log_stage(&node.log_path)
            ));
            next_report += REPORT_EVERY;
        }
        if let Some(status) = node.exited() {
            return Err(LodestarError::ExitedEarly {
                status,
                log: node.log_path.clone(),
                tail: log_tail(&node.log_path),
            });
        }
        match probe(&http, node, opts).await {
            Ok(Some(genesis_time)) => {
                tracing::info!(waited = ?started.elapsed(), genesis_time, "Lodestar Beacon API ready");
                return Ok(genesis_time);
            }
            Ok(None) => {}
            Err(Probe::NotYet(why)) => last = why,
            Err(Probe::Fatal(e)) => return Err(e),
        }
        if started.elapsed() >= opts.ready_timeout {
            return Err(LodestarError::NotReady {
                url: node.rest_url.to_string(),
                waited: started.elapsed(),
                last,
                log: node.log_path.clone(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

enum Probe {
    NotYet(String),
    Fatal(LodestarError),
}

async fn probe(
    http: &reqwest::Client,
    node: &Lodestar,
    opts: &LodestarOptions,
) -> Result<Option<u64>, Probe> {
    let health = get(http, node, "eth/v1/node/health").await?;
    // 200 ready, 206 syncing (a dev node at genesis is not, but it still serves the API).
    if !matches!(health.status().as_u16(), 200 | 206) {
        return Err(Probe::NotYet(format!(
            "/eth/v1/node/health answered {}",
            health.status()
        )));
    }
    let genesis: Genesis = get_json(http, node, "eth/v1/beacon/genesis").await?;
    let want_fork = format!("0x{}", hex::encode(opts.genesis_fork_version));
    if !genesis
        .genesis_fork_version
        .eq_ignore_ascii_case(&want_fork)
    {
        return Err(Probe::Fatal(LodestarError::WrongChain {
            field: "genesis_fork_version",
            expected: want_fork,
            got: genesis.genesis_fork_version,
        }));
    }
    let genesis_time = genesis.genesis_time.parse::<u64>().map_err(|_| {
        Probe::Fatal(LodestarError::WrongChain {
            field: "genesis_time",
            expected: "a decimal string".into(),
            got: genesis.genesis_time.clone(),
        })
    })?;
    let contract: DepositContract = get_json(http, node, "eth/v1/config/deposit_contract").await?;
    let want_address = format!("{:#x}", opts.deposit_contract);
    if !contract.address.eq_ignore_ascii_case(&want_address) {
        return Err(Probe::Fatal(LodestarError::WrongChain {
            field: "deposit contract address",
            expected: want_address,
            got: contract.address,
        }));
    }
    if contract.chain_id != opts.chain_id.to_string() {
        return Err(Probe::Fatal(LodestarError::WrongChain {
            field: "deposit chain id",
            expected: opts.chain_id.to_string(),
            got: contract.chain_id,
        }));
    }
    Ok(Some(genesis_time))
}

async fn get(
    http: &reqwest::Client,
    node: &Lodestar,
    path: &str,
) -> Result<reqwest::Response, Probe> {
    let url = node
        .rest_url
        .join(path)
        .map_err(|e| Probe::NotYet(format!("bad URL {}{path}: {e}", node.rest_url)))?;
    http.get(url)
        .send()
        .await
        .map_err(|e| Probe::NotYet(format!("GET /{path}: {e}")))
}

async fn get_json<T: for<'de> Deserialize<'de>>(
    http: &reqwest::Client,
    node: &Lodestar,
    path: &str,
) -> Result<T, Probe> {
    let resp = get(http, node, path).await?;
    if !resp.status().is_success() {
        return Err(Probe::NotYet(format!(
            "GET /{path} answered {}",
            resp.status()
        )));
    }
    let body: Data<T> = resp
        .json()
        .await
        .map_err(|e| Probe::NotYet(format!("GET /{path}: unexpected JSON: {e}")))?;
    Ok(body.data)
}

/// What Lodestar's log says it is doing, for the wait reports: nothing logged yet means Node.js is
/// still loading its modules.
fn log_stage(path: &Path) -> String {
    let tail = log_tail(path);
    let last = tail
        .lines()
        .rev()
        .find(|l| l.contains("info") || l.contains("warn"));
    match last {
        None => "Node.js is loading Lodestar's modules".to_string(),
        Some(line) => {
            let clean = strip_ansi(line);
            let short: String = clean.chars().take(100).collect();
            format!("its log: {}", short.trim())
        }
    }
}

/// Drops the terminal colour codes Lodestar writes even to a file.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The end of the log, for error messages (Lodestar logs hold no secrets: its interop keys are the
/// public test keys of the consensus specs).
pub(super) fn log_tail(path: &Path) -> String {
    let read = || -> std::io::Result<String> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    read().unwrap_or_else(|e| format!("(cannot read log: {e})"))
}
