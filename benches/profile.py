#!/usr/bin/env python3
"""Where the switch's CPU goes, from a `perf record --call-graph dwarf` profile of it.

Usage: benches/profile.py PERF_DATA [--folded OUT] [--per N --unit µs]

Reads `perf script` of the profile and prints, for each step of a payment (RSA signing, RSA
verification, request building, the HTTP client, journal calls, the terminal front, the webhook,
allocation, the kernel...), the share of the switch's samples whose stack contains it (inclusive:
a sample counts in every category it passes through, so the shares do not add up to 100%) and
the self share of the top functions. With --per N (the switch's CPU µs per purchase, from the
bench's /proc reading) each share is also printed as µs per purchase. --folded writes the stacks
in the folded format that flame-graph tools (inferno-flamegraph, flamegraph.pl) read.
"""
import argparse
import collections
import re
import subprocess
import sys

# (label, regex on any frame of the stack). Order = print order. First match wins for "step".
CATEGORIES = [
    ("RSA sign (aws-lc private key op)", r"rsa_default_sign_raw|RSA_sign|KeyPair::sign"),
    ("RSA verify (pay answers, notifications)", r"rsa_verify|EVP_DigestVerify"),
    ("SHA-256 / digests", r"sha256_block|SHA256_"),
    ("Antom request: build + sign + parse (asw_antom::wire)", r"asw_antom::wire::"),
    ("  parse_response (JSON + verify)", r"asw_antom::wire::parse_response"),
    ("HTTP client (reqwest/hyper, outbound)", r"reqwest::|hyper_util::client|hyper::client"),
    ("HTTP server (axum/hyper, webhook + REST)", r"axum::|hyper::server|hyper::proto::h1::dispatch::Server"),
    ("webhook: notification handling", r"asw_app::webhook"),
    ("journal / Redis client (asw_store, redis-rs)", r"asw_store::|redis::"),
    ("terminal front (asw_front_iso, ISO codec)", r"asw_front_iso::|asw_iso8583::|asw_downstream::"),
    ("core flows (asw_core)", r"asw_core::"),
    ("serde_json", r"serde_json::"),
    ("tracing", r"tracing::|tracing_subscriber::|tracing_core::"),
    ("metrics", r"metrics::|asw_metrics::|metrics_exporter"),
    ("allocation (mimalloc, malloc, free)", r"^_?mi_|mi_malloc|mi_free|malloc|__libc_free|cfree|realloc"),
    ("memcpy/memmove", r"memmove|memcpy"),
    ("tokio scheduler / wakeups", r"tokio::runtime::scheduler|tokio::runtime::task::(?!core)|park"),
    ("kernel (syscalls, network, scheduling)", r"\[k\]|kallsyms|^entry_SYSCALL|syscall"),
]


def read_samples(perf_data):
    out = subprocess.run(
        ["perf", "script", "-i", perf_data, "-F", "comm,ip,sym,dso", "--no-inline"],
        capture_output=True, text=True, check=True,
    ).stdout
    samples = []
    frames = []
    for line in out.splitlines():
        if not line.strip():
            if frames:
                samples.append(frames)
            frames = []
            continue
        if not line.startswith(("\t", " ")):
            continue  # the header line of a sample (comm)
        parts = line.strip().split(" ", 1)
        if len(parts) < 2:
            continue
        sym = parts[1]
        kernel = "kernel.kallsyms" in sym
        sym = re.sub(r"\s*\(.*\)$", "", sym)
        frames.append(("[k] " if kernel else "") + sym)
    if frames:
        samples.append(frames)
    return samples


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("perf_data")
    ap.add_argument("--folded")
    ap.add_argument("--per", type=float, help="switch CPU µs per purchase in the same run")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    samples = read_samples(args.perf_data)
    n = len(samples)
    if n == 0:
        sys.exit("no samples")
    compiled = [(label, re.compile(rx)) for label, rx in CATEGORIES]
    counts = collections.Counter()
    for frames in samples:
        for label, rx in compiled:
            if any(rx.search(f) for f in frames):
                counts[label] += 1
    print(f"{n} samples")
    print(f"{'inclusive share':>16} {'µs/purchase' if args.per else '':>12}  step")
    for label, _ in compiled:
        share = counts[label] / n
        per = f"{share * args.per:12.0f}" if args.per else " " * 12
        print(f"{share * 100:15.1f}% {per}  {label}")
    selfc = collections.Counter(frames[0] for frames in samples)
    print(f"\ntop {args.top} functions by self share")
    for sym, c in selfc.most_common(args.top):
        per = f"{c / n * args.per:8.1f} µs" if args.per else ""
        print(f"{c / n * 100:6.2f}% {per}  {sym[:140]}")
    if args.folded:
        folded = collections.Counter(";".join(reversed(frames)) for frames in samples)
        with open(args.folded, "w") as f:
            for stack, c in folded.items():
                f.write(f"{stack} {c}\n")


if __name__ == "__main__":
    main()
