#!/usr/bin/env python3
"""Many idle terminal connections to antom-switch with echo (0800/301) traffic.

Opens --connections TCP connections (profile B: 2-byte length header, TPDU), each signing on
with one echo as it opens (as a terminal does; the switch closes connections that complete no
valid exchange within [downstream] first_message_timeout_ms) unless --silent, then sends echoes
round-robin at --rate per second for --seconds, one outstanding per connection, and reports the
echo round-trip percentiles and the switch's RSS (VmRSS of --pid, also per connection) as JSON. The 0800 bytes come
from `terminal-sim encode`, so this script holds no ISO 8583 knowledge of its own.
"""
import argparse
import asyncio
import json
import os
import subprocess
import time


def encode(encoder: str, tid: str) -> bytes:
    msg = json.dumps({"t": "0800", "11": "000001", "41": tid, "70": "301"})
    out = subprocess.run([encoder, "encode", "--profile", "B"], input=msg.encode(),
                         capture_output=True, check=True)
    return bytes.fromhex(out.stdout.decode().strip())


def cpu_us(pid: int) -> float:
    """utime + stime of the process, in µs."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e6 / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--encoder", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--silent", action="store_true",
                    help="open the connections without signing on (they stay new connections)")
    a = ap.parse_args()

    template = encode(a.encoder, "I0000000")
    tpdu = bytes.fromhex("6000010000")
    rss_before = rss_kb(a.pid)
    conns = []
    opened = time.monotonic()
    for i in range(a.connections):
        reader, writer = await asyncio.open_connection("127.0.0.1", a.port)
        body = tpdu + template.replace(b"I0000000", f"I{i:07d}".encode())
        frame = len(body).to_bytes(2, "big") + body
        if not a.silent:
            writer.write(frame)
            await writer.drain()
            await reader.readexactly(int.from_bytes(await reader.readexactly(2), "big"))
        conns.append((reader, writer, frame, asyncio.Lock()))
    open_s = time.monotonic() - opened
    await asyncio.sleep(2)
    rss_idle = rss_kb(a.pid)

    rtts, errors = [], 0

    async def echo(conn):
        nonlocal errors
        reader, writer, frame, lock = conn
        async with lock:
            start = time.monotonic()
            try:
                writer.write(frame)
                await writer.drain()
                n = int.from_bytes(await reader.readexactly(2), "big")
                await reader.readexactly(n)
                rtts.append((time.monotonic() - start) * 1e6)
            except Exception:  # a dropped connection counts as an error, not a crash
                errors += 1

    tasks, total = [], int(a.rate * a.seconds)
    cpu_before = cpu_us(a.pid)
    start = time.monotonic()
    for k in range(total):
        delay = start + k / a.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(echo(conns[k % len(conns)])))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    cpu_per_echo = (cpu_us(a.pid) - cpu_before) / max(len(rtts), 1)
    rss_after = rss_kb(a.pid)
    rtts.sort()

    def pct(p):
        return round(rtts[min(len(rtts) - 1, int(p * len(rtts)))]) if rtts else None

    report = {
        "connections": a.connections, "signed_on": not a.silent,
        "open_seconds": round(open_s, 2),
        "echo_rate_per_s": a.rate, "echoes": len(rtts), "errors": errors,
        "achieved_rate_per_s": round(len(rtts) / max(elapsed, 1e-9), 1),
        # The switch's CPU per echo exchange (one read, decode, answer, write): what one
        # request/answer round costs it beyond any work, at this rate of wake-ups.
        "switch_cpu_us_per_echo": round(cpu_per_echo, 1),
        "echo_rtt_us": {"p50": pct(0.5), "p99": pct(0.99), "p99_9": pct(0.999),
                        "max": round(rtts[-1]) if rtts else None},
        "switch_rss_mb": {"before": rss_before / 1024, "idle": rss_idle / 1024,
                          "after_echo": rss_after / 1024},
        "rss_per_connection_kb": {
            "idle": round((rss_idle - rss_before) / a.connections, 2),
            "after_echo": round((rss_after - rss_before) / a.connections, 2)},
    }
    with open(a.out, "w") as f:
        json.dump(report, f)
    print(json.dumps(report))
    for _, writer, _, _ in conns:
        writer.close()


if __name__ == "__main__":
    asyncio.run(main())
