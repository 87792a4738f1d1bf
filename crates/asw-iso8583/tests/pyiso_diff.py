"""Differential partner of tests/pyiso_diff.rs: decodes and encodes the same messages
with pyiso8583 4.0.1 (MIT) and reports what it sees.

Input (stdin, JSON): {"dialect": {...field layout exported by the Rust test...},
                      "cases": [{"hex": "...", "fields": {"t": "0200", "3": "000000", ...}}]}
Output (stdout, JSON): {"version": "4.0.1",
                        "results": [{"decoded": {...}|null, "decode_error": str|null,
                                     "encoded_hex": str|null, "encode_error": str|null}]}

Values are exchanged in the Rust codec's logical form (the JSON view of asw-iso8583):
digits as text, track data with '=', binary fields as upper-case hex. This script maps
them to and from pyiso8583's own representation of each field.
"""

import copy
import json
import sys

import iso8583
import iso8583.specs


def build_spec(d):
    base = iso8583.specs.default_ascii if d["bitmap"] == "hex" else iso8583.specs.default
    spec = copy.deepcopy(base)
    if d["mti"] == "bcd":
        spec["t"] = dict(spec["t"], data_enc="b", max_len=2)
    for key, f in d["fields"].items():
        entry = {"desc": "field " + key, "len_enc": "ascii", "len_type": 0}
        enc = f["encoding"]
        if f["digits"]:
            entry["len_enc"] = {"ascii": "ascii", "bcd": "bcd", "binary": "b"}[f["prefix"]]
            entry["len_type"] = f["prefix_len"]
        if enc == "bcd" and f["format"] == "xn":
            # Sign byte in ASCII + BCD digits: pyiso8583 sees raw bytes.
            entry.update(data_enc="b", max_len=1 + (f["max"] - 1 + 1) // 2)
        elif enc == "bcd":
            entry.update(data_enc="b", len_count="nibbles", max_len=f["max"])
            if f["pad"] in ("left-0", "left-f"):
                entry["left_pad"] = f["pad"][-1].upper()
            else:
                entry["right_pad"] = f["pad"][-1].upper()
        elif enc == "binary":
            entry.update(data_enc="b", max_len=f["max"])
        elif enc == "hex":
            # Hex text is plain ASCII to pyiso8583; fixed fields only in our profiles.
            entry.update(data_enc="ascii", max_len=2 * f["max"])
        else:
            entry.update(data_enc="ascii", max_len=f["max"])
        spec[key] = entry
    return spec


def to_pyiso(d, fields):
    doc = {}
    for key, value in fields.items():
        if key == "t":
            doc[key] = value
            continue
        f = d["fields"][key]
        if f["encoding"] == "bcd" and f["format"] == "xn":
            doc[key] = value[0].encode("ascii").hex().upper() + value[1:]
        elif f["encoding"] == "bcd" and f["format"] == "z":
            doc[key] = value.replace("=", "D")
        else:
            doc[key] = value
    return doc


def from_pyiso(d, doc):
    out = {}
    for key, value in doc.items():
        if key in ("p", "1", "h"):
            continue
        if key == "t":
            out[key] = value
            continue
        f = d["fields"][key]
        if f["encoding"] == "bcd" and f["format"] == "xn":
            out[key] = bytes.fromhex(value[:2]).decode("ascii") + value[2:]
        elif f["encoding"] == "bcd" and f["format"] == "z":
            out[key] = value.replace("D", "=")
        else:
            out[key] = value
    return out


def main():
    request = json.load(sys.stdin)
    d = request["dialect"]
    spec = build_spec(d)
    results = []
    for case in request["cases"]:
        result = {"decoded": None, "decode_error": None, "encoded_hex": None, "encode_error": None}
        try:
            doc, _ = iso8583.decode(bytes.fromhex(case["hex"]), spec)
            result["decoded"] = from_pyiso(d, doc)
        except Exception as e:  # report, the Rust side fails the test
            result["decode_error"] = f"{type(e).__name__}: {e}"
        try:
            raw, _ = iso8583.encode(to_pyiso(d, case["fields"]), spec)
            result["encoded_hex"] = bytes(raw).hex().upper()
        except Exception as e:
            result["encode_error"] = f"{type(e).__name__}: {e}"
        results.append(result)
    json.dump({"version": iso8583.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
