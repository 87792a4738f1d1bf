#!/usr/bin/env bash
# Beyond one Redis, measured in one run on this machine:
#   A. one antom-switch on one redis-server (AOF, appendfsync always): the highest rate it
#      sustains (>= 99.5 % approved, p99 < 1 s) over a rate sweep;
#   B. two antom-switch instances on a local Redis Cluster (3 masters + 3 replicas, AOF always,
#      wait-replicas 1, 16 shards), the load split evenly between them: the same sweep;
#   the ratio B / A; then
#   C. on the cluster at a moderate rate: one master killed with SIGKILL, its node restarted as
#      soon as the replica has taken over (what an orchestrator does), and, for the purchases
#      whose shard lived on the killed master, the time from the kill to the first approval.
#
# All processes share this machine's cores, so B does not get more hardware than A: the ratio
# shows what the cluster and the second instance cost or gain here, not what more machines
# would give. Output: $WORK/cluster-report.json and a summary on stdout.
# Usage: benches/run-cluster.sh  (RATES="100 200 400 800" DURATION=10 FAILOVER_RATE=100 ...)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${ASW_BENCH_BIN:-$TARGET/release}
[[ -n "${ASW_BENCH_BIN:-}" ]] && SKIP_BUILD=1
WORK=${WORK:-$TARGET/cluster-bench}
RATES=${RATES:-"100 200 400 600 800 1000"}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
FAILOVER_RATE=${FAILOVER_RATE:-100}
KEYS=$ROOT/tools/chaos/testdata/keys # test-only keys
rm -rf "$WORK" && mkdir -p "$WORK"
echo '2810????????????00' > "$WORK/codes.txt"

if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p asw-app -p asw-terminal-sim -p asw-antom-sim --bins
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

redis_node() { # port dir [extra args...]
  local port=$1 dir=$2; shift 2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --protected-mode no --dir "$dir" \
    --appendonly yes --appendfsync always --save '' --maxmemory-policy noeviction \
    --logfile "$dir/redis.log" "$@" > /dev/null 2>&1 &
  echo $!
}

wait_ping() { for _ in $(seq 1 100); do redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done; return 1; }

SIM_PORT=$(free_port)
"$BIN/antom-sim" --listen "127.0.0.1:$SIM_PORT" \
  --antom-private-key "$KEYS/antom_private_pkcs8.pem" \
  --merchant-public-key "$KEYS/merchant_public.pem" \
  --client-id SANDBOX_5YTEST00000000000 --notify-delay-ms 500 > "$WORK/antom-sim.log" 2>&1 &
PIDS+=($!)

switch_config() { # name pos hook admin redis-body
  cat <<EOF
[downstream]
listen = "127.0.0.1:$2"
max_connections = 20000
max_connections_per_ip = 20000
[upstream]
base_url = "http://127.0.0.1:$SIM_PORT"
client_id = "SANDBOX_5YTEST00000000000"
merchant_private_key = "$KEYS/merchant_private_pkcs8.pem"
antom_public_key = "$KEYS/antom_public.pem"
[redis]
$5
[webhook]
listen = "127.0.0.1:$3"
public_url = "http://127.0.0.1:$3/antom/notify"
[admin]
listen = "127.0.0.1:$4"
[reversal]
instance = "$1"
[ids]
secret = "cluster-bench-secret-0123456789abcdef"
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
EOF
  for i in $(seq 0 $((CONNECTIONS - 1))); do
    printf '[[merchants.terminals]]\nterminal_id = "A%07d"\n[[merchants.terminals]]\nterminal_id = "B%07d"\n' "$i" "$i"
  done
}

SWITCH_PIDS=(); POS_PORTS=()
start_switch() { # name redis-body
  local pos hook admin
  pos=$(free_port); hook=$(free_port); admin=$(free_port)
  switch_config "$1" "$pos" "$hook" "$admin" "$2" > "$WORK/$1.toml"
  "$BIN/antom-switch" run --config "$WORK/$1.toml" > "$WORK/$1.log" 2>&1 &
  PIDS+=($!); SWITCH_PIDS+=($!); POS_PORTS+=("$pos")
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$admin/health/ready" > /dev/null && return 0
    sleep 0.2
  done
  echo "switch $1 not ready"; tail -5 "$WORK/$1.log"; return 1
}
stop_switches() { for p in "${SWITCH_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; SWITCH_PIDS=(); POS_PORTS=(); }

load() { # rate duration tag -> one terminal-sim per instance, rate split evenly
  local rate=$1 duration=$2 tag=$3 n=${#POS_PORTS[@]} i pids=() RUN
  # A new seed per run (a counter in a file: sweeps run in subshells), or the switch would
  # answer the repeated STANs as duplicates (94).
  RUN=$(( $(cat "$WORK/run" 2>/dev/null || echo 0) + 1 )); echo "$RUN" > "$WORK/run"
  for i in $(seq 0 $((n - 1))); do
    local prefix; prefix=$([[ $i == 0 ]] && echo A || echo B)
    "$BIN/terminal-sim" --connect "127.0.0.1:${POS_PORTS[$i]}" load \
      --connections $((CONNECTIONS / n)) --rate "$(python3 -c "print($rate / $n)")" \
      --duration "$duration" --report "$WORK/$tag-$i.json" --tid-prefix "$prefix" \
      --currency 702 --seed "$((RUN * 10 + i))" --codes "$WORK/codes.txt" \
      --amount-min 100 --amount-max 9900 --late-ms 5 --threads 1 > /dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}

sweep() { # label -> best sustained rate on stdout (last line)
  local best=0 rate
  for rate in $RATES; do
    load "$rate" "$DURATION" "$1-$rate"
    if python3 - "$WORK" "$1-$rate" <<'PY'
import json, sys, glob, os
files = glob.glob(os.path.join(sys.argv[1], sys.argv[2] + "-*.json"))
s = [json.load(open(f))["summary"] for f in files]
scheduled = sum(x["scheduled"] for x in s); ok = sum(x["response_codes"].get("00", 0) for x in s)
p99 = max(x["latency_us"]["p99"] or 0 for x in s)
print(f'  {sys.argv[2]}: approved {ok}/{scheduled}, p99 {p99} us', file=sys.stderr)
sys.exit(0 if ok >= 0.995 * scheduled and p99 < 1_000_000 else 1)
PY
    then best=$rate; else break; fi
  done
  echo "$best"
}

echo "== A: one instance on one redis-server"
SINGLE_PORT=$(free_port)
PIDS+=("$(redis_node "$SINGLE_PORT" "$WORK/single")")
wait_ping "$SINGLE_PORT"
start_switch solo "url = \"redis://127.0.0.1:$SINGLE_PORT/\""
A=$(sweep single | tail -1)
stop_switches
echo "A sustained: $A/s"

echo "== B: two instances on a 3+3 Redis Cluster"
NODE_PORTS=(); NODE_PIDS=(); NODE_ARGS=()
for i in 0 1 2 3 4 5; do
  port=$(free_port); bus=$(free_port)
  NODE_PORTS+=("$port")
  NODE_ARGS+=("--cluster-enabled yes --cluster-config-file nodes.conf --cluster-port $bus --cluster-node-timeout 1500 --cluster-replica-validity-factor 0")
  # shellcheck disable=SC2086
  NODE_PIDS+=("$(redis_node "$port" "$WORK/node$i" ${NODE_ARGS[$i]})")
  PIDS+=("${NODE_PIDS[-1]}")
done
for p in "${NODE_PORTS[@]}"; do wait_ping "$p"; done
redis-cli --cluster create $(for p in "${NODE_PORTS[@]}"; do printf '127.0.0.1:%s ' "$p"; done) \
  --cluster-replicas 1 --cluster-yes > "$WORK/cluster-create.log" 2>&1
for _ in $(seq 1 100); do
  online=0
  for p in "${NODE_PORTS[@]}"; do
    redis-cli -p "$p" info replication | grep -q 'slave0:.*state=online' && online=$((online + 1))
  done
  [[ $online == 3 ]] && break
  sleep 0.3
done
SEEDS=$(for p in "${NODE_PORTS[@]}"; do printf '"redis://127.0.0.1:%s", ' "$p"; done)
BODY="cluster_nodes = [${SEEDS%, }]
shards = 16
durability = { mode = \"wait-replicas\", replicas = 1 }
durability_timeout_ms = 1000"
start_switch one "$BODY"
start_switch two "$BODY"
B=$(sweep cluster | tail -1)
echo "B sustained: $B/s"

echo "== C: SIGKILL of a master at $FAILOVER_RATE/s"
# The victim: the master that owns the slot of shard {0}.
SLOT0=$(redis-cli -p "${NODE_PORTS[0]}" cluster keyslot '{0}')
VICTIM=""
for i in "${!NODE_PORTS[@]}"; do
  if redis-cli -p "${NODE_PORTS[$i]}" cluster nodes | awk '/myself/ && /master/ {for (i=9;i<=NF;i++) print $i}' |
     python3 -c "
import sys
for r in sys.stdin.read().split():
    if r.startswith('['): continue
    a, _, b = r.partition('-')
    if int(a) <= $SLOT0 <= int(b or a): sys.exit(0)
sys.exit(1)"; then VICTIM=$i; break; fi
done
VICTIM_PORT=${NODE_PORTS[$VICTIM]}
# Slots the victim owned, to tell its shards' purchases from the others'.
redis-cli -p "$VICTIM_PORT" cluster nodes | awk '/myself/ {for (i=9;i<=NF;i++) print $i}' > "$WORK/victim-slots.txt"
START=$(date +%s.%N)
load "$FAILOVER_RATE" 40 failover &
LOAD=$!
sleep 10
KILL_AT=$(date +%s.%N)
kill -9 "${NODE_PIDS[$VICTIM]}"
for _ in $(seq 1 200); do
  masters=0
  for i in "${!NODE_PORTS[@]}"; do
    [[ $i == "$VICTIM" ]] && continue
    redis-cli -p "${NODE_PORTS[$i]}" info replication 2>/dev/null | grep -q '^role:master' && masters=$((masters + 1))
  done
  [[ $masters == 3 ]] && break
  sleep 0.1
done
PROMOTED_AT=$(date +%s.%N)
# shellcheck disable=SC2086
PIDS+=("$(redis_node "$VICTIM_PORT" "$WORK/node$VICTIM" ${NODE_ARGS[$VICTIM]})")
REJOINED_AT=$(date +%s.%N)
wait "$LOAD"

python3 - "$WORK" "$A" "$B" "$START" "$KILL_AT" "$PROMOTED_AT" "$REJOINED_AT" <<'PY'
import json, sys, glob, os, binascii
work, a, b = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
start, kill, promoted, rejoined = map(float, sys.argv[4:8])
def crc16(data):  # Redis Cluster key slot (XMODEM)
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc
ranges = []
for r in open(os.path.join(work, "victim-slots.txt")).read().split():
    if r.startswith("["): continue
    lo, _, hi = r.partition("-"); ranges.append((int(lo), int(hi or lo)))
def on_victim(prid):
    shard = int(prid[-8:], 16) % 16
    slot = crc16(str(shard).encode()) % 16384
    return any(lo <= slot <= hi for lo, hi in ranges)
kill_ms = (kill - start) * 1000
first = None; declined_after = 0; victim_tx = 0
for f in glob.glob(os.path.join(work, "failover-*.json")):
    for t in json.load(open(f))["transactions"]:
        prid = t.get("payment_request_id")
        if t.get("sent_at_ms") is None or t["sent_at_ms"] < kill_ms: continue
        answered = t["scheduled_at_ms"] + (t.get("latency_us") or 0) / 1000
        if t.get("response_code") != "00":
            declined_after += 1; continue
        if prid and on_victim(prid):
            victim_tx += 1
            if first is None or answered < first: first = answered
report = {
    "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
    "cores": os.cpu_count(),
    "single_instance_single_redis_sustained_per_s": a,
    "two_instances_cluster_sustained_per_s": b,
    "ratio_cluster_over_single": (b / a) if a else None,
    "failover": {
        "kill_to_replica_promoted_ms": round((promoted - kill) * 1000),
        "kill_to_node_restarted_ms": round((rejoined - kill) * 1000),
        "kill_to_first_approval_on_killed_masters_shards_ms": round(first - kill_ms) if first is not None else None,
        "approvals_on_those_shards_after_kill": victim_tx,
        "not_approved_after_kill": declined_after,
    },
}
json.dump(report, open(os.path.join(work, "cluster-report.json"), "w"), indent=1)
print(json.dumps(report, indent=1))
PY
