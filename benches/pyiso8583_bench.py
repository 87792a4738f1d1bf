"""Times pyiso8583 4.0.1 (MIT) on the same message as benches/codec.rs: decode + encode
of the profile-B 0200 purchase of the dialect example (99 bytes after the TPDU).

Run: target/pyenv/bin/python benches/pyiso8583_bench.py   (after scripts/ensure-deps.sh)
Prints messages per second for decode+encode, decode only and encode only.
"""

import copy
import sys
import timeit

import iso8583
import iso8583.specs

PURCHASE_0200 = bytes.fromhex(
    "0200" "3038058000C18014" "000000" "000000001250" "000123" "143015" "1121" "0032" "0001" "00"
    + b"T0000001".hex() + b"M00000000000001".hex()
    + "0023" + b"PC018281234567890123456".hex()
    + "0344" + "0006" + b"000007".hex() + "0009" + b"INV000123".hex()
)


def profile_b_spec():
    """pyiso8583 spec for the fields of this message in profile B."""
    spec = copy.deepcopy(iso8583.specs.default)  # binary bitmaps, ASCII text fields
    spec["t"] = dict(spec["t"], data_enc="b", max_len=2)
    for field, digits in [("3", 6), ("4", 12), ("11", 6), ("12", 6), ("13", 4),
                          ("22", 3), ("24", 3), ("25", 2), ("49", 3)]:
        spec[field] = dict(spec[field], data_enc="b", len_count="nibbles", left_pad="0",
                           max_len=digits)
    for field in ("48", "60", "62"):
        spec[field] = dict(spec[field], len_enc="bcd", len_type=2, max_len=999)
    return spec


def main():
    spec = profile_b_spec()
    doc, _ = iso8583.decode(PURCHASE_0200, spec)
    wire, _ = iso8583.encode(copy.deepcopy(doc), spec)
    if bytes(wire) != PURCHASE_0200:
        sys.exit("pyiso8583 did not reproduce the message: " + bytes(wire).hex())

    def roundtrip():
        d, _ = iso8583.decode(PURCHASE_0200, spec)
        iso8583.encode(d, spec)

    def decode_only():
        iso8583.decode(PURCHASE_0200, spec)

    def encode_only():
        # encode() adds the bitmap keys to the dict it is given; start from a copy of
        # the decoded fields each time, as an application would build a new dict.
        iso8583.encode(dict(doc), spec)

    print(f"pyiso8583 {iso8583.__version__}, Python {sys.version.split()[0]}")
    for name, fn in [("decode+encode", roundtrip), ("decode", decode_only), ("encode", encode_only)]:
        runs = 20_000
        best = min(timeit.repeat(fn, number=runs, repeat=5))
        per = best / runs
        print(f"{name:14s} {per * 1e6:8.2f} us/msg  {1 / per:12,.0f} msg/s")


if __name__ == "__main__":
    main()
