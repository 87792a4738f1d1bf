#!/usr/bin/env bash
# End-to-end load benchmark: terminal-sim load -> one antom-switch (release) -> antom-sim, with a
# real redis-server (AOF, appendfsync always), all on this machine.
#
# Measures in the same run:
#   * `openssl speed -seconds 5 -multi $(nproc) rsa2048` signs/s (the machine's RSA capacity;
#     every purchase costs the switch one RSA-2048 signature and antom-sim one more, hence the
#     efficiency ratio purchases/s / (signs/s / 2));
#   * a rate sweep to the highest rate the switch sustains (>= 99.5% answered 00, send lag
#     bounded), then a run at half that rate for p50/p99/p99.9 latency, both as the terminal
#     saw it and as added by the switch (minus antom-sim's own time per transaction);
#   * the switch's CPU per purchase from /proc/<pid>/stat (utime + stime delta / purchases);
#   * optionally (IDLE=10000) that many idle terminal connections with echo traffic: switch RSS,
#     echo p99 and the switch's CPU per echo (benches/idle_echo.py; ECHO_RATE, ECHO_SECONDS).
#
#   * OVERLOAD=1: after the latency run, 30 s at 1.5x and at 3x the sustained rate, then 10 s at
#     half of it: approvals vs the sustained rate and every response code (ADMISSION sets the
#     switch's [admission] max_in_flight_payments, default 64).
#
#   * SIGN_POOL=true: the switch signs on tokio's blocking pool instead of its workers.
#   * ADMISSION=off: no [admission] section (for builds older than it, measured as before/after).
#
#   * PERF=1: `perf record` CPU profiles of the switch and of antom-sim during each sweep step
#     ($WORK/perf-<rate>.data, $WORK/perf-sim-<rate>.data; read them with benches/profile.py),
#     and of redis-server ($WORK/perf-redis-<rate>.data, frame-pointer stacks: `perf report`).
#
#   * MODE=rest: the same through the merchant REST API (tools/rest-load, open loop, one
#     POST /v1/payments per payment with its own Idempotency-Key) instead of ISO 8583 terminals.
#
# Output: a JSON report ($OUT, default target/e2e-bench/report.json) and a summary on stdout.
# Usage: benches/run-e2e.sh  (RATES="200 400 800 1600" DURATION=10 IDLE=10000 NOTIFY=0
#        EXTRA_TERMINALS=10000 FSYNC=everysec ASW_BENCH_BIN=dir ...)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${ASW_BENCH_BIN:-$TARGET/release} # prebuilt binaries elsewhere (implies SKIP_BUILD)
[[ -n "${ASW_BENCH_BIN:-}" ]] && SKIP_BUILD=1
WORK=${WORK:-$TARGET/e2e-bench}
OUT=${OUT:-$WORK/report.json}
RATES=${RATES:-"100 200 400 800 1600 3200"}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
IDLE=${IDLE:-0}
# EXTRA_TERMINALS=N: configure N more terminals on the merchant that never connect (a chain's
# directory), to see what the merchant lookup costs per transaction.
EXTRA_TERMINALS=${EXTRA_TERMINALS:-0}
# FSYNC=everysec: Redis fsyncs once a second instead of before every reply. Not a production
# setting for this switch (an acknowledged write could be lost); it shows what durability costs.
FSYNC=${FSYNC:-always}
# NOTIFY=0: the switch gives Antom no notification URL, so antom-sim sends no notifyPayment.
# Each notification costs antom-sim one more RSA signature (3 per purchase instead of 2).
NOTIFY=${NOTIFY:-1}
# MODE=rest: payments over the merchant REST API instead of terminals.
MODE=${MODE:-iso}
# BARE=1: benches/bare_switch.rs (the purchase's I/O and RSA on the same crates, none of the
# switch's logic) in place of the switch, from $BARE_BIN (default: the example in $TARGET), to
# measure the floor under the switch's CPU per purchase. Terminals only; no step breakdown.
BARE=${BARE:-0}
BARE_BIN=${BARE_BIN:-$TARGET/release/examples/bare_switch}
# BARE_SIM=1: benches/bare_sim.rs (Antom's side of a purchase on antom-sim's crates: verify,
# sign, answer, notify; nothing else) in place of antom-sim, from $BARE_SIM_BIN, to measure the
# floor under antom-sim's CPU per signature. With BARE=1 only (it approves everything).
BARE_SIM=${BARE_SIM:-0}
BARE_SIM_BIN=${BARE_SIM_BIN:-$TARGET/release/examples/bare_sim}
REST_SECRET=sk_bench_0123456789abcdef
KEYS=$ROOT/tools/chaos/testdata/keys # test-only keys
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd) # redis-server resolves its log file from its --dir
# One letter per load run (the sweep, the latency run, overload and recovery), see below.
RUN_LETTERS="A B C D E F G H J K L M N P Q R S T U V W X Y Z"
# Payment codes ending in 00 and amounts below 9901 are plain successes in antom-sim (its
# scenario table): the benchmark measures the happy path, not the fault scenarios.
echo '2810????????????00' > "$WORK/codes.txt"

if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p asw-app -p asw-terminal-sim -p asw-antom-sim -p asw-rest-load --bins
  ((BARE)) && cargo build --release -p asw-benches --example bare_switch
  ((BARE_SIM)) && cargo build --release -p asw-benches --example bare_sim
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# Context switches of every thread of a process (voluntary + involuntary): each one is a sleep
# or a preemption, the kernel's share of a request-response server's CPU.
ctx_switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {n += $2} END {print n+0}'; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

echo "== openssl speed rsa2048 ($(nproc) processes, 5 s)"
SIGNS=$(openssl speed -seconds 5 -multi "$(nproc)" rsa2048 2>/dev/null |
  awk '/^rsa 2048 bits/ {print $6}' | tail -1)
echo "signs/s: $SIGNS"

REDIS_PORT=$(free_port); SIM_PORT=$(free_port); POS_PORT=$(free_port)
HOOK_PORT=$(free_port); ADMIN_PORT=$(free_port); REST_PORT=$(free_port)
rm -rf "$WORK/redis" && mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --appendonly yes \
  --appendfsync "$FSYNC" --save '' --maxmemory-policy noeviction --logfile "$WORK/redis/redis.log" &
REDIS=$!
PIDS+=($REDIS)
# SIM_WORKERS=N: antom-sim's tokio worker threads (TOKIO_WORKER_THREADS, for it alone).
if ((BARE_SIM)); then
  ((BARE)) || { echo "run-e2e: BARE_SIM=1 needs BARE=1 (it approves everything)" >&2; exit 2; }
  "$BARE_SIM_BIN" "127.0.0.1:$SIM_PORT" "$KEYS/antom_private_pkcs8.pem" \
    "$KEYS/merchant_public.pem" > "$WORK/antom-sim.log" 2>&1 &
else
${SIM_WORKERS:+env TOKIO_WORKER_THREADS=$SIM_WORKERS} \
  "$BIN/antom-sim" --listen "127.0.0.1:$SIM_PORT" \
  --antom-private-key "$KEYS/antom_private_pkcs8.pem" \
  --merchant-public-key "$KEYS/merchant_public.pem" \
  --client-id SANDBOX_5YTEST00000000000 --notify-delay-ms 500 > "$WORK/antom-sim.log" 2>&1 &
fi
SIM=$!
PIDS+=($SIM)

{
  cat <<EOF
[downstream]
listen = "127.0.0.1:$POS_PORT"
max_connections = 20000
max_connections_per_ip = 20000
[upstream]
base_url = "http://127.0.0.1:$SIM_PORT"
client_id = "SANDBOX_5YTEST00000000000"
merchant_private_key = "$KEYS/merchant_private_pkcs8.pem"
antom_public_key = "$KEYS/antom_public.pem"
$( [[ -n "${SIGN_POOL:-}" ]] && echo "sign_on_blocking_pool = $SIGN_POOL" || true)
[redis]
url = "redis://127.0.0.1:$REDIS_PORT/"
[webhook]
listen = "127.0.0.1:$HOOK_PORT"
$( ((NOTIFY)) && echo "public_url = \"http://127.0.0.1:$HOOK_PORT/antom/notify\"" || true)
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
[rest]
listen = "127.0.0.1:$REST_PORT"
sync_wait_ms = 10000
max_in_flight_per_key = 10000
$( [[ "${ADMISSION:-64}" != off ]] && printf '[admission]\nmax_in_flight_payments = %s\n' "${ADMISSION:-64}" || true)
[reversal]
instance = "bench"
[ids]
secret = "e2e-bench-secret-0123456789abcdef"
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
api_keys = [{ id = "bench", sha256 = "$(printf '%s' "$REST_SECRET" | sha256sum | cut -d' ' -f1)" }]
EOF
  # Every load run gets terminals of its own (E + a letter per run): a terminal's STAN is
  # unique per day, so two runs on the same terminal ids could re-use each other's STANs and be
  # answered as duplicates (94) — the bench's doing, not the switch's.
  for letter in $RUN_LETTERS; do
    for i in $(seq 0 $((CONNECTIONS - 1))); do
      printf '[[merchants.terminals]]\nterminal_id = "E%s%06d"\n' "$letter" "$i"
    done
  done
  for i in $(seq 0 $((IDLE > 0 ? IDLE - 1 : -1))); do
    printf '[[merchants.terminals]]\nterminal_id = "I%07d"\n' "$i"
  done
  for i in $(seq 0 $((EXTRA_TERMINALS > 0 ? EXTRA_TERMINALS - 1 : -1))); do
    printf '[[merchants.terminals]]\nterminal_id = "X%07d"\n' "$i"
  done
} > "$WORK/switch.toml"

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# SWITCH_WORKERS=N: the switch's tokio worker threads (TOKIO_WORKER_THREADS, for it alone).
if ((BARE)); then
  [[ "$MODE" == iso ]] || { echo "run-e2e: BARE=1 measures the terminal path only" >&2; exit 2; }
  "$BARE_BIN" "127.0.0.1:$POS_PORT" "redis://127.0.0.1:$REDIS_PORT/" "http://127.0.0.1:$SIM_PORT" \
    SANDBOX_5YTEST00000000000 "$KEYS/merchant_private_pkcs8.pem" "$KEYS/antom_public.pem" \
    "127.0.0.1:$HOOK_PORT" "$NOTIFY" > "$WORK/switch.log" 2>&1 &
  SWITCH=$!
  PIDS+=($SWITCH)
  for _ in $(seq 1 100); do
    (echo > "/dev/tcp/127.0.0.1/$POS_PORT") 2> /dev/null && break
    sleep 0.2
  done
else
${SWITCH_WORKERS:+env TOKIO_WORKER_THREADS=$SWITCH_WORKERS} \
  "$BIN/antom-switch" run --config "$WORK/switch.toml" > "$WORK/switch.log" 2>&1 &
SWITCH=$!
PIDS+=($SWITCH)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$ADMIN_PORT/health/ready" > /dev/null && break
  sleep 0.2
done
fi
TICK=$(getconf CLK_TCK)

RUN=0
run_load() { # rate duration report
  local before after sim_before sim_after redis_before redis_after
  # A new seed and new terminals per run: STANs re-used on a terminal are answered as
  # duplicates (94) instead of new purchases.
  RUN=$((RUN + 1))
  local letter
  letter=$(echo $RUN_LETTERS | cut -d' ' -f"$RUN")
  [[ -n "$letter" ]] || { echo "run-e2e: more load runs than terminal sets" >&2; exit 1; }
  before=$(cpu_ticks "$SWITCH"); sim_before=$(cpu_ticks "$SIM"); redis_before=$(cpu_ticks "$REDIS")
  ctx_before=$(ctx_switches "$SWITCH")
  # Redis's per-command counters cover this run only (`INFO commandstats`, written to $3.redis).
  redis-cli -p "$REDIS_PORT" CONFIG RESETSTAT > /dev/null
  # The load tool's own CPU (it shares the box): getrusage of the child, written to $3.cpu.
  local measured=(python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(str(r.ru_utime + r.ru_stime))
sys.exit(rc)' "$3.cpu")
  if [[ "$MODE" == rest ]]; then
    "${measured[@]}" "$BIN/rest-load" --url "http://127.0.0.1:$REST_PORT" --secret "$REST_SECRET" \
      --rate "$1" --duration "$2" --report "$3" --run "run$RUN-$$"
  else
    "${measured[@]}" "$BIN/terminal-sim" --connect "127.0.0.1:$POS_PORT" load --connections "$CONNECTIONS" \
      --rate "$1" --duration "$2" --report "$3" --tid-prefix "E$letter" --currency 702 --seed "$RUN" \
      --codes "$WORK/codes.txt" --amount-min 100 --amount-max 9900 \
      --late-ms 5 --threads 1 > /dev/null
  fi
  after=$(cpu_ticks "$SWITCH"); sim_after=$(cpu_ticks "$SIM"); redis_after=$(cpu_ticks "$REDIS")
  ctx_after=$(ctx_switches "$SWITCH")
  redis-cli -p "$REDIS_PORT" INFO commandstats > "$3.redis"
  python3 - "$3" "$before" "$after" "$TICK" "$sim_before" "$sim_after" "$redis_before" "$redis_after" "$ctx_before" "$ctx_after" <<'PY'
import json, os, sys
path, before, after, tick = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sim_before, sim_after, redis_before, redis_after, ctx_before, ctx_after = map(int, sys.argv[5:11])
r = json.load(open(path)); s = r["summary"]
ok = s["response_codes"].get("00", 0)
s["switch_cpu_s"] = (after - before) / tick
s["switch_cpu_us_per_purchase"] = s["switch_cpu_s"] * 1e6 / max(ok, 1)
s["sim_cpu_us_per_purchase"] = (sim_after - sim_before) / tick * 1e6 / max(ok, 1)
s["redis_cpu_us_per_purchase"] = (redis_after - redis_before) / tick * 1e6 / max(ok, 1)
try:
    s["load_tool_cpu_us_per_purchase"] = float(open(path + ".cpu").read()) * 1e6 / max(ok, 1)
except (OSError, ValueError):
    s["load_tool_cpu_us_per_purchase"] = None
# What the harness itself (simulator, Redis, load tool) spends per purchase on the same cores.
s["harness_cpu_us_per_purchase"] = s["sim_cpu_us_per_purchase"] + s["redis_cpu_us_per_purchase"] \
    + (s["load_tool_cpu_us_per_purchase"] or 0)
s["switch_context_switches_per_purchase"] = (ctx_after - ctx_before) / max(ok, 1)
# Commands Redis ran per approved purchase: the scripts (`evalsha`, one round trip each) and,
# as Redis 7 counts them too, the commands run inside them. The bench's own CONFIG/INFO left out.
calls = {}
for line in open(path + ".redis"):
    if line.startswith("cmdstat_"):
        name, _, fields = line.strip().partition(":")
        kv = dict(f.split("=", 1) for f in fields.split(","))
        calls[name[len("cmdstat_"):]] = int(kv["calls"])
s["redis_calls_per_purchase"] = {k: round(v / max(ok, 1), 2) for k, v in sorted(calls.items())
                                 if not k.startswith(("config", "info"))}
s["approved"] = ok
s["approved_per_s"] = ok / max(s["duration_s"], 1e-9)
json.dump(s, open(path + ".summary.json", "w"), indent=1)
print(f'rate {s["rate_per_s"]:>7} approved/s {s["approved_per_s"]:9.1f} answered {s["answered"]}/{s["scheduled"]} '
      f'p50 {s["latency_us"]["p50"]} p99 {s["latency_us"]["p99"]} p99.9 {s["latency_us"]["p99_9"]} us '
      f'max lag {s["max_send_lag_ms"]:.1f} ms cpu/purchase us: switch {s["switch_cpu_us_per_purchase"]:.0f} '
      f'sim {s["sim_cpu_us_per_purchase"]:.0f} redis {s["redis_cpu_us_per_purchase"]:.0f} '
      f'load tool {s["load_tool_cpu_us_per_purchase"] or 0:.0f} '
      f'switch context switches/purchase {s["switch_context_switches_per_purchase"]:.1f}')
print(f'  redis calls/purchase: {s["redis_calls_per_purchase"]}')
# The load sends first transmissions only (one purchase per STAN, fresh terminals per run): a
# 94 (duplicate) would be the switch mistaking a new purchase for an old one (ALLOW_94=1 reports
# it instead of failing, to measure builds that had that defect).
if s["response_codes"].get("94", 0) and os.environ.get("ALLOW_94") != "1":
    print(f'FAIL: {s["response_codes"]["94"]} first transmissions answered 94 (duplicate)', file=sys.stderr)
    sys.exit(3)
PY
}

echo "== rate sweep (${DURATION}s each, $CONNECTIONS connections)"
BEST=0
for rate in $RATES; do
  if [[ -n "${PERF:-}" ]]; then
    # PERF=1: a CPU profile of the switch during this sweep step (call graphs from DWARF), for
    # benches/profile.sh to fold into a flame graph. Sampling costs the switch some CPU itself.
    perf record -q -F 499 --call-graph dwarf,16384 -p "$SWITCH" -o "$WORK/perf-$rate.data" 2>/dev/null &
    PERF_PID=$!
    perf record -q -F 499 --call-graph dwarf,16384 -p "$SIM" -o "$WORK/perf-sim-$rate.data" 2>/dev/null &
    PERF_SIM_PID=$!
    perf record -q -F 499 -g -p "$REDIS" -o "$WORK/perf-redis-$rate.data" 2>/dev/null &
    PERF_REDIS_PID=$!
  fi
  run_load "$rate" "$DURATION" "$WORK/sweep-$rate.json"
  if [[ -n "${PERF:-}" ]]; then
    kill -INT "$PERF_PID" "$PERF_SIM_PID" "$PERF_REDIS_PID"
    wait "$PERF_PID" "$PERF_SIM_PID" "$PERF_REDIS_PID" || true
  fi
  if python3 - "$WORK/sweep-$rate.json.summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
good = s["approved"] >= 0.995 * s["scheduled"] and s["max_send_lag_ms"] < 1000 \
    and s["latency_us"]["p99"] < 1_000_000
sys.exit(0 if good else 1)
PY
  then BEST=$rate; else break; fi
done
if [[ "$BEST" == 0 ]]; then
  # Nothing in the sweep was sustained: the latency run uses half the lowest rate instead, and
  # the report's max_sustained_rate stays 0.
  LOWEST=${RATES%% *}
  HALF=$(python3 -c "print(max(1, $LOWEST / 2))")
  echo "== no rate of the sweep was sustained (machine busy? lower RATES)"
else
  # LATENCY_SHARE=0.6: the latency run at 60% of the sustained rate instead of half (issue 19's
  # latency targets are stated at 60%). The files keep the name "half".
  HALF=$(python3 -c "print(max(1, round($BEST * ${LATENCY_SHARE:-0.5})))")
fi
echo "== latency at ${LATENCY_SHARE:-0.5} x the maximum sustained rate ($HALF/s, 30 s)"
curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" > "$WORK/metrics-before.txt" || : > "$WORK/metrics-before.txt"
run_load "$HALF" 30 "$WORK/half.json"
curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" > "$WORK/metrics-after.txt" || : > "$WORK/metrics-after.txt"
# Where a purchase's time goes inside the switch, from its own histograms over the half-rate
# run (sum and count deltas): the journal's begin and commits, the pay call (antom-sim's time
# included), and the rest of the flow (decode, checks, signing, the terminal write, queueing).
python3 - "$WORK/metrics-before.txt" "$WORK/metrics-after.txt" "$WORK/half.json.summary.json" "$MODE" <<'PY'
import json, re, sys
def read(path):
    out = {}
    for line in open(path):
        m = re.match(r'^(\w+)(\{[^}]*\})? ([0-9.eE+-]+)$', line.strip())
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out
before, after = read(sys.argv[1]), read(sys.argv[2])
def delta(name, labels):
    s = c = 0.0
    for (n, l), v in after.items():
        if all(x in l for x in labels):
            if n == name + "_sum": s += v - before.get((n, l), 0.0)
            if n == name + "_count": c += v - before.get((n, l), 0.0)
    return s, c
summary = json.load(open(sys.argv[3]))
ok = max(summary["approved"], 1)
steps = {}
for step, name, labels in [
    ("journal_begin", "antom_switch_store_command_duration_seconds", ['op="begin"']),
    ("journal_commits", "antom_switch_store_command_duration_seconds", ['op="commit"']),
    ("pay_call", "antom_switch_upstream_request_duration_seconds", ['api="pay"']),
    ("whole_flow", "antom_switch_core_transaction_duration_seconds", ['flow="purchase"']),
]:
    s, c = delta(name, labels)
    steps[step] = {"us_per_purchase": round(s / ok * 1e6), "calls_per_purchase": round(c / ok, 2)}
known = sum(steps[k]["us_per_purchase"] for k in ("journal_begin", "journal_commits", "pay_call"))
steps["rest_of_flow"] = {"us_per_purchase": steps["whole_flow"]["us_per_purchase"] - known}
summary["step_breakdown"] = steps
json.dump(summary, open(sys.argv[3], "w"), indent=1)
print("where a purchase's time goes in the switch (us, mean):",
      ", ".join(f'{k} {v["us_per_purchase"]}' for k, v in steps.items()))
PY
# The latency the switch adds: what the terminal measured minus the time antom-sim itself spent
# on that transaction's calls (its `handledUs`: arrival to answer ready, its RSA signature
# included). The simulator's own queueing before a call reaches its handler stays in the added
# share, so the figure errs on the switch's side.
curl -sf "http://127.0.0.1:$SIM_PORT/__sim/calls" > "$WORK/calls.json"
python3 - "$WORK/half.json" "$WORK/calls.json" <<'PY'
import json, sys
report, calls = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["calls"]
sim_us = {}
for c in calls:
    prid = c.get("paymentRequestId")
    if prid and c["api"] in ("pay", "inquiry_payment"):
        sim_us[prid] = sim_us.get(prid, 0) + c.get("handledUs", 0)
added = sorted(t["latency_us"] - sim_us[t["payment_request_id"]]
               for t in report["transactions"]
               if t.get("latency_us") is not None and t.get("payment_request_id") in sim_us)
def pct(q):
    return added[min(len(added) - 1, int(q * len(added)))] if added else None
summary_path = sys.argv[1] + ".summary.json"
s = json.load(open(summary_path))
s["added_latency_us"] = {"count": len(added), "p50": pct(0.50), "p99": pct(0.99),
                         "p99_9": pct(0.999), "max": added[-1] if added else None}
s["sim_latency_us_p50"] = sorted(sim_us.values())[len(sim_us) // 2] if sim_us else None
json.dump(s, open(summary_path, "w"), indent=1)
print("added latency (terminal minus antom-sim) us:", s["added_latency_us"])
PY

OVERLOAD_JSON=null
if [[ "${OVERLOAD:-0}" == 1 && "$BEST" != 0 ]]; then
  # Offered 1.5x and 3x the sustained rate for 30 s each, then half of it for 10 s (recovery):
  # approvals should stay near the sustained rate, everything else answered at once with the
  # "try again" code (19), never 96 and never 94 for a first transmission.
  for factor in 1.5 3; do
    rate=$(python3 -c "print(round($BEST * $factor))")
    echo "== overload: ${factor}x the sustained rate ($rate/s, 30 s)"
    run_load "$rate" 30 "$WORK/overload-$factor.json"
  done
  echo "== recovery: half the sustained rate ($HALF/s, 10 s) right after"
  run_load "$HALF" 10 "$WORK/recovery.json"
  OVERLOAD_JSON=$(python3 - "$WORK" "$BEST" <<'PY'
import json, os, sys
work, best = sys.argv[1], float(sys.argv[2])
sustained = json.load(open(os.path.join(work, f"sweep-{best:g}.json.summary.json")))
base = max(sustained["approved_per_s"], 1e-9)
out = {}
for name in ("overload-1.5", "overload-3", "recovery"):
    s = json.load(open(os.path.join(work, f"{name}.json.summary.json")))
    codes = s["response_codes"]
    out[name] = {
        "offered_per_s": s["rate_per_s"],
        "approved_per_s": round(s["approved_per_s"], 1),
        "approved_vs_sustained": round(s["approved_per_s"] / base, 3),
        "response_codes": codes,
        "p99_us": s["latency_us"]["p99"],
        "unanswered": s["scheduled"] - s["answered"],
    }
    print(f'{name}: approved {out[name]["approved_per_s"]}/s = {out[name]["approved_vs_sustained"]:.2f} x sustained, '
          f'codes {codes}, p99 {out[name]["p99_us"]} us, unanswered {out[name]["unanswered"]}', file=sys.stderr)
print(json.dumps(out))
PY
)
fi

IDLE_JSON=null
if (( IDLE > 0 )); then
  echo "== $IDLE idle connections with echo traffic"
  python3 benches/idle_echo.py --port "$POS_PORT" --connections "$IDLE" \
    --encoder "$BIN/terminal-sim" --pid "$SWITCH" --out "$WORK/idle.json" \
    --rate "${ECHO_RATE:-500}" --seconds "${ECHO_SECONDS:-20}"
  IDLE_JSON=$(cat "$WORK/idle.json")
fi

python3 - "$OUT" "$SIGNS" "$BEST" "$WORK" "$IDLE_JSON" "$NOTIFY" "$FSYNC" "$MODE" "$OVERLOAD_JSON" <<'PY'
import json, sys, os, glob
out, signs, best, work, idle = sys.argv[1], float(sys.argv[2] or 0), float(sys.argv[3]), sys.argv[4], sys.argv[5]
notify = sys.argv[6] != "0"
fsync = sys.argv[7]
mode = sys.argv[8]
sweep = {}
for f in sorted(glob.glob(os.path.join(work, "sweep-*.json.summary.json"))):
    s = json.load(open(f)); sweep[str(s["rate_per_s"])] = s
half = json.load(open(os.path.join(work, "half.json.summary.json")))
best_s = sweep.get(str(best)) or sweep.get(str(float(best)))
purchases = best_s["approved_per_s"] if best_s else 0.0
cpu = open("/proc/cpuinfo").read()
model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("model name")), "?")
report = {
    "machine": {"nproc": os.cpu_count(), "cpu": model},
    "mode": mode,
    "openssl_rsa2048_signs_per_s": signs,
    "max_sustained_rate": best,
    "purchases_per_s": purchases,
    "efficiency_ratio": purchases / (signs / 2) if signs else None,
    # With notifications antom-sim signs twice per purchase: the machine's ceiling is signs/3.
    "notifications": notify,
    "redis_appendfsync": fsync,
    "rsa_signs_per_purchase": 3 if notify else 2,
    "efficiency_ratio_all_signs": purchases / (signs / (3 if notify else 2)) if signs else None,
    # The floor the harness sets on this box: its own CPU per purchase (simulator, Redis, load
    # tool) plus the switch's one signature, against the machine's cores — the most purchases/s
    # a switch that cost nothing but its signature could reach here. One signature's CPU is
    # 2 cores / openssl's 2-core signs/s.
    "harness_cpu_us_per_purchase": best_s.get("harness_cpu_us_per_purchase") if best_s else None,
    "harness_floor_per_s": (os.cpu_count() * 1e6 / (best_s["harness_cpu_us_per_purchase"] + os.cpu_count() * 1e6 / signs))
        if best_s and signs else None,
    "half_rate": half,
    "sweep": sweep,
    "idle": json.loads(idle) if idle != "null" else None,
    "overload": json.loads(sys.argv[9]) if sys.argv[9] != "null" else None,
}
report["efficiency_vs_harness_floor"] = (purchases / report["harness_floor_per_s"]
                                         if report["harness_floor_per_s"] else None)
json.dump(report, open(out, "w"), indent=1)
print(json.dumps({k: report[k] for k in ("openssl_rsa2048_signs_per_s", "max_sustained_rate",
      "purchases_per_s", "efficiency_ratio", "notifications", "efficiency_ratio_all_signs",
      "harness_cpu_us_per_purchase", "harness_floor_per_s", "efficiency_vs_harness_floor")}))
print("half-rate latency us:", half["latency_us"], "switch cpu us/purchase:",
      round(half["switch_cpu_us_per_purchase"]))
print("half-rate added latency us (terminal minus antom-sim):", half.get("added_latency_us"))
print("report:", out)
PY
