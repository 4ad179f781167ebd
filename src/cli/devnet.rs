//! `ssv-agent devnet up|down`: the devnet, with its DKG operators (healthy and not) and the SSV
//! API double listing them; a detached devnet keeps those in a process of its own.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use eyre::WrapErr;

use super::GlobalOpts;
use crate::{
    devnet::{
        self, Contracts, Devnet, DevnetOptions, DevnetServices, DkgRole, SsvMode, dkg_operators,
    },
    network::NetworkProfile,
};

/// Devnet commands.
#[derive(Debug, Subcommand)]
pub enum DevnetCommand {
    /// Start the devnet in the background and record it in `<dir>/devnet.json`.
    Up(UpArgs),
    /// Stop the devnet recorded in `<dir>/devnet.json`.
    Down(DirArg),
    /// Serve the DKG operators and the SSV API double of the devnet in `<dir>` until SIGTERM
    /// (started by `devnet up` for a detached devnet).
    #[command(hide = true)]
    ServeServices(DirArg),
    /// Run the devnet's exit double (the SSV nodes' exit signing) for the devnet in `<dir>`;
    /// `devnet up --beacon` starts it.
    #[command(name = "exit-double", hide = true)]
    ExitDouble(DirArg),
}

/// Where the devnet keeps its keys, logs and `devnet.json`.
#[derive(Debug, Clone, Args)]
pub struct DirArg {
    /// Devnet folder.
    #[arg(long, default_value = ".devnet")]
    pub dir: PathBuf,
}

/// `devnet up` options.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Imitate `hoodi` (chain id 560048) or `mainnet` (chain id 1): same addresses as the real chain.
    #[arg(long, default_value = "hoodi", value_parser = ["hoodi", "mainnet"])]
    network: String,
    /// Run SSVNetwork as v1.2.0 (SSV billing) instead of v2.0.0.
    #[arg(long)]
    v1: bool,
    /// Run the real SSV Network code (built by scripts/build-real-contracts.sh) instead of the
    /// project's doubles.
    #[arg(long)]
    real_contracts: bool,
    /// Also start a real Lodestar beacon node (needs scripts/install-lodestar.sh).
    #[arg(long)]
    beacon: bool,
    /// Seconds per block (default: mine on every transaction; 1 with --beacon).
    #[arg(long)]
    block_time: Option<u64>,
    /// Loopback port for anvil (default: 8545).
    #[arg(long, default_value_t = 8545)]
    port: u16,
    /// Stay in the foreground and stop everything on Ctrl-C.
    #[arg(long)]
    foreground: bool,
}

impl DevnetCommand {
    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        match self {
            Self::Up(a) => up(a, global).await,
            Self::ServeServices(d) => serve_services(&d.dir).await,
            Self::Down(d) => {
                let info = devnet::down(&d.dir).await?;
                println!("stopped the devnet at {}", info.rpc_url);
                Ok(())
            }
            Self::ExitDouble(d) => {
                let cfg = devnet::exit_double::read_config(&d.dir)?;
                devnet::exit_double::run(cfg).await?;
                Ok(())
            }
        }
    }
}

async fn up(a: UpArgs, global: &GlobalOpts) -> eyre::Result<()> {
    if a.dir.dir.join("devnet.json").exists() {
        eyre::bail!(
            "a devnet is already recorded in {}; run `ssv-agent devnet down --dir {}` first",
            a.dir.dir.display(),
            a.dir.dir.display()
        );
    }
    let net = Devnet::start(up_options(&a)?).await?;
    let mut info = net.info().clone();
    if let Some(s) = net.services() {
        write_ca(&a.dir.dir, s)?;
    }
    let net = if a.foreground {
        Some(net)
    } else {
        info = detach(net, &a.dir.dir).await?;
        None
    };
    if global.json {
        println!("{}", serde_json::to_string(&info)?);
    } else {
        print_up(&info, &a);
    }
    match net {
        Some(net) => {
            tokio::signal::ctrl_c().await?;
            drop(net);
            std::fs::remove_file(a.dir.dir.join("devnet.json")).ok();
            println!("devnet stopped");
        }
        None => println!(
            "stop it with: ssv-agent devnet down --dir {}",
            a.dir.dir.display()
        ),
    }
    Ok(())
}

fn up_options(a: &UpArgs) -> eyre::Result<DevnetOptions> {
    Ok(DevnetOptions {
        profile: NetworkProfile::by_name(&a.network)?,
        mode: if a.v1 { SsvMode::V1 } else { SsvMode::V2 },
        contracts: if a.real_contracts {
            Contracts::Real
        } else {
            Contracts::Doubles
        },
        dir: Some(a.dir.dir.clone()),
        port: Some(a.port),
        block_time: a.block_time,
        beacon: a.beacon,
        // In the foreground the services live in this process; a detached devnet gets a process
        // of its own for them (`devnet serve-services`).
        services: a.foreground,
        // Steps on stderr, so `--json`'s stdout stays one document.
        progress: devnet::StartProgress::new(|line| eprintln!("devnet: {line}")),
        ..Default::default()
    })
}

/// Leaves the devnet running and hands its in-process parts (exit double, services) to processes
/// of their own; returns what `devnet.json` then records.
async fn detach(net: Devnet, dir: &Path) -> eyre::Result<devnet::DevnetInfo> {
    let mut detached = net.detach();
    if detached.beacon_url.is_some() {
        let exe = std::env::current_exe()?;
        detached.exit_double_pid = Some(devnet::exit_double::spawn_detached(&exe, dir)?);
        devnet::write_info(dir, &detached)?;
    }
    // Started after the exit double is recorded: it rewrites devnet.json with its own pid.
    spawn_services(dir).await
}

fn print_up(info: &devnet::DevnetInfo, a: &UpArgs) {
    println!(
        "devnet up: {} (chain id {}), SSVNetwork {} ({}) at {}",
        info.rpc_url,
        info.profile.chain_id,
        if a.v1 { "v1.2.0" } else { "v2.0.0" },
        match info.contracts {
            Contracts::Doubles => "test double",
            Contracts::Real => "real code",
        },
        info.profile.ssv_network
    );
    if let Some(b) = &info.beacon_url {
        println!("beacon node: {b}");
        println!(
            "exit double: signs the voluntary exit of every validator exited on SSVNetwork with the operators' key shares (stands in for the SSV nodes)"
        );
    }
    println!(
        "operators: {} registered (private: {:?}); keystores under {}",
        info.operators.len(),
        devnet::PRIVATE_OPERATORS,
        a.dir.dir.join("operators").display()
    );
    if let Some(url) = &info.ssv_api_url {
        println!(
            "SSV API double (a test double of api.ssv.network, loopback only): {url}; DKG operator TLS certificate: {}",
            a.dir.dir.join(CA_FILE).display()
        );
        println!(
            "DKG nodes: healthy {:?}; no endpoint {:?}; offline {:?}; ssv-dkg {} {:?}; serving an unregistered key {:?}",
            ids_with(info, DkgRole::Healthy),
            ids_with(info, DkgRole::NoEndpoint),
            ids_with(info, DkgRole::Offline),
            dkg_operators::OLD_DKG_VERSION,
            ids_with(info, DkgRole::OldVersion),
            ids_with(info, DkgRole::RotatedKey),
        );
    }
    println!(
        "staker account: {} (anvil dev key #{}; public test key, never real money)",
        info.staker,
        devnet::STAKER_ACCOUNT
    );
    println!(
        "point the agent at it: network = \"{}\", [rpc] url = \"{}\"",
        info.profile.name, info.rpc_url
    );
}

/// The DKG operators' certificate, for `--operator-ca-cert`.
const CA_FILE: &str = "operators-ca.pem";

fn write_ca(dir: &Path, s: &DevnetServices) -> eyre::Result<()> {
    let path = dir.join(CA_FILE);
    std::fs::write(&path, s.ca_pem()).wrap_err_with(|| format!("writing {}", path.display()))
}

fn ids_with(info: &devnet::DevnetInfo, role: DkgRole) -> Vec<u64> {
    info.operators
        .iter()
        .map(|o| o.id)
        .filter(|id| dkg_operators::role(*id) == role)
        .collect()
}

/// Starts `ssv-agent devnet serve-services` in its own process group and waits (bounded) until it
/// has recorded itself in `devnet.json`.
async fn spawn_services(dir: &Path) -> eyre::Result<devnet::DevnetInfo> {
    use std::os::unix::process::CommandExt;
    let log = dir.join("services.log");
    let out =
        std::fs::File::create(&log).wrap_err_with(|| format!("creating {}", log.display()))?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["devnet", "serve-services", "--dir"])
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()
        .wrap_err("starting the devnet services process")?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let info: devnet::DevnetInfo =
            serde_json::from_slice(&std::fs::read(dir.join("devnet.json"))?)?;
        if info.services_pid == Some(child.id()) {
            return Ok(info);
        }
        if let Some(status) = child.try_wait()? {
            eyre::bail!(
                "the devnet services process exited ({status}); see {}",
                log.display()
            );
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            eyre::bail!(
                "the devnet services did not start within 60 s; see {}",
                log.display()
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The services of a detached devnet, until SIGTERM (what `devnet down` sends) or Ctrl-C.
async fn serve_services(dir: &Path) -> eyre::Result<()> {
    let path = dir.join("devnet.json");
    let mut info: devnet::DevnetInfo = serde_json::from_slice(
        &std::fs::read(&path).wrap_err_with(|| format!("reading {}", path.display()))?,
    )?;
    let services = DevnetServices::start(&info).await?;
    write_ca(dir, &services)?;
    Devnet::record_services(&mut info, std::process::id(), services.ssv_api_url(), dir)?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(services);
    Ok(())
}
