//! Helpers shared by the test modules: the SSV devnet fixtures (`ssv`), the DKG ceremony
//! checks (`dkg`) and the operator server as a child process (`operator_proc`).

pub mod dkg;
pub mod operator_proc;
pub mod ssv;
