# Sourced by scripts/demo.sh and bench/*.sh: start and stop a moto server on a free loopback
# port. Sets MOTO_ENDPOINT, MOTO_PID, MOTO_PYTHON; stop_moto ends only that PID.
start_moto() {
  local moto_server port
  moto_server="$("$(dirname "${BASH_SOURCE[0]}")/setup-moto.sh")"
  MOTO_PYTHON="$(dirname "$moto_server")/python"
  port="$("$MOTO_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  MOTO_LOG="${MOTO_LOG:-$(mktemp -t trailseal-moto.XXXXXX.log)}"
  "$moto_server" -H 127.0.0.1 -p "$port" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  MOTO_ENDPOINT="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do
    if "$MOTO_PYTHON" -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "moto did not start; see $MOTO_LOG" >&2
  return 1
}

stop_moto() {
  if [[ -n "${MOTO_PID:-}" ]]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=""
  fi
}

# Environment for AWS clients pointed at the emulator, with none of the user's own AWS config.
moto_env() {
  echo env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_DEFAULT_PROFILE \
    AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    AWS_EC2_METADATA_DISABLED=true
}
