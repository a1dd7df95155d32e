#!/usr/bin/env bash
# Installs the independent IAM evaluator that the differential test of the policy engine
# (crates/trailseal-policy/tests/differential/) compares against: the npm package
# @cloud-copilot/iam-simulate at the exact version pinned by package.json/package-lock.json
# next to this script, with `npm ci` into a directory outside the clone
# (default ~/.cache/trailseal-iam-simulate; override with TRAILSEAL_IAM_SIMULATE_DIR).
#
# Prints that directory on stdout (progress goes to stderr). Idempotent: when the installed
# lock file equals the committed one and the package is there, it only checks and prints.
#
# Needs Node.js >= 18 and npm. When they are missing and this runs as root with CI=true, they
# are installed from Debian's packages (apt-get install -y nodejs npm); otherwise it fails with
# a message saying what to install.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${TRAILSEAL_IAM_SIMULATE_DIR:-$HOME/.cache/trailseal-iam-simulate}"

need_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'
}

if ! need_node; then
  if [[ "${CI:-}" == "true" && "$(id -u)" == "0" ]]; then
    echo "== installing nodejs and npm (Debian packages)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
  fi
  if ! need_node; then
    echo "error: the differential test needs Node.js >= 18 and npm (Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
fi

installed="$dir/node_modules/@cloud-copilot/iam-simulate/package.json"
# The stamp is written only after a complete `npm ci`, so an interrupted install is redone.
stamp="$dir/.trailseal-installed"
want="$(cat "$here/package.json" "$here/package-lock.json" | cksum)"
if [[ -f "$installed" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$dir"
  exit 0
fi

echo "== installing @cloud-copilot/iam-simulate (scripts/differential/package-lock.json) into $dir" >&2
mkdir -p "$dir"
rm -f "$stamp"
cp "$here/package.json" "$here/package-lock.json" "$dir/"
# --ignore-scripts: the packages have no install scripts, and none should run here.
(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
if [[ ! -f "$installed" ]]; then
  echo "error: npm ci finished but $installed is missing" >&2
  exit 1
fi
echo "$want" >"$stamp"
echo "$dir"
