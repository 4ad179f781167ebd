//! Helpers shared by the test modules: the SSV devnet fixtures (`ssv`), the DKG ceremony
//! checks (`dkg`), the operator server as a child process (`operator_proc`), a loopback alert
//! webhook receiver (`webhook`) and a simulated JSON-RPC provider with faults (`sim_rpc`).

pub(crate) mod dkg;
pub(crate) mod operator_proc;
pub(crate) mod sim_rpc;
pub(crate) mod ssv;
pub(crate) mod webhook;
