# shellcheck shell=bash
# Shared by the .ci scripts that need a running bookstore-api. Source it, then:
#   start_api BINARY [VAR=VALUE ...]   starts one on a free port with a clean environment, waits
#                                      until /readyz answers, sets $api_addr; every one started is
#                                      stopped on exit.
api_pids=()
api_logs=()
stop_apis() {
    local pid
    for pid in "${api_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${api_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -f "${api_logs[@]}"
}
trap stop_apis EXIT

start_api() {
    local binary=$1; shift
    api_log=$(mktemp)
    api_logs+=("$api_log")
    env -i PATH="$PATH" BIND_ADDR=127.0.0.1:0 LOG_FORMAT=json RUST_LOG=warn,bookstore_api=info "$@" \
        "$binary" serve >"$api_log" 2>&1 &
    api_pids+=($!)
    api_addr=""
    for _ in $(seq 100); do
        api_addr=$(grep -o '"addr":"[^"]*"' "$api_log" | head -n 1 | cut -d'"' -f4 || true)
        [ -n "$api_addr" ] && curl -fsS "http://$api_addr/readyz" >/dev/null 2>&1 && return 0
        api_addr=""; sleep 0.1
    done
    echo "bookstore-api did not become ready:" >&2
    cat "$api_log" >&2
    return 1
}
