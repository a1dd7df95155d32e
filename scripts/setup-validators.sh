#!/usr/bin/env bash
# Installs the independent validators of trailseal's report formats into a venv outside the
# clone and prints its directory (for TRAILSEAL_VALIDATORS_DIR). Idempotent: a second run only
# checks the marker of the pinned versions.
#   ocsf-json-schema  the OCSF schemas (1.0-1.8) as JSON Schema, checked with jsonschema
#   botocore          Security Hub's service model (ASFF, BatchImportFindings)
#   xmlschema         XSD validation; junit-10.xsd (Jenkins/Surefire JUnit schema, MIT) is taken
#                     from pytest's source distribution on PyPI
#   pre-commit        `pre-commit try-repo` of the repository's hook
#   cfn-lint          AWS's CloudFormation linter, on the stack `trailseal monitor --emit` writes
#   playwright-core   (npm) drives Debian's chromium to check the HTML report in a browser
# With CI=true as root, chromium is installed from Debian's packages when it is missing.
set -euo pipefail
venv="${TRAILSEAL_VALIDATORS_VENV:-$HOME/.cache/trailseal-validators-venv}"
playwright="playwright-core@1.65.1"
if ! command -v chromium >/dev/null 2>&1 && [[ "${CI:-}" == "true" && "$(id -u)" == "0" ]]; then
  echo "== installing chromium (Debian package) for the HTML report test" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
python="${PYTHON:-python3}"
pins="ocsf-json-schema==1.2.0 jsonschema==4.26.0 xmlschema==4.3.2 botocore==1.44.8 pre-commit==4.7.0 cfn-lint==1.58.0"
pytest_sdist="pytest==8.3.5"
marker="$venv/.trailseal-pins"
if [[ ! -f "$marker" ]] || [[ "$(cat "$marker")" != "$pins $pytest_sdist $playwright" ]] || [[ ! -f "$venv/junit-10.xsd" ]]; then
  echo "== installing the report validators into $venv" >&2
  "$python" -m venv "$venv" >&2
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $pins >&2
  tmp="$(mktemp -d)"
  "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$tmp" "$pytest_sdist" >&2
  tar -xzf "$tmp"/pytest-*.tar.gz -C "$tmp" --wildcards '*/testing/example_scripts/junit-10.xsd'
  cp "$tmp"/pytest-*/testing/example_scripts/junit-10.xsd "$venv/junit-10.xsd"
  rm -rf "$tmp"
  mkdir -p "$venv/node"
  npm install --silent --no-audit --no-fund --prefix "$venv/node" "$playwright" >&2
  echo "$pins $pytest_sdist $playwright" > "$marker"
fi
echo "$venv"
