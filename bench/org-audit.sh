#!/usr/bin/env bash
# trailseal audit --org on an emulated AWS Organization, timed against a replay of the emulator.
#
#   bench/org-audit.sh                                  # 200 member accounts, then 50, 4 Regions
#   ACCOUNTS=500 RUNS=5 LATENCY_MS=80 CONCURRENCY=64 bench/org-audit.sh
#   LINEARITY_ACCOUNTS=0 bench/org-audit.sh            # one size only
#
# For each size (ACCOUNTS, then LINEARITY_ACCOUNTS for the linearity check): starts moto on a
# free loopback port (scripts/moto-lib.sh), seeds an Organization with bench/org-seed.py (ACCOUNTS
# members + the management account, every account with trails in REGIONS), records one
# `trailseal audit --org` through `bench/replay.py record`, then replays it with LATENCY_MS per
# request (moto answers one request at a time, which would hide trailseal's concurrency): peak
# RSS of one run (GNU time), wall time of RUNS runs (hyperfine), API calls per account (from the
# recording: AssumeRole answers map access keys to accounts), and a check that the replayed
# report's findings equal the recorded run's. Prints a markdown table.
#
# Does not build: TRAILSEAL_BIN (default $CARGO_TARGET_DIR/release/trailseal, CARGO_TARGET_DIR
# defaulting to ~/.cache/trailseal-target) is copied into the output directory and run from
# there, so a build running meanwhile can replace it.
# Other settings: REGIONS (us-east-1,eu-west-1,ap-southeast-2,us-west-2); CONCURRENCY,
# ACCOUNT_CONCURRENCY, ROLE_NAME (unset: the binary's defaults; passed as --concurrency,
# --account-concurrency, --role-name); AUDIT_FLAGS (default --org; empty audits the management
# account alone); EXTRA_ARGS (more audit flags); SEED_WORKERS (2); OUT_DIR (default: mktemp;
# no spaces).
# Needs: hyperfine and /usr/bin/time (Debian packages hyperfine, time).
set -euo pipefail
cd "$(dirname "$0")/.."
ACCOUNTS="${ACCOUNTS:-200}"
LINEARITY_ACCOUNTS="${LINEARITY_ACCOUNTS:-50}"
RUNS="${RUNS:-3}"
LATENCY_MS="${LATENCY_MS:-50}"
REGIONS="${REGIONS:-us-east-1,eu-west-1,ap-southeast-2,us-west-2}"
AUDIT_FLAGS="${AUDIT_FLAGS---org}"
EXTRA_ARGS="${EXTRA_ARGS:-}"
SEED_WORKERS="${SEED_WORKERS:-2}"
bin="${TRAILSEAL_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/trailseal-target}/release/trailseal}"
out_dir="${OUT_DIR:-$(mktemp -d -t trailseal-org-bench.XXXXXX)}"
mkdir -p "$out_dir"

if [[ ! -x "$bin" ]]; then
  echo "no trailseal binary at $bin (cargo build --release -p trailseal, or set TRAILSEAL_BIN)" >&2
  exit 2
fi
ts="$out_dir/trailseal"
cp "$bin" "$ts"
if [[ " $AUDIT_FLAGS " == *" --org "* ]] && ! "$ts" audit --help 2>/dev/null | grep -q -- '--org'; then
  echo "$bin has no 'audit --org' yet (set AUDIT_FLAGS= to bench the single-account audit)" >&2
  exit 2
fi

PROXY_PID=""
stop_proxy() {
  if [[ -n "$PROXY_PID" ]]; then
    kill -TERM "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=""
  fi
}
source scripts/moto-lib.sh
cleanup() { stop_proxy; stop_moto; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_proxy NAME MODE ARGS...: bench/replay.py on a free port; sets PROXY_PID and PROXY_URL.
start_proxy() {
  local name="$1"; shift
  local pf="$out_dir/$name.port"
  rm -f "$pf"
  "$MOTO_PYTHON" bench/replay.py "$@" --port 0 --port-file "$pf" >"$out_dir/$name.out" 2>"$out_dir/$name.err" &
  PROXY_PID=$!
  for _ in $(seq 1 100); do
    [[ -s "$pf" ]] && break
    kill -0 "$PROXY_PID" 2>/dev/null || { cat "$out_dir/$name.err" >&2; return 1; }
    sleep 0.1
  done
  PROXY_URL="http://127.0.0.1:$(cat "$pf")"
}

# The audit's environment: the proxy as the only endpoint, none of the user's AWS config.
aws_env() {
  echo env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_DEFAULT_PROFILE \
    AWS_ENDPOINT_URL="$1" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_REGION=us-east-1 AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    AWS_EC2_METADATA_DISABLED=true
}

tuning() {
  echo "${CONCURRENCY:+--concurrency $CONCURRENCY} ${ACCOUNT_CONCURRENCY:+--account-concurrency $ACCOUNT_CONCURRENCY} ${ROLE_NAME:+--role-name $ROLE_NAME}"
}

# audit_cmd REPORT: the measured command line (word-split on purpose: no spaces in the parts).
audit_cmd() {
  echo "$ts audit $AUDIT_FLAGS --regions $REGIONS --format json -o $1 $(tuning) $EXTRA_ARGS"
}

py() { "$MOTO_PYTHON" -c "$@"; }

rows=()
results=()  # "accounts mean_seconds" per size, for the linearity line

bench_size() {
  local n="$1" d="$out_dir/accounts-$n"
  mkdir -p "$d"
  echo "== $n member accounts: seeding" >&2
  start_moto
  local seed
  seed="$("$MOTO_PYTHON" bench/org-seed.py --endpoint "$MOTO_ENDPOINT" --accounts "$n" \
    --regions "$REGIONS" --workers "$SEED_WORKERS")"
  echo "$seed" >"$d/seed.json"
  local seed_s trails broken
  read -r seed_s trails broken < <(py "import json; d=json.load(open('$d/seed.json')); print(d['seconds'], d['trails'], d['broken_trails'])")
  echo "   seeded $trails trails ($broken broken) in ${seed_s}s" >&2

  echo "== $n: recording one audit against moto" >&2
  start_proxy "record-$n" record --upstream "$MOTO_ENDPOINT" --store "$d/store.json"
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  $(aws_env "$PROXY_URL") $(audit_cmd "$d/recorded.json") >"$d/recorded.out" 2>"$d/recorded.err" || rc=$?
  t1=$(date +%s.%N)
  stop_proxy
  stop_moto
  if [[ $rc -gt 1 || ! -s "$d/recorded.json" ]]; then
    echo "recorded audit failed (exit $rc):" >&2
    tail -20 "$d/recorded.err" >&2
    return 1
  fi
  local record_s
  record_s=$(py "print(round($t1 - $t0, 2))")

  echo "== $n: replaying at ${LATENCY_MS} ms per request" >&2
  start_proxy "replay-$n" replay --store "$d/store.json" --latency-ms "$LATENCY_MS"
  local env_cmd cmd
  env_cmd="$(aws_env "$PROXY_URL")"
  cmd="$(audit_cmd "$d/replayed.json")"
  /usr/bin/time -f "%M" -o "$d/rss" $env_cmd $cmd >"$d/replayed.out" 2>"$d/replayed.err" || true
  hyperfine --style basic --ignore-failure --runs "$RUNS" --export-json "$d/hyperfine.json" \
    -n "org audit, $n members" "$env_cmd $cmd" >&2
  stop_proxy
  local replay_summary
  replay_summary="$(tail -1 "$out_dir/replay-$n.out")"

  # One line: calls, accounts seen, mean/min/max calls per account, mean ± sd, RSS, misses, findings check.
  local row
  row="$(py "
import json, subprocess, sys
d = '$d'
stats = json.loads(subprocess.run([sys.executable, 'bench/replay.py', 'stats', '--store', d + '/store.json'],
                                  check=True, capture_output=True, text=True).stdout)
h = json.load(open(d + '/hyperfine.json'))['results'][0]
rss = int(open(d + '/rss').read().split()[-1]) // 1024
summary = json.loads('''$replay_summary''')
rec = json.load(open(d + '/recorded.json'))
try:
    rep = json.load(open(d + '/replayed.json'))
    canon = lambda fs: sorted(json.dumps(f, sort_keys=True) for f in fs)
    same = ('equal' if rep['findings'] == rec['findings'] else
            'equal (other order)' if canon(rep['findings']) == canon(rec['findings']) else 'DIFFER')
except (OSError, ValueError):
    same = 'no report'
bad = sum(1 for t in rec.get('trails', []) if not t.get('compliant', True))
accts = len(rec.get('input', {}).get('accounts', []))
print(f\"| {$n + 1} ({$n} members) | {len('$REGIONS'.split(','))} | $trails | ${seed_s} s | {stats['requests']} \"
      f\"| {stats['per_account_mean']} ({stats['per_account_min']}-{stats['per_account_max']}) over {stats['accounts']} \"
      f\"| ${record_s} s | **{h['mean']:.3f} s ± {h['stddev'] or 0:.3f}** | {h['mean'] / ($n + 1) * 1000:.1f} ms \"
      f\"| {rss} MB | {summary['misses']} | {accts} accounts, {bad} of {len(rec.get('trails', []))} trails non-compliant; replay {same} |\")
print('RESULT', $n + 1, h['mean'], file=sys.stderr)
" 2>"$d/result")" || { cat "$d/result" >&2; return 1; }
  rows+=("$row")
  results+=("$(grep '^RESULT' "$d/result" | cut -d' ' -f2-)")
}

sizes=("$ACCOUNTS")
if [[ "$LINEARITY_ACCOUNTS" != 0 && "$LINEARITY_ACCOUNTS" != "$ACCOUNTS" ]]; then
  sizes+=("$LINEARITY_ACCOUNTS")
fi
for n in "${sizes[@]}"; do
  bench_size "$n"
done

echo
flags="$(echo $AUDIT_FLAGS $(tuning) $EXTRA_ARGS)"
echo "trailseal audit${flags:+ $flags}, Regions $REGIONS, replay latency ${LATENCY_MS} ms, hyperfine $RUNS runs ($("$ts" --version))"
echo
echo "| accounts | Regions | trails seeded | seeding | API calls | calls per account (min-max) | recorded run (moto) | replayed wall time | per account | peak RSS | replay misses | report |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
if [[ ${#results[@]} -eq 2 ]]; then
  py "
a, b = [tuple(map(float, r.split())) for r in '''$(printf '%s\n' "${results[@]}")'''.strip().splitlines()]
print()
print(f'Linearity: {a[0]:.0f} vs {b[0]:.0f} accounts = {a[0] / b[0]:.2f}x the accounts, '
      f'{a[1] / b[1]:.2f}x the time ({a[1] / a[0] * 1000:.1f} vs {b[1] / b[0] * 1000:.1f} ms per account)')
"
fi
echo "raw outputs: $out_dir"
