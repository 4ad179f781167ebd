//! Helpers shared by the test modules: the SSV devnet fixtures (`ssv`), the DKG ceremony
//! checks (`dkg`) and the operator server as a child process (`operator_proc`).

pub(crate) mod dkg;
pub(crate) mod operator_proc;
pub(crate) mod ssv;
