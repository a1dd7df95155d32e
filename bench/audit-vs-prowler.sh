#!/usr/bin/env bash
# trailseal audit vs Prowler's CloudTrail KMS check on the same emulated account.
#
#   bench/audit-vs-prowler.sh            # both scenarios: 28 trails / 3 Regions, 500 / 4
#   RUNS=5 bench/audit-vs-prowler.sh     # hyperfine runs per command (default 3)
#   SKIP_PROWLER=1 bench/audit-vs-prowler.sh
#
# Starts moto on a free loopback port, seeds it with scripts/seed-moto.py, then for each
# scenario: counts the API calls of one run of each tool (moto's request recorder), records
# peak RSS (GNU time), and times repeated runs with hyperfine. trailseal is the release build.
# Prowler is installed into its own venv under ~/.cache on first use (pip install prowler).
# Needs: hyperfine and /usr/bin/time (Debian packages hyperfine, time).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trailseal-target}"
RUNS="${RUNS:-3}"
PROWLER_VERSION="${PROWLER_VERSION:-5.*}"
out_dir="$(mktemp -d -t trailseal-bench.XXXXXX)"

cargo build --quiet --release -p trailseal
ts="$CARGO_TARGET_DIR/release/trailseal"

prowler=""
if [[ -z "${SKIP_PROWLER:-}" ]]; then
  pv="$HOME/.cache/trailseal-prowler-venv"
  if [[ ! -x "$pv/bin/prowler" ]]; then
    python3 -m venv "$pv"
    "$pv/bin/pip" install --quiet --disable-pip-version-check "prowler==$PROWLER_VERSION"
  fi
  prowler="$pv/bin/prowler"
fi

export MOTO_RECORDER_FILEPATH="$out_dir/recording.jsonl"
source scripts/moto-lib.sh
trap stop_moto EXIT
start_moto
env_cmd="$(moto_env)"

api() { "$MOTO_PYTHON" -c "import urllib.request as u; u.urlopen(u.Request('$MOTO_ENDPOINT/moto-api/$1', method='POST')).read()"; }

# Runs "$@" once under the recorder and GNU time; prints "calls rss_mb".
measure() {
  api recorder/reset-recording
  api recorder/start-recording
  $env_cmd /usr/bin/time -f "%M" -o "$out_dir/rss" "$@" >"$out_dir/last.out" 2>"$out_dir/last.err" || true
  api recorder/stop-recording
  local calls rss
  calls=$(grep -c . "$MOTO_RECORDER_FILEPATH" || true)
  rss=$(tail -1 "$out_dir/rss")
  echo "$calls $((rss / 1024))"
}

scenario() {
  local label="$1" regions="$2"; shift 2
  api reset
  "$MOTO_PYTHON" scripts/seed-moto.py --endpoint "$MOTO_ENDPOINT" "$@" >/dev/null
  local ts_cmd="$ts audit --regions $regions --format json --output $out_dir/ts.json"
  read -r ts_calls ts_rss < <(measure $ts_cmd)
  local noncompliant
  noncompliant=$("$MOTO_PYTHON" -c "import json; d=json.load(open('$out_dir/ts.json')); print(sum(1 for t in d['trails'] if not t['compliant']), 'of', len(d['trails']))")
  echo "## $label"
  echo "trailseal: $ts_calls API calls, peak RSS $ts_rss MB, non-compliant trails: $noncompliant"
  local cmds=("$env_cmd $ts_cmd")
  if [[ -n "$prowler" ]]; then
    local p_cmd="$prowler aws --checks cloudtrail_kms_encryption_enabled -f ${regions//,/ } --output-formats json-ocsf --output-directory $out_dir/prowler --no-banner --ignore-exit-code-3"
    read -r p_calls p_rss < <(measure $p_cmd)
    local p_fail
    p_fail=$(cat "$out_dir"/prowler/*.ocsf.json 2>/dev/null | "$MOTO_PYTHON" -c "import json,sys; d=json.load(sys.stdin); print(sum(1 for f in d if f.get('status_code')=='FAIL'), 'FAIL of', len(d))" 2>/dev/null || echo "?")
    rm -rf "$out_dir/prowler"
    echo "prowler:   $p_calls API calls, peak RSS $p_rss MB, findings: $p_fail"
    cmds+=("$env_cmd $p_cmd")
  fi
  local names=(-n trailseal)
  [[ -n "$prowler" ]] && names+=(-n prowler)
  hyperfine --style basic --ignore-failure --runs "$RUNS" --export-markdown "$out_dir/bench.md" \
    "${names[@]}" "${cmds[@]}" || true
  cat "$out_dir/bench.md"
  echo
}

scenario "28 trails in 3 Regions (13 broken)" us-east-1,eu-west-1,ap-southeast-2 --scenario broken
scenario "500 trails in 4 Regions" us-east-1,eu-west-1,ap-southeast-2,us-west-2 --scenario scale --trails 500
echo "raw outputs: $out_dir"
