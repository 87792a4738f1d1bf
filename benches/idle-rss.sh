#!/usr/bin/env bash
# Memory of idle terminal connections: the RSS of one antom-switch (release) holding $IDLE
# connections, and the echo round trip while it does (benches/idle_echo.py).
#
# Starts redis-server and the switch on free ports. No antom-sim: nothing here calls Antom (the
# 0800 echoes are answered by the switch itself). Each connection signs on with one echo as it
# opens, as a terminal does; SILENT=1 opens them without a word (strangers: they stay "new"
# connections, so the first-message timeout is raised out of the way for the run).
#
# FLOOD=6000: instead, the switch keeps its default connection limits (2,048 seats, 256 per
# address) and benches/flood_check.py opens that many silent connections from 40 loopback
# addresses, then checks that a terminal connecting from 127.0.0.1 still gets its echo answered.
#
# Usage: benches/idle-rss.sh          (IDLE=10000 RATE=500 ECHO_SECONDS=20 SILENT=0 FLOOD=0 ASW_BENCH_BIN=dir)
# Output: JSON on stdout and in $WORK/idle-rss.json (default target/idle-rss).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${ASW_BENCH_BIN:-$TARGET/release}
[[ -n "${ASW_BENCH_BIN:-}" ]] && SKIP_BUILD=1
WORK=${WORK:-$TARGET/idle-rss}
IDLE=${IDLE:-10000}
RATE=${RATE:-500}
ECHO_SECONDS=${ECHO_SECONDS:-20}
SILENT=${SILENT:-0}
FLOOD=${FLOOD:-0}
KEYS=$ROOT/tools/chaos/testdata/keys # test-only keys
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd) # redis-server changes directory: absolute paths only

if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p asw-app -p asw-terminal-sim --bins
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

REDIS_PORT=$(free_port); POS_PORT=$(free_port); HOOK_PORT=$(free_port); ADMIN_PORT=$(free_port)
rm -rf "$WORK/redis" && mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --appendonly yes \
  --appendfsync always --save '' --maxmemory-policy noeviction --logfile "$WORK/redis/redis.log" &
PIDS+=($!)
for _ in $(seq 1 100); do
  redis-cli -p "$REDIS_PORT" ping > /dev/null 2>&1 && break
  sleep 0.1
done

cat > "$WORK/switch.toml" <<TOML
[downstream]
listen = "127.0.0.1:$POS_PORT"
$( ((FLOOD)) || printf 'max_connections = 20000\nmax_connections_per_ip = 20000\n')
$( ((SILENT)) && echo "first_message_timeout_ms = 600000" || true)
[upstream]
base_url = "http://127.0.0.1:9"
client_id = "SANDBOX_5YTEST00000000000"
merchant_private_key = "$KEYS/merchant_private_pkcs8.pem"
antom_public_key = "$KEYS/antom_public.pem"
[redis]
url = "redis://127.0.0.1:$REDIS_PORT/"
[webhook]
listen = "127.0.0.1:$HOOK_PORT"
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
[reversal]
instance = "idle-rss"
[ids]
secret = "idle-rss-secret-0123456789abcdef"
[log]
format = "json"
level = "warn"
[[merchants]]
merchant_id = "M00000000000001"
reference_merchant_id = "SG-BENCH-M1"
merchant_name = "Bench Coffee"
mcc = "5814"
store_id = "SG-BENCH-S1"
store_name = "Bench Coffee One"
settlement_currency = "SGD"
[[merchants.terminals]]
terminal_id = "E0000000"
TOML

# Both ends hold one descriptor per connection.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
"$BIN/antom-switch" run --config "$WORK/switch.toml" > "$WORK/switch.log" 2>&1 &
SWITCH=$!
PIDS+=($SWITCH)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$ADMIN_PORT/health/ready" > /dev/null && break
  sleep 0.2
done
if ((FLOOD)); then
  python3 benches/flood_check.py --port "$POS_PORT" --connections "$FLOOD" \
    --encoder "$BIN/terminal-sim" | tee "$WORK/flood.json"
  exit 0
fi
python3 benches/idle_echo.py --port "$POS_PORT" --connections "$IDLE" --rate "$RATE" \
  --seconds "$ECHO_SECONDS" --encoder "$BIN/terminal-sim" --pid "$SWITCH" \
  --out "$WORK/idle-rss.json" $( ((SILENT)) && echo --silent || true)
