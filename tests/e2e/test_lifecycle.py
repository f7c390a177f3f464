"""Lifecycle e2e: discovery across mount/pid namespaces, exec discovery with
hold, lifecycle records, model fingerprints, and the real llama.cpp engine.

Exact counts throughout: N calls made -> N inference records, one
probe_attached per (probe, file), one system_activation/deactivation per
process.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from harness import Agent, Skip, eq, run, target, wait_for, ROOT
import workload_inputs as wi

PREDICT = ('symbol: st_predict\n        input: {ptr: "%%di", len: "%%si", max: %d}\n'
           '        output: {ptr: "%%dx", len: "%%ax", at: return}')


def exe_target(name, exe, probes, extra=""):
    y = "  - name: %s\n    exe: %s\n%s    probes:\n" % (name, exe, extra)
    for p in probes:
        y += "      - " + p + "\n"
    return y


def check_loop_records(a, recs, n, seed, cap, what):
    """recs: the inference records of one process; inputs reproduced exactly."""
    eq(len(recs), n, "%s: inference records" % what)
    by_i = sorted(recs, key=lambda r: r["details"]["kseq"])
    for i, r in enumerate(by_i):
        data = wi.input_bytes(seed, i, cap)
        eq(r["input_hash"], a.ref(data[:cap]), "%s: input_hash of call %d" % (what, i))
        eq(r["output_reference"], a.ref(wi.output_bytes(data, 64)),
           "%s: output of call %d" % (what, i))


class NsTarget:
    """The workload in its own mount+pid namespace; the binary is reachable
    only under a directory bind-mounted inside that namespace."""

    def __init__(self, hidden_dir, mnt, exe, args):
        self.go = os.path.join(os.path.dirname(mnt), "go-%d" % time.monotonic_ns())
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--pid", "--fork", "--propagation", "private",
             "sh", "-c", script, "sh", hidden_dir, mnt, os.path.join(mnt, exe)] + args +
            ["--go", self.go], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise AssertionError("ns target did not start: %r %s" % (line, self.proc.stderr.read()))
        # ready pid=1: it is the init of its own pid namespace
        self.ns_pid = int(line.split("=")[1])
        self.host_pid = self._host_pid()

    def _host_pid(self):
        # unshare -> (fork) child: the exec'd workload
        with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
            return int(f.read().split()[0])

    def go_and_wait(self, timeout=120):
        open(self.go, "w").close()
        out, err = self.proc.communicate(timeout=timeout)
        if self.proc.returncode != 0:
            raise AssertionError("ns target exited %d: %s %s" % (self.proc.returncode, out, err))
        return out

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_namespace_discovery_shared_attachment():
    """(a) A target in its own mount+pid namespace, its binary only under a
    bind mount there: found at agent start, attached through /proc/PID/root,
    N calls logged exactly; a second copy in another namespace, started after
    the agent, shares the attachment (one probe_attached)."""
    n, seed, cap = 300, 7, 256
    tmp = tempfile.mkdtemp(prefix="st-e2e-ns-")
    hidden = os.path.join(tmp, "hidden")
    mnt = os.path.join(tmp, "mnt")        # empty on the host
    os.makedirs(hidden)
    os.makedirs(mnt)
    exe = "st-nsload"                      # a name no other test runs
    shutil.copy(target("workload"), os.path.join(hidden, exe))
    args = ["loop", "--count", str(n), "--seed", str(seed), "--cap", str(cap)]
    a = t1 = t2 = None
    try:
        t1 = NsTarget(hidden, mnt, exe, args)
        assert not os.path.exists(os.path.join(mnt, exe)), "binary visible on the host"
        a = Agent("ns", exe_target("ns", exe, [PREDICT % cap]))
        a.start()
        t2 = NsTarget(hidden, mnt, exe, args)   # held at exec until attached
        eq(t1.ns_pid, 1, "first copy is pid 1 of its namespace")
        t1.go_and_wait()
        t2.go_and_wait()
        eq(a.stop(), 0, "agent exit status")
        att = a.of_type("probe_attached")
        eq(len(att), 1, "probe_attached records (one file, shared)")
        eq(att[0]["details"]["path"], "/proc/%d/root%s/%s" % (t1.host_pid, mnt, exe),
           "attached through /proc/PID/root")
        act = a.of_type("system_activation")
        eq(sorted((r["pid"], r["details"]["reason"]) for r in act),
           sorted([(t1.host_pid, "found_at_start"), (t2.host_pid, "exec")]), "activations")
        eq({r["details"]["held"] for r in act if r["pid"] == t2.host_pid}, {True},
           "second copy held until attached")
        deact = a.of_type("system_deactivation")
        eq(sorted((r["pid"], r["details"].get("exit_code")) for r in deact),
           sorted([(t1.host_pid, 0), (t2.host_pid, 0)]), "deactivations")
        recs = a.of_type("inference")
        for t in (t1, t2):
            check_loop_records(a, [r for r in recs if r["pid"] == t.host_pid], n, seed, cap,
                               "pid %d" % t.host_pid)
        eq(len(recs), 2 * n, "inference records in all")
        eq(len(a.of_type("incomplete")), 0, "incomplete records")
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        for t in (t1, t2):
            if t:
                t.kill()
        if a:
            a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def test_exec_discovery_from_first_call():
    """(b) A target started after the agent that calls at once (no start
    protocol): discovered via exec, held until attached, every call logged."""
    n, seed, cap = 500, 11, 512
    tmp = tempfile.mkdtemp(prefix="st-e2e-exec-")
    exe = "st-execload"
    path = os.path.join(tmp, exe)
    shutil.copy(target("workload"), path)
    a = Agent("exec", exe_target("exec", exe, [PREDICT % cap]))
    try:
        a.start()
        p = run([path, "loop", "--count", str(n), "--seed", str(seed), "--cap", str(cap)])
        assert "done calls=%d" % n in p.stdout, p.stdout
        pid = int(p.stdout.split("ready pid=")[1].split()[0])
        # a second run of the same file: same attachment, its own lifecycle
        p2 = run([path, "loop", "--count", str(n), "--seed", str(seed), "--cap", str(cap)])
        pid2 = int(p2.stdout.split("ready pid=")[1].split()[0])
        eq(a.stop(), 0, "agent exit status")
        recs = a.of_type("inference")
        check_loop_records(a, [r for r in recs if r["pid"] == pid], n, seed, cap, "first run")
        check_loop_records(a, [r for r in recs if r["pid"] == pid2], n, seed, cap, "second run")
        eq(len(a.of_type("probe_attached")), 1, "probe_attached records")
        act = a.of_type("system_activation")
        eq(sorted(r["pid"] for r in act), sorted([pid, pid2]), "activations")
        for r in act:
            eq(r["details"]["reason"], "exec", "activation reason")
            eq(r["details"]["held"], True, "held at exec")
            eq(r["details"]["exe"], path, "exe")
            eq(r["comm"], exe, "comm")
        eq(sorted(r["pid"] for r in a.of_type("system_deactivation")), sorted([pid, pid2]),
           "deactivations")
        # order in the system stream: activation before the process's exit
        sysrecs = a.records("system")
        kinds = [(r["event_type"], r["pid"]) for r in sysrecs
                 if r["event_type"] in ("system_activation", "system_deactivation")]
        eq(kinds, [("system_activation", pid), ("system_deactivation", pid),
                   ("system_activation", pid2), ("system_deactivation", pid2)], "lifecycle order")
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def test_model_fingerprint_and_signal_exit():
    """A tracked process opens a model artifact (openat in its own namespace
    view) and is then killed by a signal: model_loaded with the file's true
    sha256 and size, every later inference record carries model_artifact and
    the configured model_version, system_deactivation names the signal."""
    n = 40
    tmp = tempfile.mkdtemp(prefix="st-e2e-model-")
    exe = "st-modelsrv"
    path = os.path.join(tmp, exe)
    shutil.copy(target("model_server"), path)
    model = os.path.join(tmp, "weights.safetensors")
    with open(model, "wb") as f:
        f.write(os.urandom((3 << 20) + 17))
    with open(model, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    other = os.path.join(tmp, "config.json")     # opened too, no model glob
    with open(other, "w") as f:
        f.write("{}")
    extra = "models:\n  - {sha256: %s, version: \"credit-v7\"}\n" % digest
    a = Agent("model", exe_target("model", exe, ["symbol: st_infer"]), extra=extra)
    go = os.path.join(tmp, "go")
    try:
        a.start()
        p = subprocess.Popen([path, "--model", model, "--open", other, "--count", str(n),
                              "--go", go, "--signal", "15"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        assert line.startswith("ready"), line
        time.sleep(1)   # the model is hashed on the agent's worker meanwhile
        open(go, "w").close()
        p.communicate(timeout=60)
        eq(p.returncode, -signal.SIGTERM, "target killed by SIGTERM")
        eq(a.stop(), 0, "agent exit status")
        ml = a.of_type("model_loaded")
        eq(len(ml), 1, "model_loaded records")
        eq(ml[0]["pid"], p.pid, "model_loaded pid")
        eq(ml[0]["model_artifact"], digest, "model_artifact")
        eq(ml[0]["model_version"], "credit-v7", "model_version")
        eq(ml[0]["details"]["path"], model, "model path")
        eq(ml[0]["details"]["size"], (3 << 20) + 17, "model size")
        recs = a.of_type("inference")
        eq(len(recs), n, "inference records")
        eq({(r["model_artifact"], r["model_version"]) for r in recs}, {(digest, "credit-v7")},
           "inference records carry the model")
        deact = a.of_type("system_deactivation")
        eq(len(deact), 1, "deactivations")
        eq(deact[0]["details"].get("signal"), signal.SIGTERM, "exit signal")
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
