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

from harness import Agent, Skip, eq, run, target, wait_for, ROOT, SEALTRACE
import workload_inputs as wi

PREDICT = ('symbol: st_predict\n        input: {ptr: "%%di", len: "%%si", max: %d}\n'
           '        output: {ptr: "%%dx", len: "%%ax", at: return}')


def exe_target(name, exe, probes, extra=""):
    y = "  - name: %s\n    exe: %s\n%s    probes:\n" % (name, exe, extra)
    for p in probes:
        y += "      - " + p + "\n"
    return y


def model_server_copy(tmp, exe):
    """tests/targets/model_server copied into tmp under the name exe."""
    path = os.path.join(tmp, exe)
    shutil.copy(target("model_server"), path)
    return path


def random_file(path, size):
    """size random bytes at path; their sha256 (hex)."""
    data = os.urandom(size)
    with open(path, "wb") as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest()


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
        # uprobes are per inode: the second copy runs a file already covered
        eq({r["details"]["held"] for r in act if r["pid"] == t2.host_pid}, {False},
           "second copy of a covered file not held")
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
            # the first run was held until attached; the second runs a file
            # whose probes are in (per inode): covered from its first call
            eq(r["details"]["held"], r["pid"] == pid, "held at exec (pid %d)" % r["pid"])
            eq(r["details"].get("hold_expired"), None, "hold within its bound")
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
    path = model_server_copy(tmp, exe)
    model = os.path.join(tmp, "weights.safetensors")
    digest = random_file(model, (3 << 20) + 17)
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


def test_model_read_closed_mapped_or_loaded_before_the_agent():
    model_read_variants("")


def test_model_read_variants_with_openat():
    """The same four processes where model files are seen by their opens
    (model_detection: openat, what a kernel before 6.10 gets): the same
    records."""
    model_read_variants("model_detection: openat\n")


def model_read_variants(extra):
    """Model files are found by their reads and faults, not by openat (no
    syscall tracepoint): one read and closed at once (found by its path
    inside its file system), one only mapped (a page fault, no read()), one
    loaded by a process that ran before the agent (found at start among its
    open files), one read from tmpfs (no page cache tracepoint: found by the
    rescan of open files). Each gives exactly one model_loaded with its own
    sha256 and path; a file read that matches no glob gives none."""
    tmp = tempfile.mkdtemp(prefix="st-e2e-modelread-")
    shm = tempfile.mkdtemp(prefix="st-e2e-modelread-", dir="/dev/shm")
    exe = "st-modelrd"
    path = model_server_copy(tmp, exe)
    models, digest = {}, {}
    for how in ("close", "mmap", "before", "tmpfs"):
        models[how] = os.path.join(shm if how == "tmpfs" else tmp, "%s-weights.gguf" % how)
        digest[how] = random_file(models[how], (1 << 20) + len(how))
    other = os.path.join(tmp, "tokenizer.json")   # read too, no model glob
    with open(other, "w") as f:
        f.write("{}")
    a = Agent("modelrd", exe_target("modelrd", exe, ["symbol: st_infer"]), extra=extra)
    procs, go = {}, {}

    def start(how):
        go[how] = os.path.join(tmp, "go-" + how)
        procs[how] = subprocess.Popen(
            [path, "--model", models[how], "--load", how if how in ("close", "mmap") else "read",
             "--open", other, "--count", "5", "--go", go[how]] +
            # loaded after the agent's first look at it: the rescan finds it
            (["--sleep-ms", "500"] if how == "tmpfs" else []),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = procs[how].stdout.readline()
        assert line.startswith("ready"), line

    def loaded(how):
        return [r for r in a.of_type("model_loaded") if r["pid"] == procs[how].pid]
    try:
        start("before")
        a.start()
        for how in ("close", "mmap", "tmpfs"):
            start(how)
        for how in procs:
            wait_for(lambda: loaded(how), timeout=30, what="model_loaded of %s" % how)
            open(go[how], "w").close()
            procs[how].communicate(timeout=60)
            eq(procs[how].returncode, 0, "%s: exit status" % how)
        eq(a.stop(), 0, "agent exit status")
        for how in procs:
            ml = loaded(how)
            eq(len(ml), 1, "%s: model_loaded records" % how)
            eq(ml[0]["model_artifact"], digest[how], "%s: sha256" % how)
            eq(ml[0]["details"]["path"], models[how], "%s: path" % how)
            eq(ml[0]["details"]["size"], (1 << 20) + len(how), "%s: size" % how)
        pids = {p.pid for p in procs.values()}
        eq(len([r for r in a.of_type("model_loaded") if r["pid"] in pids]), 4,
           "model_loaded records of the four")
        act = {r["pid"]: r["details"]["reason"] for r in a.of_type("system_activation")}
        eq(act.get(procs["before"].pid), "found_at_start", "the early process found at start")
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)


def test_model_globs_that_are_not_suffixes():
    """A target's own model_globs that are neither "*<literal>" nor
    "<literal>*" ("ckpt-[0-9]*"): the kernel then reports every file's
    first read and the agent decides by fnmatch. A checkpoint named by the
    glob gives one model_loaded with its sha256; a *.gguf file, not in this
    target's globs, gives none."""
    tmp = tempfile.mkdtemp(prefix="st-e2e-modelglob-")
    exe = "st-modelglob"
    path = model_server_copy(tmp, exe)
    ckpt = os.path.join(tmp, "ckpt-0007")
    digest = random_file(ckpt, 300000)
    other = os.path.join(tmp, "weights.gguf")   # a model name, not this target's
    random_file(other, 4096)
    a = Agent("modelglob", exe_target("modelglob", exe, ["symbol: st_infer"],
                                      extra='    model_globs: ["ckpt-[0-9]*"]\n'))
    go = os.path.join(tmp, "go")
    try:
        a.start()
        p = subprocess.Popen([path, "--model", ckpt, "--open", other, "--count", "3",
                              "--go", go], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        line = p.stdout.readline()
        assert line.startswith("ready"), line
        wait_for(lambda: a.of_type("model_loaded"), timeout=30, what="model_loaded")
        open(go, "w").close()
        p.communicate(timeout=60)
        eq(p.returncode, 0, "exit status")
        eq(a.stop(), 0, "agent exit status")
        ml = a.of_type("model_loaded")
        eq([(r["pid"], r["model_artifact"], r["details"]["path"]) for r in ml],
           [(p.pid, digest, ckpt)], "model_loaded: the checkpoint only")
        eq({r["model_artifact"] for r in a.of_type("inference")}, {digest},
           "inference records carry it")
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def ollama_blobs(extra):
    """Ollama's blob store (blobs/sha256-<hex>: the weights, and also the
    template and the license), with the default model_globs: the GGUF blob
    gives one model_loaded, its sha256 the one in its name; the template
    and the license blobs, also read, give none. The kernel's name filter
    is on (sha256-* is a prefix)."""
    tmp = tempfile.mkdtemp(prefix="st-e2e-ollama-")
    blobs = os.path.join(tmp, "models", "blobs")
    os.makedirs(blobs)
    exe = "st-ollamaish"
    path = model_server_copy(tmp, exe)
    weights = b"GGUF\x03\x00\x00\x00" + os.urandom(300000)
    digest = hashlib.sha256(weights).hexdigest()
    model = os.path.join(blobs, "sha256-" + digest)
    with open(model, "wb") as f:
        f.write(weights)
    others = []
    for text in ("{{ .System }} {{ .Prompt }}", "MIT License\n" * 50):
        name = os.path.join(blobs, "sha256-" + hashlib.sha256(text.encode()).hexdigest())
        with open(name, "w") as f:
            f.write(text)
        others.append(name)
    a = Agent("ollama", exe_target("ollama", exe, ["symbol: st_infer"]), extra=extra)
    go = os.path.join(tmp, "go")
    p = None
    try:
        a.start()
        p = subprocess.Popen([path, "--model", model, "--open", others[0], "--open", others[1],
                              "--count", "3", "--go", go],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        assert line.startswith("ready"), line
        wait_for(lambda: a.of_type("model_loaded"), timeout=30, what="model_loaded")
        time.sleep(1)   # the other blobs' reads were reported with it, or never
        open(go, "w").close()
        p.communicate(timeout=60)
        eq(p.returncode, 0, "exit status")
        eq(a.stop(), 0, "agent exit status")
        eq([(r["pid"], r["model_artifact"], r["details"]["path"])
            for r in a.of_type("model_loaded")], [(p.pid, digest, model)],
           "model_loaded: the GGUF blob only")
        eq({r["model_artifact"] for r in a.of_type("inference")}, {digest},
           "inference records carry it")
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        if p is not None and p.poll() is None:
            p.kill()
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def test_ollama_blob_store():
    ollama_blobs("")


def test_ollama_blob_store_with_openat():
    ollama_blobs("model_detection: openat\n")


class ManyReads:
    """A model_server target that loads its model, then reads the first byte
    of n_files other files while the agent is stopped (SIGSTOP); name(i)
    names file i. run() returns once the reads are done and the agent
    resumed; the caller lets the target finish (finish()) and cleans up
    (close())."""

    def __init__(self, tag, model_name, target_extra, n_files, name):
        self.tmp = tempfile.mkdtemp(prefix="st-e2e-%s-" % tag)
        exe = "st-" + tag
        self.path = model_server_copy(self.tmp, exe)
        self.model = os.path.join(self.tmp, model_name)
        self.digest = random_file(self.model, 8192)
        self.many = os.path.join(self.tmp, "many")
        os.mkdir(self.many)
        for i in range(n_files):
            with open(os.path.join(self.many, name(i)), "w") as f:
                f.write("x")
        self.a = Agent(tag, exe_target(tag, exe, ["symbol: st_infer"], extra=target_extra))
        self.go = os.path.join(self.tmp, "go")
        self.p = None

    def run(self):
        a = self.a
        a.start()
        self.p = subprocess.Popen([self.path, "--model", self.model, "--read-dir", self.many,
                                   "--sleep-ms", "1500", "--count", "2", "--go", self.go],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: [r for r in a.of_type("system_activation") if r["pid"] == self.p.pid],
                 timeout=30, what="activation on disk")
        a.proc.send_signal(signal.SIGSTOP)
        try:
            line = self.p.stdout.readline()     # after the reads
            assert line.startswith("ready"), line
        finally:
            a.proc.send_signal(signal.SIGCONT)

    def finish(self):
        open(self.go, "w").close()
        self.p.communicate(timeout=60)
        eq(self.p.returncode, 0, "target exit status")
        eq(self.a.stop(), 0, "agent exit status")

    def check_model_and_exit(self, what):
        """Its model fingerprinted, its exit recorded, the log verified."""
        a = self.a
        eq([(r["pid"], r["model_artifact"]) for r in a.of_type("model_loaded")],
           [(self.p.pid, self.digest)], "model_loaded: the model only, " + what)
        eq(len([r for r in a.of_type("system_deactivation") if r["pid"] == self.p.pid]), 1,
           "exit recorded, " + what)
        eq(a.verify().returncode, 0, "verify exit status")

    def close(self):
        if self.p is not None and self.p.poll() is None:
            self.p.kill()
        self.a.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)


def test_lifecycle_ring_full_is_a_loss_record():
    """Discovery's ring filled while the agent was stopped (SIGSTOP): a
    target whose model globs are neither suffixes nor prefixes reads 5,000
    files, each first read an event, more than the ring holds. The gap is
    one `loss` record (probe lifecycle, reason lifecycle_ringbuf_full,
    0 < count <= the reads), not silence; what came before and after it is
    recorded (model_loaded, the exit), and verify passes."""
    n_files = 5000
    m = ManyReads("lcfull", "ckpt-1", '    model_globs: ["ckpt-[0-9]*"]\n', n_files,
                  lambda i: "f-%05d" % i)
    a = m.a
    try:
        m.run()
        wait_for(lambda: [r for r in a.of_type("loss") if r.get("probe") == "lifecycle"],
                 timeout=30, what="lifecycle loss record")
        # the SRE's completeness check sees it too (the snapshot is 1 s behind)
        got = {}

        def status():
            got["st"] = run([SEALTRACE, "status", "--state-dir", a.state, "--json"],
                            check=False)
            return json.loads(got["st"].stdout).get("lifecycle_events_lost")
        wait_for(status, timeout=10, what="lifecycle_events_lost in status")
        st = got["st"]
        eq(st.returncode, 1, "status exit status (incomplete)")
        m.finish()
        loss = [r for r in a.of_type("loss") if r.get("probe") == "lifecycle"]
        eq(len(loss), 1, "lifecycle loss records")
        eq(loss[0]["details"]["reason"], "lifecycle_ringbuf_full", "reason")
        count = loss[0]["details"]["count"]
        assert 0 < count <= n_files + 2, "lost %d of %d reads" % (count, n_files + 2)
        eq(json.loads(st.stdout)["lifecycle_events_lost"], count, "status: the same count")
        m.check_model_and_exit("around the gap")
    finally:
        m.close()


def test_kernel_filters_reads_by_name():
    """The default model_globs (suffixes and the sha256-* prefix) are
    checked in the kernel: a target that reads 5,000 other files while the
    agent is stopped (SIGSTOP) puts no event of theirs in the discovery
    ring, so nothing is lost (the same reads fill it when a glob is neither
    suffix nor prefix, test_lifecycle_ring_full_is_a_loss_record); its
    model, read before them, is fingerprinted. Ten of the files are named
    like Ollama's blobs: reported by the kernel, not GGUF, no record."""
    m = ManyReads("lcfilter", "w.gguf", "", 5000,
                  lambda i: ("sha256-x%05d" if i < 10 else "f-%05d") % i)
    a = m.a
    try:
        m.run()
        m.finish()
        eq([r for r in a.of_type("loss") if r.get("probe") == "lifecycle"], [],
           "lifecycle loss records")
        m.check_model_and_exit("the sha256-x* files are not GGUF")
    finally:
        m.close()


def test_model_symlink_resolves_in_the_process_root():
    """A model path that is a symlink, opened by a process in a mount
    namespace of its own (model_detection: openat, where the agent opens
    the file by the name the process used): the agent hashes what the link
    names in the process's root, never the file it would name in the
    agent's own root (a privileged agent led to hash a host file)."""
    tmp = tempfile.mkdtemp(prefix="st-e2e-modelns-")
    exe = "st-modelns"
    path = model_server_copy(tmp, exe)
    host_file = os.path.join(tmp, "host-only")      # what the agent's root has there
    ns_file = os.path.join(tmp, "ns-content")       # mounted over it in the namespace
    random_file(host_file, 4096)
    ns_digest = random_file(ns_file, 4096)
    link = os.path.join(tmp, "model.gguf")
    os.symlink(host_file, link)                     # absolute: resolved in a root
    a = Agent("modelns", exe_target("modelns", exe, ["symbol: st_infer"]),
              extra="model_detection: openat\n")
    go = os.path.join(tmp, "go")
    p = None
    try:
        a.start()
        p = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             'mount --bind "$1" "$2" && exec "$3" --model "$4" --count 3 --go "$5"',
             "sh", ns_file, host_file, path, link, go],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        assert line.startswith("ready"), line + p.stderr.read()
        wait_for(lambda: a.of_type("model_loaded"), timeout=30, what="model_loaded")
        open(go, "w").close()
        p.communicate(timeout=60)
        eq(p.returncode, 0, "target exit status")
        eq(a.stop(), 0, "agent exit status")
        ml = a.of_type("model_loaded")
        eq([(r["pid"], r["details"]["path"]) for r in ml], [(p.pid, link)], "model_loaded")
        eq(ml[0]["model_artifact"], ns_digest, "the file the process sees (not the agent's)")
    finally:
        if p is not None and p.poll() is None:
            p.kill()
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- the real llama.cpp engine (../shared/testbed) ----

def testbed_dir():
    d = os.environ.get("SEALTRACE_TESTBED") or os.path.join(ROOT, "..", "shared", "testbed")
    if not os.path.isfile(os.path.join(d, "setup.sh")):
        raise Skip("testbed not found at %s (set SEALTRACE_TESTBED)" % d)
    return os.path.abspath(d)


def testbed_env(tb):
    """Install (idempotent, ~10 s) and read testbed.env; Skip when it cannot."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise Skip("node/npm not installed: the llama.cpp testbed needs them")
    p = subprocess.run(["bash", os.path.join(tb, "setup.sh")], capture_output=True, text=True,
                       timeout=900)
    if p.returncode != 0:
        raise Skip("testbed setup.sh failed (exit %d): %s" % (
            p.returncode, (p.stdout + p.stderr).strip().splitlines()[-1:]))
    cache = os.environ.get("TESTBED_CACHE", "/tmp/testbed-cache")
    env = {}
    with open(os.path.join(cache, "testbed.env")) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.rstrip("\n").split("=", 1)
                env[k] = v
    return env


def utc_ns(ts):
    """'2026-01-02T03:04:05.123456789Z' -> ns since the epoch."""
    import calendar
    secs, frac = ts.rstrip("Z").split(".")
    t = calendar.timegm(time.strptime(secs, "%Y-%m-%dT%H:%M:%S"))
    return t * 1000000000 + int(frac.ljust(9, "0"))


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_json(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def test_llama_cpp_engine():
    """(c) The real llama.cpp engine (node-llama-cpp's prebuilt libllama)
    under the llama.cpp preset: activation at library load, model_loaded with
    the GGUF's true sha256, one llama_tokenize record per request whose
    input_hash is the HMAC of the prompt sent, one record per llama_decode
    call (= tokens the server reports), deactivation at exit, verify passes."""
    n, n_predict = 6, 5
    tb = testbed_dir()
    env = testbed_env(tb)
    model = env["GGUF_MODEL"]
    digest = run(["sha256sum", model]).stdout.split()[0]
    extra = "models:\n  - {sha256: %s, version: \"tiny-llama-e2e\"}\n" % digest
    # Other sessions may run the same engine: `exe` narrows the target to
    # this test's server, a node under its own name (a hard link, so that
    # /proc/PID/exe says that name too). The server command is serve.sh's.
    tmp = tempfile.mkdtemp(prefix="st-e2e-llama-node-")
    node = os.path.join(tmp, "st-e2e-node")
    try:
        os.link(os.path.realpath(shutil.which("node")), node)
    except OSError:
        shutil.copy(os.path.realpath(shutil.which("node")), node)
    a = Agent("llama", "  - name: llm\n    preset: llama.cpp\n    exe: st-e2e-node\n",
              extra=extra)
    port = free_port()
    server = None
    try:
        a.start()
        logf = open(os.path.join(a.dir, "server.log"), "w")
        server = subprocess.Popen([node, os.path.join(tb, "llm_server.mjs"), "--port", str(port),
                                   "--model", model, "--nlc-dir", env["NLC_DIR"],
                                   "--threads", "1"],
                                  stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        health = {}

        def healthy():
            nonlocal health
            if server.poll() is not None:
                raise AssertionError("server exited %d: %s" % (
                    server.returncode, open(os.path.join(a.dir, "server.log")).read()[-2000:]))
            try:
                health = http_json("http://127.0.0.1:%d/health" % port)
                return health.get("status") == "ok"
            except OSError:
                return False
        wait_for(healthy, timeout=120, what="llama server health")
        eq(health["pid"], server.pid, "server pid")
        # the engine tokenizes a few strings of its own while loading the
        # model; requests are what follows
        t_requests = time.time_ns()
        p = run(["node", os.path.join(tb, "client.mjs"), "--url", "http://127.0.0.1:%d" % port,
                 "-n", str(n), "--n-predict", str(n_predict)], timeout=300)
        assert "succeeded %d/%d" % (n, n) in p.stdout, p.stdout
        tokens = int(p.stdout.split("tokens_predicted_total ")[1].split()[0])
        assert tokens >= n, p.stdout
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        eq(a.stop(), 0, "agent exit status")

        pid = server.pid
        act = [r for r in a.of_type("system_activation") if r["pid"] == pid]
        eq(len(act), 1, "system_activation of the server")
        eq(act[0]["details"]["reason"], "library_load", "activation reason")
        eq(act[0]["details"]["file"], health["engine_lib"], "probed library")
        # node-llama-cpp first loads the library in a short-lived child (a
        # binding test, same executable): also a target, same file, shared.
        att = a.of_type("probe_attached")
        eq(sorted(r["probe"] for r in att), ["llm:llama_decode", "llm:llama_tokenize"],
           "probe_attached records (one library file)")
        ml = [r for r in a.of_type("model_loaded") if r["pid"] == pid]
        eq(len(ml), 1, "model_loaded records")
        eq(ml[0]["model_artifact"], digest, "model sha256 (sha256sum)")
        eq(ml[0]["details"]["size"], os.path.getsize(model), "model size")
        eq(ml[0]["model_version"], "tiny-llama-e2e", "model_version")

        allrecs = [r for r in a.of_type("inference") if r["pid"] == pid]
        recs = [r for r in allrecs if utc_ns(r["timestamp_utc"]) >= t_requests]
        eq({r["probe"] for r in allrecs if r not in recs}, {"llm:llama_tokenize"},
           "records before the first request: the engine's own tokenize calls")
        tok = [r for r in recs if r["probe"] == "llm:llama_tokenize"]
        dec = [r for r in recs if r["probe"] == "llm:llama_decode"]
        eq(len(tok), n, "llama_tokenize records (one per request)")
        eq(len(dec), tokens, "llama_decode records (= tokens_predicted_total)")
        eq(len(recs), n + tokens, "inference records in all")
        want = sorted(a.ref(("hello world, this is request #%d" % i).encode()) for i in range(n))
        eq(sorted(r["input_hash"] for r in tok), want, "tokenize input = the prompts sent")
        for r in tok:
            eq(r["output_len"], 4 * r["ret"], "token ids written = 4 x returned count")
        # the first decode of each request is its prompt (more than one token)
        eq(len([r for r in dec if r["input_len"] > 4]), n, "prompt decodes")
        eq({r["input_len"] for r in dec if r["input_len"] <= 4}, {4}, "one token per step")
        eq({r["model_artifact"] for r in allrecs}, {digest}, "inference records carry the model")
        eq({r["model_version"] for r in allrecs}, {"tiny-llama-e2e"}, "and its version")
        eq(len(a.of_type("incomplete")), 0, "incomplete records")
        deact = [r for r in a.of_type("system_deactivation") if r["pid"] == pid]
        eq(len(deact), 1, "system_deactivation of the server")
        eq(deact[0]["details"].get("exit_code"), 0, "server exit code")
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        if server and server.poll() is None:
            server.kill()
            server.wait()
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def hold_guard(agent_pid):
    """The agent's hold guard: its one child process, named sealtrace-hold."""
    with open("/proc/%d/task/%d/children" % (agent_pid, agent_pid)) as f:
        for pid in map(int, f.read().split()):
            with open("/proc/%d/comm" % pid) as c:
                if c.read().strip() == "sealtrace-hold":
                    return pid
    raise AssertionError("agent %d has no hold guard" % agent_pid)


def test_hold_is_bounded_when_the_agent_is_frozen():
    """A process held at exec by an agent that then freezes (SIGSTOP: what a
    stuck disk does to it) runs again after the hold bound, resumed by the
    agent's guard; once the agent runs again it attaches, records the
    activation with hold_expired, and logs the calls made after that."""
    n, seed, cap = 100, 13, 128
    tmp = tempfile.mkdtemp(prefix="st-e2e-bound-")
    exe = "st-boundload"
    path = os.path.join(tmp, exe)
    shutil.copy(target("workload"), path)
    go = os.path.join(tmp, "go")
    a = Agent("bound", exe_target("bound", exe, [PREDICT % cap]))
    proc = None
    try:
        a.start()
        a.proc.send_signal(signal.SIGSTOP)
        proc = subprocess.Popen([path, "loop", "--count", str(n), "--seed", str(seed),
                                 "--cap", str(cap), "--go", go],
                                stdout=subprocess.PIPE, text=True)
        # held at exec; without a bound it would wait for the agent for ever
        wait_for(lambda: proc_state(proc.pid) == "T", timeout=10, what="held target")
        wait_for(lambda: proc_state(proc.pid) != "T", timeout=30,
                 what="held target resumed with the agent frozen")
        line = proc.stdout.readline()
        assert line.startswith("ready"), line
        eq(proc_state(a.proc.pid), "T", "agent still frozen when the target ran")
        a.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: [r for r in a.of_type("system_activation") if r["pid"] == proc.pid],
                 timeout=30, what="activation on disk")
        open(go, "w").close()
        out, _ = proc.communicate(timeout=60)
        assert "done calls=%d" % n in out, out
        eq(a.stop(), 0, "agent exit status")
        act = [r for r in a.of_type("system_activation") if r["pid"] == proc.pid]
        eq([(r["details"]["held"], r["details"].get("hold_expired")) for r in act],
           [(True, True)], "activation: held, hold bound hit")
        recs = [r for r in a.of_type("inference") if r["pid"] == proc.pid]
        check_loop_records(a, recs, n, seed, cap, "calls after the attach")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def test_successor_resumes_a_process_left_held():
    """An agent killed between holding a new process and resuming it: the
    next agent attaches, resumes it, and its calls are logged from the first."""
    n, seed, cap = 300, 5, 256
    tmp = tempfile.mkdtemp(prefix="st-e2e-held-")
    exe = "st-heldload"
    path = os.path.join(tmp, exe)
    shutil.copy(target("workload"), path)
    a = Agent("held", exe_target("held", exe, [PREDICT % cap]))
    proc = None
    try:
        a.start()
        # frozen, and so is its hold guard (else it would resume the target
        # after ST_HOLD_MAX_MS, before the successor attached)
        guard = hold_guard(a.proc.pid)
        os.kill(guard, signal.SIGSTOP)
        a.proc.send_signal(signal.SIGSTOP)          # frozen: cannot resume anything
        proc = subprocess.Popen([path, "loop", "--count", str(n), "--seed", str(seed),
                                 "--cap", str(cap)], stdout=subprocess.PIPE, text=True)
        wait_for(lambda: proc_state(proc.pid) == "T", timeout=10, what="held target")
        a.kill9()
        os.kill(guard, signal.SIGKILL)
        time.sleep(0.5)
        eq(proc_state(proc.pid), "T", "target still stopped with no agent")
        a.start()
        out, _ = proc.communicate(timeout=60)
        assert "done calls=%d" % n in out, out
        assert "left held" in a.output(), a.output()
        eq(a.stop(), 0, "agent exit status")
        recs = [r for r in a.of_type("inference") if r["pid"] == proc.pid]
        check_loop_records(a, recs, n, seed, cap, "held run")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
        a.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
