#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check the probe recipes of tests/targets/README.md with the kernel itself.

Independent of sealtrace: each case defines plain tracefs uprobe events
(the same fetch-arg notation sealtrace's recipes use) on a test target,
runs it, and compares what the kernel fetched with what the target did.
If this passes and sealtrace's e2e test fails, the bug is in sealtrace.

    sudo python3 tests/targets/check_fetchargs.py [--build build] [CASE...]

Needs root and tracefs. Uses its own tracing instance and event group
(named after its pid) and removes exactly those on exit, so it does not
disturb other tracers on the machine.
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import workload_inputs as wi  # noqa: E402

TRACEFS = "/sys/kernel/tracing"
GROUP = "stfa%d" % os.getpid()
INSTANCE = os.path.join(TRACEFS, "instances", GROUP)
ARG_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\{[^}]*\}|\S+)')
LINE_RE = re.compile(r"\s(\w+):\s+\(0x[0-9a-f]+(?: <- 0x[0-9a-f]+)?\)(.*)$")


def file_offset(binary, symbol):
    """ELF file offset of a symbol (what uprobe_events wants)."""
    syms = subprocess.run(["nm", binary], capture_output=True, text=True, check=True)
    vaddr = None
    for line in syms.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == symbol and parts[1] in "Tt":
            vaddr = int(parts[0], 16)
    if vaddr is None:
        raise SystemExit("%s: no symbol %s" % (binary, symbol))
    ph = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True)
    for line in ph.stdout.splitlines():
        p = line.split()
        if p and p[0] == "LOAD":
            off, va, memsz = int(p[1], 16), int(p[2], 16), int(p[5], 16)
            if va <= vaddr < va + memsz:
                return vaddr - va + off
    raise SystemExit("%s: %s not in a LOAD segment" % (binary, symbol))


def first_bytes(binary, offset, n=4):
    with open(binary, "rb") as f:
        f.seek(offset)
        return f.read(n)


def tw(path, text, append=True):
    """One write(2); O_APPEND keeps other tracers' events (Python's "a" seeks,
    which tracefs refuses)."""
    flags = os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags)
    try:
        os.write(fd, (text + "\n").encode())
    finally:
        os.close(fd)


def parse_value(v):
    if v.startswith('"'):
        return v[1:-1]
    if v.startswith("{"):
        return bytes(int(x, 16) for x in v[1:-1].split(",") if x)
    try:
        return int(v, 0)
    except ValueError:
        return v


class Probes:
    """A set of uprobe events in our own group, enabled in our own instance."""

    def __init__(self):
        self.names = []

    def add(self, name, kind, binary, symbol, args, plus=0):
        off = file_offset(binary, symbol) + plus
        tw(os.path.join(TRACEFS, "uprobe_events"),
           "%s:%s/%s %s:0x%x %s" % (kind, GROUP, name, os.path.abspath(binary), off, args))
        self.names.append(name)

    def run(self, fn):
        """Enable, run fn(), disable; return {event: [args dict, ...]}."""
        os.makedirs(INSTANCE, exist_ok=True)
        tw(os.path.join(INSTANCE, "buffer_size_kb"), "4096", append=False)
        tw(os.path.join(INSTANCE, "trace"), "", append=False)
        for n in self.names:
            tw(os.path.join(INSTANCE, "events", GROUP, n, "enable"), "1", append=False)
        try:
            fn()
        finally:
            for n in self.names:
                tw(os.path.join(INSTANCE, "events", GROUP, n, "enable"), "0", append=False)
        events = {n: [] for n in self.names}
        with open(os.path.join(INSTANCE, "trace")) as f:
            for line in f:
                if line.startswith("#"):
                    continue
                m = LINE_RE.search(line)
                if m and m.group(1) in events:
                    events[m.group(1)].append(
                        {k: parse_value(v) for k, v in ARG_RE.findall(m.group(2))})
        lost = open(os.path.join(INSTANCE, "per_cpu", "cpu0", "stats")).read()
        if "overrun: 0" not in lost:
            raise SystemExit("trace buffer overran; lower --count")
        return events

    def remove(self):
        for n in self.names:
            tw(os.path.join(TRACEFS, "uprobe_events"), "-:%s/%s" % (GROUP, n))
        self.names = []


def run_target(argv):
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise AssertionError("%s exited %d: %s" % (argv, res.returncode, res.stderr[-500:]))
    return res.stdout


class Case:
    def __init__(self, build):
        self.b = build
        self.errors = []

    def expect(self, cond, msg):
        if not cond:
            self.errors.append(msg)

    def expect_count(self, evs, name, n):
        self.expect(len(evs[name]) == n, "%s: %d hits, expected %d" % (name, len(evs[name]), n))


N = 300


def case_loop(c, p, binary="workload", symbol="st_predict", plus=0):
    bin_ = os.path.join(c.b, "targets", binary)
    seed, cap = 7, 64
    p.add("pin", "p", bin_, symbol, "len=%si:u64 head=+0(%di):x8[4] outcap=%cx:u64", plus)
    p.add("pret", "r", bin_, symbol, "ret=%ax:s32")
    evs = p.run(lambda: run_target([bin_, "loop", "--count", str(N), "--seed", str(seed),
                                    "--cap", str(cap)]))
    c.expect_count(evs, "pin", N)
    c.expect_count(evs, "pret", N)
    for i, e in enumerate(evs["pin"]):
        data = wi.input_bytes(seed, i, cap)
        c.expect(e["len"] == len(data), "call %d: len %r, expected %d" % (i, e["len"], len(data)))
        if len(data) >= 4:
            c.expect(e["head"] == data[:4], "call %d: head %r != %r" % (i, e["head"], data[:4]))
        c.expect(e["outcap"] == 64, "call %d: out_cap %r" % (i, e["outcap"]))
    c.expect(all(e["ret"] == 32 for e in evs["pret"]), "return value is not 32 everywhere")


def case_cet(c, p):
    bin_ = os.path.join(c.b, "targets", "cet_target")
    head = first_bytes(bin_, file_offset(bin_, "st_predict"))
    c.expect(head == b"\xf3\x0f\x1e\xfa", "cet_target st_predict does not start with endbr64: %s"
             % head.hex())
    wl = os.path.join(c.b, "targets", "workload")
    head = first_bytes(wl, file_offset(wl, "st_predict"))
    c.expect(head != b"\xf3\x0f\x1e\xfa", "workload st_predict starts with endbr64")
    case_loop(c, p, "cet_target", "st_predict", plus=4)


def case_byvalue(c, p):
    bin_ = os.path.join(c.b, "targets", "workload")
    p.add("dec", "p", bin_, "st_decode",
          "n=+8(%sp):s32 tok=+0(+16(%sp)):s32 tok1=+4(+16(%sp)):s32 ctx=%di:u64")
    evs = p.run(lambda: run_target([bin_, "byvalue", "--count", str(N)]))
    c.expect_count(evs, "dec", N)
    for i, e in enumerate(evs["dec"]):
        c.expect(e["n"] == 1 + i % 64, "call %d: n_tokens %r" % (i, e["n"]))
        c.expect(e["tok"] == i * 1000, "call %d: token[0] %r" % (i, e["tok"]))
        if e["n"] > 1:
            c.expect(e["tok1"] == i * 1000 + 1, "call %d: token[1] %r" % (i, e["tok1"]))


def case_deref(c, p):
    bin_ = os.path.join(c.b, "targets", "workload")
    p.add("hdl", "p", bin_, "st_handle", "s=+0(+8(%di)):string len=+16(%di):u32 id=+0(%di):u64")
    evs = p.run(lambda: run_target([bin_, "deref", "--count", str(N)]))
    c.expect_count(evs, "hdl", N)
    for i, e in enumerate(evs["hdl"]):
        want = "request-%d" % i
        c.expect(e["s"] == want and e["len"] == len(want) and e["id"] == i,
                 "call %d: %r" % (i, e))


def case_outbuf(c, p):
    bin_ = os.path.join(c.b, "targets", "workload")
    p.add("gen", "p", bin_, "st_generate", "prompt=+0(%di):string out=%si:u64 cap=%dx:s32")
    p.add("genr", "r", bin_, "st_generate", "n=%ax:s32")
    evs = p.run(lambda: run_target([bin_, "outbuf", "--count", str(N)]))
    c.expect_count(evs, "gen", N)
    c.expect_count(evs, "genr", N)
    for i, (e, r) in enumerate(zip(evs["gen"], evs["genr"])):
        c.expect(e["prompt"] == "prompt-%d" % i and e["cap"] == 64, "call %d: %r" % (i, e))
        c.expect(r["n"] == len("answer-%d" % i), "call %d: return %r" % (i, r))


def case_threadexit(c, p):
    bin_ = os.path.join(c.b, "targets", "workload")
    n = 50
    p.add("die", "p", bin_, "st_infer_then_die", "i=%di:s32")
    p.add("dier", "r", bin_, "st_infer_then_die", "")
    p.add("ok", "p", bin_, "st_infer_ok", "i=%di:s32")
    p.add("okr", "r", bin_, "st_infer_ok", "ret=%ax:s32")
    evs = p.run(lambda: run_target([bin_, "threadexit", "--count", str(n)]))
    c.expect_count(evs, "die", n)
    c.expect_count(evs, "dier", 0)
    c.expect_count(evs, "ok", n)
    c.expect_count(evs, "okr", n)
    c.expect([e["i"] for e in evs["die"]] == list(range(n)), "die args out of order")
    c.expect([e["ret"] for e in evs["okr"]] == [2 * i for i in range(n)], "ok returns wrong")


def case_string(c, p):
    bin_ = os.path.join(c.b, "targets", "workload")
    p.add("cls", "p", bin_, "st_classify", "s=+0(%di):string")
    evs = p.run(lambda: run_target([bin_, "string", "--count", str(N)]))
    c.expect_count(evs, "cls", N)
    c.expect([e["s"] for e in evs["cls"]] == ["text-%d" % i for i in range(N)], "strings differ")


def case_cpp(c, p):
    bin_ = os.path.join(c.b, "targets", "cpp_target")
    p.add("score", "p", bin_, "_ZN14sealtrace_test5scoreEPKcm", "s=+0(%di):string len=%si:u64")
    p.add("mpred", "p", bin_,
          "_ZN14sealtrace_test5Model7predictERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE",
          "s=+0(+0(%si)):string len=+8(%si):u64")
    evs = p.run(lambda: run_target([bin_, "--count", str(N)]))
    c.expect_count(evs, "score", N)
    c.expect_count(evs, "mpred", N)
    for i, (s, m) in enumerate(zip(evs["score"], evs["mpred"])):
        c.expect(s["s"] == "score-%d" % i and s["len"] == len(s["s"]), "score %d: %r" % (i, s))
        c.expect(m["s"] == "predict-%d" % i and m["len"] == len(m["s"]), "predict %d: %r" % (i, m))


def case_demo(c, p):
    bin_ = os.path.join(c.b, "examples", "demo_server")
    port = 20000 + os.getpid() % 20000
    p.add("pred", "p", bin_, "predict", "len=%si:u64 head=+0(%di):x8[8] cap=%cx:u64")
    p.add("predr", "r", bin_, "predict", "n=%ax:u64")
    bodies = [('{"applicant":"a%03d","income":%d}' % (i, 30000 + 997 * i)).encode()
              for i in range(20)]
    answers = []

    def drive():
        srv = subprocess.Popen([bin_, "--port", str(port)], stdout=subprocess.PIPE, text=True)
        try:
            srv.stdout.readline()
            for b in bodies:
                r = subprocess.run(["curl", "-sf", "--data-binary", "@-",
                                    "http://127.0.0.1:%d/predict" % port],
                                   input=b, capture_output=True, timeout=10)
                answers.append(r.stdout)
        finally:
            srv.terminate()
            srv.wait(timeout=10)
    evs = p.run(drive)
    c.expect_count(evs, "pred", len(bodies))
    c.expect_count(evs, "predr", len(bodies))
    for i, (e, r) in enumerate(zip(evs["pred"], evs["predr"])):
        c.expect(e["len"] == len(bodies[i]) and e["head"] == bodies[i][:8] and e["cap"] == 4096,
                 "request %d: %r" % (i, e))
        c.expect(r["n"] == len(answers[i]), "request %d: returned %r, body %d bytes"
                 % (i, r["n"], len(answers[i])))


CASES = {
    "loop": case_loop, "cet": case_cet, "byvalue": case_byvalue, "deref": case_deref,
    "outbuf": case_outbuf, "threadexit": case_threadexit, "string": case_string,
    "cpp": case_cpp, "demo": case_demo,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("cases", nargs="*", default=list(CASES))
    args = ap.parse_args()
    if os.geteuid() != 0 or not os.path.exists(os.path.join(TRACEFS, "uprobe_events")):
        print("check_fetchargs: needs root and tracefs at %s" % TRACEFS, file=sys.stderr)
        return 77
    failed = 0
    for name in args.cases:
        c, p = Case(args.build), Probes()
        t0 = time.time()
        try:
            CASES[name](c, p)
        except (AssertionError, subprocess.SubprocessError, OSError) as e:
            c.errors.append(str(e))
        finally:
            p.remove()
        status = "ok" if not c.errors else "FAIL"
        print("%-10s %s (%.1fs)" % (name, status, time.time() - t0))
        for e in c.errors[:10]:
            print("    " + e)
        failed += bool(c.errors)
    if os.path.isdir(INSTANCE):
        os.rmdir(INSTANCE)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
