#!/usr/bin/env bash
# trailseal scan vs checkov (CKV_AWS_35, "CloudTrail logs are encrypted with KMS") on a
# generated corpus: N Terraform root modules + N/4 CloudFormation templates
# (bench/gen-iac-corpus.py documents the cases and prints the expected counts).
#
#   bench/scan-vs-checkov.sh              # N=2000 (2,000 modules + 500 templates)
#   N=80000 SKIP_CHECKOV=1 bench/scan-vs-checkov.sh   # 100,000 files, trailseal alone
#
# checkov is installed into its own venv under ~/.cache on first use (pip install checkov).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trailseal-target}"
N="${N:-2000}"
RUNS="${RUNS:-3}"
CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
work="$(mktemp -d -t trailseal-scan-bench.XXXXXX)"

cargo build --quiet --release -p trailseal
ts="$CARGO_TARGET_DIR/release/trailseal"
echo "== corpus: $N Terraform modules + $((N / 4)) CloudFormation templates in $work/corpus"
expected="$(python3 bench/gen-iac-corpus.py "$work/corpus" --modules "$N")"
echo "expected: $expected"
# The build and the corpus just written leave dirty pages; their writeback would run during the
# measured runs (iowait, noise of +-20% seen here).
sync

echo "== trailseal"
/usr/bin/time -f "trailseal: %e s wall, peak RSS %M KB" "$ts" scan "$work/corpus" --format json --output "$work/ts.json" || true
python3 - "$work/ts.json" "$expected" <<'PY'
import collections, json, sys
d = json.load(open(sys.argv[1])); exp = json.loads(sys.argv[2])
c = collections.Counter((f["code"], f["status"]) for f in d["findings"])
got = {"ts001_fail": c[("TS001", "fail")], "ts006_fail": c[("TS006", "fail")], "pass": c[("TS006", "pass")]}
print("trailseal found:", got, "files:", d["input"]["files"])
print("correct on every file:", all(got[k] == exp[k] for k in got))
PY
/usr/bin/time -f "trailseal (text): %e s wall, peak RSS %M KB" "$ts" scan "$work/corpus" --output /dev/null || true
hyperfine --style basic --ignore-failure --warmup 3 --runs "$RUNS" \
  -n "trailseal json" "$ts scan $work/corpus --format json --output /dev/null" \
  -n "trailseal text" "$ts scan $work/corpus --output /dev/null"

if [[ -z "${SKIP_CHECKOV:-}" ]]; then
  cv="$HOME/.cache/trailseal-checkov-venv"
  if [[ ! -x "$cv/bin/checkov" ]]; then
    python3 -m venv "$cv"
    "$cv/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
  fi
  echo "== checkov $("$cv/bin/checkov" --version 2>/dev/null)"
  /usr/bin/time -f "checkov: %e s wall, peak RSS %M KB" "$cv/bin/checkov" -d "$work/corpus" -c CKV_AWS_35 \
      --framework terraform cloudformation -o json --quiet > "$work/checkov.json" 2>"$work/checkov.err" || true
  tail -1 "$work/checkov.err"
  python3 - "$work/checkov.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
reports = d if isinstance(d, list) else [d]
passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
failed = sum(r.get("summary", {}).get("failed", 0) for r in reports)
print(f"checkov CKV_AWS_35: {passed} passed, {failed} failed")
PY
fi
echo "outputs: $work"
