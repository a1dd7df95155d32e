#!/usr/bin/env bash
# Self-contained demo: builds trailseal and evaluates the example key policies for a trail.
# Needs nothing but Rust; no AWS account.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trailseal-target}"

echo "== building trailseal (first build takes a few minutes)"
cargo build --quiet -p trailseal
bin="$CARGO_TARGET_DIR/debug/trailseal"
trail="arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events"

for policy in examples/policies/*.json; do
  echo
  echo "================================================================================"
  echo "== trailseal policy check $policy"
  echo "================================================================================"
  "$bin" policy check "$policy" --trail-arn "$trail" --bucket aws-cloudtrail-logs-111122223333 || true
done
echo
echo "Every trail above has a KmsKeyId, so tools that only check that KmsKeyId is set pass all of them."
echo "Explain a check: $bin explain TS006"
