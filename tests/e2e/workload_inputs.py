#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Reproduce the inputs (and outputs) of `workload loop --seed S --cap C`.

The algorithm is documented in tests/targets/st_target.h; this module must
match it bit for bit. An e2e test uses input_bytes()/input_len() to know
which bytes call i passed to st_predict(), and output_bytes() for what
st_predict() wrote back.

    python3 tests/e2e/workload_inputs.py --selfcheck build/targets/workload

runs the binary with --dump and compares every line; exit 0 on a match.
"""
import argparse
import re
import subprocess
import sys

M64 = (1 << 64) - 1
OUT_MAX = 32


def input_len(i, cap):
    """Length of call i's input for a cap C (first matching rule wins)."""
    if cap < 1:
        raise ValueError("cap must be >= 1")
    if i % 7 == 0:
        return 0
    if i % 11 == 0:
        return cap
    if i % 13 == 0:
        return cap + 1
    if i % 17 == 0:
        return 2 * cap + i % 100
    return 1 + (i * 37) % cap


def prng_bytes(seed, i, n):
    """n bytes of xorshift64* seeded with seed*1000003+i (0 -> golden ratio)."""
    x = (seed * 1000003 + i) & M64
    if x == 0:
        x = 0x9E3779B97F4A7C15
    out = bytearray(n)
    for k in range(n):
        x ^= x >> 12
        x ^= (x << 25) & M64
        x ^= x >> 27
        out[k] = (x * 0x2545F4914F6CDD1D) & 0xFF
    return bytes(out)


def input_bytes(seed, i, cap):
    """The full input of call i (may be longer than cap: the probe truncates)."""
    return prng_bytes(seed, i, input_len(i, cap))


def fixed_input_bytes(i, length):
    """Input of call i in `loop --len L` (not --tight): seed-0 stream, i in LE."""
    data = bytearray(prng_bytes(0, 0, length))
    stamp = min(length, 8)
    data[:stamp] = (i & M64).to_bytes(8, "little")[:stamp]
    return bytes(data)


def output_bytes(data, out_cap=64):
    """What st_predict(data, len, out, out_cap) writes: min(out_cap, 32) bytes."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & M64
    out = bytearray()
    for _ in range(min(out_cap, OUT_MAX)):
        h = (h + 0x9E3779B97F4A7C15) & M64
        z = h
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        out.append((z ^ (z >> 31)) & 0xFF)
    return bytes(out)


def selfcheck(binary, count=50, seed=7, cap=64):
    """Compare the binary's --dump with this module; return a list of errors."""
    cmd = [binary, "loop", "--count", str(count), "--seed", str(seed),
           "--cap", str(cap), "--dump"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        return ["%s exited %d: %s" % (cmd, res.returncode, res.stderr.strip())]
    lines = res.stdout.splitlines()
    errors = []
    # Exact lines, except pid and the optional timing fields of "done".
    want = [re.compile(r"ready pid=\d+")]
    for i in range(count):
        data = input_bytes(seed, i, cap)
        want.append("in i=%d len=%d hex=%s" % (i, len(data), data.hex()))
        out = output_bytes(data)
        want.append("out i=%d len=%d hex=%s" % (i, len(out), out.hex()))
    want.append(re.compile(r"done calls=%d( .*)?" % count))
    if len(lines) != len(want):
        errors.append("line count %d, expected %d" % (len(lines), len(want)))
    for n, (got, exp) in enumerate(zip(lines, want)):
        ok = exp.fullmatch(got) if hasattr(exp, "fullmatch") else got == exp
        if not ok:
            exp = getattr(exp, "pattern", exp)
            errors.append("line %d: got %r, expected %r" % (n + 1, got[:120], exp[:120]))
    # The special lengths must really occur in this run, or the test is blind.
    lens = {input_len(i, cap) for i in range(count)}
    for must in (0, cap, cap + 1):
        if must not in lens:
            errors.append("length %d never generated" % must)
    if not any(n > cap + 1 for n in lens):
        errors.append("no length above cap+1 generated")
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--selfcheck", metavar="BIN",
                    help="compare BIN loop --count 50 --seed 7 --cap 64 --dump")
    args = ap.parse_args()
    if not args.selfcheck:
        ap.print_help()
        return 2
    errors = selfcheck(args.selfcheck)
    for e in errors[:20]:
        print("selfcheck: " + e, file=sys.stderr)
    if errors:
        print("selfcheck: FAIL (%d mismatches)" % len(errors), file=sys.stderr)
        return 1
    print("selfcheck: ok (50 calls, seed 7, cap 64)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
