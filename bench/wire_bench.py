#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Wire capture costs (make bench, after bench.py).

1. A process that is NOT a target doing 10^6 one-byte write()s, with and
   without an agent whose wire capture watches another process: the
   difference is what the syscall tracepoints cost everyone else (one
   tgid lookup per syscall). Reported as ns per syscall, median of runs.
2. A real server (tests/e2e/servers/scoring_http.py, Python http.server)
   answering 1 KiB POST bodies over keep-alive: requests/s and p50/p99
   latency seen by the client, without and with capture.

usage: wire_bench.py [--runs N] [--requests N] [--json FILE]
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


class Agent:
    def __init__(self, srv_pid, port):
        self.dir = tempfile.mkdtemp(prefix="st-wire-bench-")
        keys = os.path.join(self.dir, "keys")
        subprocess.run([SEALTRACE, "keygen", "--dir", keys], check=True, capture_output=True)
        exe = os.path.basename(os.readlink("/proc/%d/exe" % srv_pid))
        self.cfg = os.path.join(self.dir, "c.yaml")
        with open(self.cfg, "w") as f:
            f.write("system_id: bench\noperator_id: bench\nstate_dir: %s/state\n"
                    "keys: {dir: %s}\npin_dir: /sys/fs/bpf/st-wire-bench-%d\n"
                    "metrics: {listen: \"\"}\nfsync: {every_ms: 100}\n"
                    "targets:\n  - name: srv\n    exe: %s\n    pid: %d\n"
                    "    http: {ports: [%d], paths: [/echo]}\n" % (
                        self.dir, keys, os.getpid(), exe, srv_pid, port))
        self.ready = os.path.join(self.dir, "ready")
        self.proc = subprocess.Popen([SEALTRACE, "run", "--config", self.cfg,
                                      "--ready-file", self.ready],
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


def write_loop(n):
    """(wall ns, CPU ns) per write: CPU time is what the tracepoints add;
    wall time also counts waiting for a CPU on a shared machine."""
    out = subprocess.run([WRITE_LOOP, str(n)], check=True, capture_output=True, text=True)
    f = out.stdout.split()
    return float(f[1]), float(f[3])


def floor_write_loop(n):
    """write_loop under empty programs on the same raw tracepoints."""
    p = subprocess.Popen([WIRE_FLOOR], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if p.stdout.readline().strip() != "attached":
            raise SystemExit("wire_bench: %s did not attach" % WIRE_FLOOR)
        return write_loop(n)
    finally:
        p.stdin.close()
        p.wait(30)


def cpu_ns(pid):
    """utime + stime of the whole process (exited threads included), in ns."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e9 / os.sysconf("SC_CLK_TCK")


def client(port, n, size=1024, srv_pid=None):
    body = bytes(i & 0xff for i in range(size))
    head = ("POST /echo HTTP/1.1\r\nHost: b\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: %d\r\n\r\n" % size).encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    lat = []
    c0 = cpu_ns(srv_pid) if srv_pid else 0
    t0 = time.perf_counter()
    for _ in range(n):
        a = time.perf_counter_ns()
        s.sendall(head + body)
        length = 0
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        f.read(length)
        lat.append(time.perf_counter_ns() - a)
    wall = time.perf_counter() - t0
    c1 = cpu_ns(srv_pid) if srv_pid else 0
    s.close()
    lat.sort()
    return {"req_per_s": n / wall, "p50_us": lat[len(lat) // 2] / 1000,
            "p99_us": lat[int(len(lat) * 0.99)] / 1000,
            "server_cpu_us_per_req": (c1 - c0) / n / 1000}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--writes", type=int, default=1000000)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--json")
    args, _ = ap.parse_known_args()
    port = free_port()
    srv = subprocess.Popen([sys.executable, SERVER, str(port)], stdout=subprocess.PIPE, text=True)
    srv.stdout.readline()
    res = {"non_target_write": {}, "server_1k": {}}
    try:
        base, withw, floor, srv_off, srv_on = [], [], [], [], []
        # alternate without/with, so that drift in the machine's load
        # (a shared VM) falls on both sides alike
        for _ in range(args.runs):
            base.append(write_loop(args.writes))
            floor.append(floor_write_loop(args.writes))
            srv_off.append(client(port, args.requests, srv_pid=srv.pid))
            agent = Agent(srv.pid, port)
            try:
                withw.append(write_loop(args.writes))
                srv_on.append(client(port, args.requests, srv_pid=srv.pid))
            finally:
                agent.stop()
        b = statistics.median(x[1] for x in base)
        w = statistics.median(x[1] for x in withw)
        res["non_target_write"] = {
            "cpu_ns_without": b, "cpu_ns_with_agent": w, "cpu_ns_added": w - b,
            "wall_ns_without": statistics.median(x[0] for x in base),
            "wall_ns_with_agent": statistics.median(x[0] for x in withw),
            "cpu_ns_empty_programs": statistics.median(x[1] for x in floor),
            "runs": args.runs, "writes": args.writes}
        for name, runs in (("without", srv_off), ("with_capture", srv_on)):
            res["server_1k"][name] = {k: statistics.median(r[k] for r in runs)
                                      for k in ("req_per_s", "p50_us", "p99_us",
                                                "server_cpu_us_per_req")}
        off, on = res["server_1k"]["without"], res["server_1k"]["with_capture"]
        res["server_1k"]["p50_added_pct"] = 100 * (on["p50_us"] - off["p50_us"]) / off["p50_us"]
    finally:
        srv.kill()
        srv.wait()
    nt = res["non_target_write"]
    print("wire: non-target write(): CPU %.1f ns without, %.1f ns with the agent: %+.1f ns/syscall "
          "(wall %.1f / %.1f ns; median of %d x %d)" % (
              nt["cpu_ns_without"], nt["cpu_ns_with_agent"], nt["cpu_ns_added"],
              nt["wall_ns_without"], nt["wall_ns_with_agent"], args.runs, args.writes))
    fl = nt["cpu_ns_empty_programs"] - nt["cpu_ns_without"]
    print("wire: the floor, empty programs on the same two raw tracepoints: %+.1f ns/syscall; "
          "wire capture costs %.2f x that floor" % (fl, nt["cpu_ns_added"] / fl if fl > 0 else 0))
    for name in ("without", "with_capture"):
        r = res["server_1k"][name]
        print("wire: server 1 KiB %-12s %8.0f req/s  p50 %7.1f us  p99 %7.1f us  "
              "server CPU %6.1f us/req" % (name, r["req_per_s"], r["p50_us"], r["p99_us"],
                                          r["server_cpu_us_per_req"]))
    print("wire: p50 added by capture: %+.1f %%" % res["server_1k"]["p50_added_pct"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
