//! The `ssv-agent dkg operator` binary as a child process of a test (killed when the handle drops,
//! also on panic), what /proc says about it (resident memory, CPU time, open-file limit), and raw
//! TLS connections to it from a chosen loopback source address, for load tests that must look at
//! the server from outside.
#![allow(dead_code)] // each test module uses a different subset

use std::net::{IpAddr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssv_agent::crypto::keystore::Kdf;
use ssv_agent::crypto::rsa_keys::{OperatorPrivateKey, OperatorPublicKey};
use ssv_agent::dkg::operator::TlsMaterial;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, pki_types};

/// The binary under test: `SSV_AGENT_BIN` if set (to run these tests against another build),
/// else the one cargo built for this test run.
pub(crate) fn agent_bin() -> PathBuf {
    std::env::var_os("SSV_AGENT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ssv-agent")))
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// How to start the child.
#[derive(Default)]
pub(crate) struct OperatorOpts {
    /// Extra `dkg operator` arguments (limits flags).
    pub args: Vec<String>,
    /// (soft, hard) RLIMIT_NOFILE set in the child before it runs.
    pub nofile: Option<(u64, u64)>,
    /// `--log` filter [default: warn].
    pub log: Option<String>,
}

/// A running `ssv-agent dkg operator` child.
pub(crate) struct OperatorProcess {
    child: Child,
    pub id: u64,
    pub addr: SocketAddr,
    pub key: OperatorPublicKey,
    pub cert_pem: String,
    pub dir: tempfile::TempDir,
    pub stderr: PathBuf,
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes the operator's keystore (cheap KDF), password and TLS files into a fresh temp dir.
pub(crate) fn operator_files(dir: &Path, key: &OperatorPrivateKey, tls: &TlsMaterial) {
    key.write_keystore_file(&dir.join("key.json"), "pw", Kdf::Pbkdf2 { c: 1024 })
        .expect("keystore");
    std::fs::write(dir.join("pw"), "pw").expect("password");
    std::fs::write(dir.join("tls.crt"), &tls.cert_pem).expect("cert");
    std::fs::write(dir.join("tls.key"), tls.key_pem.as_bytes()).expect("key");
}

impl OperatorProcess {
    /// Starts operator `id` on a free loopback port and waits until it answers a health check.
    pub(crate) async fn start(id: u64, opts: OperatorOpts) -> Self {
        let key = tokio::task::spawn_blocking(|| OperatorPrivateKey::generate(2048))
            .await
            .expect("join")
            .expect("rsa key");
        let tls = TlsMaterial::self_signed(&[]).expect("cert");
        let dir = tempfile::tempdir().expect("tmp");
        operator_files(dir.path(), &key, &tls);
        let port = free_port();
        let stderr = dir.path().join("stderr.log");
        let mut cmd = Command::new(agent_bin());
        cmd.current_dir(dir.path())
            .args(["--log", opts.log.as_deref().unwrap_or("warn")])
            .args(["dkg", "operator", "--operator-id", &id.to_string()])
            .args(["--priv-key", "key.json", "--priv-key-password", "pw"])
            .args(["--listen", "127.0.0.1", "--port", &port.to_string()])
            .args(["--server-tls-cert-path", "tls.crt"])
            .args(["--server-tls-key-path", "tls.key"])
            .args(["--output-path", "out"])
            .args(&opts.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        if let Some((soft, hard)) = opts.nofile {
            // SAFETY: only async-signal-safe setrlimit between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: soft,
                        rlim_max: hard,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("start ssv-agent dkg operator");
        let me = Self {
            child,
            id,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            key: key.public_key().clone(),
            cert_pem: tls.cert_pem.clone(),
            dir,
            stderr,
        };
        me.wait_healthy(Duration::from_secs(30)).await;
        me
    }

    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub(crate) fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    pub(crate) fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Whether the child is still running.
    pub(crate) fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// A client that trusts exactly this operator's certificate.
    pub(crate) fn client(&self, timeout: Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.cert_pem.as_bytes()).expect("cert"),
            )
            .timeout(timeout)
            .build()
            .expect("client")
    }

    /// `GET /health_check` answered 200 within `timeout`.
    pub(crate) async fn healthy(&self, timeout: Duration) -> bool {
        self.client(timeout)
            .get(format!("{}/health_check", self.url()))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// Polls the health check until it answers; panics with the child's stderr if it never does.
    pub(crate) async fn wait_healthy(&self, within: Duration) -> Duration {
        let t = Instant::now();
        while t.elapsed() < within {
            if self.healthy(Duration::from_secs(2)).await {
                return t.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "operator {} not healthy after {within:?}:\n{}",
            self.id,
            self.stderr_text()
        );
    }
}

/// A line of /proc/<pid>/status, in kB (VmRSS, VmHWM).
pub(crate) fn proc_status_kb(pid: i32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// User + system CPU time of a process (all threads), from /proc/<pid>/stat.
pub(crate) fn cpu_time(pid: i32) -> Duration {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &text[text.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime");
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_micros(ticks * 1_000_000 / hz)
}

/// The soft "Max open files" of a process.
pub(crate) fn soft_nofile(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("proc limits");
    text.lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .expect("Max open files")
}

/// Sets another process's RLIMIT_NOFILE (lowering is always allowed for one's own children).
pub(crate) fn set_nofile(pid: i32, soft: u64, hard: u64) {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: prlimit reads `lim` and writes nothing (old limit pointer is null).
    let r = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &lim, std::ptr::null_mut()) };
    assert_eq!(r, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// A TCP connection to `to` from loopback address `from` (any port).
pub(crate) async fn tcp_from(
    from: IpAddr,
    to: SocketAddr,
) -> std::io::Result<tokio::net::TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(from, 0))?;
    s.connect(to).await
}

/// A TLS client that trusts `cert_pem` (the operator's self-signed certificate).
pub(crate) fn tls_connector(cert_pem: &str) -> TlsConnector {
    use pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in pki_types::CertificateDer::pem_slice_iter(cert_pem.as_bytes()) {
        roots.add(c.expect("cert pem")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(cfg))
}

/// A TLS connection to the operator at `to` from `from`.
pub(crate) async fn tls_from(
    connector: &TlsConnector,
    from: IpAddr,
    to: SocketAddr,
) -> std::io::Result<TlsStream<tokio::net::TcpStream>> {
    let tcp = tcp_from(from, to).await?;
    let name = pki_types::ServerName::try_from("localhost").expect("name");
    connector.connect(name, tcp).await
}

/// Reads until the end of a response head (or EOF / `within`); returns what arrived.
pub(crate) async fn read_head<S: AsyncReadExt + Unpin>(
    s: &mut S,
    within: Duration,
) -> Option<String> {
    let mut buf = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        Some(())
    };
    tokio::time::timeout(within, read).await.ok()??;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Writes a request head.
pub(crate) async fn write_head<S: AsyncWriteExt + Unpin>(
    s: &mut S,
    head: &str,
) -> std::io::Result<()> {
    s.write_all(head.as_bytes()).await?;
    s.flush().await
}
