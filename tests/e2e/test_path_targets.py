"""`path:` targets seen from every mount namespace, and what `status` shows.

* a `path:` is the host's file (through /proc/1/root when the agent runs in a
  container) *and* the file at that path inside any process's own mount
  namespace: a copy in a container image is another file, with probes (and
  a probe name, status row and /metrics series) of its own, and container_id
  on its probe_attached;
* a `path:` naming a shared library is discovered when a process loads it,
  like `maps:` (system_activation, model_loaded, system_deactivation);
* the status snapshot is written once more at a clean stop;
* a pin_dir bpffs cannot create is refused with the real reason.
"""
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile

from harness import Agent, Target, eq, run, target, wait_for, SEALTRACE
from test_lifecycle import NsTarget, PREDICT, check_loop_records


def path_target(name, path, probes):
    y = "  - name: %s\n    path: %s\n    probes:\n" % (name, path)
    for p in probes:
        y += "      - " + p + "\n"
    return y


def cgroup_root():
    for d in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        if os.path.exists(os.path.join(d, "cgroup.procs")):
            return d
    raise AssertionError("no writable cgroup hierarchy under /sys/fs/cgroup")


class ContainerCgroup:
    """A cgroup named like a container runtime's (64 hex digits): what
    /proc/PID/cgroup shows for a process in a docker/containerd container."""

    def __init__(self):
        self.id = secrets.token_hex(32)
        self.path = os.path.join(cgroup_root(), "st-e2e-%s.scope" % self.id)
        os.mkdir(self.path)

    def add(self, pid):
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write("%d\n" % pid)

    def remove(self):
        try:
            os.rmdir(self.path)
        except OSError:
            pass


def status_json(a):
    p = run([SEALTRACE, "status", "--state-dir", a.state, "--json"], check=False)
    return json.loads(p.stdout)


def test_path_target_same_path_host_and_container():
    """One `path:`, a host process running the host's file and a process in
    its own mount namespace (in a container's cgroup) running another file
    at the same path: both attached (the container's through /proc/PID/root),
    N records each, distinct probe names (status rows), container_id on the
    container's probe_attached and records."""
    n, seed, cap = 200, 5, 128
    tmp = tempfile.mkdtemp(prefix="st-e2e-pathns-")
    hidden = os.path.join(tmp, "hidden")
    mnt = os.path.join(tmp, "mnt")
    os.makedirs(hidden)
    os.makedirs(mnt)
    exe = "st-pathns"
    host_file = os.path.join(mnt, exe)
    shutil.copy(target("workload"), host_file)          # the host's file
    shutil.copy(target("workload"), os.path.join(hidden, exe))  # the "image's"
    args = ["loop", "--count", str(n), "--seed", str(seed), "--cap", str(cap)]
    a = th = tc = cg = None
    try:
        th = Target([host_file] + args, tmp, "host")
        tc = NsTarget(hidden, mnt, exe, args)
        cg = ContainerCgroup()
        cg.add(tc.host_pid)
        a = Agent("pathns", path_target("pathns", host_file, [PREDICT % cap]))
        a.start()
        th.go_and_wait()
        tc.go_and_wait()
        eq(a.stop(), 0, "agent exit status")
        short = "pathns:st_predict@" + cg.id[:12]
        att = {r["probe"]: r for r in a.of_type("probe_attached")}
        eq(sorted(att), sorted(["pathns:st_predict", short]), "probe_attached records")
        eq(att["pathns:st_predict"]["details"]["path"], host_file, "host file")
        eq(att["pathns:st_predict"]["container_id"], None, "host file: no container")
        eq(att[short]["details"]["path"], "/proc/%d/root%s" % (tc.host_pid, host_file),
           "container's file through /proc/PID/root")
        eq(att[short]["container_id"], cg.id, "container_id of the container's file")
        recs = a.of_type("inference")
        host_recs = [r for r in recs if r["pid"] == th.pid]
        ctr_recs = [r for r in recs if r["pid"] == tc.host_pid]
        check_loop_records(a, host_recs, n, seed, cap, "host process")
        check_loop_records(a, ctr_recs, n, seed, cap, "container process")
        eq({r["probe"] for r in host_recs}, {"pathns:st_predict"}, "host records' probe")
        eq({(r["probe"], r["container_id"]) for r in ctr_recs}, {(short, cg.id)},
           "container records' probe and container_id")
        rows = {p["probe"]: p for p in status_json(a)["probes"]}
        eq(sorted(rows), sorted(["pathns:st_predict", short]), "status rows")
        for name in rows:
            eq((rows[name]["hits"], rows[name]["persisted"]), (n, n), "status of %s" % name)
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        for t in (th, tc):
            if t is not None and t.proc.poll() is None:
                t.proc.kill()
                t.proc.wait()
        if a:
            a.cleanup()
        if cg:
            cg.remove()
        shutil.rmtree(tmp, ignore_errors=True)


def test_path_only_in_a_namespace_is_found():
    """A `path:` that exists only inside a process's mount namespace (not on
    the host): the agent starts (it used to exit 2, "cannot open") and
    records the process's calls; a path nobody has is still exit 2."""
    n, seed, cap = 100, 9, 64
    tmp = tempfile.mkdtemp(prefix="st-e2e-pathonly-")
    hidden = os.path.join(tmp, "hidden")
    mnt = os.path.join(tmp, "mnt")
    os.makedirs(hidden)
    os.makedirs(mnt)
    exe = "st-pathonly"
    shutil.copy(target("workload"), os.path.join(hidden, exe))
    path = os.path.join(mnt, exe)
    args = ["loop", "--count", str(n), "--seed", str(seed), "--cap", str(cap)]
    a = t = None
    try:
        t = NsTarget(hidden, mnt, exe, args)
        assert not os.path.exists(path), "the file is visible on the host"
        a = Agent("pathonly", path_target("pathonly", path, [PREDICT % cap]))
        a.start()
        t.go_and_wait()
        eq(a.stop(), 0, "agent exit status")
        att = a.of_type("probe_attached")
        eq([r["details"]["path"] for r in att], ["/proc/%d/root%s" % (t.host_pid, path)],
           "attached in the process's root")
        act = a.of_type("system_activation")
        eq([(r["pid"], r["details"]["reason"]) for r in act], [(t.host_pid, "found_at_start")],
           "activation")
        check_loop_records(a, a.of_type("inference"), n, seed, cap, "namespace process")
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        if t:
            t.kill()
        if a:
            a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def test_path_library_target_is_discovered_at_load():
    """`path:` naming a shared library that an engine dlopen()s at run time:
    system_activation (library_load), model_loaded with the file's sha256,
    N records carrying model_artifact, system_deactivation at exit."""
    n = 50
    tmp = tempfile.mkdtemp(prefix="st-e2e-pathlib-")
    lib = os.path.join(tmp, "libstlib.so")
    shutil.copy(target("libstlib.so"), lib)
    model = os.path.join(tmp, "weights.gguf")
    with open(model, "wb") as f:
        f.write(os.urandom((1 << 20) + 3))
    with open(model, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    go = os.path.join(tmp, "go")
    a = Agent("pathlib", path_target(
        "pathlib", lib, ['symbol: st_lib_predict\n        input: {ptr: "%di", len: "%si"}']))
    p = None
    try:
        a.start()
        p = subprocess.Popen([target("dlload"), lib, model, "--count", str(n), "--go", go],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        eq(p.stdout.readline().split("=")[0], "ready pid", "dlload started")
        eq(p.stdout.readline().strip(), "loaded", "library and model open")
        wait_for(lambda: a.of_type("model_loaded"), timeout=30, what="model_loaded on disk")
        open(go, "w").close()
        out, err = p.communicate(timeout=60)
        eq(p.returncode, 0, "dlload exit status (%s)" % err)
        eq(a.stop(), 0, "agent exit status")
        act = a.of_type("system_activation")
        eq([(r["pid"], r["details"]["reason"], r["details"]["file"]) for r in act],
           [(p.pid, "library_load", lib)], "activation at library load")
        ml = a.of_type("model_loaded")
        eq([(r["pid"], r["model_artifact"]) for r in ml], [(p.pid, digest)], "model_loaded")
        recs = a.of_type("inference")
        eq(sorted(r["input_hash"] for r in recs),
           sorted(a.ref(b"call-%d" % i) for i in range(n)), "inference records")
        eq({r["model_artifact"] for r in recs}, {digest}, "records carry the model")
        deact = a.of_type("system_deactivation")
        eq([(r["pid"], r["details"].get("exit_code")) for r in deact], [(p.pid, 0)],
           "deactivation")
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        if p and p.poll() is None:
            p.kill()
            p.wait()
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def test_library_reached_by_a_symlink_is_not_attached():
    """A process maps a library whose file is then deleted, and a symlink
    named like the deleted mapping ("libstlib.so (deleted)") is put where
    the agent will look, pointing at another copy (the agent's root
    resolves it; in a container it would be a host file). Found at start
    under a `maps:` target, the agent attaches to nothing the process does
    not have: the activation says why, no probe_attached."""
    tmp = tempfile.mkdtemp(prefix="st-e2e-libdecoy-")
    lib = os.path.join(tmp, "libstlib.so")
    shutil.copy(target("libstlib.so"), lib)
    model = os.path.join(tmp, "weights.bin")
    with open(model, "wb") as f:
        f.write(b"w")
    decoy_dir = os.path.join(tmp, "decoy")
    os.mkdir(decoy_dir)
    decoy = os.path.join(decoy_dir, "libstlib.so")
    shutil.copy(target("libstlib.so"), decoy)
    go = os.path.join(tmp, "go")
    a = Agent("libdecoy", "  - name: libdecoy\n    maps: libstlib.so\n    probes:\n"
              '      - symbol: st_lib_predict\n        input: {ptr: "%di", len: "%si"}\n')
    p = None
    try:
        p = subprocess.Popen([target("dlload"), lib, model, "--count", "5", "--go", go],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        eq(p.stdout.readline().split("=")[0], "ready pid", "dlload started")
        eq(p.stdout.readline().strip(), "loaded", "library loaded")
        os.unlink(lib)
        os.symlink(decoy, lib + " (deleted)")
        a.start()
        open(go, "w").close()
        p.communicate(timeout=60)
        eq(p.returncode, 0, "dlload exit status")
        eq(a.stop(), 0, "agent exit status")
        act = [r for r in a.of_type("system_activation") if r["pid"] == p.pid]
        eq(len(act), 1, "activation of the process found at start")
        assert "not the file the process has" in act[0]["details"].get("attach_error", ""), act
        eq(a.of_type("probe_attached"), [], "probes attached")
        eq([r for r in a.of_type("inference") if r["pid"] == p.pid], [],
           "records of the process whose library is gone")
    finally:
        if p and p.poll() is None:
            p.kill()
            p.wait()
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def test_status_after_clean_stop_counts_the_last_calls():
    """Calls recorded after the agent's last one-second status tick (calls
    and SIGTERM right after a tick): the snapshot written at stop has them
    (before, `status` showed hits 0, persisted 0 while the log had 20)."""
    n, seed, cap = 20, 3, 32
    wd = os.environ.get("TMPDIR", "/tmp")
    t = Target([target("workload"), "loop", "--count", str(n), "--seed", str(seed),
                "--cap", str(cap)], wd, "laststatus")
    a = Agent("laststatus", path_target("laststatus", target("workload"), [PREDICT % cap])
              .replace("    probes:", "    pid: %d\n    probes:" % t.pid))
    status = os.path.join(a.state, "agent", "status.json")
    try:
        a.start()
        # right after a tick: calls and stop well before the next one
        wait_for(lambda: os.path.exists(status), what="first status snapshot")
        before = os.stat(status).st_mtime_ns
        wait_for(lambda: os.stat(status).st_mtime_ns != before, what="a status tick")
        t.go_and_wait()
        eq(a.stop(), 0, "agent exit status")
        eq(len(a.of_type("inference")), n, "inference records")
        rows = status_json(a)["probes"]
        eq([(r["probe"], r["hits"], r["persisted"]) for r in rows],
           [("laststatus:st_predict", n, n)], "status after stop")
    finally:
        if t.proc.poll() is None:
            t.proc.kill()
        a.cleanup()


def test_pin_dir_with_a_dot_is_refused():
    """bpffs refuses '.' in names (EPERM, which read like a privilege
    problem): --check-config and run say so, exit 2, nothing created."""
    a = Agent("pindot", path_target("pindot", target("workload"), ["symbol: st_predict"]))
    try:
        with open(a.config) as f:
            text = f.read().replace(a.pin_dir, "/sys/fs/bpf/st-e2e.pindot")
        with open(a.config, "w") as f:
            f.write(text)
        for argv in (["run", "--check-config", a.config],
                     ["run", "--config", a.config, "--duration", "1"]):
            p = run([SEALTRACE] + argv, check=False)
            eq(p.returncode, 2, "exit status of %s" % argv[:2])
            assert "pin_dir: 'st-e2e.pindot': bpffs does not allow '.' in names" in p.stderr, \
                p.stderr
        assert not os.path.exists("/sys/fs/bpf/st-e2e.pindot")
    finally:
        a.cleanup()


def test_pin_dir_not_on_bpffs_is_a_clear_error():
    """A pin_dir outside bpffs (no bpffs on the node, or a container given
    its own /sys): exit 3 at start, naming what the node needs."""
    a = Agent("pinfs", path_target("pinfs", target("workload"), ["symbol: st_predict"]))
    pins = os.path.join(a.dir, "pins")      # on the work dir's file system
    try:
        with open(a.config) as f:
            text = f.read().replace(a.pin_dir, pins)
        with open(a.config, "w") as f:
            f.write(text)
        p = run([SEALTRACE, "run", "--config", a.config, "--duration", "1"], check=False)
        eq(p.returncode, 3, "exit status")
        assert "pin_dir %s: %s is not a bpf file system" % (pins, a.dir) in p.stderr, p.stderr
        assert "mount bpffs at /sys/fs/bpf before the agent starts" in p.stderr, p.stderr
        assert not os.path.exists(pins), "pin_dir created outside bpffs"
    finally:
        a.cleanup()
