"""End-to-end test harness: real agent, real BPF, real target processes.

Python standard library only. Each test gets a fresh work dir with its own
keys, state dir and pin dir, writes a config, starts `build/sealtrace run`,
starts target processes from build/targets, and reads the records back from
the segment files (gzip members of JSON lines) to assert exact counts.
"""
import gzip
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
SEALTRACE = os.path.join(BUILD, "sealtrace")
TARGETS = os.path.join(BUILD, "targets")


class Skip(Exception):
    """Raised by a test that cannot run here; reported as SKIP, never as a pass."""


def target(name):
    return os.path.join(TARGETS, name)


def run(cmd, check=True, **kw):
    """Run a command, return CompletedProcess with text output."""
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return p


def yaml_str(s):
    return json.dumps(s)  # JSON strings are valid YAML scalars


class Agent:
    """One sealtrace agent with its own keys, state and pins."""

    def __init__(self, name, targets, extra="", keys_dir=None, data_key=None):
        self.dir = tempfile.mkdtemp(prefix="st-e2e-%s-" % name)
        self.data_key = data_key  # sealed segments (encryption.key_file)
        self.keys = keys_dir or os.path.join(self.dir, "keys")
        self.state = os.path.join(self.dir, "state")
        self.pin_dir = "/sys/fs/bpf/st-e2e-%s-%d" % (name, os.getpid())
        self.config = os.path.join(self.dir, "config.yaml")
        self.ready = os.path.join(self.dir, "ready")
        self.log = os.path.join(self.dir, "agent.log")
        self.proc = None
        if not os.path.exists(os.path.join(self.keys, "hmac.key")):
            run([SEALTRACE, "keygen", "--dir", self.keys])
        with open(self.config, "w") as f:
            f.write("system_id: urn:example:ai-system:e2e-%s\n" % name)
            f.write("operator_id: urn:example:operator:e2e\n")
            f.write("node_id: e2e-node\n")
            f.write("state_dir: %s\n" % yaml_str(self.state))
            f.write("keys: {dir: %s}\n" % yaml_str(self.keys))
            f.write("pin_dir: %s\n" % yaml_str(self.pin_dir))
            if data_key:
                f.write("encryption: {key_file: %s}\n" % yaml_str(data_key))
            if "metrics:" not in extra:
                f.write('metrics: {listen: ""}\n')
            f.write(extra)
            f.write("targets:\n")
            f.write(targets)

    def start(self, timeout=30):
        logf = open(self.log, "w")
        self.proc = subprocess.Popen(
            [SEALTRACE, "run", "--config", self.config, "--ready-file", self.ready],
            stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(self.ready):
                return self
            if self.proc.poll() is not None:
                raise AssertionError("agent exited %d:\n%s" % (self.proc.returncode, self.output()))
            time.sleep(0.05)
        raise AssertionError("agent not ready after %ds:\n%s" % (timeout, self.output()))

    def output(self):
        with open(self.log) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc is None:
            return 0
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("agent did not stop within %ds:\n%s" % (timeout, self.output()))
        self.proc = None
        return rc

    def kill9(self):
        """kill -9, as a crash: nothing runs at exit; the next start()
        waits for a fresh ready file."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        os.unlink(self.ready)

    def cleanup(self):
        if self.proc is not None:
            # SIGTERM first: an agent that stops resumes the processes it holds
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.isdir(self.pin_dir):
            shutil.rmtree(self.pin_dir, ignore_errors=True)
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- reading the log back ----
    def records(self, stream=None):
        out = []
        for s in ([stream] if stream else ["system", "decision"]):
            d = os.path.join(self.state, s)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                if not name.endswith(".seg"):
                    continue
                for line in self._segment_lines(os.path.join(d, name)):
                    out.append(json.loads(line))
        return out

    def _segment_lines(self, path):
        """A segment's lines: plain gzip, or sealed (sealtrace decrypt)."""
        with open(path, "rb") as f:
            sealed = f.read(8) == b"sealtrc\x01"
        if sealed:
            p = subprocess.run([SEALTRACE, "decrypt", "--data-key", self.data_key, path],
                               capture_output=True, check=False)
            # the newest segment of a running agent has no final block yet
            # (exit 1 after all its blocks): what came before is whole
            if p.returncode not in (0, 1):
                raise AssertionError("decrypt %s: %s" % (path, p.stderr.decode()))
            return gzip.decompress(p.stdout).decode("utf-8").splitlines()
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return f.read().splitlines()

    def of_type(self, event_type, stream=None):
        return [r for r in self.records(stream) if r["event_type"] == event_type]

    def hmac_key(self):
        """The current HMAC key: (key_id, key bytes), last line of hmac.key."""
        with open(os.path.join(self.keys, "hmac.key")) as f:
            lines = [l.split() for l in f if l.strip() and not l.startswith("#")]
        key_id, hexkey = lines[-1][0], lines[-1][1]
        return key_id, bytes.fromhex(hexkey)

    def ref(self, data):
        key_id, key = self.hmac_key()
        return "hmac-sha256:%s:%s" % (key_id, hmac.new(key, data, hashlib.sha256).hexdigest())

    def verify(self, pubkey=None):
        cmd = [SEALTRACE, "verify", "--state-dir", self.state,
               "--pubkey", pubkey or os.path.join(self.keys, "signing.pub")]
        if self.data_key:
            cmd += ["--data-key", self.data_key]
        return run(cmd, check=False)


LIVE_TARGETS = []


def kill_leftover_targets():
    """Called by the runner after each test: no target outlives its test."""
    while LIVE_TARGETS:
        t = LIVE_TARGETS.pop()
        if t.proc.poll() is None:
            t.proc.kill()
            t.proc.wait()


class Target:
    """A target process that waits for a go-file before it starts calling."""

    def __init__(self, argv, workdir, name="target"):
        self.go = os.path.join(workdir, "go-%s-%d" % (name, time.monotonic_ns()))
        self.proc = subprocess.Popen(argv + ["--go", self.go], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        LIVE_TARGETS.append(self)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise AssertionError("target did not start: %r %s" % (line, self.proc.stderr.read()))
        self.pid = self.proc.pid

    def go_and_wait(self, timeout=300):
        open(self.go, "w").close()
        out, err = self.proc.communicate(timeout=timeout)
        if self.proc.returncode != 0:
            raise AssertionError("target exited %d: %s %s" % (self.proc.returncode, out, err))
        return out


def wait_for(pred, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s" % what)


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))
