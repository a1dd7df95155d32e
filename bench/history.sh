#!/usr/bin/env bash
# What the audit history costs (issue "Keep it true"): recording a run of an account with 500
# trails (`audit --evidence E --history DB` against the same audit without --history), and
# `trailseal diff` of two such runs (a key policy edit in between), with the database's size.
#
#   bench/history.sh               # 500 trails, hyperfine 10 runs each
#   TRAILS=2000 RUNS=5 bench/history.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trailseal-target}"
trails="${TRAILS:-500}"
runs="${RUNS:-10}"
work="$(mktemp -d -t trailseal-history-bench.XXXXXX)"
if [[ -n "${TRAILSEAL_BIN:-}" ]]; then
  ts="$TRAILSEAL_BIN"
else
  cargo build --quiet --release -p trailseal
  ts="$CARGO_TARGET_DIR/release/trailseal"
fi

python3 bench/gen-evidence.py "$work/before.json" --trails "$trails"
# The second run: a day later, one shared key's policy loses CloudTrail's statement.
python3 - "$work/before.json" "$work/after.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["collected_at"] = "2026-12-01T00:00:00Z"
for k in d["accounts"][0]["keys"]:
    p = json.loads(k["policy"])
    kept = [s for s in p["Statement"] if "cloudtrail" not in json.dumps(s.get("Principal", ""))]
    if len(kept) < len(p["Statement"]):
        p["Statement"] = kept
        k["policy"] = json.dumps(p)
        break
json.dump(d, open(sys.argv[2], "w"))
PY
echo "== evidence: $trails trails, $(stat -c %s "$work/before.json") bytes"
db="$work/h.sqlite3"
"$ts" audit --evidence "$work/before.json" --history "$db" -o /dev/null 2>/dev/null || true
"$ts" audit --evidence "$work/after.json" --history "$db" -o /dev/null 2>/dev/null || true
"$ts" diff --history "$db" > "$work/diff.txt" || true
echo "== diff: $(grep -c . "$work/diff.txt") lines; $(head -2 "$work/diff.txt" | tail -1)"
hyperfine --style basic -N --ignore-failure --warmup 1 --runs "$runs" \
  -n "audit (no history)" "$ts audit --evidence $work/after.json --format json -o /dev/null" \
  -n "audit --history" "$ts audit --evidence $work/after.json --format json -o /dev/null --history $db" \
  -n "diff (last two runs)" "$ts diff --history $db" \
  -n "diff --format json" "$ts diff --history $db --format json" \
  -n "history (list)" "$ts history --history $db"
runs_in_db="$("$ts" history --history "$db" --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))')"
echo "== database: $runs_in_db runs, $(stat -c %s "$db") bytes (+ WAL $(stat -c %s "$db-wal" 2>/dev/null || echo 0) bytes)"
/usr/bin/time -f "audit --history: %e s, peak RSS %M KB" "$ts" audit --evidence "$work/after.json" -o /dev/null --history "$db" 2>&1 >/dev/null | tail -1
/usr/bin/time -f "diff: %e s, peak RSS %M KB" "$ts" diff --history "$db" 2>&1 >/dev/null | tail -1
echo "outputs: $work"
