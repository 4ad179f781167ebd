#!/usr/bin/env python3
"""Independent checker for deposit_data.json files, run by the Rust tests.

Two implementations that share no code with ssv-agent:
  * ethstaker-deposit's own `validate_deposit` (PyPI ethstaker-deposit==1.3.1), which uses each
    entry's `fork_version` for the domain;
  * a stand-alone py_ecc + ssz recomputation of both roots, the deposit domain and the signing
    root, with the signature checked under an explicitly given genesis fork version.

Usage: check_deposit.py FILE [--fork-version HEX]
Prints one JSON array (one object per entry) on stdout; exit 0 unless the input is unreadable.
"""
import argparse
import json
import sys

from py_ecc.bls import G2ProofOfPossession as bls
from ssz import Serializable
from ssz.sedes import bytes4, bytes32, bytes48, bytes96, uint64
from ethstaker_deposit.settings import get_chain_setting
from ethstaker_deposit.utils.validation import validate_deposit

DOMAIN_DEPOSIT = bytes.fromhex("03000000")


class DepositMessage(Serializable):
    fields = [("pubkey", bytes48), ("withdrawal_credentials", bytes32), ("amount", uint64)]


class DepositData(Serializable):
    fields = [
        ("pubkey", bytes48),
        ("withdrawal_credentials", bytes32),
        ("amount", uint64),
        ("signature", bytes96),
    ]


class ForkData(Serializable):
    fields = [("current_version", bytes4), ("genesis_validators_root", bytes32)]


class SigningData(Serializable):
    fields = [("object_root", bytes32), ("domain", bytes32)]


def deposit_domain(fork_version: bytes) -> bytes:
    fork_root = ForkData(current_version=fork_version, genesis_validators_root=b"\x00" * 32).hash_tree_root
    return DOMAIN_DEPOSIT + fork_root[:28]


def check(entry: dict, fork_version: bytes) -> dict:
    pubkey = bytes.fromhex(entry["pubkey"])
    wc = bytes.fromhex(entry["withdrawal_credentials"])
    amount = int(entry["amount"])
    sig = bytes.fromhex(entry["signature"])
    msg = DepositMessage(pubkey=pubkey, withdrawal_credentials=wc, amount=amount)
    data = DepositData(pubkey=pubkey, withdrawal_credentials=wc, amount=amount, signature=sig)
    domain = deposit_domain(fork_version)
    signing_root = SigningData(object_root=msg.hash_tree_root, domain=domain).hash_tree_root
    try:
        sig_ok = bool(bls.Verify(pubkey, signing_root, sig))
    except Exception:  # malformed point: py_ecc raises instead of returning False
        sig_ok = False
    try:
        # chain_setting only sets the minimum amount here; mainnet's is the strictest.
        ethstaker_ok = bool(validate_deposit(entry, get_chain_setting("mainnet")))
    except Exception:
        ethstaker_ok = False
    return {
        "pubkey": entry["pubkey"],
        "deposit_message_root": msg.hash_tree_root.hex(),
        "deposit_data_root": data.hash_tree_root.hex(),
        "domain": domain.hex(),
        "signing_root": signing_root.hex(),
        "message_root_ok": msg.hash_tree_root.hex() == entry["deposit_message_root"],
        "data_root_ok": data.hash_tree_root.hex() == entry["deposit_data_root"],
        "signature_ok": sig_ok,
        "ethstaker_valid": ethstaker_ok,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--fork-version", help="genesis fork version (hex); default: each entry's fork_version")
    args = ap.parse_args()
    with open(args.file) as f:
        entries = json.load(f)
    out = []
    for e in entries:
        fv = bytes.fromhex((args.fork_version or e["fork_version"]).removeprefix("0x"))
        out.append(check(e, fv))
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
