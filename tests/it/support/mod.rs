//! Helpers shared by the test modules: the SSV devnet fixtures (`ssv`) and the DKG ceremony
//! checks (`dkg`).

pub mod dkg;
pub mod ssv;
