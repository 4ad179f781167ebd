//! Helpers shared by the test modules: the SSV devnet fixtures (`ssv`), the DKG ceremony
//! checks (`dkg`), the operator server as a child process (`operator_proc`) and a loopback alert
//! webhook receiver (`webhook`).

pub(crate) mod dkg;
pub(crate) mod operator_proc;
pub(crate) mod ssv;
pub(crate) mod webhook;
