"""Never silent: agent crashes, restarts, full rings, torn files, fail-closed.

Every test ends with an exact equation between what the kernel saw and what
the log holds: records + calls counted in loss records == calls made.
"""
import calendar
import gzip
import json
import os
import random
import re
import signal
import subprocess
import time
import urllib.request
import zlib

from harness import Agent, Target, eq, run, target, wait_for, SEALTRACE

HERE = os.path.dirname(os.path.abspath(__file__))
WD = os.environ.get("TMPDIR", "/tmp")
PROBE = 'symbol: st_predict\n        input: {ptr: "%di", len: "%si", max: 256}\n' \
        '        output: {ptr: "%dx", len: "%ax", at: return}'


def targets_yaml(name, pid=0):
    y = "  - name: %s\n    path: %s\n" % (name, target("workload"))
    if pid:
        y += "    pid: %d\n" % pid
    return y + "    probes:\n      - " + PROBE + "\n"


def kernel_hits(agent, probe):
    """Kernel hits the agent printed for probe at stop."""
    m = re.search(r"probe %s: hits (\d+) " % re.escape(probe), agent.output())
    assert m, agent.output()
    return int(m.group(1))


def calls_of(agent, probe):
    recs = [r for r in agent.records("decision") if r["probe"] == probe]
    return recs


def lost_of(agent, probe):
    return sum(r["details"]["count"] for r in agent.of_type("loss", "system")
               if r["probe"] == probe)


def status_json(agent):
    p = run([SEALTRACE, "status", "--state-dir", agent.state, "--json"], check=False)
    return p.returncode, json.loads(p.stdout) if p.stdout.strip().startswith("{") else None, p


def test_kill9_restart_loses_nothing():
    """kill -9 mid-stream; the successor drains the pinned ring: exactly N records."""
    n = 200000
    t = Target([target("workload"), "loop", "--len", "16", "--count", str(n)], WD, "k9")
    a = Agent("k9", targets_yaml("k9", t.pid), extra="ringbuf_bytes: 67108864\n")
    try:
        a.start()
        open(t.go, "w").close()
        time.sleep(1.0)
        a.kill9()
        time.sleep(0.5)
        a.start()
        out, err = t.proc.communicate(timeout=300)
        assert "done calls=%d" % n in out, out
        eq(a.stop(), 0, "agent exit")
        recs = calls_of(a, "k9:st_predict")
        kseqs = [r["details"]["kseq"] for r in recs]
        eq(len(set(kseqs)), n, "distinct calls recorded")
        eq(len(recs), n, "inference records (no duplicates)")
        eq(len(a.of_type("loss")), 0, "loss records")
        starts = a.of_type("agent_start")
        eq(len(starts), 2, "agent_start records")
        eq(starts[1]["details"]["resumed"], True, "second start resumed pinned state")
        eq("away_ms" in starts[0]["details"], False, "first start: no previous agent")
        assert 0 <= starts[1]["details"]["away_ms"] < 60000, starts[1]["details"]
        eq(a.verify().returncode, 0, "verify")
    finally:
        if t.proc.poll() is None:
            t.proc.kill()
        a.cleanup()


def test_agent_down_ring_overflow_is_accounted_exactly():
    """Agent stopped, more calls than the ring holds: records + loss == calls."""
    n = 20000
    t = Target([target("workload"), "loop", "--len", "16", "--count", str(n)], WD, "ovf")
    a = Agent("ovf", targets_yaml("ovf", t.pid),
              extra="ringbuf_bytes: 65536\nfsync: {every_ms: 0}\n")
    try:
        a.start()
        eq(a.stop(), 0, "first agent exit")
        out = t.go_and_wait()
        assert "done calls=%d" % n in out
        os.unlink(a.ready)
        a.start()
        wait_for(lambda: os.path.exists(os.path.join(a.state, "agent", "status.json")),
                 what="status.json")
        time.sleep(2.5)
        rc, st, p = status_json(a)
        eq(rc, 1, "status exit with losses (stdout %s stderr %s)" % (p.stdout, p.stderr))
        probe = [x for x in st["probes"] if x["probe"] == "ovf:st_predict"][0]
        assert probe["coverage_percent"] < 100.0, probe
        eq(a.stop(), 0, "agent exit")
        recs = calls_of(a, "ovf:st_predict")
        lost = lost_of(a, "ovf:st_predict")
        assert lost > 0, "a 64 KiB ring cannot hold %d calls" % n
        eq(len(recs) + lost, n, "records (%d) + lost (%d)" % (len(recs), lost))
        # a return event names its process only when its entry is not in the ring
        eq({r["comm"] for r in recs}, {"workload"}, "process name of every call")
        for r in a.of_type("loss"):
            d = r["details"]
            assert d["reason"] in ("ringbuf_full", "agent_down"), d
            assert d["last_kseq"] - d["first_kseq"] + 1 >= d["count"], d
        eq(probe["hits"], n, "kernel hits in status")
        eq(a.verify().returncode, 0, "verify")
    finally:
        if t.proc.poll() is None:
            t.proc.kill()
        a.cleanup()


def utc_ns(ts):
    """'2025-07-01T12:00:00.123456789Z' -> ns since the epoch."""
    sec, frac = ts.rstrip("Z").split(".")
    t = time.strptime(sec, "%Y-%m-%dT%H:%M:%S")
    return (calendar.timegm(t) * 10**9) + int(frac.ljust(9, "0"))


def status_since(agent, since, json_out=True):
    cmd = [SEALTRACE, "status", "--state-dir", agent.state, "--since", since]
    p = run(cmd + (["--json"] if json_out else []), check=False)
    return p.returncode, json.loads(p.stdout) if json_out and p.stdout.startswith("{") else None, p


def test_status_since_judges_the_window():
    """Losses in the log: --since 1h exits 1 with their exact count; --since after them exits 0
    while plain status (cumulative) still exits 1."""
    n = 20000
    probe = "win:st_predict"
    t = Target([target("workload"), "loop", "--len", "16", "--count", str(n)], WD, "win")
    a = Agent("win", targets_yaml("win", t.pid),
              extra="ringbuf_bytes: 65536\nfsync: {every_ms: 0}\n")
    try:
        a.start()
        eq(a.stop(), 0, "first agent exit")
        assert "done calls=%d" % n in t.go_and_wait()
        os.unlink(a.ready)
        a.start()
        wait_for(lambda: os.path.exists(os.path.join(a.state, "agent", "status.json")),
                 what="status.json")
        time.sleep(2.5)
        losses = a.of_type("loss", "system")
        lost = lost_of(a, probe)
        assert lost > 0, "a 64 KiB ring cannot hold %d calls" % n

        rc, st, p = status_since(a, "1h")
        eq(rc, 1, "status --since 1h with losses (stdout %s stderr %s)" % (p.stdout, p.stderr))
        eq(st["verdict_basis"], "window", "verdict basis")
        eq(st["window"]["loss_records"], len(losses), "loss records in the window")
        wp = [x for x in st["window"]["probes"] if x["probe"] == probe][0]
        eq(wp["lost_total"], lost, "calls lost in the window")
        eq(wp["loss_records"], len(losses), "loss records of the probe")
        eq(sum(wp["lost"].values()), lost, "lost by reason adds up")
        eq(wp["persisted"], len(calls_of(a, probe)), "records in the window")
        eq(wp["persisted"] + lost, n, "window: persisted + lost == calls")
        cum = [x for x in st["probes"] if x["probe"] == probe][0]
        eq(cum["lost_total"], lost, "cumulative lost == loss records' counts")

        # A time after the last loss, in whole seconds; wait until it has passed.
        last = max(utc_ns(r["timestamp_utc"]) for r in losses)
        after = last // 10**9 + 1
        while time.time() < after + 0.5:
            time.sleep(0.1)
        rc, st, p = status_since(a, str(after))
        eq(rc, 0, "status --since after the loss (stdout %s stderr %s)" % (p.stdout, p.stderr))
        eq(st["window"]["loss_records"], 0, "no loss record after the loss")
        eq(len(st["notes"]), 1, "cumulative loss noted: %s" % st["notes"])
        assert st["notes"][0].startswith("cumulative: probe %s lost %d of %d calls"
                                         % (probe, lost, n)), st["notes"]
        rfc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(after))
        rc, _, p = status_since(a, rfc, json_out=False)
        eq(rc, 0, "status --since %s: %s %s" % (rfc, p.stdout, p.stderr))
        assert "\ncomplete\nnote: cumulative: probe %s lost %d of %d" % (probe, lost, n) \
            in p.stdout, p.stdout
        rc, _, p = status_json(a)
        eq(rc, 1, "plain status stays cumulative: %s" % p.stdout)
        eq(a.of_type("loss", "system"), losses, "no loss recorded while checking")
        eq(a.stop(), 0, "agent exit")
        eq(a.verify().returncode, 0, "verify")
    finally:
        if t.proc.poll() is None:
            t.proc.kill()
        a.cleanup()


def gzip_members(data):
    """Split concatenated gzip members; return (list of member byte lengths, tail)."""
    sizes = []
    off = 0
    while off < len(data):
        d = zlib.decompressobj(wbits=31)
        try:
            d.decompress(data[off:])
        except zlib.error:
            break
        if not d.eof:
            break
        used = len(data) - off - len(d.unused_data)
        sizes.append(used)
        off += used
    return sizes, len(data) - off


def test_torn_segment_tail_is_recovered():
    """A crash tears the newest segment inside its last block: recovery, chain continues.

    The agent is killed (no final checkpoint), as in a real crash: records
    covered by a signed checkpoint were durable before it was signed, so a
    torn write can only cut records no checkpoint covers yet.
    """
    n = 3000
    extra = "segment: {max_records: 100000}\ncheckpoint: {every_records: 1000000, every_seconds: 3600}\n"
    t = Target([target("workload"), "loop", "--len", "16", "--count", str(n)], WD, "torn1")
    a = Agent("torn", targets_yaml("torn", t.pid), extra=extra)
    try:
        a.start()
        t.go_and_wait()
        time.sleep(0.5)
        eq(a.stop(signal.SIGKILL), -signal.SIGKILL, "agent killed")
        d = os.path.join(a.state, "decision")
        seg = os.path.join(d, sorted(x for x in os.listdir(d) if x.endswith(".seg"))[-1])
        data = open(seg, "rb").read()
        sizes, tail = gzip_members(data)
        eq(tail, 0, "segment is whole gzip members before the cut")
        assert len(sizes) >= 2, "need at least two blocks, got %d" % len(sizes)
        keep = sum(sizes[:-1])
        cut = keep + random.randint(1, sizes[-1] - 1)
        with gzip.open(seg) as f:
            before = f.read().decode().splitlines()
        kept_lines = gzip.decompress(data[:keep]).decode().splitlines()
        with open(seg, "r+b") as f:
            f.truncate(cut)
        t2 = Target([target("workload"), "loop", "--len", "16", "--count", "100"], WD, "torn2")
        os.unlink(a.ready)
        a.start()
        t2.go_and_wait()
        eq(a.stop(), 0, "agent exit after recovery")
        eq(len(a.of_type("recovery")), 1, "recovery records")
        after = []
        for name in sorted(x for x in os.listdir(d) if x.endswith(".seg")):
            with gzip.open(os.path.join(d, name)) as f:
                after += f.read().decode().splitlines()
        eq(after[:len(kept_lines)], kept_lines, "records before the torn block, byte for byte")
        assert len(before) > len(kept_lines)
        torn = [x for x in os.listdir(d) if ".torn" in x]
        eq(len(torn), 1, "torn bytes kept aside (%s)" % os.listdir(d))
        eq(a.verify().returncode, 0, "verify after recovery")
    finally:
        a.cleanup()


def test_fail_closed_signals_the_target():
    """on_loss: signal — agent frozen until the ring fills: the target gets SIGKILL."""
    n = 2000000
    t = Target([target("workload"), "loop", "--len", "64", "--count", str(n)], WD, "fc")
    y = targets_yaml("fc", t.pid).replace("    probes:", "    on_loss: signal\n    signal: SIGKILL\n    probes:")
    a = Agent("fc", y, extra="ringbuf_bytes: 65536\n")
    try:
        a.start()
        a.proc.send_signal(signal.SIGSTOP)
        open(t.go, "w").close()
        t.proc.wait(timeout=120)
        eq(t.proc.returncode, -signal.SIGKILL, "target killed by the fail-closed probe")
        a.proc.send_signal(signal.SIGCONT)
        eq(a.stop(), 0, "agent exit")
        probe = {"hits": kernel_hits(a, "fc:st_predict")}
        recs = calls_of(a, "fc:st_predict")
        lost = lost_of(a, "fc:st_predict")
        # the call the kernel could not log in full is marked, never silent
        partial = [r for r in recs if r["details"].get("return") == "lost"
                   or r["details"].get("entry") == "lost"]
        assert lost + len(partial) > 0, "the fatal call left no trace"
        # every call the kernel saw is a record or counted in a loss record
        eq(len(recs) + lost, probe["hits"], "records (%d) + lost (%d) vs hits" % (len(recs), lost))
    finally:
        if t.proc.poll() is None:
            t.proc.kill()
        a.cleanup()


def test_metrics_parse_and_match_status():
    port = 19000 + os.getpid() % 1000
    n = 500
    t = Target([target("workload"), "loop", "--len", "16", "--count", str(n)], WD, "met")
    a = Agent("met", targets_yaml("met", t.pid), extra='metrics: {listen: "127.0.0.1:%d"}\n' % port)
    try:
        a.start()
        t.go_and_wait()
        time.sleep(2.5)
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read()
        path = os.path.join(a.dir, "metrics.txt")
        open(path, "wb").write(body)
        rc, st, p = status_json(a)
        eq(rc, 0, "status exit at 100%% coverage: %s %s" % (p.stdout, p.stderr))
        run(["python3", os.path.join(HERE, "promparse.py"), "--sealtrace", path])
        probe = [x for x in st["probes"] if x["probe"] == "met:st_predict"][0]
        for metric, key in (("sealtrace_probe_hits_total", "hits"),
                            ("sealtrace_probe_persisted_total", "persisted")):
            v = run(["python3", os.path.join(HERE, "promparse.py"), "--get",
                     '%s{target="met",probe="met:st_predict"}' % metric, path]).stdout.strip()
            eq(float(v), float(probe[key]), metric)
        eq(probe["hits"], n, "hits")
        eq(probe["persisted"], n, "persisted")
        health = urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5)
        eq(health.status, 200, "/healthz")
        eq(a.stop(), 0, "agent exit")
        rc, _, _ = status_json(a)
        eq(rc, 2, "status exit once the agent is gone")
    finally:
        a.cleanup()


def test_detach_leaves_nothing_pinned():
    n = 100
    t = Target([target("workload"), "loop", "--len", "16", "--count", str(n)], WD, "det")
    a = Agent("det", targets_yaml("det", t.pid))
    try:
        a.start()
        eq(a.stop(), 0, "agent exit")
        assert os.listdir(a.pin_dir), "probes pinned after a plain stop"
        t.go_and_wait()
        p = run([SEALTRACE, "detach", "--config", a.config], check=False)
        eq(p.returncode, 0, "detach exit: %s" % p.stderr)
        assert not os.path.exists(a.pin_dir), os.listdir(a.pin_dir)
        eq(len(calls_of(a, "det:st_predict")), n, "calls drained by detach")
        eq(len(a.of_type("probe_detached")), 1, "probe_detached records")
        eq(a.verify().returncode, 0, "verify")
    finally:
        a.cleanup()


def test_config_change_detaches_dropped_probe():
    t = Target([target("workload"), "threadexit", "--count", "10"], WD, "cc")
    a = Agent("cc", "  - name: cc\n    path: %s\n    probes:\n      - symbol: st_infer_ok\n"
              "      - symbol: st_infer_then_die\n" % target("workload"))
    try:
        a.start()
        eq(a.stop(), 0, "agent exit")
        cfg = open(a.config).read().replace("      - symbol: st_infer_then_die\n", "")
        open(a.config, "w").write(cfg)
        os.unlink(a.ready)
        a.start()
        t.go_and_wait()
        eq(a.stop(), 0, "agent exit")
        eq(len(a.of_type("config_change")), 1, "config_change records")
        det = a.of_type("probe_detached")
        eq(len(det), 1, "probe_detached records")
        att = a.of_type("probe_attached")
        eq([r["details"]["adopted"] for r in att], [False, False, True],
           "second start adopts the kept probe")
        eq(len([r for r in a.of_type("inference") if r["probe"] == "cc:st_infer_ok"]), 10,
           "calls of the kept probe")
    finally:
        a.cleanup()


def test_fail_closed_on_stale_agent_heartbeat():
    """fail_closed_after_ms: a frozen agent (ring not full) stops the target too."""
    n = 2000000
    t = Target([target("workload"), "loop", "--len", "16", "--count", str(n)], WD, "hb")
    y = targets_yaml("hb", t.pid).replace("    probes:", "    on_loss: signal\n    signal: SIGTERM\n    probes:")
    a = Agent("hb", y, extra="ringbuf_bytes: 67108864\nfail_closed_after_ms: 1500\n")
    try:
        a.start()
        time.sleep(1.2)      # a heartbeat has been written
        a.proc.send_signal(signal.SIGSTOP)
        t0 = time.time()
        open(t.go, "w").close()
        t.proc.wait(timeout=120)
        eq(t.proc.returncode, -signal.SIGTERM, "target stopped by the stale-heartbeat check")
        assert time.time() - t0 < 60
        a.proc.send_signal(signal.SIGCONT)
        eq(a.stop(), 0, "agent exit")
        recs = calls_of(a, "hb:st_predict")
        eq(len(recs) + lost_of(a, "hb:st_predict"), kernel_hits(a, "hb:st_predict"),
           "records + lost vs hits")
        eq(len(a.of_type("loss")), 0, "nothing lost: the ring had room")
    finally:
        if t.proc.poll() is None:
            t.proc.kill()
        a.cleanup()


def test_replaced_binary_gets_probes_of_its_own():
    """Deploy a new binary at the same path: processes of the new file are logged too."""
    path = os.path.join(WD, "st-e2e-replaced-%d" % os.getpid())
    run(["cp", target("workload"), path])
    a = Agent("repl", "  - name: repl\n    path: %s\n    probes:\n      - symbol: st_infer_ok\n" % path)
    try:
        a.start()
        t = Target([path, "threadexit", "--count", "20"], WD, "repl1")
        t.go_and_wait()
        # a deployment: a new file (new inode) renamed over the old path
        run(["cp", target("workload"), path + ".new"])
        os.rename(path + ".new", path)
        wait_for(lambda: len(a.of_type("probe_attached")) == 2 or
                 "target replaced" in open(a.log).read(), timeout=15, what="re-attach")
        time.sleep(0.5)
        t = Target([path, "threadexit", "--count", "30"], WD, "repl2")
        t.go_and_wait()
        eq(a.stop(), 0, "agent exit")
        att = a.of_type("probe_attached")
        eq(len(att), 2, "probe_attached records")
        eq(att[1]["details"].get("reason"), "target replaced", "reason of the second attach")
        eq(len(a.of_type("inference")), 50, "calls of the old and the new file")
    finally:
        a.cleanup()
        os.unlink(path)


def test_pinned_state_of_another_version_is_refused():
    """A pinned ring stamped with another layout version is never misread."""
    t = Target([target("workload"), "loop", "--len", "16", "--count", "10"], WD, "lay")
    a = Agent("lay", targets_yaml("lay", t.pid))
    try:
        a.start()
        eq(a.stop(), 0, "agent exit")
        # stamp the pinned layout map with another version
        run(["bpftool", "map", "update", "pinned", os.path.join(a.pin_dir, "map-layout"),
             "key", "0", "0", "0", "0", "value", "99", "0", "0", "0"])
        p = run([SEALTRACE, "run", "--config", a.config, "--duration", "1"], check=False)
        eq(p.returncode, 3, "exit status for foreign pinned state")
        assert "layout version 99, this agent uses" in p.stderr, p.stderr
        t.go_and_wait()
    finally:
        if t.proc.poll() is None:
            t.proc.kill()
        a.cleanup()


def test_stalled_agent_heavy_loss_is_exact():
    """Agent frozen mid-stream with a small ring: more lost events than the
    kernel's notice queue holds; the count of lost calls stays exact."""
    n = 150000
    t = Target([target("workload"), "loop", "--len", "64", "--count", str(n)], WD, "stall")
    a = Agent("stall", targets_yaml("stall", t.pid), extra="ringbuf_bytes: 262144\n")
    try:
        a.start()
        open(t.go, "w").close()
        time.sleep(0.3)
        a.proc.send_signal(signal.SIGSTOP)
        out, _ = t.proc.communicate(timeout=300)
        assert "done calls=%d" % n in out, out
        a.proc.send_signal(signal.SIGCONT)
        eq(a.stop(), 0, "agent exit")
        hits = kernel_hits(a, "stall:st_predict")
        eq(hits, n, "kernel hits")
        recs = calls_of(a, "stall:st_predict")
        lost = lost_of(a, "stall:st_predict")
        assert lost > 65536, "the notice queue (65536) should have overflowed: lost %d" % lost
        eq(len(recs) + lost, n, "records (%d) + lost (%d)" % (len(recs), lost))
        eq(len({r["details"]["kseq"] for r in recs}), len(recs), "no call recorded twice")
        eq({r["comm"] for r in recs}, {"workload"}, "process name of every call")
        eq(a.verify().returncode, 0, "verify")
    finally:
        if t.proc.poll() is None:
            t.proc.kill()
        a.cleanup()


def test_annotate_records_human_oversight():
    """sealtrace annotate: a person's override of one decision is recorded, durable."""
    n = 5
    t = Target([target("workload"), "loop", "--len", "16", "--count", str(n)], WD, "ov")
    a = Agent("ov", targets_yaml("ov", t.pid))
    try:
        a.start()
        t.go_and_wait()
        wait_for(lambda: len(calls_of(a, "ov:st_predict")) == n, what="decisions on disk")
        decision = calls_of(a, "ov:st_predict")[2]
        p = run([SEALTRACE, "annotate", "--state-dir", a.state, "--event-id",
                 decision["event_id"].upper(), "--override", "--actor", "reviewer-17",
                 "--note", "income misread"], check=False)
        eq(p.returncode, 0, "annotate exit (%s)" % p.stderr)
        assert p.stdout.startswith("ok "), p.stdout
        seq = int(p.stdout.split()[1])
        # durable before the answer: on disk while the agent still runs
        ov = [r for r in a.of_type("oversight", "system") if r["seq"] == seq]
        eq(len(ov), 1, "oversight record at the answered seq")
        eq(ov[0]["human_override_applied"], True, "human_override_applied")
        eq(ov[0]["details"], {"actor": "reviewer-17", "action": "override",
                              "decision_event_id": decision["event_id"],
                              "note": "income misread", "submitted_by": "uid:0"}, "details")
        p = run([SEALTRACE, "annotate", "--state-dir", a.state, "--event-id", "nope",
                 "--confirm", "--actor", "x"], check=False)
        eq(p.returncode, 2, "annotate exit for a bad id")
        # reading the log while the agent runs leaves log_access records
        run([SEALTRACE, "export", "--state-dir", a.state, "--stream", "decision",
             "--event-type", "inference"], check=False)
        run([SEALTRACE, "lookup", "--state-dir", a.state, "--keys", a.keys,
             "--input-string", "someone@example.org"], check=False)
        acc = [(r["details"]["action"], r["details"]["actor"], r["details"]["filter"])
               for r in a.of_type("log_access", "system")]
        eq(acc, [("export", "uid:0", "--stream decision --event-type inference"),
                 ("lookup", "uid:0", "")], "log_access records")
        for r in a.of_type("log_access", "system"):
            assert "someone@example.org" not in json.dumps(r), r
        eq(a.stop(), 0, "agent exit")
        p = run([SEALTRACE, "annotate", "--state-dir", a.state, "--event-id",
                 decision["event_id"], "--confirm", "--actor", "x"], check=False)
        eq(p.returncode, 3, "annotate exit with no agent")
        eq(a.verify().returncode, 0, "verify")
    finally:
        a.cleanup()


def test_agent_purges_expired_segments_and_keeps_logging():
    """An agent with retention opens a log whose oldest segments are past it:
    they are purged (retention_purge records), new calls are logged, verify passes."""
    n = 200
    a = Agent("ret", targets_yaml("ret"),
              extra="segment: {max_records: 1000}\n"
                    "retention: {decision_days: 200, system_days: 3650, check_seconds: 60}\n")
    try:
        # 5,000 old decisions (2025-01-01, one per ms) in 5 segments of 1,000
        run([os.path.join(os.path.dirname(SEALTRACE), "tools", "gen_log"), "--state-dir", a.state,
             "--keys-dir", a.keys, "--records", "5000", "--seg-records", "1000",
             "--ckpt-records", "1000", "--system-every", "100000", "--system-id",
             "urn:example:ai-system:e2e-ret", "--operator-id", "urn:example:operator:e2e",
             "--node-id", "e2e-node"])
        t = Target([target("workload"), "loop", "--len", "16", "--count", str(n)], WD, "ret")
        a.start()
        t.go_and_wait()
        eq(a.stop(), 0, "agent exit")
        purges = [r for r in a.of_type("retention_purge", "system")
                  if r["details"]["purged_stream"] == "decision"]
        assert purges, "no decision segment purged:\n" + a.output()
        eq([r["details"]["first_seq"] for r in purges],
           [1000 * i for i in range(len(purges))], "purged ranges start where the last ended")
        eq(sum(r["details"]["records"] for r in purges), 1000 * len(purges), "records purged")
        d = os.path.join(a.state, "decision")
        first = sorted(x for x in os.listdir(d) if x.endswith(".seg"))[0]
        eq(int(first[:-4]), 1000 * len(purges), "first remaining segment")
        eq(len(calls_of(a, "ret:st_predict")), n, "new calls logged after the purge")
        v = a.verify()
        eq(v.returncode, 0, "verify on the purged log: %s %s" % (v.stdout, v.stderr))
        assert "purged by retention" in v.stdout, v.stdout
    finally:
        a.cleanup()
