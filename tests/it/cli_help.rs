//! The `--help` of the binary and of every subcommand, compared with the snapshots committed in
//! `tests/it/snapshots/` (as reth checks its CLI reference against `--help`). A changed flag,
//! default or description shows up in review as a snapshot diff. After an intended change,
//! regenerate with `SSV_AGENT_UPDATE_SNAPSHOTS=1 cargo test --test it cli_help`.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use ssv_agent::cli::Cli;

/// Set to regenerate the snapshots instead of comparing with them.
const UPDATE: &str = "SSV_AGENT_UPDATE_SNAPSHOTS";
/// Environment variables the help text shows the value of (`[env: NAME=value]`).
const SHOWN_ENV: [&str; 3] = ["SSV_AGENT_CONFIG", "SSV_AGENT_LOG", "SSV_API_URL"];

fn snapshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots")
}

/// Every command path below the root, depth first: `[]`, `["devnet"]`, `["devnet", "up"]`, ...
fn command_paths(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    for sub in cmd.get_subcommands() {
        let mut path = prefix.clone();
        path.push(sub.get_name().to_string());
        command_paths(sub, path, out);
    }
}

fn help_of(path: &[String]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssv-agent"));
    for name in SHOWN_ENV {
        cmd.env_remove(name);
    }
    let out = cmd
        .args(path)
        .arg("--help")
        .output()
        .expect("run ssv-agent");
    assert!(out.status.success(), "{path:?} --help failed: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8 help")
}

fn file_name(path: &[String]) -> String {
    let mut parts = vec!["ssv-agent".to_string()];
    parts.extend(path.iter().cloned());
    format!("{}.help.txt", parts.join("-"))
}

#[test]
fn help_texts_match_the_snapshots() {
    let mut paths = Vec::new();
    // clap's generated `help` subcommand has no `--help` of its own worth keeping.
    command_paths(&Cli::command(), Vec::new(), &mut paths);
    paths.retain(|p| p.last().map(String::as_str) != Some("help"));
    let dir = snapshots();
    let update = std::env::var_os(UPDATE).is_some();
    if update {
        std::fs::create_dir_all(&dir).expect("snapshot folder");
    }
    let mut expected_files = Vec::new();
    let mut stale = Vec::new();
    for path in &paths {
        let name = file_name(path);
        let file = dir.join(&name);
        let help = help_of(path);
        expected_files.push(name.clone());
        if update {
            std::fs::write(&file, &help).expect("write snapshot");
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(want) if want == help => {}
            Ok(want) => stale.push(format!(
                "{name}: differs\n--- snapshot\n{want}\n--- now\n{help}"
            )),
            Err(_) => stale.push(format!("{name}: no snapshot")),
        }
    }
    // A snapshot whose command is gone is stale too.
    for entry in std::fs::read_dir(&dir).expect("snapshot folder") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".help.txt") && !expected_files.contains(&name) {
            if update {
                std::fs::remove_file(dir.join(&name)).expect("remove stale snapshot");
            } else {
                stale.push(format!("{name}: no such command any more"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "help texts differ from tests/it/snapshots/ (regenerate with {UPDATE}=1 if intended):\n{}",
        stale.join("\n")
    );
    assert!(paths.len() > 15, "only {} commands found", paths.len());
}

#[test]
fn run_and_deposit_describe_themselves() {
    let top = help_of(&[]);
    let line = |cmd: &str| {
        top.lines()
            .find(|l| l.trim_start().starts_with(&format!("{cmd} ")))
            .unwrap_or_else(|| panic!("no `{cmd}` line in:\n{top}"))
            .to_string()
    };
    assert!(line("run").contains("The whole pipeline"), "{top}");
    assert!(
        line("deposit").contains("send each deposit exactly once"),
        "{top}"
    );
    assert!(!line("deposit").contains("pipeline"), "{top}");
}
