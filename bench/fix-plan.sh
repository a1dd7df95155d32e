#!/usr/bin/env bash
# trailseal fix (planning) on evidence files: the 14-trail example account and generated
# accounts of N trails (bench/gen-evidence.py). Planning reads nothing from AWS beyond what
# `audit` reads (live, `fix` makes exactly the collection calls of `audit`), so this measures
# the planner itself: checks, merges, new-key policies and their proofs.
#
#   bash bench/fix-plan.sh            # 500 and 2,000 trails
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trailseal-target}"
RUNS="${RUNS:-10}"
work="$(mktemp -d -t trailseal-fix-bench.XXXXXX)"
cargo build --quiet --release -p trailseal
ts="$CARGO_TARGET_DIR/release/trailseal"
for n in 500 2000; do
  python3 bench/gen-evidence.py "$work/ev-$n.json" --trails "$n"
done
for f in examples/evidence/broken-account.json "$work/ev-500.json" "$work/ev-2000.json"; do
  "$ts" fix --evidence "$f" --format json > "$work/plan.json" || true
  python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(sys.argv[2], len(p['trails']), 'trails,', len(p['steps']), 'steps,', sum(1 for t in p['trails'] if t['outcome']=='fixed'), 'fixed,', len(p['proofs']), 'proofs')" "$work/plan.json" "$f"
done
hyperfine --style basic --ignore-failure --warmup 1 --runs "$RUNS" \
  -n "14 trails (example)" "$ts fix --evidence examples/evidence/broken-account.json --format json" \
  -n "500 trails" "$ts fix --evidence $work/ev-500.json --format json" \
  -n "2000 trails" "$ts fix --evidence $work/ev-2000.json --format json"
echo "outputs: $work"
