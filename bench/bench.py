#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""sealtrace benchmarks (make bench). Run as root from the repository root,
after make all and make build/bench/floor (bench/run.sh does both checks).

Every comparison is measured side by side in one run: the variants of one
row alternate within each repetition (A B C D, then B C D A, ...), so a
slow minute of a noisy VM hits all of them alike. Figures are the median
with min-max over the repetitions; ratios are computed per repetition
(paired) and summarised the same way.

Pinning: every target (workload, cet_target, the Python logger, the model
server) runs on CPU 1; sealtrace, the floor tool and bpftrace on CPU 0.

How the variants can stay attached side by side: a uprobe belongs to an
inode, so each variant probes its own copy of the target binary
(workload_none, workload_floor, workload_st, workload_bt). The probes of
one copy never fire in another, and nothing has to be attached and
detached between repetitions.
"""
import argparse
import datetime as dt
import gzip
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

import testbed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
SEALTRACE = os.path.join(BUILD, "sealtrace")
FLOOR = os.path.join(BUILD, "bench", "floor")
SEAL_FLOOR = os.path.join(BUILD, "bench", "seal_floor")
WORK = "/tmp/st-bench"
PIN_DIR = "/sys/fs/bpf/st-bench"
TARGET_CPU = "1"
AGENT_CPU = "0"
CLK_TCK = os.sysconf("SC_CLK_TCK")

results = {}
lines = []


def out(s=""):
    print(s, flush=True)
    lines.append(s)


def unavailable(section, why):
    out(f"  {section}: unavailable: {why}")
    results.setdefault("unavailable", {})[section] = why


def summary(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs),
            "samples": xs}


def fmt(s, unit="", scale=1.0, prec=1):
    if not s:
        return "n/a"
    return (f"{s['median'] / scale:.{prec}f}{unit} "
            f"[{s['min'] / scale:.{prec}f}-{s['max'] / scale:.{prec}f}]")


def rotations(variants, reps):
    """A B C, B C A, C A B, ...: each variant leads equally often."""
    for r in range(reps):
        k = r % len(variants)
        yield r, variants[k:] + variants[:k]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read().rsplit(")", 1)[1].split()
        return int(st[11]) + int(st[12])	# utime + stime (fields 14, 15)
    except (OSError, IndexError):
        return None


def vm_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("VmHWM:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return None


def wait_idle(pid, timeout=60.0, quiet=0.3):
    """Wait until a consumer has drained its backlog: its CPU time stops
    growing for `quiet` seconds. Returns the time it became idle."""
    t_end = time.monotonic() + timeout
    last = cpu_ticks(pid)
    last_change = time.monotonic()
    while time.monotonic() < t_end:
        time.sleep(0.05)
        now = cpu_ticks(pid)
        if now is None:
            return time.monotonic()
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return last_change
    return time.monotonic()


def wait_file(path, proc, timeout=60.0):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if os.path.exists(path):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


DONE_RE = re.compile(r"done calls=(\d+) elapsed_ns=(\d+) ns_per_call=([\d.]+)")


def run_workload(binary, length, count, tight=True, fn="predict"):
    cmd = ["taskset", "-c", TARGET_CPU, binary, "loop", "--len", str(length), "--count", str(count)]
    if tight:
        cmd.append("--tight")
    if fn != "predict":
        cmd += ["--fn", fn]
    m = DONE_RE.search(sh(cmd))
    if not m:
        raise RuntimeError(f"{binary}: no 'done' line")
    return float(m.group(3)), int(m.group(2))


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break

    def dpkg(pkg):
        try:
            return sh(["dpkg-query", "-W", "-f", "${Version}", pkg]).strip()
        except (subprocess.CalledProcessError, FileNotFoundError):
            return "not installed"

    def ver(cmd):
        try:
            return sh(cmd).strip().splitlines()[0]
        except (subprocess.CalledProcessError, FileNotFoundError, IndexError):
            return "unavailable"

    m = {
        "kernel": platform.release(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "libbpf": dpkg("libbpf1"),
        "bpftool": ver(["bpftool", "version"]),
        "bpftrace": ver(["bpftrace", "--version"]),
        "python": platform.python_version(),
        "sealtrace_commit": ver(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
        "pinning": f"targets on CPU {TARGET_CPU}, sealtrace/floor/bpftrace on CPU {AGENT_CPU}",
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    }
    return m


# ---------------------------------------------------------------- sealtrace

class Agent:
    """One `sealtrace run` on CPU 0 with its own state dir and pin dir."""

    def __init__(self, name, targets, ringbuf_bytes=64 << 20, fsync_ms=1000):
        self.name = name
        self.dir = os.path.join(WORK, "agent-" + name)
        self.targets = targets
        self.ringbuf_bytes = ringbuf_bytes
        self.fsync_ms = fsync_ms
        self.proc = None
        self.counters = {}
        self.stderr = ""

    def config(self):
        y = [
            "system_id: urn:x:bench",
            "operator_id: urn:x:op",
            f"state_dir: {self.dir}/state",
            f"keys: {{dir: {WORK}/keys}}",
            f"pin_dir: {PIN_DIR}",
            f"ringbuf_bytes: {self.ringbuf_bytes}",
            f"fsync: {{every_ms: {self.fsync_ms}}}",
            "targets:",
        ]
        for t in self.targets:
            y += [f"  - name: {t['name']}", f"    path: {t['path']}", "    pid: 0", "    probes:"]
            for p in t["probes"]:
                y.append(f"      - symbol: {p['symbol']}")
                for k in ("input", "output"):
                    if k in p:
                        y.append(f"        {k}: {p[k]}")
        return "\n".join(y) + "\n"

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(PIN_DIR, ignore_errors=True)
        os.makedirs(self.dir)
        cfg = os.path.join(self.dir, "config.yaml")
        with open(cfg, "w") as f:
            f.write(self.config())
        ready = os.path.join(self.dir, "ready")
        self.errf = open(os.path.join(self.dir, "stderr"), "w+")
        self.cfg = cfg
        # probes stay pinned after a plain stop (a restarted agent adopts
        # them); a benchmark must leave nothing attached behind it
        extra = ["--detach-on-exit"] if detach_on_exit_supported() else []
        self.proc = subprocess.Popen(
            ["taskset", "-c", AGENT_CPU, SEALTRACE, "run", "--config", cfg, "--ready-file", ready] + extra,
            stdout=subprocess.DEVNULL, stderr=self.errf)
        if not wait_file(ready, self.proc):
            self.stop()
            raise RuntimeError(f"sealtrace did not get ready: {self.stderr.strip()[-400:]}")
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errf.seek(0)
        self.stderr = self.errf.read()
        self.errf.close()
        for m in re.finditer(r"sealtrace: probe (\S+): hits (\d+) returns (\d+) emitted (\d+) "
                             r"ringbuf_full (\d+) truncated (\d+) faults (\d+)", self.stderr):
            self.counters[m.group(1)] = dict(zip(
                ("hits", "returns", "emitted", "ringbuf_full", "truncated", "faults"),
                map(int, m.groups()[1:])))
        if os.path.isdir(PIN_DIR):
            subprocess.run([SEALTRACE, "detach", "--config", self.cfg], capture_output=True)
        # unpinning drops the last reference to any link still there
        shutil.rmtree(PIN_DIR, ignore_errors=True)
        return self.proc.returncode

    def records(self):
        """Count what reached the log: inference/incomplete records and the
        loss records' counts, straight from the gzip segments."""
        n = {"inference": 0, "incomplete": 0, "loss_records": 0, "lost": 0, "lines": 0}
        state = os.path.join(self.dir, "state")
        for stream in ("decision", "system"):
            d = os.path.join(state, stream)
            if not os.path.isdir(d):
                continue
            for seg in sorted(os.listdir(d)):
                if not seg.endswith(".seg"):
                    continue
                try:
                    with gzip.open(os.path.join(d, seg), "rt") as f:
                        for ln in f:
                            try:
                                r = json.loads(ln)
                            except ValueError:
                                continue
                            n["lines"] += 1
                            et = r.get("event_type")
                            if et in ("inference", "incomplete"):
                                n[et] += 1
                            elif et == "loss":
                                n["loss_records"] += 1
                                n["lost"] += int((r.get("details") or {}).get("count", 0))
                except (OSError, EOFError) as e:
                    n["error"] = f"{seg}: {e}"
        return n


_detach_flag = None


def detach_on_exit_supported():
    global _detach_flag
    if _detach_flag is None:
        p = subprocess.run([SEALTRACE, "run", "--help"], capture_output=True, text=True)
        _detach_flag = "--detach-on-exit" in p.stdout + p.stderr
    return _detach_flag


def sealtrace_ok():
    if not os.access(SEALTRACE, os.X_OK):
        return "build/sealtrace is not built (make all failed?)"
    keys = os.path.join(WORK, "keys")
    if not os.path.isdir(keys) or not os.listdir(keys):
        os.makedirs(keys, exist_ok=True)
        try:
            sh([SEALTRACE, "keygen", "--dir", keys])
        except subprocess.CalledProcessError as e:
            return f"sealtrace keygen failed: {e.stderr.strip()[-300:]}"
    return None


WORKLOAD_PROBE = {
    "symbol": "st_predict",
    "input": '{ptr: "%di", len: "%si", max: 65536}',
    "output": '{ptr: "%dx", len: "%ax", at: return}',
}

# Probe sites of the per-call table: (label, symbol, workload --fn, what the
# kernel does with the first instruction; DESIGN.md "Capture")
SITES = {
    "mov": ("st_predict", "predict", "`mov %rdx,%r9`: single-stepped"),
    "push": ("st_predict_push", "push", "`push %rbp`: emulated"),
    "nop5": ("st_predict_nop5", "nop5", "5-byte nop: emulated/optimised"),
}


def ring_rss_kib(pid):
    """Resident KiB of the BPF map mappings (the ring buffer, mapped twice:
    its data pages count once per mapping)."""
    total, in_bpf = 0, False
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for ln in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", ln):
                    in_bpf = "bpf" in ln
                elif in_bpf and ln.startswith("Rss:"):
                    total += int(ln.split()[1])
    except OSError:
        return None
    return total


def vm_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return None


# ------------------------------------------------------------- helpers/peers

class Floor:
    """build/bench/floor: empty programs at the site (the kernel's floor),
    or with copy=True the least a recording tool does there (times, input
    and output bytes into a ring buffer, drained every millisecond)."""

    def __init__(self, path, symbol="st_predict", skip_endbr=True, count=False, copy=False):
        self.args = [FLOOR, "--path", path, "--symbol", symbol]
        if not skip_endbr:
            self.args.append("--no-skip-endbr")
        if count:
            self.args.append("--count")
        if copy:
            self.args.append("--copy")
        self.site = ""
        self.out = ""

    def start(self):
        ready = os.path.join(WORK, f"floor-ready-{os.getpid()}-{id(self)}")
        if os.path.exists(ready):
            os.unlink(ready)
        self.proc = subprocess.Popen(["taskset", "-c", AGENT_CPU] + self.args + ["--ready-file", ready],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if not wait_file(ready, self.proc, 30):
            o, e = self.proc.communicate()
            raise RuntimeError(f"floor did not attach: {e.strip()}")
        self.site = self.proc.stdout.readline().strip()
        return self

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        o, _ = self.proc.communicate(timeout=30)
        self.out = o
        return self.out


class Bpftrace:
    """bpftrace printing one line per call (at return, with tid, return
    value and duration: the same facts sealtrace records, minus the
    content hashes) to a file."""

    def __init__(self, path, symbol="st_predict"):
        self.outfile = os.path.join(WORK, "bpftrace.out")
        self.prog = (f"uprobe:{path}:{symbol} {{ @s[tid] = nsecs; }} "
                     f"uretprobe:{path}:{symbol} /@s[tid]/ {{ printf(\"%d %d %d\\n\", tid, retval, "
                     f"nsecs - @s[tid]); delete(@s[tid]); }}")

    def start(self):
        if os.path.exists(self.outfile):
            os.unlink(self.outfile)
        self.errf = open(os.path.join(WORK, "bpftrace.err"), "w+")
        self.proc = subprocess.Popen(["taskset", "-c", AGENT_CPU, "bpftrace", "-o", self.outfile,
                                      "-e", self.prog], stdout=subprocess.DEVNULL, stderr=self.errf)
        t_end = time.monotonic() + 60
        while time.monotonic() < t_end:
            if self.proc.poll() is not None:
                break
            try:
                with open(self.outfile) as f:
                    if "Attaching" in f.read(200):
                        time.sleep(0.3)
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.errf.seek(0)
        raise RuntimeError(f"bpftrace did not attach: {self.errf.read().strip()[-300:]}")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)
        self.errf.seek(0)
        err = self.errf.read()
        self.errf.close()
        n, lost = 0, 0
        with open(self.outfile) as f:
            for ln in f:
                if re.match(r"^\d+ -?\d+ \d+$", ln):
                    n += 1
                m = re.search(r"Lost (\d+) events", ln)
                if m:
                    lost += int(m.group(1))
        for m in re.finditer(r"Lost (\d+) events", err):
            lost += int(m.group(1))
        return n, lost


# ------------------------------------------------------------------ sections

def copy_target(src, name):
    dst = os.path.join(WORK, "bin", name)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(src, dst)
    return dst


def per_call(a):
    results["per_call"] = {}
    for label in a.sites.split(","):
        per_call_site(a, label)
    ratios = {lb: r for lb, r in results["per_call"].items() if r.get("sizes")}
    if len(ratios) > 1:
        out("")
        out("== sealtrace / floor by probe site (same run) ==")
        for size in ("64", "1024", "16384"):
            out(f"  {size:>6}B | " + " | ".join(
                f"{lb}: {fmt(r['sizes'][size].get('ratio_st'), 'x', prec=2)}"
                for lb, r in ratios.items() if size in r["sizes"]))


def per_call_site(a, label):
    symbol, fn, what = SITES[label]
    out("")
    out(f"== Per-call cost: workload loop --tight --fn {fn}, {symbol} (first insn {what}) ==")
    sizes = [64, 1024, 16384]
    count = a.calls if label == "mov" else a.calls_emulated
    src = os.path.join(BUILD, "targets", "workload")
    bins = {v: copy_target(src, f"workload_{label}_{v}") for v in ("none", "floor", "copy", "st", "bt")}
    res = {"calls_per_run": count, "reps": a.reps, "site": None, "symbol": symbol, "sizes": {}}
    helpers = {}
    why_st = sealtrace_ok()
    probe = dict(WORKLOAD_PROBE, symbol=symbol)
    try:
        helpers["floor"] = Floor(bins["floor"], symbol).start()
        res["site"] = helpers["floor"].site
        out(f"  probe site: {helpers['floor'].site}")
        try:
            helpers["copy"] = Floor(bins["copy"], symbol, copy=True).start()
        except RuntimeError as e:
            unavailable("minimal capture", str(e))
        if why_st:
            unavailable("sealtrace per-call", why_st)
        else:
            try:
                helpers["st"] = Agent("percall", [{"name": "bench", "path": bins["st"],
                                                   "probes": [probe]}]).start()
            except RuntimeError as e:
                unavailable("sealtrace per-call", str(e))
        if shutil.which("bpftrace"):
            try:
                helpers["bt"] = Bpftrace(bins["bt"], symbol).start()
            except RuntimeError as e:
                unavailable("bpftrace", str(e))
        else:
            unavailable("bpftrace", "bpftrace is not installed (apt-get install bpftrace)")

        variants = ["none", "floor"] + [v for v in ("copy", "st", "bt") if v in helpers]
        bt_calls = 0
        for size in sizes:
            samples = {v: [] for v in variants}
            for _, order in rotations(variants, a.reps):
                for v in order:
                    ns, _ = run_workload(bins[v], size, count, fn=fn)
                    samples[v].append(ns)
                    if v == "bt":
                        bt_calls += count
                    # the consumer drains before the next run, so no variant
                    # pays for another's backlog
                    if v in ("st", "bt"):
                        wait_idle(helpers[v].pid)
            row = {v: summary(samples[v]) for v in variants}
            # paired per repetition: (c - a) / (b - a)
            for v in ("copy", "st", "bt"):
                if v in samples:
                    row[f"added_ns_{v}"] = summary([c - n for c, n in zip(samples[v], samples["none"])])
                    row[f"ratio_{v}"] = summary([(c - n) / (b - n) for c, n, b in
                                                 zip(samples[v], samples["none"], samples["floor"])])
            row["added_ns_floor"] = summary([b - n for b, n in zip(samples["floor"], samples["none"])])
            if "copy" in samples and "st" in samples:
                # what sealtrace adds over the least a recording tool does
                row["st_over_copy"] = summary([(c - n) / (d - n) for c, n, d in
                                               zip(samples["st"], samples["none"], samples["copy"])])
            res["sizes"][str(size)] = row
    finally:
        if "floor" in helpers:
            helpers["floor"].stop()
        if "copy" in helpers:
            m = re.search(r"events (\d+)", helpers["copy"].stop())
            res["copy_events"] = int(m.group(1)) if m else None
        if "st" in helpers:
            helpers["st"].stop()
            res["sealtrace_counters"] = helpers["st"].counters
            res["sealtrace_records"] = helpers["st"].records()
        if "bt" in helpers:
            n, lost = helpers["bt"].stop()
            res["bpftrace"] = {"calls": bt_calls, "lines": n, "lost_reported": lost}
    results["per_call"][label] = res

    names = {"none": "(a) no probe", "floor": "(b) empty uprobe+uretprobe",
             "copy": "(d) minimal capture", "st": "(c) sealtrace", "bt": "bpftrace printf/call"}
    out(f"  {count} calls per run, {a.reps} alternating repetitions; ns/call median [min-max]")
    out(f"  {'input':>7} | " + " | ".join(f"{names[v]:>28}" for v in variants))
    for size in sizes:
        row = res["sizes"][str(size)]
        out(f"  {size:>6}B | " + " | ".join(f"{fmt(row[v]):>28}" for v in variants))
    out("  added over (a), and ratio (x-a)/(b-a) over the kernel floor:")
    for size in sizes:
        row = res["sizes"][str(size)]
        s = f"  {size:>6}B | floor +{fmt(row['added_ns_floor'])} ns"
        for v in ("copy", "st", "bt"):
            if f"ratio_{v}" in row:
                s += (f" | {names[v][4:] if v != 'bt' else 'bpftrace'} +{fmt(row['added_ns_' + v])} ns"
                      f" = {fmt(row['ratio_' + v], 'x', prec=2)} floor")
        out(s)
    if any("st_over_copy" in res["sizes"][str(z)] for z in sizes):
        out("  (d) minimal capture: times, input and output bytes into a ring buffer, nothing else "
            "(bench/floor.bpf.c); sealtrace's added time over it (paired):")
        out("  " + "; ".join(f"{z} B {fmt(res['sizes'][str(z)].get('st_over_copy'), 'x', prec=2)}"
                             for z in sizes))
    if res.get("copy_events") is not None:
        out(f"  minimal capture: {res['copy_events']} events drained "
            f"(expected {2 * len(sizes) * a.reps * count})")
    if "sealtrace_counters" in res:
        k = next(iter(res["sealtrace_counters"].values()), {})
        r = res["sealtrace_records"]
        total = len(sizes) * a.reps * count
        out(f"  sealtrace accounting: calls {total}, hits {k.get('hits')}, ringbuf_full "
            f"{k.get('ringbuf_full')}, truncated {k.get('truncated')}, records "
            f"{r['inference'] + r['incomplete']}, lost (loss records) {r['lost']}"
            f" -> {'OK' if k.get('hits') == r['inference'] + r['incomplete'] + r['lost'] else 'MISMATCH'}")
    if "bpftrace" in res:
        b = res["bpftrace"]
        out(f"  bpftrace: {b['calls']} calls, {b['lines']} lines written, "
            f"{b['lost_reported']} reported lost, {b['calls'] - b['lines']} missing")


def cet_site(a):
    out("")
    out("== endbr64 site: cet_target st_predict, empty uprobe+uretprobe at +4 (what sealtrace "
        "does) vs at +0 ==")
    src = os.path.join(BUILD, "targets", "cet_target")
    if not os.access(src, os.X_OK):
        unavailable("cet", "build/targets/cet_target is not built")
        return
    bins = {v: copy_target(src, "cet_" + v) for v in ("none", "skip", "noskip")}
    count = a.calls
    fl = {"skip": Floor(bins["skip"]).start(), "noskip": Floor(bins["noskip"], skip_endbr=False).start()}
    samples = {v: [] for v in bins}
    try:
        for _, order in rotations(list(bins), a.reps):
            for v in order:
                t0 = time.perf_counter_ns()
                sh(["taskset", "-c", TARGET_CPU, bins[v], "--count", str(count)])
                samples[v].append((time.perf_counter_ns() - t0) / count)
    finally:
        for f in fl.values():
            f.stop()
    res = {"calls_per_run": count, "sites": {v: fl[v].site for v in fl}}
    for v in ("skip", "noskip"):
        res[f"added_ns_{v}"] = summary([x - n for x, n in zip(samples[v], samples["none"])])
    res["noskip_over_skip"] = summary([(ns - n) / (s - n) for ns, s, n in
                                       zip(samples["noskip"], samples["skip"], samples["none"])])
    out(f"  site +4: {fl['skip'].site}")
    out(f"  site +0: {fl['noskip'].site}")
    out(f"  added ns/call (process wall time / calls): at +4 {fmt(res['added_ns_skip'])}, "
        f"at +0 (endbr64) {fmt(res['added_ns_noskip'])}, ratio {fmt(res['noskip_over_skip'], 'x', prec=2)}")
    results["cet"] = res


def throughput(a):
    out("")
    out("== Pipeline throughput: workload loop (inputs differ per call) -> ring buffer -> HMAC -> "
        "record -> chain -> Merkle -> gzip -> fsync every 1000 ms ==")
    why = sealtrace_ok()
    if why:
        unavailable("throughput", why)
        unavailable("drop point", why)
        return
    src = os.path.join(BUILD, "targets", "workload")
    binp = copy_target(src, "workload_tp")
    res = {"runs": []}

    def one(label, size, count, rb, stall_s=0.0):
        ag = Agent("tp", [{"name": "bench", "path": binp, "probes": [WORKLOAD_PROBE]}],
                   ringbuf_bytes=rb).start()
        try:
            t_0 = cpu_ticks(ag.pid)
            w0 = time.monotonic()
            tgt = subprocess.Popen(["taskset", "-c", TARGET_CPU, binp, "loop", "--len", str(size),
                                    "--count", str(count)], stdout=subprocess.PIPE, text=True)
            if stall_s:
                # an agent that cannot keep up, made deterministic: stop it
                # while the target runs, so the ring buffer must fill
                time.sleep(0.2)
                os.kill(ag.pid, signal.SIGSTOP)
                time.sleep(stall_s)
                os.kill(ag.pid, signal.SIGCONT)
            o, _ = tgt.communicate()
            w_tgt = time.monotonic()
            w_idle = wait_idle(ag.pid)
            t_1 = cpu_ticks(ag.pid)
            hwm = vm_hwm_kib(ag.pid)
            rss = vm_rss_kib(ag.pid)
            ring = ring_rss_kib(ag.pid)
        finally:
            ag.stop()
        m = DONE_RE.search(o)
        k = next(iter(ag.counters.values()), {})
        r = ag.records()
        e2e = max(w_idle, w_tgt) - w0
        recs = r["inference"] + r["incomplete"]
        run = {
            "label": label, "input_bytes": size, "calls": count, "ringbuf_bytes": rb,
            "stall_s": stall_s,
            "target_ns_per_call": float(m.group(3)) if m else None,
            "target_s": (w_tgt - w0), "end_to_end_s": e2e,
            "events_per_s": count / e2e if e2e else None,
            "agent_cpu_pct": 100.0 * (t_1 - t_0) / CLK_TCK / e2e if e2e and t_1 is not None else None,
            "agent_vmhwm_kib": hwm, "agent_vmrss_kib": rss, "agent_ring_rss_kib": ring,
            "agent_rss_minus_ring_kib": rss - ring if rss is not None and ring is not None else None,
            "counters": k, "records": r,
            "accounted": k.get("hits") == recs + r["lost"],
        }
        res["runs"].append(run)
        cap = (run["events_per_s"] / (run["agent_cpu_pct"] / 100.0)
               if run["agent_cpu_pct"] else None)
        run["agent_capacity_events_per_s"] = cap
        out(f"  {label:<26} {size:>6}B rb={rb >> 10:>6}KiB: {run['events_per_s'] or 0:>8.0f} ev/s, "
            f"agent CPU {run['agent_cpu_pct'] or 0:>5.1f}% (=> ~{(cap or 0):>7.0f} ev/s per agent "
            f"core), VmHWM {(hwm or 0) / 1024:.1f} MiB, RSS-ring "
            f"{(run['agent_rss_minus_ring_kib'] or 0) / 1024:.1f} MiB | hits {k.get('hits')} ringbuf_full "
            f"{k.get('ringbuf_full')} records {recs} lost {r['lost']} in {r['loss_records']} loss "
            f"records -> {'accounted' if run['accounted'] else 'NOT ACCOUNTED'}")
        return run

    try:
        sust = {}
        for _, order in rotations([64, 1024, 16384], a.tp_reps):
            for size in order:
                sust.setdefault(size, []).append(one("sustained", size, a.tp_calls, 64 << 20))
        res["sustained"] = {}
        for size, runs in sust.items():
            res["sustained"][str(size)] = {
                k: summary([r[k] for r in runs]) for k in
                ("events_per_s", "agent_cpu_pct", "agent_capacity_events_per_s", "agent_vmhwm_kib",
                 "agent_rss_minus_ring_kib", "target_ns_per_call")}
            sm = res["sustained"][str(size)]
            out(f"  => sustained {size:>6}B: {fmt(sm['events_per_s'], ' ev/s', prec=0)}, agent CPU "
                f"{fmt(sm['agent_cpu_pct'], ' %')}, per agent core {fmt(sm['agent_capacity_events_per_s'], ' ev/s', prec=0)}, "
                f"VmHWM {fmt(sm['agent_vmhwm_kib'], ' MiB', 1024)}, RSS minus the ring buffer "
                f"{fmt(sm['agent_rss_minus_ring_kib'], ' MiB', 1024)}")
        out("  drop point: 16 KiB inputs, shrinking ringbuf_bytes:")
        for rb in (16 << 20, 4 << 20, 1 << 20, 256 << 10):
            one("shrinking ring", 16384, a.tp_calls, rb)
        out("  drop point: agent stopped (SIGSTOP) 1 s mid-run, 1 MiB ring:")
        one("agent stalled 1 s", 1024, a.tp_calls, 1 << 20, stall_s=1.0)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        unavailable("throughput", str(e))
    first_drop = next((r for r in res["runs"] if r["counters"].get("ringbuf_full")), None)
    res["first_drop"] = ({k: first_drop[k] for k in ("label", "input_bytes", "ringbuf_bytes",
                                                      "events_per_s")} if first_drop else None)
    res["all_accounted"] = all(r["accounted"] for r in res["runs"]) if res["runs"] else None
    out(f"  every run accounted (hits == records + lost): {res['all_accounted']}")
    results["throughput"] = res


def gen_log_run(a, size, writer_thread, cpus, records):
    """One gen_log run: the records pipeline alone (HMAC -> record -> chain
    -> Merkle -> gzip -> fsync every 1000 ms, checkpoints)."""
    tool = os.path.join(BUILD, "tools", "gen_log")
    d = os.path.join(WORK, "genlog")
    shutil.rmtree(d, ignore_errors=True)
    cmd = ["taskset", "-c", cpus, tool, "--state-dir", d, "--keys-dir",
           os.path.join(WORK, "keys"), "--records", str(records), "--input-bytes",
           str(size), "--output-bytes", "32", "--fsync-ms", "1000"]
    if writer_thread:
        cmd.append("--writer-thread")
    o = sh(cmd)
    shutil.rmtree(d, ignore_errors=True)
    m = re.search(r"in ([\d.]+) s wall, ([\d.]+) s CPU", o)
    wall, cpu = float(m.group(1)), float(m.group(2))
    t = re.search(r"log ([\d.]+) s, writer ([\d.]+) s; ceiling with a core per thread (\d+)", o)
    return {"events_per_s": records / wall, "events_per_cpu_s": records / cpu if cpu else None,
            "cpu_s": cpu, "wall_s": wall,
            "log_thread_cpu_s": float(t.group(1)) if t else None,
            "writer_thread_cpu_s": float(t.group(2)) if t else None,
            "ceiling_core_per_thread": int(t.group(3)) if t else None}


def seal_floor_lines(size):
    """Real canonical lines of size-byte inputs: a gen_log run's decision
    segments, unzipped (the records' own size and entropy)."""
    d = os.path.join(WORK, "sealfloor")
    shutil.rmtree(d, ignore_errors=True)
    sh([os.path.join(BUILD, "tools", "gen_log"), "--state-dir", d, "--keys-dir",
        os.path.join(WORK, "keys"), "--records", "20000", "--input-bytes", str(size),
        "--output-bytes", "32", "--fsync-ms", "1000"])
    lines = os.path.join(WORK, f"sealfloor-{size}.txt")
    segs = sorted(f for f in os.listdir(os.path.join(d, "decision")) if f.endswith(".seg"))
    with open(lines, "wb") as f:
        for seg in segs:
            with gzip.open(os.path.join(d, "decision", seg)) as z:
                f.write(z.read())
    shutil.rmtree(d, ignore_errors=True)
    return lines


def seal_floor_run(lines, size):
    """build/bench/seal_floor once: ns a record for DEFLATE, the hashes, the HMACs."""
    o = sh(["taskset", "-c", AGENT_CPU, SEAL_FLOOR, "--lines", lines, "--in", str(size),
            "--out", "32", "--reps", "1"])
    num = lambda pat: float(re.search(pat, o).group(1))
    return {"floor_ns": num(r"floor (\d+) ns"), "deflate_ns": num(r"deflate (\d+) ns"),
            "sha256_ns": num(r"\(chain, leaf, node\) (\d+) ns"),
            "hmac_ns": num(r"hmac \(\d+ \+ \d+ bytes\) (\d+) ns"),
            "bytes_per_record": num(r"records, (\d+) bytes"),
            "ceiling": num(r"ceiling (\d+) records")}


def pipeline(a):
    out("")
    out("== Pipeline alone, no BPF (build/tools/gen_log: HMAC -> record -> chain -> Merkle -> "
        "gzip -> fsync every 1000 ms, checkpoints every 10,000) ==")
    why = sealtrace_ok()
    if why:
        unavailable("pipeline", why)
        return
    tool = os.path.join(BUILD, "tools", "gen_log")
    if not os.access(tool, os.X_OK):
        unavailable("pipeline", "build/tools/gen_log is not built")
        return
    variants = {"1core": (False, AGENT_CPU), "2cores": (True, f"{AGENT_CPU},{TARGET_CPU}")}
    # the floor: what this record format costs whatever the pipeline does
    with_floor = os.access(SEAL_FLOOR, os.X_OK)
    if not with_floor:
        unavailable("seal floor", "build/bench/seal_floor is not built (make bench builds it)")
    res = {"records": a.pipe_records, "reps": a.reps, "sizes": {}}
    for size in (64, 1024):
        samples = {v: [] for v in list(variants) + ["floor"]}
        lines = seal_floor_lines(size) if with_floor else None
        for _, order in rotations(list(variants) + (["floor"] if with_floor else []), a.reps):
            for v in order:
                if v == "floor":
                    samples[v].append(seal_floor_run(lines, size))
                    continue
                wt, cpus = variants[v]
                samples[v].append(gen_log_run(a, size, wt, cpus, a.pipe_records))
        row = {}
        if with_floor:
            row["floor"] = {k: summary([r[k] for r in samples["floor"]]) for k in
                            ("floor_ns", "deflate_ns", "sha256_ns", "hmac_ns", "ceiling",
                             "bytes_per_record")}
        for v in variants:
            row[v] = {k: summary([r[k] for r in samples[v]]) for k in
                      ("events_per_s", "events_per_cpu_s", "ceiling_core_per_thread")}
        row["2cores_over_1core"] = summary([t["events_per_s"] / o["events_per_s"] for o, t in
                                            zip(samples["1core"], samples["2cores"])])
        res["sizes"][str(size)] = row
        out(f"  {size:>5}B, one core (taskset -c {AGENT_CPU}):        "
            f"{fmt(row['1core']['events_per_s'], ' ev/s', prec=0)}; per CPU-second "
            f"{fmt(row['1core']['events_per_cpu_s'], ' ev/s', prec=0)}")
        out(f"  {size:>5}B, two cores, writer thread (-c {AGENT_CPU},{TARGET_CPU}): "
            f"{fmt(row['2cores']['events_per_s'], ' ev/s', prec=0)}; per CPU-second "
            f"{fmt(row['2cores']['events_per_cpu_s'], ' ev/s', prec=0)}; "
            f"two/one {fmt(row['2cores_over_1core'], 'x', prec=2)}")
        out(f"  {size:>5}B, ceiling with a core per thread (events / CPU of the busier thread): "
            f"{fmt(row['2cores']['ceiling_core_per_thread'], ' ev/s', prec=0)}")
        if "floor" in row:
            f = row["floor"]
            out(f"  {size:>5}B, floor of the format (build/bench/seal_floor: "
                f"{f['bytes_per_record']['median']:.0f}-byte lines): DEFLATE "
                f"{fmt(f['deflate_ns'], ' ns', prec=0)} + SHA-256 x3 {fmt(f['sha256_ns'], ' ns', prec=0)}"
                f" + HMAC x2 {fmt(f['hmac_ns'], ' ns', prec=0)} = {fmt(f['floor_ns'], ' ns', prec=0)}"
                f" a record: at most {fmt(f['ceiling'], ' records/s', prec=0)} a core")
    out(f"  {a.pipe_records} events a run, {a.reps} alternating repetitions; events/s = wall "
        f"clock, per CPU-second = events / (user+sys of the process); the ceiling is what the "
        f"two cores give when nothing else runs on them")
    results["pipeline"] = res


def profile(a):
    out("")
    out("== Where the pipeline's time goes (perf record -g on gen_log, one core) ==")
    if not shutil.which("perf"):
        unavailable("profile", "perf is not installed (apt-get install linux-perf)")
        return
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import profile_stages
    why = sealtrace_ok()
    if why:
        unavailable("profile", why)
        return
    try:
        d = profile_stages.profile(os.path.join(BUILD, "tools", "gen_log"), SEALTRACE,
                                   records=a.profile_records, cpus=AGENT_CPU)
    except subprocess.CalledProcessError as e:
        unavailable("profile", f"perf failed: {(e.stderr or '').strip()[-300:]}")
        return
    for ln in profile_stages.table(d):
        out("  " + ln)
    results["profile"] = d


def journald(a):
    out("")
    out("== Peer: systemd-journald with Forward Secure Sealing (journalctl --setup-keys), "
        "fed by systemd-cat at full speed, vs sealtrace's pipeline (gen_log, one core) ==")
    if not os.access("/lib/systemd/systemd-journald", os.X_OK):
        unavailable("journald", "/lib/systemd/systemd-journald is not installed (package systemd)")
        return
    script = os.path.join(ROOT, "bench", "journald_peer.sh")
    samples = {"journald": [], "sealtrace": []}
    for _, order in rotations(["journald", "sealtrace"], a.reps):
        for v in order:
            if v == "journald":
                p = subprocess.run([script, str(a.jd_events), "64", AGENT_CPU],
                                   capture_output=True, text=True, timeout=600)
                if p.returncode:
                    unavailable("journald", f"journald_peer.sh failed: {p.stderr.strip()[-400:]}")
                    return
                samples[v].append(json.loads(p.stdout.strip().splitlines()[-1]))
            else:
                samples[v].append(gen_log_run(a, 64, False, AGENT_CPU, a.jd_events))
    res = {"events": a.jd_events, "reps": a.reps,
           "journald_runs": samples["journald"], "sealtrace_runs": samples["sealtrace"]}
    res["journald_events_per_s"] = summary([r["events_per_s"] for r in samples["journald"]])
    res["journald_events_per_cpu_s"] = summary([r["events_per_cpu_s"] for r in samples["journald"]])
    res["sealtrace_events_per_s"] = summary([r["events_per_s"] for r in samples["sealtrace"]])
    res["sealtrace_events_per_cpu_s"] = summary([r["events_per_cpu_s"] for r in samples["sealtrace"]])
    res["cpu_ratio"] = summary([s["events_per_cpu_s"] / j["events_per_cpu_s"] for j, s in
                                zip(samples["journald"], samples["sealtrace"])])
    res["verify_key_pass"] = all(r["verify_key_pass"] for r in samples["journald"])
    res["stored_all"] = all(r["stored"] == r["events"] for r in samples["journald"])
    out(f"  journald+FSS: {fmt(res['journald_events_per_s'], ' ev/s', prec=0)}, "
        f"{fmt(res['journald_events_per_cpu_s'], ' ev/CPU-s', prec=0)} (journald + systemd-cat); "
        f"all stored: {res['stored_all']}, journalctl --verify --verify-key: "
        f"{'PASS' if res['verify_key_pass'] else 'FAIL'}")
    out(f"  sealtrace:    {fmt(res['sealtrace_events_per_s'], ' ev/s', prec=0)}, "
        f"{fmt(res['sealtrace_events_per_cpu_s'], ' ev/CPU-s', prec=0)} (HMAC 64+32 B, ~840 B JSON "
        f"records, chain, Merkle, checkpoints)")
    out(f"  sealtrace / journald per CPU-second: {fmt(res['cpu_ratio'], 'x', prec=2)} "
        f"({a.jd_events} events a run, 64 B payloads, {a.reps} alternating repetitions)")
    results["journald"] = res


def python_logger(a):
    out("")
    out("== Peer: application-level logger (Python: JSON line, SHA-256 chain, append, flush "
        "[+fsync] per event), in-process ==")
    res = {}
    logf = os.path.join(WORK, "applog.jsonl")
    for size in (64, 1024, 16384):
        samples = {"flush": [], "fsync": []}
        for _, order in rotations(["flush", "fsync"], a.reps):
            for mode in order:
                n = a.py_calls if mode == "flush" else a.py_fsync_calls
                o = sh(["taskset", "-c", TARGET_CPU, sys.executable, os.path.join(ROOT, "bench", "applog.py"),
                        "--len", str(size), "--count", str(n), "--mode", mode, "--file", logf])
                samples[mode].append(float(re.search(r"ns_per_event=([\d.]+)", o).group(1)))
                os.unlink(logf)
        res[str(size)] = {m: summary(samples[m]) for m in samples}
        out(f"  {size:>6}B: flush {fmt(res[str(size)]['flush'])} ns/event, fsync "
            f"{fmt(res[str(size)]['fsync'])} ns/event")
    results["python_logger"] = res


def engine(a):
    out("")
    out("== Real engine: node-llama-cpp (libllama) tiny model, sealtrace on llama_decode + "
        "llama_tokenize ==")
    why = sealtrace_ok()
    if why:
        unavailable("engine", why)
        return
    why = testbed.setup()
    if why:
        unavailable("engine", why)
        return
    port = 18000 + os.getpid() % 1000
    srv = testbed.serve(port, TARGET_CPU)
    url = f"http://127.0.0.1:{port}"
    res = {}
    try:
        health = None
        for _ in range(300):
            try:
                health = json.load(urllib.request.urlopen(url + "/health", timeout=2))
                break
            except OSError:
                time.sleep(0.1)
        if not health:
            unavailable("engine", "model server did not answer /health")
            return
        lib = health["engine_lib"]
        res["engine_lib"] = lib
        probes = [
            {"symbol": "llama_decode", "input": '{ptr: "+16(%sp)", len: "+8(%sp):s32", elem_size: 4}'},
            {"symbol": "llama_tokenize", "input": '{ptr: "%si", len: "%dx:s32"}'},
        ]
        try:
            floor = Floor(lib, "llama_decode").start()
            res["decode_site"] = floor.site
            floor.stop()
        except RuntimeError as e:
            res["decode_site"] = f"unknown: {e}"

        def batch():
            lat, toks = [], 0
            t0 = time.perf_counter()
            for i in range(a.requests):
                body = json.dumps({"prompt": f"hello world, this is request {i}",
                                   "n_predict": a.n_predict}).encode()
                r0 = time.perf_counter()
                rq = urllib.request.Request(url + "/completion", data=body,
                                            headers={"Content-Type": "application/json"})
                j = json.load(urllib.request.urlopen(rq, timeout=60))
                lat.append(time.perf_counter() - r0)
                toks += int(j.get("tokens_predicted", 0))
            wall = time.perf_counter() - t0
            return toks / wall, statistics.median(lat) * 1e3, toks

        batch()		# warm-up: first requests page in the model and JIT the server
        samples = {"none": [], "sealtrace": []}
        lat = {"none": [], "sealtrace": []}
        hits = []
        for _, order in rotations(["none", "sealtrace"], a.engine_reps):
            for v in order:
                ag = None
                if v == "sealtrace":
                    ag = Agent("engine", [{"name": "llama", "path": lib, "probes": probes}]).start()
                try:
                    tps, p50, toks = batch()
                finally:
                    if ag:
                        wait_idle(ag.pid, timeout=10)
                        ag.stop()
                        hits.append({"counters": ag.counters, "records": ag.records(), "tokens": toks})
                samples[v].append(tps)
                lat[v].append(p50)
        res["tokens_per_s"] = {v: summary(samples[v]) for v in samples}
        res["latency_ms_p50"] = {v: summary(lat[v]) for v in lat}
        res["overhead_tokens_pct"] = summary([100.0 * (n - s) / n for n, s in
                                              zip(samples["none"], samples["sealtrace"])])
        res["overhead_latency_pct"] = summary([100.0 * (s - n) / n for n, s in
                                               zip(lat["none"], lat["sealtrace"])])
        res["agent_runs"] = hits
        out(f"  engine lib: {lib}")
        out(f"  llama_decode site: {res['decode_site']}")
        out(f"  {a.requests} sequential requests x n_predict {a.n_predict}, {a.engine_reps} alternating reps")
        out(f"  tokens/s   without {fmt(res['tokens_per_s']['none'])} | with sealtrace "
            f"{fmt(res['tokens_per_s']['sealtrace'])} | overhead {fmt(res['overhead_tokens_pct'], ' %', prec=2)}")
        out(f"  latency ms without {fmt(res['latency_ms_p50']['none'], prec=2)} | with sealtrace "
            f"{fmt(res['latency_ms_p50']['sealtrace'], prec=2)} | overhead "
            f"{fmt(res['overhead_latency_pct'], ' %', prec=2)}  (per-request median)")
        if hits:
            h = hits[-1]
            out(f"  last agent run: {h['counters']} records {h['records']['inference']} "
                f"lost {h['records']['lost']} (tokens {h['tokens']})")
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
        results["engine"] = res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--calls", type=int, default=20000, help="calls per per-call run")
    ap.add_argument("--tp-calls", type=int, default=100000, help="calls per throughput run")
    ap.add_argument("--tp-reps", type=int, default=3, help="repetitions of the sustained runs")
    ap.add_argument("--engine-reps", type=int, default=8)
    ap.add_argument("--py-calls", type=int, default=20000)
    ap.add_argument("--py-fsync-calls", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--n-predict", type=int, default=32)
    ap.add_argument("--calls-emulated", type=int, default=100000,
                    help="calls per per-call run at the emulated sites")
    ap.add_argument("--sites", default="mov,push,nop5", help="per-call probe sites")
    ap.add_argument("--pipe-records", type=int, default=200000, help="events per pipeline run")
    ap.add_argument("--profile-records", type=int, default=100000)
    ap.add_argument("--jd-events", type=int, default=100000, help="events per journald run")
    ap.add_argument("--only", default="profile,pipeline,percall,cet,throughput,python,journald,engine")
    ap.add_argument("--json", default=None, help="default bench/results/<date>.json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: must run as root (uprobes)")
    os.makedirs(WORK, exist_ok=True)
    t0 = time.monotonic()
    results["machine"] = machine()
    results["started_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    out("sealtrace bench " + results["started_utc"])
    for k, v in results["machine"].items():
        out(f"  {k}: {v}")
    sections = {"profile": profile, "pipeline": pipeline, "percall": per_call, "cet": cet_site,
                "throughput": throughput, "python": python_logger, "journald": journald,
                "engine": engine}
    for name in a.only.split(","):
        try:
            sections[name](a)
        except Exception as e:	# a broken section must not hide the others
            unavailable(name, f"{type(e).__name__}: {e}")
    results["elapsed_s"] = time.monotonic() - t0
    results["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
    out(f"  load average at start {' '.join(results['machine']['loadavg_at_start'])}, "
        f"at end {' '.join(results['loadavg_at_end'])} (other processes share these CPUs)")
    out("")
    out(f"bench took {results['elapsed_s']:.0f} s")
    path = a.json or os.path.join(ROOT, "bench", "results",
                                  dt.date.today().isoformat() + ".json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    results["table"] = lines
    with open(path, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    print(f"wrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
