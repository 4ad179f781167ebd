#!/usr/bin/env bash
# Creates .venv with the pinned packages the independent ceremony checker (tests/py/check_ceremony.py)
# needs: py_ecc for BLS12-381 (an implementation unrelated to blst) and pycryptodome for keccak-256
# and RSA-PSS. Idempotent: skips pip when the pinned versions are already importable.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv"
PY_ECC=8.0.0
PYCRYPTODOME=3.23.0
# tests/py/check_deposit.py: ethstaker-deposit's own validate_deposit (its CLI is broken in the wheel, the library works)
ETHSTAKER_DEPOSIT=1.3.1

command -v python3 >/dev/null || { echo "install-py-checkers: python3 missing (apt-get install -y python3 python3-venv)" >&2; exit 1; }

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<PYEOF 2>/dev/null
import importlib.metadata as m
assert m.version("py_ecc") == "$PY_ECC" and m.version("pycryptodome") == "$PYCRYPTODOME"
assert m.version("ethstaker-deposit") == "$ETHSTAKER_DEPOSIT"
PYEOF
then
  echo "python checkers already installed in $VENV"
  exit 0
fi

python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  "py_ecc==$PY_ECC" "pycryptodome==$PYCRYPTODOME" "ethstaker-deposit==$ETHSTAKER_DEPOSIT"
echo "python checkers installed in $VENV"
