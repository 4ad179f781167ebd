//! The Go side of the DKG benchmark: a Go-only cluster (ssv-dkg v3.1.0 operators and initiator,
//! `.cache/bin/ssv-dkg`, see scripts/install-ssv-dkg.sh) on loopback, for the same 4/7/10/13
//! operators x 1/100 validators as `dkg_bench`. Prints the initiator's wall time, its peak RSS and
//! the operators' summed peak RSS. Run: `cargo run --release --example dkg_bench_go [ops vals]`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ssv_agent::crypto::keystore::Kdf;
use ssv_agent::crypto::rsa_keys::OperatorPrivateKey;
use ssv_agent::dkg::operator::TlsMaterial;

const OWNER: &str = "0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9";
const WITHDRAW: &str = "0x81592c3de184a3e2c0dcb5a261bc107bfa91f494";

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Operators(Vec<Child>);

impl Drop for Operators {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_listening(port: u16) -> Res<()> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("Go operator on port {port} did not start").into())
}

fn run(bin: &Path, n: usize, validators: usize) -> Res<()> {
    let work = tempfile::tempdir()?;
    let dir = work.path();
    let tls = TlsMaterial::self_signed(&[])?;
    std::fs::write(dir.join("tls.crt"), &tls.cert_pem)?;
    std::fs::write(dir.join("tls.key"), tls.key_pem.as_bytes())?;
    let mut ops = Operators(Vec::new());
    let mut info = Vec::new();
    let mut ports = Vec::new();
    for i in 0..n {
        let id = (i as u64 + 1) * 11;
        let key = OperatorPrivateKey::generate(2048)?;
        let password = format!("pw-{id}");
        key.write_keystore_file(
            &dir.join(format!("key{id}.json")),
            &password,
            Kdf::PBKDF2_DEFAULT,
        )?;
        std::fs::write(dir.join(format!("pw{id}")), &password)?;
        let port = free_port()?;
        let child = Command::new(bin)
            .current_dir(dir)
            .args(["start-operator", "--operatorID", &id.to_string()])
            .args(["--privKey", &format!("./key{id}.json")])
            .args(["--privKeyPassword", &format!("./pw{id}")])
            .args(["--port", &port.to_string()])
            .args([
                "--serverTLSCertPath",
                "./tls.crt",
                "--serverTLSKeyPath",
                "./tls.key",
            ])
            .args(["--outputPath", &format!("./op{id}-out")])
            .args([
                "--logFilePath",
                &format!("./op{id}.log"),
                "--logLevel",
                "info",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        ops.0.push(child);
        ports.push(port);
        info.push(serde_json::json!({
            "id": id,
            "public_key": key.public_key().to_base64_pem(),
            "ip": format!("https://127.0.0.1:{port}"),
        }));
    }
    for p in &ports {
        wait_listening(*p)?;
    }
    std::fs::write(
        dir.join("operators_info.json"),
        serde_json::to_string(&info)?,
    )?;
    let ids: Vec<String> = (1..=n).map(|i| (i * 11).to_string()).collect();
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .current_dir(dir)
        .args(["-f", "%M"])
        .arg(bin)
        .args(["init", "--operatorIDs", &ids.join(",")])
        .args(["--operatorsInfoPath", "./operators_info.json"])
        .args([
            "--owner",
            OWNER,
            "--withdrawAddress",
            WITHDRAW,
            "--nonce",
            "0",
        ])
        .args([
            "--network",
            "mainnet",
            "--validators",
            &validators.to_string(),
        ])
        .args(["--outputPath", "./out", "--tlsInsecure"])
        .args(["--logFilePath", "./init.log", "--logLevel", "info"])
        .output()?;
    let wall = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "Go initiator failed ({n} x {validators}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let init_kib: u64 = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let ops_kib: u64 = ops.0.iter().map(|c| vm_hwm_kib(c.id())).sum();
    println!(
        "go cluster:   {n:>2} operators x {validators:>3} validators: {wall:>8.3} s, initiator peak RSS {:.1} MiB, operators' peak RSS summed {:.1} MiB",
        init_kib as f64 / 1024.0,
        ops_kib as f64 / 1024.0
    );
    Ok(())
}

fn main() -> Res<()> {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/bin/ssv-dkg");
    if !bin.exists() {
        return Err(format!(
            "{} is missing: see scripts/install-ssv-dkg.sh for how to build ssv-dkg v3.1.0",
            bin.display()
        )
        .into());
    }
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let configs: Vec<(usize, usize)> = if args.len() == 2 {
        vec![(args[0], args[1])]
    } else {
        [4, 7, 10, 13]
            .iter()
            .flat_map(|n| [(*n, 1), (*n, 100)])
            .collect()
    };
    for (n, v) in configs {
        run(&bin, n, v)?;
    }
    Ok(())
}
