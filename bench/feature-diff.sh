#!/usr/bin/env bash
# Prints the crates whose features differ between the demo's build (`cargo build -p trailseal`)
# and the test build (`cargo test --workspace`, with dev-dependencies). Each such crate, and
# everything that depends on it, is compiled twice when the README's two commands run one
# after the other; the fix is to list the feature in crates/trailseal/Cargo.toml ("Feature
# unification"). Prints nothing when the two agree.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=$(mktemp); test=$(mktemp)
trap 'rm -f "$demo" "$test"' EXIT
cargo tree -p trailseal -e normal,build --prefix none -f '{p}|{f}' 2>/dev/null | sort -u >"$demo"
cargo tree --workspace -e normal,build,dev --prefix none -f '{p}|{f}' 2>/dev/null | sort -u >"$test"
python3 - "$demo" "$test" <<'PY'
import sys
def load(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if '|' not in line:
            continue
        pkg, feats = line.split('|', 1)
        pkg = pkg.replace(' (*)', '').strip()
        out.setdefault(pkg, set()).update(f.replace(' (*)', '') for f in feats.split(',') if f.strip(' (*)'))
    return out
demo, test = load(sys.argv[1]), load(sys.argv[2])
for pkg in sorted(demo):
    extra = sorted(test.get(pkg, set()) - demo[pkg])
    if extra:
        print(f"{pkg}: the test build adds {', '.join(extra)}")
PY
