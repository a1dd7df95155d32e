#!/usr/bin/env bash
# Who can read the logs (TS015, `trailseal readers`) on an account with a large IAM estate:
# 5,000 roles, 500 users in 20 groups, 2,000 customer managed policies (bench/gen-iam-evidence.py).
# Needs hyperfine and a release build; RUNS (default 10) runs each.
#
#   bash bench/readers.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/trailseal-target}"
bin="$target/release/trailseal"
(cd "$here/.." && cargo build --release -p trailseal)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/gen-iam-evidence.py" "$work/iam.json" --roles "${ROLES:-5000}" --policies "${POLICIES:-2000}"
hyperfine -N -w 1 -r "${RUNS:-10}" \
  -n "baseline: read the evidence, TS001" "$bin audit --evidence $work/iam.json --checks TS001 --format json -o /dev/null --exit-zero" \
  -n "readers main (the whole table)" "$bin readers main --evidence $work/iam.json --format json" \
  -n "audit TS008 (decrypt side)" "$bin audit --evidence $work/iam.json --checks TS008 --format json -o /dev/null --exit-zero" \
  -n "audit, whole catalogue" "$bin audit --evidence $work/iam.json --format json -o /dev/null --exit-zero"
/usr/bin/time -f "readers: %e s, peak RSS %M KB" "$bin" readers main --evidence "$work/iam.json" --format json > /dev/null
