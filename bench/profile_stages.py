#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Where the records pipeline spends its CPU, per stage.

Runs build/tools/gen_log under `perf record --call-graph dwarf` and
attributes every sample to the innermost frame of its call chain that
names a pipeline stage (so SHA-256 inside the Merkle tree counts as
Merkle, zlib/libdeflate inside the store as compress). Samples of the
store's writer thread count like those of the main thread: the table is
a share of all the CPU the pipeline used.

  bench/profile_stages.py [--records N] [--input-bytes N] [--json FILE]

Needs root (or perf_event_paranoid <= 1) and linux-perf.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

# innermost match wins; order inside a stage does not matter
STAGES = [
    # static helpers reached by a tail call (jmp) name the stage too
    ("HMAC (pseudonymise)", {"st_pseudo_ref", "st_pseudo_ref_with", "ref",
                             "mac_final", "st_hmac_sha256"}),
    ("record (canonical JSON)", {"st_record_canon", "event_id"}),
    # st_chain_advance and st_merkle_leaf end in a tail call: on the hot
    # path st_sha256 is the chain's, st_sha256_pfx the tree's
    ("chain", {"st_chain_advance", "st_chain_prev_hex", "st_sha256"}),
    ("Merkle", {"st_merkle_leaf", "st_merkle_append", "st_merkle_root",
                "st_merkle_node", "st_sha256_pfx"}),
    ("compress", {"deflate_block", "compress_block"}),
    ("write/fsync", {"write_all", "st_store_sync", "close_segment",
                     "open_segment", "sync_block", "write_block"}),
    ("checkpoint (sign, files)", {"checkpoint", "write_resume",
                                  "st_ckpt_sign"}),
    ("block buffer", {"append", "st_log_append"}),
    ("gen_log's own input", {"fill_text", "next_rand", "fill"}),
]
ORDER = [s for s, _ in STAGES] + ["other (start-up, libc, kernel)"]
BY_SYM = {sym: stage for stage, syms in STAGES for sym in syms}


def attribute(frames):
    for sym in frames:
        base = sym.split(" (")[0].split("+")[0]
        if base in BY_SYM:
            return BY_SYM[base]
    return ORDER[-1]


def parse(script):
    counts = {s: 0 for s in ORDER}
    frames = []
    total = 0
    for line in script.splitlines() + [""]:
        if not line.strip():
            if frames:
                counts[attribute(frames)] += 1
                total += 1
            frames = []
            continue
        if line[0] in " \t":
            parts = line.split(None, 1)
            if len(parts) == 2:
                frames.append(parts[1])
    return counts, total


def profile(gen_log, sealtrace, records=100000, input_bytes=64,
            output_bytes=32, fsync_ms=1000, cpus="0", writer_thread=False):
    """Run gen_log under perf; the per-stage table as a dict."""
    with tempfile.TemporaryDirectory(prefix="st-prof.") as w:
        subprocess.run([sealtrace, "keygen", "--dir", w + "/keys"],
                       check=True, stdout=subprocess.DEVNULL)
        data = w + "/perf.data"
        cmd = ["taskset", "-c", cpus, "perf", "record", "-q",
               "--call-graph", "dwarf,16384", "-F", "1999", "-o", data,
               gen_log, "--state-dir", w + "/state", "--keys-dir",
               w + "/keys", "--records", str(records), "--input-bytes",
               str(input_bytes), "--output-bytes", str(output_bytes),
               "--fsync-ms", str(fsync_ms)]
        if writer_thread:
            cmd.append("--writer-thread")
        run = subprocess.run(cmd, check=True, capture_output=True, text=True)
        m = re.search(r"in ([\d.]+) s wall, ([\d.]+) s CPU", run.stdout)
        cpu = float(m.group(2)) if m else 0.0
        script = subprocess.run(
            ["perf", "script", "-i", data, "-F", "ip,sym"],
            check=True, capture_output=True, text=True).stdout
    counts, total = parse(script)
    rows = []
    for s in ORDER:
        share = counts[s] / total if total else 0.0
        rows.append({"stage": s, "samples": counts[s], "share": share,
                     "ns_per_event": share * cpu * 1e9 / records})
    return {"records": records, "input_bytes": input_bytes,
            "output_bytes": output_bytes, "fsync_ms": fsync_ms,
            "writer_thread": writer_thread, "cpu_s": cpu, "samples": total,
            "rows": rows, "gen_log": run.stdout.strip().splitlines()}


def table(d):
    """The profile as printable lines (a markdown table)."""
    lines = [f"per-stage profile: gen_log {d['records']} events, input "
             f"{d['input_bytes']} B, output {d['output_bytes']} B, fsync every "
             f"{d['fsync_ms']} ms{', writer thread' if d['writer_thread'] else ''}; "
             f"{d['samples']} samples, {d['cpu_s']:.2f} s CPU (perf --call-graph "
             f"dwarf; ns/event = share x CPU / events, under perf)",
             "| stage | share of CPU | ns per event |", "|---|---|---|"]
    for r in d["rows"]:
        lines.append(f"| {r['stage']} | {100 * r['share']:.1f} % | "
                     f"{r['ns_per_event']:.0f} |")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--input-bytes", type=int, default=64)
    ap.add_argument("--output-bytes", type=int, default=32)
    ap.add_argument("--fsync-ms", type=int, default=1000)
    ap.add_argument("--gen-log", default="build/tools/gen_log")
    ap.add_argument("--sealtrace", default="build/sealtrace")
    ap.add_argument("--cpus", default="0", help="taskset list (default 0)")
    ap.add_argument("--writer-thread", action="store_true")
    ap.add_argument("--json", help="write the table here")
    a = ap.parse_args()
    d = profile(a.gen_log, a.sealtrace, a.records, a.input_bytes,
                a.output_bytes, a.fsync_ms, a.cpus, a.writer_thread)
    print("\n".join(table(d)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(d, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
