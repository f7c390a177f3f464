#!/usr/bin/env python3
"""Two sealtrace builds side by side at one per-call site (root, after
make bench has built build/bench/floor): each agent probes its own copy of
build/targets/workload (a uprobe belongs to an inode), both stay attached
for the whole run, and the variants no probe / empty floor / old / new
alternate within each repetition. Prints each build's ratio over the
floor and the new build's added time over the old one's, paired per
repetition; writes JSON.

  bench/ab_agents.py --old BUILD/sealtrace [--new build/sealtrace]
                     [--site mov|push|nop5] [--reps N] [--json FILE]

E.g. an old build: git worktree add /tmp/old REV && make -C /tmp/old all.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from bench import (Agent, Floor, copy_target, run_workload, WORKLOAD_PROBE, SITES,  # noqa: E402
                   wait_idle, BUILD, rotations, summary)

class AgentAt(Agent):
    """An Agent of another binary, with a pin dir of its own (bench.py's
    Agent reads both from module globals)."""

    def __init__(self, name, targets, binary, pin):
        super().__init__(name, targets)
        self.binary, self.pin = binary, pin

    def config(self):
        return super().config().replace(f"pin_dir: {bench.PIN_DIR}", f"pin_dir: {self.pin}")

    def _as_self(self, fn):
        saved = bench.SEALTRACE, bench.PIN_DIR
        bench.SEALTRACE, bench.PIN_DIR = self.binary, self.pin
        try:
            return fn()
        finally:
            bench.SEALTRACE, bench.PIN_DIR = saved

    def start(self):
        return self._as_self(super().start)

    def stop(self):
        return self._as_self(super().stop)


def fmt(s, prec=2):
    return f"{s['median']:.{prec}f} [{s['min']:.{prec}f}-{s['max']:.{prec}f}]"


def measure(a, bins, helpers, fn, count):
    res = {}
    for size in (64, 1024):
        s = {v: [] for v in bins}
        for _, order in rotations(list(bins), a.reps):
            for v in order:
                ns, _ = run_workload(bins[v], size, count, fn=fn)
                s[v].append(ns)
                if v in ("old", "new"):
                    wait_idle(helpers[v].pid)
        r = {v: summary([(c - n) / (b - n) for c, n, b in zip(s[v], s["none"], s["floor"])])
             for v in ("old", "new")}
        r["new_over_old"] = summary([(x - n) / (y - n) for x, y, n in
                                     zip(s["new"], s["old"], s["none"])])
        r["ns"] = {v: summary(s[v]) for v in bins}
        res[str(size)] = r
        print(f"{a.site} {size:>5}B: old / floor {fmt(r['old'])}, new / floor {fmt(r['new'])}, "
              f"new's added time / old's {fmt(r['new_over_old'], 3)}", flush=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="the sealtrace binary to compare against")
    ap.add_argument("--new", default=os.path.join(BUILD, "sealtrace"))
    ap.add_argument("--site", default="push", choices=sorted(SITES))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    why = bench.sealtrace_ok()
    if why:
        sys.exit(f"ab_agents: {why}")
    symbol, fn, _ = SITES[a.site]
    count = 20000 if a.site == "mov" else 100000
    src = os.path.join(BUILD, "targets", "workload")
    bins = {v: copy_target(src, f"workload_ab_{v}") for v in ("none", "floor", "old", "new")}
    probe = dict(WORKLOAD_PROBE, symbol=symbol)
    helpers = {}
    try:
        helpers["floor"] = Floor(bins["floor"], symbol).start()
        for v, binary in (("old", a.old), ("new", a.new)):
            helpers[v] = AgentAt("ab" + v, [{"name": "bench", "path": bins[v], "probes": [probe]}],
                                 binary, "/sys/fs/bpf/st-ab-" + v).start()
        res = measure(a, bins, helpers, fn, count)
    finally:
        for h in helpers.values():
            h.stop()
    for v in ("old", "new"):
        k = next(iter(helpers[v].counters.values()), {})
        r = helpers[v].records()
        print(f"{v}: hits {k.get('hits')}, records {r['inference'] + r['incomplete']}, "
              f"lost {r['lost']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"site": a.site, "reps": a.reps, "calls_per_run": count, "old": a.old,
                       "new": a.new, "sizes": res}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
