#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit/property/snapshot/CLI tests, integration
# tests against the AWS emulator (moto in server mode, installed into a venv under ~/.cache by
# scripts/setup-moto.sh; the tests start it themselves on a free loopback port), and the
# differential test of the policy engine against iam-simulate (npm package installed under
# ~/.cache by scripts/differential/setup.sh; needs Node.js and npm), and the report formats
# checked by independent validators (scripts/setup-validators.sh: a venv under ~/.cache).
# This is exactly what CI runs (.ci/run). Safe to run on a fresh Debian machine with Rust,
# Python 3, Node.js and npm (setup.sh installs nodejs and npm from Debian when they are
# missing, but only as root with CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."

# Build artefacts live outside the clone so repeated runs do not rebuild the AWS SDK.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trailseal-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Snapshot tests must match the committed snapshots; never write new ones in CI.
export INSTA_UPDATE=no

# CI builds a clean clone once: incremental compilation caches only cost disk there (in a
# target directory shared with development they grew to 32 GB and filled the disk mid-build).
if [[ "${CI:-}" == "true" ]]; then
  export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi

# A debug build of the workspace and its tests takes about 8 GB. Say so plainly before cargo
# stops halfway with "No space left on device".
mkdir -p "$CARGO_TARGET_DIR"
need_gb=10
free_gb=$(( $(df -Pk "$CARGO_TARGET_DIR" | awk 'NR == 2 {print $4}') / 1024 / 1024 ))
if (( free_gb < need_gb )) && [[ "${CARGO_INCREMENTAL:-}" == "0" && -d "$CARGO_TARGET_DIR/debug/incremental" ]]; then
  echo "== only ${free_gb} GB free: removing the incremental caches (unused when CARGO_INCREMENTAL=0)"
  rm -rf "$CARGO_TARGET_DIR/debug/incremental"
  free_gb=$(( $(df -Pk "$CARGO_TARGET_DIR" | awk 'NR == 2 {print $4}') / 1024 / 1024 ))
fi
if (( free_gb < need_gb )); then
  echo "warning: only ${free_gb} GB free under $CARGO_TARGET_DIR; the build needs about ${need_gb} GB." >&2
  echo "         Free space, or reclaim stale build output: rm -rf '$CARGO_TARGET_DIR/debug/incremental'" >&2
  echo "         (caches only) or cargo clean --target-dir '$CARGO_TARGET_DIR' (rebuilds everything)." >&2
fi

echo "== AWS emulator (moto)"
TRAILSEAL_MOTO_SERVER="$(scripts/setup-moto.sh)"
export TRAILSEAL_MOTO_SERVER

echo "== independent validators of the report formats (OCSF, ASFF, JUnit XSD, pre-commit)"
TRAILSEAL_VALIDATORS_DIR="$(scripts/setup-validators.sh)"
export TRAILSEAL_VALIDATORS_DIR

echo "== independent IAM evaluator for the differential test (iam-simulate, Node.js)"
TRAILSEAL_IAM_SIMULATE_DIR="$(scripts/differential/setup.sh)"
export TRAILSEAL_IAM_SIMULATE_DIR

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== cargo test"
log="$(mktemp)"
set +e
cargo test --workspace 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo 'passed; [0-9]+ failed' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"

# CI also prints how long the release binary takes to build: a figure to watch (bench/README.md,
# "Build cost"), not a pass/fail timing test. Skipped on developer machines (it is minutes).
if [[ "${CI:-}" == "true" ]]; then
  echo "== release build (CI only: its duration is printed, not judged)"
  start=$SECONDS
  if cargo build --release -p trailseal --quiet; then
    echo "release build of trailseal: $((SECONDS - start)) s"
  else
    echo "release build of trailseal FAILED after $((SECONDS - start)) s"
    status=1
  fi
fi

echo
echo "$passed passed, $failed failed"
exit "$status"
