//! The `ssv-agent` binary: parse, run, report.

use clap::Parser;
use ssv_agent::cli::Cli;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.global.log).unwrap_or_else(|_| EnvFilter::new("warn"));
    if cli.global.json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    match cli.run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(report) => {
            let mut shown = report.to_string();
            eprintln!("error: {shown}");
            // Many errors repeat their cause in their own message: print each text once.
            for cause in report.chain().skip(1) {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                    shown.push_str(&text);
                }
            }
            std::process::ExitCode::FAILURE
        }
    }
}
