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
3. A real server (tests/e2e/servers/scoring_http.py, Python http.server)
   answering 1 KiB POST bodies over keep-alive: requests/s and p50/p99
   latency seen by the client (both on CPU 1; the agent on CPU 0):
   without sealtrace; with a CPU-bound process (sha256sum) on CPU 0 and no
   BPF (what any busy neighbour costs the server on this machine); with
   capture while the agent is stopped (SIGSTOP: the kernel side alone, the
   ring holds the events until it resumes); with capture and the agent
   working. The p50 added is the median of the per-run (paired)
   differences.

Every run alternates all variants, so drift in the machine's load falls
on all of them alike; figures are median [min-max] over the runs.

usage: wire_bench.py [--runs N] [--writes N] [--udp-writes N]
                     [--requests N] [--json FILE]
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


# --pin: the agent on CPU 0, the server and the client on CPU 1, as on a
# node where the agent does not share the server's cores
AGENT_CPUS = None
APP_CPUS = None


def pinned(cmd, cpus):
    return (["taskset", "-c", cpus] + cmd) if cpus else cmd


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


def write_loop(n, udp=False):
    """(wall ns, CPU ns) per write: CPU time is what the tracepoints add;
    wall time also counts waiting for a CPU on a shared machine."""
    cmd = [WRITE_LOOP, str(n)] + (["--udp"] if udp else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    f = out.stdout.split()
    return float(f[1]), float(f[3])


def floor_write_loop(n, progs, udp=False):
    """write_loop under empty programs on the tracepoints named (wire_floor)."""
    p = subprocess.Popen([WIRE_FLOOR] + progs, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        if p.stdout.readline().strip() != "attached":
            raise SystemExit("wire_bench: %s did not attach" % WIRE_FLOOR)
        return write_loop(n, udp)
    finally:
        p.stdin.close()
        p.wait(30)


def cpu_ns(pid):
    """utime + stime of the whole process (exited threads included), in ns."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e9 / os.sysconf("SC_CLK_TCK")


def client(port, n, size=1024, srv_pid=None):
    if APP_CPUS:
        os.sched_setaffinity(0, {int(APP_CPUS)})
    try:
        return client_run(port, n, size, srv_pid)
    finally:
        os.sched_setaffinity(0, range(os.cpu_count()))


def client_run(port, n, size, srv_pid):
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


def summary(values):
    v = sorted(values)
    return {"median": statistics.median(v), "min": v[0], "max": v[-1]}


def fmt(x, unit="", prec=1):
    return "%+.*f%s [%+.*f..%+.*f]" % (prec, x["median"], unit, prec, x["min"], prec, x["max"])


SOCKET_FLOOR = ["send", "recv", "state"]
SYSCALL_FLOOR = ["enter", "exit"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--writes", type=int, default=1000000)
    ap.add_argument("--udp-writes", type=int, default=200000)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--no-pin", action="store_true",
                    help="leave the agent, the server and the client unpinned")
    ap.add_argument("--json")
    args, _ = ap.parse_known_args()
    global AGENT_CPUS, APP_CPUS
    if not args.no_pin and os.cpu_count() >= 2:
        AGENT_CPUS, APP_CPUS = "0", "1"
    port = free_port()
    srv = subprocess.Popen(pinned([sys.executable, SERVER, str(port)], APP_CPUS),
                           stdout=subprocess.PIPE, text=True)
    srv.stdout.readline()
    res = {"runs": args.runs, "writes": args.writes, "udp_writes": args.udp_writes,
           "requests": args.requests, "pinned": bool(APP_CPUS),
           "load_start": os.getloadavg()[0], "samples": []}
    try:
        client(port, args.requests // 4, srv_pid=srv.pid)     # warm the server up
        for run in range(args.runs):
            r = {}

            def without():
                r["devnull_without"] = write_loop(args.writes)[1]
                r["devnull_socket_floor"] = floor_write_loop(args.writes, SOCKET_FLOOR)[1]
                r["devnull_syscall_floor"] = floor_write_loop(args.writes, SYSCALL_FLOOR)[1]
                r["udp_without"] = write_loop(args.udp_writes, True)[1]
                r["udp_socket_floor"] = floor_write_loop(args.udp_writes, SOCKET_FLOOR, True)[1]
                r["server_without"] = client(port, args.requests, srv_pid=srv.pid)

            def neighbour():
                # no BPF at all, a CPU-bound process on the agent's CPU: what
                # any busy neighbour costs the server on this machine
                burner = subprocess.Popen(pinned(["sha256sum", "/dev/zero"], AGENT_CPUS),
                                          stdout=subprocess.DEVNULL)
                try:
                    time.sleep(0.2)
                    r["server_busy_neighbour"] = client(port, args.requests, srv_pid=srv.pid)
                finally:
                    burner.kill()
                    burner.wait()

            def with_agent():
                agent = Agent(srv.pid, port)
                try:
                    r["devnull_with_agent"] = write_loop(args.writes)[1]
                    r["udp_with_agent"] = write_loop(args.udp_writes, True)[1]
                    r["server_with_capture"] = client(port, args.requests, srv_pid=srv.pid)
                    # the kernel side alone: the agent stopped while the
                    # requests run (the ring holds them), then it drains
                    agent.proc.send_signal(signal.SIGSTOP)
                    try:
                        r["server_capture_agent_paused"] = client(port, args.requests,
                                                                  srv_pid=srv.pid)
                    finally:
                        agent.proc.send_signal(signal.SIGCONT)
                finally:
                    agent.stop()
            steps = [without, neighbour, with_agent]
            for i in range(len(steps)):     # rotate: no variant always first
                steps[(run + i) % len(steps)]()
            res["samples"].append(r)
    finally:
        srv.kill()
        srv.wait()
    S = res["samples"]
    res["non_target_devnull_write_ns_added"] = {
        "agent": summary([r["devnull_with_agent"] - r["devnull_without"] for r in S]),
        "socket_tracepoint_floor": summary([r["devnull_socket_floor"] - r["devnull_without"] for r in S]),
        "syscall_tracepoint_floor": summary([r["devnull_syscall_floor"] - r["devnull_without"] for r in S]),
        "cpu_ns_without": summary([r["devnull_without"] for r in S])}
    res["non_target_udp_send_ns_added"] = {
        "agent": summary([r["udp_with_agent"] - r["udp_without"] for r in S]),
        "socket_tracepoint_floor": summary([r["udp_socket_floor"] - r["udp_without"] for r in S]),
        "cpu_ns_without": summary([r["udp_without"] for r in S])}
    srv_res = {}
    variants = ("server_without", "server_busy_neighbour", "server_capture_agent_paused",
                "server_with_capture")
    for name in variants:
        srv_res[name] = {k: summary([r[name][k] for r in S])
                         for k in ("req_per_s", "p50_us", "p99_us", "server_cpu_us_per_req")}
    for name in variants[1:]:
        srv_res[name]["p50_added_pct"] = summary([100 * (r[name]["p50_us"] -
                                                         r["server_without"]["p50_us"]) /
                                                  r["server_without"]["p50_us"] for r in S])
        srv_res[name]["req_per_s_ratio"] = summary([r[name]["req_per_s"] /
                                                    r["server_without"]["req_per_s"] for r in S])
    res["server_1k"] = srv_res
    res["load_end"] = os.getloadavg()[0]
    d, u = res["non_target_devnull_write_ns_added"], res["non_target_udp_send_ns_added"]
    print("wire: non-target write() to /dev/null (CPU %.0f ns each), added per call, "
          "median [min..max] of %d x %d:" % (d["cpu_ns_without"]["median"], args.runs, args.writes))
    print("wire:   sealtrace agent (wire capture on another process)  %s" % fmt(d["agent"], " ns"))
    print("wire:   floor: empty programs on its socket tracepoints     %s" % fmt(d["socket_tracepoint_floor"], " ns"))
    print("wire:   floor: empty raw sys_enter + sys_exit programs      %s" % fmt(d["syscall_tracepoint_floor"], " ns"))
    print("wire: non-target send() of 1 byte on UDP (CPU %.0f ns each), added per call, %d x %d:" % (
        u["cpu_ns_without"]["median"], args.runs, args.udp_writes))
    print("wire:   sealtrace agent                                     %s" % fmt(u["agent"], " ns"))
    print("wire:   floor: empty programs on its socket tracepoints     %s" % fmt(u["socket_tracepoint_floor"], " ns"))
    print("wire: server 1 KiB POST over keep-alive (server and client on CPU %s, agent on %s):" % (
        APP_CPUS or "any", AGENT_CPUS or "any"))
    labels = {"server_without": "without sealtrace",
              "server_busy_neighbour": "busy neighbour, no BPF",
              "server_capture_agent_paused": "capture, agent paused",
              "server_with_capture": "capture, agent working"}
    for name in variants:
        r = srv_res[name]
        extra = ""
        if "p50_added_pct" in r:
            extra = "  p50 %s (paired)" % fmt(r["p50_added_pct"], " %", 2)
        print("wire:   %-24s %6.0f req/s  p50 %6.1f us  p99 %6.1f us  server CPU %6.1f us/req%s" % (
            labels[name], r["req_per_s"]["median"], r["p50_us"]["median"], r["p99_us"]["median"],
            r["server_cpu_us_per_req"]["median"], extra))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
