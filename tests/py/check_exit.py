#!/usr/bin/env python3
"""Independent signer of voluntary exits, run by the Rust tests.

Uses ethstaker-deposit's own `exit_transaction_generation` (PyPI ethstaker-deposit==1.3.1: its
SSZ containers, `compute_voluntary_exit_domain` and py_ecc's BLS), which share no code with
ssv-agent, to sign a `VoluntaryExit` with a whole secret key.

Usage: check_exit.py SECRET_HEX VALIDATOR_INDEX EPOCH FORK_VERSION_HEX GENESIS_VALIDATORS_ROOT_HEX
Prints one JSON object: the signed exit as the Beacon API takes it, and the domain.
"""
import json
import sys

from ethstaker_deposit.settings import BaseChainSetting
from ethstaker_deposit.utils.exit_transaction import exit_transaction_generation
from ethstaker_deposit.utils.ssz import compute_voluntary_exit_domain


def main() -> None:
    secret, index, epoch, fork, gvr = sys.argv[1:6]
    fork_version = bytes.fromhex(fork.removeprefix("0x"))
    root = bytes.fromhex(gvr.removeprefix("0x"))
    setting = BaseChainSetting(
        NETWORK_NAME="devnet",
        GENESIS_FORK_VERSION=fork_version,
        EXIT_FORK_VERSION=fork_version,
        GENESIS_VALIDATORS_ROOT=root,
    )
    signed = exit_transaction_generation(
        chain_setting=setting,
        signing_key=int(secret, 16),
        validator_index=int(index),
        epoch=int(epoch),
    )
    print(json.dumps({
        "message": {"epoch": str(signed.message.epoch),
                    "validator_index": str(signed.message.validator_index)},
        "signature": "0x" + signed.signature.hex(),
        "domain": "0x" + compute_voluntary_exit_domain(fork_version, root).hex(),
    }))


if __name__ == "__main__":
    main()
