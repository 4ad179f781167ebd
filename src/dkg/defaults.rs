//! ssv-dkg v3.1.0's defaults for `init` and `start-operator`, in one place: the CLI applies them
//! after the command line and the config file, and its help text shows them from here.

use crate::deposit::data::MIN_ACTIVATION_AMOUNT_GWEI;

/// Where ceremony folders (initiator) and accepted results (operator) are written.
pub const OUTPUT_PATH: &str = "./data/output";
/// Owner nonce of the first validator.
pub const NONCE: u64 = 0;
/// Network of the deposit signature.
pub const NETWORK: &str = "mainnet";
/// Deposit amount in gwei (32 ETH).
pub const AMOUNT_GWEI: u64 = MIN_ACTIVATION_AMOUNT_GWEI;
/// Validators per `init` run.
pub const VALIDATORS: usize = 1;
/// The operator's HTTPS port.
pub const OPERATOR_PORT: u16 = 3030;
/// The operator's listen address.
pub const LISTEN: &str = "0.0.0.0";
/// The version string sent on the wire; ssv-dkg peers require an exact match.
pub const WIRE_VERSION: &str = "v3.1.0";
