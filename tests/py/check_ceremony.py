#!/usr/bin/env python3
"""Independent checker of an ssv-dkg ceremony folder, written against the specs (not the Rust code).

For every validator (per-validator folders, or the aggregate files when no folder exists):
  * deposit_message_root and deposit_data_root equal the SSZ hash-tree-roots (computed here);
  * the deposit signature verifies (py_ecc, POP ciphersuite) under the signing root built from the
    deposit domain of the file's genesis fork version, which must belong to the named network;
  * the share public keys in sharesData interpolate (Lagrange at 0, x = operator id) to the validator key;
  * the owner-nonce signature (first 96 bytes of sharesData) verifies over keccak256("<EIP-55 owner>:<nonce>");
  * each proof matches sharesData and its RSA-PSS (SHA-256, salt 222) signature over the SSZ root of the
    Proof verifies under the operator key listed in keyshares.

Usage: check_ceremony.py <ceremony dir> [--owner 0x..] [--nonce N] [--withdraw-address 0x..]
                         [--network NAME]
Exit 0 and "OK <n> validators" when all checks pass; exit 1 with the first failure otherwise.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import sys

from Crypto.Hash import SHA256, keccak
from Crypto.PublicKey import RSA
from Crypto.Signature import pss
from py_ecc.bls import G2ProofOfPossession as bls
from py_ecc.bls.g2_primitives import G1_to_pubkey, pubkey_to_G1
from py_ecc.optimized_bls12_381 import Z1, add, curve_order, multiply

NETWORKS = {
    "00000000": "mainnet",
    "01017000": "holesky",
    "10000910": "hoodi",
    "90000069": "sepolia",
    "00001020": "prater",
}
FOLDER_RE = re.compile(r"^(\d+)-0x([0-9a-f]{96})$")


class CheckFailed(Exception):
    pass


def fail(where, what):
    raise CheckFailed(f"{where}: {what}")


def sha256(data):
    return hashlib.sha256(data).digest()


def keccak256(data):
    return keccak.new(digest_bits=256, data=data).digest()


def chunks_root(data, limit_chunks):
    """Merkle root of data packed into 32-byte chunks, padded to limit_chunks leaves (power of 2)."""
    leaves = [data[i:i + 32].ljust(32, b"\0") for i in range(0, len(data), 32)]
    width = 1
    while width < max(limit_chunks, 1):
        width *= 2
    leaves += [b"\0" * 32] * (width - len(leaves))
    while len(leaves) > 1:
        leaves = [sha256(leaves[i] + leaves[i + 1]) for i in range(0, len(leaves), 2)]
    return leaves[0]


def container_root(field_roots):
    return chunks_root(b"".join(field_roots), len(field_roots))


def uint64_root(v):
    return v.to_bytes(8, "little").ljust(32, b"\0")


def vector_root(b):
    return chunks_root(b, (len(b) + 31) // 32)


def deposit_message_root(pubkey, wc, amount):
    return container_root([vector_root(pubkey), vector_root(wc), uint64_root(amount)])


def deposit_data_root(pubkey, wc, amount, sig):
    return container_root([vector_root(pubkey), vector_root(wc), uint64_root(amount), vector_root(sig)])


def deposit_domain(fork):
    fork_data_root = container_root([vector_root(fork), b"\0" * 32])
    return bytes.fromhex("03000000") + fork_data_root[:28]


def signing_root(object_root, domain):
    return container_root([object_root, domain])


def proof_root(validator, encrypted_share, share_pub, owner):
    share_list = chunks_root(encrypted_share, 512 // 32)
    share_root = sha256(share_list + len(encrypted_share).to_bytes(8, "little").ljust(32, b"\0"))
    return container_root([vector_root(validator), share_root, vector_root(share_pub), vector_root(owner)])


def eip55(addr20):
    h = addr20.hex()
    digest = keccak256(h.encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(h))


def lagrange_at_zero(ids):
    coeffs = []
    for i in ids:
        num, den = 1, 1
        for j in ids:
            if j != i:
                num = num * j % curve_order
                den = den * (j - i) % curve_order
        coeffs.append(num * pow(den, -1, curve_order) % curve_order)
    return coeffs


def interpolate_g1(points):
    ids = [i for i, _ in points]
    acc = Z1
    for (_, pk), c in zip(points, lagrange_at_zero(ids)):
        acc = add(acc, multiply(pubkey_to_G1(pk), c))
    return G1_to_pubkey(acc)


def rsa_key_from_b64_pem(b64):
    pem = base64.b64decode(b64).decode()
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    return RSA.import_key(base64.b64decode(body))


def unhex(where, field, s, n=None, prefix=False):
    if prefix:
        if not s.startswith("0x"):
            fail(where, f"{field} must start with 0x")
        s = s[2:]
    try:
        b = bytes.fromhex(s)
    except ValueError:
        fail(where, f"{field} is not hex")
    if n is not None and len(b) != n:
        fail(where, f"{field} is {len(b)} bytes, expected {n}")
    return b


def check_validator(where, dep, share, proofs, args, expected_nonce):
    pk = unhex(where, "pubkey", dep["pubkey"], 48)
    wc = unhex(where, "withdrawal_credentials", dep["withdrawal_credentials"], 32)
    amount = int(dep["amount"])
    sig = unhex(where, "signature", dep["signature"], 96)
    fork_hex = dep["fork_version"]
    fork = unhex(where, "fork_version", fork_hex, 4)
    network = NETWORKS.get(fork_hex)
    if network is None or dep["network_name"] != network:
        fail(where, f"fork_version {fork_hex} does not belong to network {dep['network_name']}")
    if args.network and args.network != network:
        fail(where, f"network is {network}, expected {args.network}")
    if wc[0] not in (1, 2) or wc[1:12] != b"\0" * 11:
        fail(where, "withdrawal credentials are not 0x01/0x02 address credentials")
    if args.withdraw_address and wc[12:] != bytes.fromhex(args.withdraw_address[2:].lower()):
        fail(where, "withdrawal address differs")

    mroot = deposit_message_root(pk, wc, amount)
    if mroot.hex() != dep["deposit_message_root"]:
        fail(where, "deposit_message_root differs from the SSZ root")
    if deposit_data_root(pk, wc, amount, sig).hex() != dep["deposit_data_root"]:
        fail(where, "deposit_data_root differs from the SSZ root")
    if not bls.Verify(pk, signing_root(mroot, deposit_domain(fork)), sig):
        fail(where, f"deposit signature does not verify for {network}")

    data, payload = share["data"], share["payload"]
    pk0x = "0x" + pk.hex()
    if data["publicKey"] != pk0x or payload["publicKey"] != pk0x:
        fail(where, "keyshares publicKey differs from the deposit pubkey")
    ids = [int(o["id"]) for o in data["operators"]]
    if ids != sorted(set(ids)) or payload["operatorIds"] != ids:
        fail(where, "operator ids are not ascending/unique or differ between data and payload")
    owner = unhex(where, "ownerAddress", data["ownerAddress"], 20, prefix=True)
    owner_str = eip55(owner)
    if data["ownerAddress"] != owner_str:
        fail(where, f"ownerAddress is not EIP-55 ({owner_str})")
    if args.owner and owner_str != eip55(bytes.fromhex(args.owner[2:])):
        fail(where, "owner differs")
    nonce = int(data["ownerNonce"])
    if expected_nonce is not None and nonce != expected_nonce:
        fail(where, f"ownerNonce {nonce}, expected {expected_nonce}")

    n = len(ids)
    sd = unhex(where, "sharesData", payload["sharesData"], 96 + 304 * n, prefix=True)
    msg = keccak256(f"{owner_str}:{nonce}".encode())
    if not bls.Verify(pk, msg, sd[:96]):
        fail(where, "owner-nonce signature does not verify")
    share_pubs = [sd[96 + 48 * i:96 + 48 * (i + 1)] for i in range(n)]
    enc = [sd[96 + 48 * n + 256 * i:96 + 48 * n + 256 * (i + 1)] for i in range(n)]
    if interpolate_g1(list(zip(ids, share_pubs))) != pk:
        fail(where, "share public keys do not interpolate to the validator key at x = operator id")

    if len(proofs) != n:
        fail(where, f"{len(proofs)} proofs for {n} operators")
    for i, (op, sp) in enumerate(zip(data["operators"], proofs)):
        p = sp["proof"]
        v = unhex(where, "proof.validator", p["validator"], 48)
        es = unhex(where, "proof.encrypted_share", p["encrypted_share"])
        spub = unhex(where, "proof.share_pub", p["share_pub"], 48)
        po = unhex(where, "proof.owner", p["owner"], 20)
        if v != pk or po != owner or spub != share_pubs[i] or es != enc[i]:
            fail(where, f"operator {op['id']}: proof does not match keyshares")
        key = rsa_key_from_b64_pem(op["operatorKey"])
        salt = (key.size_in_bits() - 1 + 7) // 8 - 32 - 2
        h = SHA256.new(proof_root(v, es, spub, po))
        try:
            pss.new(key, salt_bytes=salt).verify(h, unhex(where, "proof signature", sp["signature"], 256))
        except (ValueError, TypeError):
            fail(where, f"operator {op['id']}: RSA proof signature does not verify")
    return pk, nonce


def load(path):
    with open(path) as f:
        return json.load(f)


def check_dir(args):
    d = args.ceremony_dir
    names = sorted(n for n in os.listdir(d) if n not in (".DS_Store", "Thumbs.db"))
    folders = [n for n in names if os.path.isdir(os.path.join(d, n)) and FOLDER_RE.match(n)]
    seen = set()
    results = []
    if folders:
        for i, name in enumerate(folders):
            m = FOLDER_RE.match(name)
            fnonce = int(m.group(1))
            if args.nonce is not None and fnonce != args.nonce + i:
                fail(name, f"folder nonce {fnonce}, expected {args.nonce + i}")
            f = os.path.join(d, name)
            deps = load(os.path.join(f, "deposit_data.json"))
            ks = load(os.path.join(f, "keyshares.json"))
            proofs = load(os.path.join(f, "proofs.json"))
            if len(deps) != 1 or len(ks["shares"]) != 1:
                fail(name, "per-validator files must hold exactly one entry")
            if deps[0]["pubkey"] != m.group(2):
                fail(name, "folder name and deposit pubkey differ")
            results.append(check_validator(name, deps[0], ks["shares"][0], proofs, args, fnonce))
    else:
        deps = load(os.path.join(d, "deposit_data.json"))
        ks = load(os.path.join(d, "keyshares.json"))
        proofs = load(os.path.join(d, "proofs.json"))
        if not (len(deps) == len(ks["shares"]) == len(proofs)) or not deps:
            fail(d, "aggregate files disagree on the number of validators")
        for i in range(len(deps)):
            nonce = None if args.nonce is None else args.nonce + i
            results.append(check_validator(f"#{i}", deps[i], ks["shares"][i], proofs[i], args, nonce))
    for pk, _ in results:
        if pk in seen:
            fail(d, f"duplicate validator 0x{pk.hex()}")
        seen.add(pk)
    return len(results)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ceremony_dir")
    ap.add_argument("--owner")
    ap.add_argument("--nonce", type=int)
    ap.add_argument("--withdraw-address")
    ap.add_argument("--network")
    args = ap.parse_args()
    try:
        n = check_dir(args)
    except CheckFailed as e:
        print(f"FAIL {e}")
        return 1
    except (KeyError, ValueError, OSError) as e:
        print(f"FAIL malformed ceremony: {type(e).__name__}: {e}")
        return 1
    print(f"OK {n} validators")
    return 0


if __name__ == "__main__":
    sys.exit(main())
