//! The integration tests, one binary with a module per area (as reth and foundry do): each
//! module used to be its own test target, and 21 binaries each linking alloy, blst and rsa made
//! the build slow. Shared helpers live in `support/`.

mod support;

mod abi_selectors;
mod anvil_artifacts;
mod beacon_client;
mod beacon_lodestar;
mod change_operators;
mod cli_errors;
mod cli_help;
mod config_example;
mod deposit_devnet;
mod deposit_vectors;
mod devnet_chain;
mod devnet_up_exit_double;
mod dkg_change_go;
mod dkg_faults;
mod dkg_interop;
mod dkg_interop_go;
mod dkg_reshare;
mod dkg_resign;
mod dkg_server_limits;
mod dkg_server_load;
mod dkg_verify_vectors;
mod exit_devnet;
mod exit_double;
mod exit_signing;
mod keyshares_vectors;
mod lifecycle;
mod lodestar_devnet;
mod lodestar_stall;
mod log_scan_limits;
mod multicall;
mod operators_api;
mod operators_devnet;
mod operators_run;
mod pipeline_dry_run;
mod pipeline_e2e;
mod real_contracts;
mod real_money;
mod scan_exactness;
mod send_safety;
mod ssv_cli;
mod ssv_register;
mod ssv_status;
mod ssv_watch;
mod watch_alerts;
mod watch_deploy;
