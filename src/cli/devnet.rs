//! `ssv-agent devnet up|down`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::GlobalOpts;
use crate::{
    devnet::{self, Contracts, Devnet, DevnetOptions, SsvMode},
    network::NetworkProfile,
};

/// Devnet commands.
#[derive(Debug, Subcommand)]
pub enum DevnetCommand {
    /// Start the devnet in the background and record it in `<dir>/devnet.json`.
    Up(UpArgs),
    /// Stop the devnet recorded in `<dir>/devnet.json`.
    Down(DirArg),
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
    let opts = DevnetOptions {
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
        ..Default::default()
    };
    let net = Devnet::start(opts).await?;
    let info = net.info().clone();
    if global.json {
        println!("{}", serde_json::to_string(&info)?);
    } else {
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
    if a.foreground {
        tokio::signal::ctrl_c().await?;
        drop(net);
        std::fs::remove_file(a.dir.dir.join("devnet.json")).ok();
        println!("devnet stopped");
    } else {
        let beacon = info.beacon_url.is_some();
        let mut info = net.detach();
        if beacon {
            // The in-process double stops with this process; a detached one takes over.
            let exe = std::env::current_exe()?;
            info.exit_double_pid = Some(devnet::exit_double::spawn_detached(&exe, &a.dir.dir)?);
            devnet::write_info(&a.dir.dir, &info)?;
        }
        println!(
            "stop it with: ssv-agent devnet down --dir {}",
            a.dir.dir.display()
        );
    }
    Ok(())
}
