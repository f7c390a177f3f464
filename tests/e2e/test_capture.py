"""Capture e2e: real uprobes on real processes, exact counts and digests.

Every test compares what the agent recorded with what the target process
itself passed to the probed function: the input/output references must be
the HMAC (with the agent's key) of exactly those bytes, cut at the cap.
"""
import os
import re
import shutil
import subprocess

from harness import Agent, Target, Skip, eq, run, target, SEALTRACE
import workload_inputs as wi


def probe_yaml(name, path, probes, pid=0):
    y = "  - name: %s\n    path: %s\n" % (name, path)
    if pid:
        y += "    pid: %d\n" % pid
    y += "    probes:\n"
    for p in probes:
        y += "      - " + p + "\n"
    return y


def counters(agent, probe):
    """The kernel counters the agent printed for probe at stop."""
    m = re.search(r"probe %s: hits (\d+) returns (\d+) emitted (\d+) ringbuf_full (\d+) "
                  r"truncated (\d+) faults (\d+)" % re.escape(probe), agent.output())
    if not m:
        raise AssertionError("no counters for %s in agent output:\n%s" % (probe, agent.output()))
    keys = ["hits", "returns", "emitted", "ringbuf_full", "truncated", "faults"]
    return dict(zip(keys, map(int, m.groups())))


def dumped(out, what):
    """Parse `--dump` lines of a target: {i: bytes} for 'in' or 'out'."""
    res = {}
    for line in out.splitlines():
        if line.startswith(what + " i="):
            m = re.match(r"\w+ i=(\d+) len=(\d+) hex=([0-9a-f]*)$", line)
            res[int(m.group(1))] = bytes.fromhex(m.group(3))
    return res


def by_kseq(records, probe):
    recs = [r for r in records if r["probe"] == probe]
    return {r["details"]["kseq"]: r for r in recs}


def run_mode(name, mode_args, probes_spec, count, binary="workload", dump=True):
    """Start target (waiting), agent with a pid filter on it, go, stop; return both."""
    a = None
    t = None
    try:
        workdir = os.environ.get("TMPDIR", "/tmp")
        t = Target([target(binary)] + mode_args + ["--count", str(count)] +
                   (["--dump"] if dump else []), workdir, name)
        a = Agent(name, probe_yaml(name, target(binary), probes_spec, pid=t.pid))
        a.start()
        out = t.go_and_wait()
        eq(a.stop(), 0, "agent exit status")
        return a, out
    except Exception:
        if t and t.proc.poll() is None:
            t.proc.kill()
        if a:
            a.cleanup()
        raise


def test_loop_10000_exact_bytes():
    """N calls with inputs of 0 bytes, exactly the cap, over the cap: N records, exact refs."""
    n, seed, cap = 10000, 42, 4096
    a, out = run_mode("loop", ["loop", "--seed", str(seed), "--cap", str(cap)],
                      ['symbol: st_predict\n        input: {ptr: "%%di", len: "%%si", max: %d}\n'
                       '        output: {ptr: "%%dx", len: "%%ax", at: return}' % cap],
                      n, dump=False)
    try:
        assert "done calls=%d" % n in out, out
        recs = by_kseq(a.of_type("inference", "decision"), "loop:st_predict")
        eq(len(recs), n, "inference records")
        eq(len(a.of_type("incomplete")), 0, "incomplete records")
        truncated = 0
        for i in range(n):
            r = recs[i]
            data = wi.input_bytes(seed, i, cap)
            eq(r["input_len"], len(data), "input_len of call %d" % i)
            eq(r["input_hash"], a.ref(data[:cap]), "input_hash of call %d" % i)
            eq(r["output_reference"], a.ref(wi.output_bytes(data, 64)),
               "output_reference of call %d" % i)
            eq(r["output_len"], 32, "output_len of call %d" % i)
            eq(r["ret"], 32, "ret of call %d" % i)
            if len(data) > cap:
                truncated += 1
                eq(r["details"].get("input_truncated"), True, "truncation flag of call %d" % i)
                eq(r["details"].get("input_captured_len"), cap, "captured len of call %d" % i)
            else:
                eq(r["details"].get("input_truncated"), None, "no truncation on call %d" % i)
        assert truncated > 0 and any(len(wi.input_bytes(seed, i, cap)) == 0 for i in range(n))
        k = counters(a, "loop:st_predict")
        eq(k["hits"], n, "kernel hits")
        eq(k["returns"], n, "kernel returns")
        eq(k["ringbuf_full"], 0, "ring buffer drops")
        eq(k["emitted"], 2 * n, "events emitted")
        eq(k["truncated"], truncated, "kernel truncation count")
        eq(len(a.of_type("loss")), 0, "loss records")
        eq(a.verify().returncode, 0, "verify exit status")
    finally:
        a.cleanup()


def test_struct_by_value_on_stack():
    """llama_batch-like struct passed by value: tokens via +16(%sp), count via +8(%sp):s32."""
    n = 300
    a, out = run_mode("byvalue", ["byvalue"],
                      ['symbol: st_decode\n        input: {ptr: "+16(%sp)", len: "+8(%sp):s32", elem_size: 4}'],
                      n)
    try:
        inputs = dumped(out, "in")
        recs = by_kseq(a.of_type("inference"), "byvalue:st_decode")
        eq(len(recs), n, "inference records")
        for i in range(n):
            eq(recs[i]["input_hash"], a.ref(inputs[i]), "tokens of call %d" % i)
            eq(recs[i]["input_len"], len(inputs[i]), "input_len of call %d" % i)
            eq(recs[i]["ret"], len(inputs[i]) // 4, "ret (n_tokens) of call %d" % i)
    finally:
        a.cleanup()


def test_dereferenced_pointer():
    """data at +8(%di), length at +16(%di) as u32."""
    n = 300
    a, out = run_mode("deref", ["deref"],
                      ['symbol: st_handle\n        input: {ptr: "+8(%di)", len: "+16(%di):u32"}'], n)
    try:
        inputs = dumped(out, "in")
        recs = by_kseq(a.of_type("inference"), "deref:st_handle")
        eq(len(recs), n, "inference records")
        for i in range(n):
            eq(recs[i]["input_hash"], a.ref(inputs[i]), "request bytes of call %d" % i)
    finally:
        a.cleanup()


def test_output_buffer_read_at_return():
    """Output written by the callee: pointer %si fetched at entry, length %ax at return."""
    n = 300
    a, out = run_mode("outbuf", ["outbuf"],
                      ['symbol: st_generate\n        input: {ptr: "+0(%di):string"}\n'
                       '        output: {ptr: "%si", len: "%ax", at: return}'], n)
    try:
        inputs, outputs = dumped(out, "in"), dumped(out, "out")
        recs = by_kseq(a.of_type("inference"), "outbuf:st_generate")
        eq(len(recs), n, "inference records")
        for i in range(n):
            eq(recs[i]["input_hash"], a.ref(inputs[i]), "prompt of call %d" % i)
            eq(recs[i]["output_reference"], a.ref(outputs[i]), "answer of call %d" % i)
            eq(recs[i]["output_len"], len(outputs[i]), "output_len of call %d" % i)
    finally:
        a.cleanup()


def test_nul_terminated_string():
    n = 200
    a, out = run_mode("string", ["string"],
                      ['symbol: st_classify\n        input: {ptr: "+0(%di):string", max: 64}'], n)
    try:
        inputs = dumped(out, "in")
        recs = by_kseq(a.of_type("inference"), "string:st_classify")
        eq(len(recs), n, "inference records")
        for i in range(n):
            eq(recs[i]["input_hash"], a.ref(inputs[i]), "string of call %d" % i)
            eq(recs[i]["input_len"], len(inputs[i]), "string length of call %d" % i)
    finally:
        a.cleanup()


def test_cpp_mangled_symbol():
    n = 200
    nm = run(["nm", target("cpp_target")]).stdout
    m = re.search(r" T (_ZN14sealtrace_test5scoreEPKcm)$", nm, re.M)
    assert m, "mangled score() not found in cpp_target"
    a, out = run_mode("cpp", [], ['symbol: %s\n        input: {ptr: "%%di", len: "%%si"}' % m.group(1)],
                      n, binary="cpp_target", dump=False)
    try:
        recs = a.of_type("inference")
        eq(len(recs), n, "inference records of the C++ target")
    finally:
        a.cleanup()


def test_thread_exit_mid_call_is_incomplete():
    """A thread that dies inside the probed function yields an `incomplete` record."""
    n = 50
    a, out = run_mode("thrd", ["threadexit"],
                      ["symbol: st_infer_then_die", "symbol: st_infer_ok"], n, dump=False)
    try:
        inc = a.of_type("incomplete")
        eq(len(inc), n, "incomplete records")
        eq({r["probe"] for r in inc}, {"thrd:st_infer_then_die"}, "incomplete probe")
        eq({r["details"]["reason"] for r in inc}, {"thread_exit"}, "incomplete reason")
        ok = [r for r in a.of_type("inference") if r["probe"] == "thrd:st_infer_ok"]
        eq(len(ok), n, "completed calls")
        eq(sorted(r["ret"] for r in ok), sorted(2 * i for i in range(n)), "return values")
        eq(len([r for r in a.of_type("inference") if r["probe"] == "thrd:st_infer_then_die"]), 0,
           "dying calls recorded as complete")
    finally:
        a.cleanup()


def test_cet_endbr64_attaches_after_it():
    """A -fcf-protection=full build: the probe goes to function+4, and says so."""
    n = 500
    dis = run(["objdump", "-d", "--no-show-raw-insn", target("cet_target")]).stdout
    m = re.search(r"^([0-9a-f]+) <st_predict>:\n\s+[0-9a-f]+:\s+endbr64", dis, re.M)
    assert m, "cet_target's st_predict does not start with endbr64"
    a, out = run_mode("cet", [], ['symbol: st_predict\n        input: {ptr: "%di", len: "%si"}'],
                      n, binary="cet_target", dump=False)
    try:
        att = a.of_type("probe_attached")
        eq(len(att), 1, "probe_attached records")
        d = att[0]["details"]
        eq(d["endbr64_skipped"], True, "endbr64_skipped")
        eq(int(d["attach_offset"], 16) - int(d["function_offset"], 16), 4, "attach at +4")
        eq(len(a.of_type("inference")), n, "inference records")
    finally:
        a.cleanup()


def test_two_processes_and_pid_filter():
    """Two copies of one binary: both logged without a filter, one with pid: set."""
    n = 400
    probe = 'symbol: st_infer_ok'
    wd = os.environ.get("TMPDIR", "/tmp")
    t1 = Target([target("workload"), "threadexit", "--count", str(n)], wd, "p1")
    t2 = Target([target("workload"), "threadexit", "--count", str(n)], wd, "p2")
    both = Agent("both", probe_yaml("both", target("workload"), [probe]))
    only = Agent("only", probe_yaml("only", target("workload"), [probe], pid=t2.pid))
    try:
        both.start()
        only.start()
        t1.go_and_wait()
        t2.go_and_wait()
        eq(both.stop(), 0, "agent exit")
        eq(only.stop(), 0, "agent exit")
        recs = both.of_type("inference")
        eq(len(recs), 2 * n, "records of both processes")
        eq(sorted({r["pid"] for r in recs}), sorted([t1.pid, t2.pid]), "pids")
        recs = only.of_type("inference")
        eq(len(recs), n, "records with the pid filter")
        eq({r["pid"] for r in recs}, {t2.pid}, "pid filter")
    finally:
        for t in (t1, t2):
            if t.proc.poll() is None:
                t.proc.kill()
        both.cleanup()
        only.cleanup()


def test_missing_symbol_and_file_are_clear_errors():
    a = Agent("missing", probe_yaml("missing", target("workload"), ["symbol: no_such_function"]))
    try:
        p = run([SEALTRACE, "run", "--config", a.config, "--duration", "1"], check=False)
        eq(p.returncode, 2, "exit status for a missing symbol")
        assert "target 'missing'" in p.stderr and target("workload") in p.stderr and \
            "no_such_function" in p.stderr, p.stderr
    finally:
        a.cleanup()
    a = Agent("nofile", probe_yaml("nofile", "/nonexistent/server", ["symbol: predict"]))
    try:
        p = run([SEALTRACE, "run", "--config", a.config, "--duration", "1"], check=False)
        eq(p.returncode, 2, "exit status for a missing file")
        assert "/nonexistent/server" in p.stderr and "cannot open" in p.stderr, p.stderr
    finally:
        a.cleanup()


def test_stripped_binary_by_offset():
    """A stripped copy: symbol lookup fails clearly; the file offset works."""
    n = 100
    wd = os.environ.get("TMPDIR", "/tmp")
    stripped = os.path.join(wd, "workload-stripped-%d" % os.getpid())
    shutil.copy(target("workload"), stripped)
    run(["strip", "--strip-all", stripped])
    sym_off = None
    for line in run(["nm", target("workload")]).stdout.splitlines():
        if line.endswith(" st_handle"):
            sym_off = int(line.split()[0], 16)
    # file offset = vaddr - p_vaddr + p_offset of the text segment
    ph = run(["readelf", "-lW", target("workload")]).stdout
    for m in re.finditer(r"LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) \S+ 0x([0-9a-f]+) \S+ R E", ph):
        off, vaddr, filesz = (int(x, 16) for x in m.groups())
        if vaddr <= sym_off < vaddr + filesz:
            sym_off = sym_off - vaddr + off
    try:
        a = Agent("strip1", probe_yaml("strip1", stripped, ["symbol: st_handle"]))
        p = run([SEALTRACE, "run", "--config", a.config, "--duration", "1"], check=False)
        a.cleanup()
        eq(p.returncode, 2, "exit status for a symbol in a stripped file")
        assert "stripped" in p.stderr and "offset" in p.stderr, p.stderr
        t = Target([stripped, "deref", "--count", str(n)], wd, "strip")
        a = Agent("strip2", probe_yaml("strip2", stripped,
                                       ['offset: 0x%x\n        input: {ptr: "+8(%%di)", len: "+16(%%di):u32"}'
                                        % sym_off], pid=t.pid))
        try:
            a.start()
            t.go_and_wait()
            eq(a.stop(), 0, "agent exit")
            eq(len(a.of_type("inference")), n, "records via file offset")
        finally:
            a.cleanup()
    finally:
        os.unlink(stripped)
