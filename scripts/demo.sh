#!/usr/bin/env bash
# Self-contained demo: builds trailseal, evaluates the example key policies for a trail, and
# audits an evidence file of an account with one broken trail per failure cause.
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
echo "================================================================================"
echo "== trailseal audit --evidence examples/evidence/broken-account.json"
echo "== (14 trails, one per failure cause; offline evaluation of collected evidence)"
echo "================================================================================"
"$bin" audit --evidence examples/evidence/broken-account.json || true
echo
echo "Tools that only check that KmsKeyId is non-empty pass every example key policy above and 13 of the 14 evidence trails."
echo "Explain a check: $bin explain TS006"
