#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Wire capture costs (make bench, after bench.py).

1. A process that is NOT a target doing 10^6 one-byte write()s to
   /dev/null, with and without an agent whose wire capture watches another
   process: what the capture costs everyone else per syscall (CPU ns).
   Beside it, the floors: empty programs on the tracepoints wire.bpf.c
   uses (sock_send_length, sock_recv_length, inet_sock_set_state), and on
   the raw sys_enter/sys_exit tracepoints a syscall-level design needs.
2. The same process doing one-byte send()s on a UDP socket (socket I/O,
   where the socket tracepoints do fire): with and without the agent, and
   the floor of the empty socket programs.
3. Two alike servers (tests/e2e/servers/scoring_http.py, Python
   http.server, on the same CPU; the agent on the other) answering 1 KiB
   POST bodies over keep-alive; the client sends batches to A and to B in
   turn. The ratio of their p50 per round cancels what the machine does
   meanwhile; the agent captures A only, so capture's share of the p50 is
   (A/B with the agent) / (A/B without it) - 1. B's p50 with and without
   the agent says what the agent costs a process it does not capture.

Every run alternates all variants, so drift in the machine's load falls
on all of them alike; figures are median [min-max] over the runs.

4. The same method on two alike real model servers (../shared/testbed:
   node-llama-cpp's libllama behind Node's http, a tiny GGUF model),
   POST /completion with ~1 KiB of JSON: what capture adds where a request
   does real work (part 3 is the worst case: a request that does none).

Writes bench/results/<date>-<hhmm>-wire.json unless --json names another file.

usage: wire_bench.py [--runs N] [--writes N] [--udp-writes N]
                     [--rounds N] [--batch N] [--engine-runs N]
                     [--engine-rounds N] [--engine-batch N] [--no-engine]
                     [--no-pin] [--json FILE]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import testbed

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SEALTRACE = os.path.join(ROOT, "build", "sealtrace")
WRITE_LOOP = os.path.join(ROOT, "build", "targets", "write_loop")
WIRE_FLOOR = os.path.join(ROOT, "build", "bench", "wire_floor")
SERVER = os.path.join(ROOT, "tests", "e2e", "servers", "scoring_http.py")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# --pin: the agent on CPU 0, the server and the client on CPU 1, as on a
# node where the agent does not share the server's cores
AGENT_CPUS = None
APP_CPUS = None


def pinned(cmd, cpus):
    return (["taskset", "-c", cpus] + cmd) if cpus else cmd


class Agent:
    def __init__(self, srv_pid, port, extra="", path="/echo"):
        self.dir = tempfile.mkdtemp(prefix="st-wire-bench-")
        keys = os.path.join(self.dir, "keys")
        subprocess.run([SEALTRACE, "keygen", "--dir", keys], check=True, capture_output=True)
        exe = os.path.basename(os.readlink("/proc/%d/exe" % srv_pid))
        self.cfg = os.path.join(self.dir, "c.yaml")
        with open(self.cfg, "w") as f:
            f.write("system_id: bench\noperator_id: bench\nstate_dir: %s/state\n"
                    "keys: {dir: %s}\npin_dir: /sys/fs/bpf/st-wire-bench-%d\n"
                    "metrics: {listen: \"\"}\nfsync: {every_ms: 100}\n%s"
                    "targets:\n  - name: srv\n    exe: %s\n    pid: %d\n"
                    "    http: {ports: [%d], paths: [%s]}\n" % (
                        self.dir, keys, os.getpid(), extra, exe, srv_pid, port, path))
        self.ready = os.path.join(self.dir, "ready")
        self.proc = subprocess.Popen(pinned([SEALTRACE, "run", "--config", self.cfg,
                                             "--ready-file", self.ready], AGENT_CPUS),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not os.path.exists(self.ready):
            if time.time() > deadline or self.proc.poll() is not None:
                raise SystemExit("wire_bench: agent did not start")
            time.sleep(0.05)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree("/sys/fs/bpf/st-wire-bench-%d" % os.getpid(), ignore_errors=True)


READ_FILE = "/tmp/st-wire-bench-read.bin"     # 1 MiB, cached: the reads and faults below


def write_loop(n, udp=False, mode=None):
    """(wall ns, CPU ns) per write: CPU time is what the tracepoints add;
    wall time also counts waiting for a CPU on a shared machine. mode:
    "pread" or "fault" of READ_FILE instead (the page cache's tracepoints,
    which model hashing uses)."""
    cmd = [WRITE_LOOP, str(n)] + (["--udp"] if udp else []) + (
        ["--" + mode, READ_FILE] if mode else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    f = out.stdout.split()
    return float(f[1]), float(f[3])


def floor_write_loop(n, progs, udp=False, mode=None):
    """write_loop under empty programs on the tracepoints named (wire_floor)."""
    p = subprocess.Popen([WIRE_FLOOR] + progs, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        if p.stdout.readline().strip() != "attached":
            raise SystemExit("wire_bench: %s did not attach" % WIRE_FLOOR)
        return write_loop(n, udp, mode)
    finally:
        p.stdin.close()
        p.wait(30)


class KeepAlive:
    """One keep-alive connection; request() returns the latency in ns."""

    def __init__(self, port, path="/echo", body=bytes(i & 0xff for i in range(1024)),
                 ctype="application/octet-stream"):
        self.msg = ("POST %s HTTP/1.1\r\nHost: b\r\nContent-Type: %s\r\n"
                    "Content-Length: %d\r\n\r\n" % (path, ctype, len(body))).encode() + body
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")

    def request(self):
        a = time.perf_counter_ns()
        self.s.sendall(self.msg)
        length = 0
        while True:
            line = self.f.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        self.f.read(length)
        return time.perf_counter_ns() - a

    def close(self):
        self.s.close()


def interleaved(cap_port, ref_port, rounds, batch, client=KeepAlive):
    """Batches of requests to the captured and to the reference server in
    turn (the first of each round alternates): per round, the ratio of the
    two batches' p50. Both servers are alike and on the same CPU, so the
    ratio cancels what the machine does meanwhile."""
    if APP_CPUS:
        os.sched_setaffinity(0, {int(APP_CPUS)})
    cap, ref = client(cap_port), client(ref_port)
    try:
        ratios, all_cap, all_ref = [], [], []
        for r in range(rounds):
            got = {}
            for name, conn in ((("cap", cap), ("ref", ref)) if r % 2 == 0 else
                               (("ref", ref), ("cap", cap))):
                lat = sorted(conn.request() for _ in range(batch))
                got[name] = lat[len(lat) // 2]
                (all_cap if name == "cap" else all_ref).extend(lat)
            ratios.append(got["cap"] / got["ref"])
        all_cap.sort()
        all_ref.sort()
        return {"ratios": ratios, "cap_rps": 1e9 * len(all_cap) / sum(all_cap),
                "ref_rps": 1e9 * len(all_ref) / sum(all_ref),
                "cap_p50_us": all_cap[len(all_cap) // 2] / 1000,
                "ref_p50_us": all_ref[len(all_ref) // 2] / 1000,
                "cap_p99_us": all_cap[int(len(all_cap) * 0.99)] / 1000,
                "ref_p99_us": all_ref[int(len(all_ref) * 0.99)] / 1000}
    finally:
        cap.close()
        ref.close()
        os.sched_setaffinity(0, range(os.cpu_count()))


def summary(values):
    v = sorted(values)
    return {"median": statistics.median(v), "min": v[0], "max": v[-1]}


def capture_share(samples, without, with_):
    """Two alike servers A and B, the agent capturing A: per round p50(A) /
    p50(B); capture's share of A's p50 is the ratio with the agent over the
    ratio without it (which is the two servers' own offset). Also the spread
    of the per-run ratios without an agent: the method's resolution."""
    off = [x for r in samples for x in r[without]["ratios"]]
    on = [x for r in samples for x in r[with_]["ratios"]]
    out = {
        "ratio_without_agent": summary(off),
        "ratio_with_agent": summary(on),
        "p50_added_by_capture_pct": 100 * (statistics.median(on) / statistics.median(off) - 1),
        "p50_added_by_capture_pct_per_run": summary([
            100 * (statistics.median(r[with_]["ratios"]) /
                   statistics.median(r[without]["ratios"]) - 1) for r in samples]),
        "ratio_without_agent_per_run": summary([statistics.median(r[without]["ratios"])
                                                for r in samples]),
    }
    keys = [k for k in samples[0][without] if k.endswith(("_us", "_rps"))]
    for phase in (without, with_):
        out[phase] = {k: summary([r[phase][k] for r in samples]) for k in keys}
    return out


def fmt(x, unit="", prec=1):
    return "%+.*f%s [%+.*f..%+.*f]" % (prec, x["median"], unit, prec, x["min"], prec, x["max"])


SOCKET_FLOOR = ["send", "recv", "state"]
SYSCALL_FLOOR = ["enter", "exit"]
PAGE_CACHE_FLOOR = ["pages", "map", "fault"]


def start_server():
    port = free_port()
    srv = subprocess.Popen(pinned([sys.executable, SERVER, str(port)], APP_CPUS),
                           stdout=subprocess.PIPE, text=True)
    srv.stdout.readline()
    return srv, port


# ~1 KiB of JSON: a credit-decision prompt, 4 tokens generated
ENGINE_BODY = json.dumps({"prompt": ("Applicant A-00017 earns 52,000 a year, has no missed "
                                     "payments and asks for 12,000 over 36 months. " * 12)[:990],
                          "n_predict": 4}).encode()


def engine_client(port):
    return KeepAlive(port, path="/completion", body=ENGINE_BODY, ctype="application/json")


def start_engine():
    """A real model server: ../shared/testbed's node-llama-cpp (libllama)
    behind Node's http, tiny GGUF model, one thread; None if unavailable."""
    port = free_port()
    srv = testbed.serve(port, APP_CPUS)
    deadline = time.time() + 120
    while time.time() < deadline and srv.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return srv, port
        except OSError:
            time.sleep(0.2)
    srv.kill()
    return None, port


def wire_prog_ns(enable):
    """Run time so far of the loaded wire programs (kernel.bpf_stats_enabled
    switched on or off around the measured phase)."""
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=%d" % enable], check=True)
    out = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"], check=True,
                                    capture_output=True, text=True).stdout)
    return sum(p.get("run_time_ns", 0) for p in out if p.get("name", "").startswith("wire_"))


def engine_part(args, res):
    """Part 4: the same method on two alike real model servers."""
    why = testbed.setup()
    if why:
        print("wire: real model server: unavailable (%s)" % why)
        res["engine"] = {"unavailable": why}
        return
    (cap, cap_port), (ref, ref_port) = start_engine(), start_engine()
    eng = {"runs": args.engine_runs, "rounds": args.engine_rounds, "batch": args.engine_batch,
           "body_bytes": len(ENGINE_BODY), "samples": []}
    try:
        if not cap or not ref:
            raise SystemExit("wire_bench: the model server did not start")
        interleaved(cap_port, ref_port, 4, args.engine_batch, engine_client)    # warm up
        for run in range(args.engine_runs):
            r = {}

            def without():
                r["without_agent"] = interleaved(cap_port, ref_port, args.engine_rounds,
                                                 args.engine_batch, engine_client)

            def with_agent():
                agent = Agent(cap.pid, cap_port, path="/completion")
                try:
                    t0 = wire_prog_ns(True)
                    r["with_agent"] = interleaved(cap_port, ref_port, args.engine_rounds,
                                                  args.engine_batch, engine_client)
                    # both ends' socket I/O, per request to A
                    r["bpf_us_per_request"] = (wire_prog_ns(False) - t0) / 1000 / (
                        args.engine_rounds * args.engine_batch)
                finally:
                    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=0"])
                    agent.stop()
            for step in ((without, with_agent) if run % 2 == 0 else (with_agent, without)):
                step()
            eng["samples"].append(r)
    finally:
        for p in (cap, ref):
            if p:
                p.kill()
                p.wait()
    S = eng["samples"]
    eng.update(capture_share(S, "without_agent", "with_agent"))
    eng["bpf_us_per_request"] = summary([r["bpf_us_per_request"] for r in S])
    res["engine"] = eng
    print("wire: real model server (node-llama-cpp, tiny GGUF, POST /completion with %d bytes of "
          "JSON, 4 tokens), two alike, batches of %d in turn, %d rounds x %d runs:" % (
              len(ENGINE_BODY), args.engine_batch, args.engine_rounds, args.engine_runs))
    for phase, label in (("without_agent", "no agent"), ("with_agent", "agent capturing A")):
        x = eng[phase]
        print("wire:   %-18s A p50 %7.2f ms p99 %7.2f ms %5.1f req/s | B p50 %7.2f ms p99 %7.2f ms "
              "%5.1f req/s" % (label, x["cap_p50_us"]["median"] / 1000,
                               x["cap_p99_us"]["median"] / 1000, x["cap_rps"]["median"],
                               x["ref_p50_us"]["median"] / 1000, x["ref_p99_us"]["median"] / 1000,
                               x["ref_rps"]["median"]))
    null = eng["ratio_without_agent_per_run"]
    print("wire: p50 added by capture on the model server: %+.2f %% (per run: %s); resolution: "
          "A/B per run without any agent spans %.3f..%.3f" % (
              eng["p50_added_by_capture_pct"], fmt(eng["p50_added_by_capture_pct_per_run"], " %", 2),
              null["min"], null["max"]))
    print("wire: capture's kernel programs per request (bpf_stats wall time, preemption included: "
          "an upper bound; both ends' socket I/O): %s, %.3f %% of A's p50" % (
              fmt(eng["bpf_us_per_request"], " us", 2),
              100 * eng["bpf_us_per_request"]["median"] / eng["with_agent"]["cap_p50_us"]["median"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--writes", type=int, default=1000000)
    ap.add_argument("--udp-writes", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=20, help="batch pairs per server run")
    ap.add_argument("--batch", type=int, default=200, help="requests per batch")
    ap.add_argument("--engine-runs", type=int, default=5)
    ap.add_argument("--engine-rounds", type=int, default=8)
    ap.add_argument("--engine-batch", type=int, default=10)
    ap.add_argument("--no-engine", action="store_true", help="skip the real model server part")
    ap.add_argument("--no-pin", action="store_true",
                    help="leave the agent, the servers and the client unpinned")
    ap.add_argument("--reads", type=int, default=1000000,
                    help="pread()s of a cached file by a non-target, per variant and run")
    ap.add_argument("--faults", type=int, default=100000,
                    help="map, fault, unmap cycles of a cached file by a non-target")
    ap.add_argument("--json")
    args, _ = ap.parse_known_args()
    with open(READ_FILE, "wb") as f:
        f.write(os.urandom(1 << 20))
    global AGENT_CPUS, APP_CPUS
    if not args.no_pin and os.cpu_count() >= 2:
        AGENT_CPUS, APP_CPUS = "0", "1"
    cap_srv, cap_port = start_server()
    ref_srv, ref_port = start_server()
    res = {"runs": args.runs, "writes": args.writes, "udp_writes": args.udp_writes,
           "reads": args.reads, "faults": args.faults,
           "rounds": args.rounds, "batch": args.batch, "pinned": bool(APP_CPUS),
           "load_start": os.getloadavg()[0], "samples": []}
    try:
        interleaved(cap_port, ref_port, 2, args.batch)     # warm both servers up
        for run in range(args.runs):
            r = {}

            def without():
                r["devnull_without"] = write_loop(args.writes)[1]
                r["devnull_socket_floor"] = floor_write_loop(args.writes, SOCKET_FLOOR)[1]
                r["devnull_syscall_floor"] = floor_write_loop(args.writes, SYSCALL_FLOOR)[1]
                r["udp_without"] = write_loop(args.udp_writes, True)[1]
                r["udp_socket_floor"] = floor_write_loop(args.udp_writes, SOCKET_FLOOR, True)[1]
                r["pread_without"] = write_loop(args.reads, mode="pread")[1]
                r["pread_floor"] = floor_write_loop(args.reads, PAGE_CACHE_FLOOR, mode="pread")[1]
                r["fault_without"] = write_loop(args.faults, mode="fault")[1]
                r["fault_floor"] = floor_write_loop(args.faults, PAGE_CACHE_FLOOR, mode="fault")[1]
                r["servers_without_agent"] = interleaved(cap_port, ref_port, args.rounds,
                                                         args.batch)

            def agent_no_models():
                # model_globs: [] leaves the page cache untraced (docs/ARCHITECTURE.md)
                agent = Agent(cap_srv.pid, cap_port, extra="model_globs: []\n")
                try:
                    r["devnull_with_agent_no_models"] = write_loop(args.writes)[1]
                    r["pread_with_agent_no_models"] = write_loop(args.reads, mode="pread")[1]
                    r["fault_with_agent_no_models"] = write_loop(args.faults, mode="fault")[1]
                finally:
                    agent.stop()

            def with_agent():
                agent = Agent(cap_srv.pid, cap_port)     # captures one of the two
                try:
                    r["devnull_with_agent"] = write_loop(args.writes)[1]
                    r["udp_with_agent"] = write_loop(args.udp_writes, True)[1]
                    r["pread_with_agent"] = write_loop(args.reads, mode="pread")[1]
                    r["fault_with_agent"] = write_loop(args.faults, mode="fault")[1]
                    r["servers_with_agent"] = interleaved(cap_port, ref_port, args.rounds,
                                                          args.batch)
                finally:
                    agent.stop()
            steps = [without, with_agent, agent_no_models]
            for i in range(len(steps)):     # rotate: no variant always first
                steps[(run + i) % len(steps)]()
            res["samples"].append(r)
    finally:
        for p in (cap_srv, ref_srv):
            p.kill()
            p.wait()
    S = res["samples"]
    res["non_target_devnull_write_ns_added"] = {
        "agent": summary([r["devnull_with_agent"] - r["devnull_without"] for r in S]),
        "agent_model_globs_none": summary([r["devnull_with_agent_no_models"] - r["devnull_without"]
                                           for r in S]),
        "socket_tracepoint_floor": summary([r["devnull_socket_floor"] - r["devnull_without"] for r in S]),
        "syscall_tracepoint_floor": summary([r["devnull_syscall_floor"] - r["devnull_without"] for r in S]),
        "cpu_ns_without": summary([r["devnull_without"] for r in S])}
    res["non_target_udp_send_ns_added"] = {
        "agent": summary([r["udp_with_agent"] - r["udp_without"] for r in S]),
        "socket_tracepoint_floor": summary([r["udp_socket_floor"] - r["udp_without"] for r in S]),
        "cpu_ns_without": summary([r["udp_without"] for r in S])}
    for kind in ("pread", "fault"):
        res["non_target_%s_ns_added" % kind] = {
            "agent": summary([r[kind + "_with_agent"] - r[kind + "_without"] for r in S]),
            "agent_model_globs_none": summary([r[kind + "_with_agent_no_models"] -
                                               r[kind + "_without"] for r in S]),
            "page_cache_tracepoint_floor": summary([r[kind + "_floor"] - r[kind + "_without"]
                                                    for r in S]),
            "cpu_ns_without": summary([r[kind + "_without"] for r in S])}
    srv_res = capture_share(S, "servers_without_agent", "servers_with_agent")
    srv_res["ref_p50_added_by_agent_pct"] = summary([
        100 * (r["servers_with_agent"]["ref_p50_us"] / r["servers_without_agent"]["ref_p50_us"] - 1)
        for r in S])
    res["server_1k"] = srv_res
    d, u = res["non_target_devnull_write_ns_added"], res["non_target_udp_send_ns_added"]
    print("wire: non-target write() to /dev/null (CPU %.0f ns each), added per call, "
          "median [min..max] of %d x %d:" % (d["cpu_ns_without"]["median"], args.runs, args.writes))
    print("wire:   sealtrace agent (wire capture on another process)  %s" % fmt(d["agent"], " ns"))
    print("wire:   the same agent with model_globs: [] (no model hashing) %s" % fmt(d["agent_model_globs_none"], " ns"))
    print("wire:   floor: empty programs on its socket tracepoints     %s" % fmt(d["socket_tracepoint_floor"], " ns"))
    print("wire:   floor: empty raw sys_enter + sys_exit programs      %s" % fmt(d["syscall_tracepoint_floor"], " ns"))
    print("wire: non-target send() of 1 byte on UDP (CPU %.0f ns each), added per call, %d x %d:" % (
        u["cpu_ns_without"]["median"], args.runs, args.udp_writes))
    print("wire:   sealtrace agent                                     %s" % fmt(u["agent"], " ns"))
    print("wire:   floor: empty programs on its socket tracepoints     %s" % fmt(u["socket_tracepoint_floor"], " ns"))
    for kind, what, n in (("pread", "one-byte pread() of a cached file", args.reads),
                          ("fault", "map + fault + unmap of a cached file", args.faults)):
        x = res["non_target_%s_ns_added" % kind]
        print("wire: non-target %s (CPU %.0f ns each), added per call, %d x %d:" % (
            what, x["cpu_ns_without"]["median"], args.runs, n))
        print("wire:   sealtrace agent (model hashing: page cache tracepoints) %s" % fmt(x["agent"], " ns"))
        print("wire:   the same agent with model_globs: []                %s" % fmt(x["agent_model_globs_none"], " ns"))
        print("wire:   floor: empty programs on the page cache tracepoints %s" % fmt(x["page_cache_tracepoint_floor"], " ns"))
    print("wire: two alike servers (1 KiB POST, keep-alive, CPU %s; agent on %s), batches of %d "
          "in turn, %d rounds x %d runs:" % (APP_CPUS or "any", AGENT_CPUS or "any", args.batch,
                                              args.rounds, args.runs))
    for phase, label in (("servers_without_agent", "no agent"),
                         ("servers_with_agent", "agent capturing A")):
        x = srv_res[phase]
        print("wire:   %-18s A p50 %6.1f us p99 %6.1f us | B p50 %6.1f us p99 %6.1f us" % (
            label, x["cap_p50_us"]["median"], x["cap_p99_us"]["median"],
            x["ref_p50_us"]["median"], x["ref_p99_us"]["median"]))
    print("wire:   p50 A / p50 B per round: no agent %.4f [%.3f..%.3f], agent capturing A "
          "%.4f [%.3f..%.3f]" % (srv_res["ratio_without_agent"]["median"],
                                 srv_res["ratio_without_agent"]["min"],
                                 srv_res["ratio_without_agent"]["max"],
                                 srv_res["ratio_with_agent"]["median"],
                                 srv_res["ratio_with_agent"]["min"],
                                 srv_res["ratio_with_agent"]["max"]))
    print("wire: p50 added by capture: %+.2f %% (per run: %s); p50 of B (not captured) with the "
          "agent running: %s" % (srv_res["p50_added_by_capture_pct"],
                                 fmt(srv_res["p50_added_by_capture_pct_per_run"], " %", 2),
                                 fmt(srv_res["ref_p50_added_by_agent_pct"], " %", 2)))
    if not args.no_engine:
        engine_part(args, res)
    res["load_end"] = os.getloadavg()[0]
    path = args.json or os.path.join(ROOT, "bench", "results",
                                     time.strftime("%Y-%m-%d-%H%M") + "-wire.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    print("wire: figures in %s" % (args.json or os.path.relpath(path, ROOT)))


if __name__ == "__main__":
    main()
