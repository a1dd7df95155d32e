#!/usr/bin/env bash
# Installs the pinned AWS emulator (moto in server mode) into a venv outside the clone and
# prints the path of moto_server. Idempotent: a second run only checks the version.
set -euo pipefail
MOTO_VERSION="5.2.5"
venv="${TRAILSEAL_VENV:-$HOME/.cache/trailseal-venv}"
python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/moto_server" ]] || ! "$venv/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "== installing moto[server]==$MOTO_VERSION into $venv" >&2
  "$python" -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi
echo "$venv/bin/moto_server"
