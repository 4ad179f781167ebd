//! Helpers shared by the test modules: the SSV devnet fixtures (`ssv`), the DKG ceremony
//! checks (`dkg`), the operator server as a child process (`operator_proc`) and a loopback alert
//! webhook receiver (`webhook`).

pub mod dkg;
pub mod operator_proc;
pub mod ssv;
pub mod webhook;
