#!/usr/bin/env python3
"""A connection flood against antom-switch, then one genuine terminal (issue 19).

Opens --connections silent TCP connections from --addresses loopback addresses (127.0.0.2 …),
then connects from 127.0.0.1 and sends one echo (0800/301, profile B with TPDU; the bytes come
from `terminal-sim encode`). Reports as JSON whether and how fast the terminal was answered, and
how many of the strangers the switch had closed by then (evicted or timed out) — with the
limits of the switch's configuration (default: 2,048 seats, 256 per address).
"""
import argparse
import asyncio
import json
import socket
import subprocess
import time


def encode(encoder: str) -> bytes:
    msg = json.dumps({"t": "0800", "11": "000001", "41": "T0000001", "70": "301"})
    out = subprocess.run([encoder, "encode", "--profile", "B"], input=msg.encode(),
                         capture_output=True, check=True)
    body = bytes.fromhex("6000010000") + bytes.fromhex(out.stdout.decode().strip())
    return len(body).to_bytes(2, "big") + body


def closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=6000)
    ap.add_argument("--addresses", type=int, default=40)
    ap.add_argument("--encoder", required=True)
    a = ap.parse_args()
    frame = encode(a.encoder)

    strangers, refused = [], 0
    start = time.monotonic()
    for i in range(a.connections):
        s = socket.socket()
        s.bind((f"127.0.0.{2 + i % a.addresses}", 0))
        try:
            s.connect(("127.0.0.1", a.port))
            strangers.append(s)
        except OSError:
            refused += 1
            s.close()
    flood_s = time.monotonic() - start

    t0 = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", a.port)
    writer.write(frame)
    await writer.drain()
    answered, code = False, None
    try:
        n = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 10), "big")
        await asyncio.wait_for(reader.readexactly(n), 10)
        answered = True
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError) as e:
        code = type(e).__name__
    rtt_ms = (time.monotonic() - t0) * 1e3
    report = {
        "strangers": a.connections, "addresses": a.addresses, "flood_seconds": round(flood_s, 2),
        "connect_refused": refused,
        "terminal_answered": answered, "terminal_error": code,
        "terminal_connect_to_answer_ms": round(rtt_ms, 2),
        "strangers_closed_by_then": sum(closed(s) for s in strangers),
    }
    print(json.dumps(report))
    writer.close()
    for s in strangers:
        s.close()


if __name__ == "__main__":
    asyncio.run(main())
