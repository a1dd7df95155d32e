#!/usr/bin/env bash
# Builds the zip of the `trailseal monitor` Lambda function (runtime provided.al2023): the
# release binary, linked against Amazon Linux 2023's glibc (2.34) with cargo-zigbuild, named
# `bootstrap`. cargo-zigbuild and the Zig toolchain come from PyPI into a venv under ~/.cache.
#
#   scripts/build-lambda.sh                 # x86_64 -> $CARGO_TARGET_DIR/lambda/trailseal-lambda.zip
#   ARCH=arm64 scripts/build-lambda.sh      # arm64 (needs `rustup target add aarch64-unknown-linux-gnu`)
#
# Then upload the zip to an S3 bucket of the Region and deploy `trailseal monitor --emit
# cloudformation` with CodeBucket/CodeKey (or `--emit terraform` with code_file = the zip).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trailseal-target}"
arch="${ARCH:-x86_64}"
case "$arch" in
  x86_64) triple=x86_64-unknown-linux-gnu ;;
  arm64) triple=aarch64-unknown-linux-gnu ;;
  *) echo "ARCH must be x86_64 or arm64, not $arch" >&2; exit 2 ;;
esac
# Amazon Linux 2023 ships glibc 2.34: the binary must not need a newer one.
glibc=2.34
venv="${TRAILSEAL_LAMBDA_VENV:-$HOME/.cache/trailseal-lambda-venv}"
pins="cargo-zigbuild==0.24.1 ziglang==0.17.1"
if [[ ! -x "$venv/bin/cargo-zigbuild" ]] || [[ "$(cat "$venv/.trailseal-pins" 2>/dev/null)" != "$pins" ]]; then
  echo "== installing $pins into $venv" >&2
  python3 -m venv "$venv" >&2
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $pins >&2
  echo "$pins" > "$venv/.trailseal-pins"
fi
if ! rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
  echo "the Rust target $triple is not installed: rustup target add $triple" >&2
  exit 2
fi
export PATH="$venv/bin:$PATH"
echo "== cargo zigbuild --release --target $triple.$glibc" >&2
start=$SECONDS
cargo zigbuild --release --quiet -p trailseal --target "$triple.$glibc"
echo "built in $((SECONDS - start)) s" >&2
out="$CARGO_TARGET_DIR/lambda"
mkdir -p "$out"
zip="$out/trailseal-lambda${ARCH:+-$arch}.zip"
[[ "$arch" == x86_64 && -z "${ARCH:-}" ]] && zip="$out/trailseal-lambda.zip"
python3 - "$CARGO_TARGET_DIR/$triple/release/trailseal" "$zip" <<'PY'
import os, sys, zipfile
binary, zip_path = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16  # an executable regular file
info.compress_type = zipfile.ZIP_DEFLATED
with open(binary, "rb") as f, zipfile.ZipFile(zip_path, "w") as z:
    z.writestr(info, f.read(), compresslevel=9)
print(f"{zip_path}: {os.path.getsize(zip_path)} bytes (bootstrap {os.path.getsize(binary)} bytes)")
PY
