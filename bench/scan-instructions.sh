#!/usr/bin/env bash
# Instructions a scan of the bench corpus executes (valgrind's callgrind), for each trailseal
# binary given: a count that does not drift with the machine's speed (wall time here moves by
# ±25% within an hour), to compare builds. Kernel time (system calls, page faults) is not in it.
#
#   bench/scan-instructions.sh                       # the release build of this checkout
#   bench/scan-instructions.sh OLD/trailseal NEW/trailseal
#   CORPUS=/tmp/corpus bench/scan-instructions.sh    # an existing corpus (bench/gen-iac-corpus.py)
#
# Needs valgrind (`apt-get install valgrind`). About 30 s per binary on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trailseal-target}"
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
if [[ $# -eq 0 ]]; then
  cargo build --quiet --release -p trailseal
  set -- "$CARGO_TARGET_DIR/release/trailseal"
fi
corpus="${CORPUS:-}"
if [[ -z "$corpus" ]]; then
  work="$(mktemp -d -t trailseal-corpus.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  corpus="$work/corpus"
  python3 bench/gen-iac-corpus.py "$corpus" --modules 2000 >/dev/null
fi
for bin in "$@"; do
  # The scan exits 1 (the corpus has failing findings): its status is not the measure.
  n="$({ valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" scan "$corpus" \
        --format json --output /dev/null 2>&1 || true; } | awk '/Collected/ {print $4}')"
  if [[ -z "$n" ]]; then
    echo "$bin: no instruction count (did valgrind run it?)" >&2
    exit 1
  fi
  echo "$bin: $n instructions"
done
