# SPDX-License-Identifier: Apache-2.0
"""promparse.py checks itself: what it accepts, what it rejects and where.

Pure Python, no BPF: the checker the metrics e2e tests lean on must itself
be trusted to fail.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import promparse  # noqa: E402

GOOD = (
    "# HELP sealtrace_probe_hits_total Calls the kernel probe saw.\n"
    "# TYPE sealtrace_probe_hits_total counter\n"
    'sealtrace_probe_hits_total{target="a\\"b\\\\c\\nd",probe="t:f"} 4\n'
    'sealtrace_probe_hits_total{target="x",probe="\u00e9"} 18446744073709551615\n'
    "# HELP sealtrace_probe_coverage_ratio Ratio \\\\ with\\nescapes.\n"
    "# TYPE sealtrace_probe_coverage_ratio gauge\n"
    'sealtrace_probe_coverage_ratio{target="x",probe="y",} 0.75 1700000000000\n'
    "# HELP g A gauge.\n"
    "# TYPE g gauge\n"
    "g +Inf\n"
    "g{a=\"1\"} -Inf\n"
    "g{a=\"2\"} NaN\n"
    "g{a=\"3\"} -1.5e-3\n"
    "g{a=\"4\"} 1699999999.500000001\n"
    "# HELP h A histogram.\n"
    "# TYPE h histogram\n"
    'h_bucket{le="1"} 1\n'
    'h_bucket{le="+Inf"} 2\n'
    "h_sum 3\n"
    "h_count 2\n"
)


def _bad(text, line, msg, sealtrace=False):
    try:
        promparse.parse(text, sealtrace)
    except promparse.ParseError as e:
        s = str(e)
        assert s.startswith("line %d: " % line), (s, text)
        assert msg in s, (s, msg)
        return
    raise AssertionError("accepted: %r" % text)


def test_accepts_valid():
    exp = promparse.parse(GOOD, sealtrace=True)
    assert exp.get("sealtrace_probe_hits_total",
                   {"target": 'a"b\\c\nd', "probe": "t:f"}) == "4"
    assert exp.get("sealtrace_probe_hits_total",
                   {"target": "x", "probe": "\xe9"}) == "18446744073709551615"
    assert exp.get("g", {}) == "+Inf"
    assert exp.get("g", {"a": "3"}) == "-1.5e-3"
    assert exp.get("h_bucket", {"le": "+Inf"}) == "2"
    assert exp.families["sealtrace_probe_coverage_ratio"].help == "Ratio \\ with\nescapes."
    assert exp.samples[2] == ("sealtrace_probe_coverage_ratio",
                              (("probe", "y"), ("target", "x")), "0.75", 1700000000000)
    assert len(exp.samples) == 12


def test_rejects_violations():
    hdr = "# HELP m h\n# TYPE m gauge\n"
    _bad("m 1", 1, "does not end in a line feed")
    _bad(hdr + "m 1\r\n", 3, "carriage return")
    _bad(hdr + "1m 1\n", 3, "bad metric name")
    _bad(hdr + "m{a=\"x} 1\n", 3, "unterminated label value")
    _bad(hdr + "m{a=\"\\t\"} 1\n", 3, "bad escape in label value")
    _bad(hdr + "m{a=x} 1\n", 3, "expected =\"value\" after label a")
    _bad(hdr + "m{a=\"1\",a=\"2\"} 1\n", 3, "duplicate label a")
    _bad(hdr + "m{__a=\"1\"} 1\n", 3, "reserved")
    _bad(hdr + "m{a=\"1\" b=\"2\"} 1\n", 3, "expected ',' or '}'")
    _bad(hdr + "m 1x\n", 3, "bad value '1x'")
    _bad(hdr + "m inf\n", 3, "bad value 'inf'")
    _bad(hdr + "m 1_000\n", 3, "bad value '1_000'")
    _bad(hdr + "m\n", 3, "expected a blank before the value")
    _bad(hdr + "m 1 2 3\n", 3, "expected a value and an optional timestamp")
    _bad(hdr + "m 1 1.5\n", 3, "bad timestamp '1.5'")
    _bad(hdr + "m 1\nm 2\n", 4, "duplicate sample m")
    _bad(hdr + "m 1\n# HELP n h\n# TYPE n gauge\nn 1\nm 2\n", 7, "not one group")
    _bad(hdr + "# TYPE m counter\n", 3, "second TYPE for m")
    _bad("# HELP m h\nm 1\n# TYPE m gauge\n", 3, "TYPE for m after its samples")
    _bad("# HELP m h\n# TYPE m gauge\n# HELP m again\n", 3, "second HELP for m")
    _bad("# HELP m h\n# TYPE m gaug\n", 2, "unknown type 'gaug'")
    _bad("# HELP m h\n# TYPE m_total counter\nm_total -1\n", 3, "counter m_total is negative")
    _bad("# HELP h h\n# TYPE h histogram\nh_bucket 1\n", 3, "without an le label")
    _bad(b"# HELP m h\n# TYPE m gauge\nm{a=\"\xff\"} 1\n", 3, "not UTF-8")
    # --sealtrace: our own exposition promises more than the format.
    _bad("m 1\n", 1, "without HELP and TYPE", sealtrace=True)
    _bad("# TYPE m gauge\n", 1, "before its HELP", sealtrace=True)
    _bad("# HELP m h\n# TYPE m counter\n", 2, "does not end in _total", sealtrace=True)
    _bad(hdr + "\nm 1\n", 3, "empty line", sealtrace=True)
    _bad("# random\n", 1, "neither HELP nor TYPE", sealtrace=True)
    # Without it, the same lines are valid exposition.
    promparse.parse("m 1\n\n# random\n")


def test_selector():
    assert promparse.parse_selector("m") == ("m", {})
    assert promparse.parse_selector('m{a=b,c="d,}e\\""}') == ("m", {"a": "b", "c": 'd,}e"'})
    assert promparse.parse_selector("m{stream=decision}") == ("m", {"stream": "decision"})
    for bad in ("{a=b}", "m{a}", "m{a=b", 'm{a="b}'):
        try:
            promparse.parse_selector(bad)
        except ValueError:
            continue
        raise AssertionError("accepted selector %r" % bad)


def test_cli(tmp=None):
    script = os.path.join(HERE, "promparse.py")
    path = "/tmp/promparse_test.%d.txt" % os.getpid()
    with open(path, "w") as f:
        f.write(GOOD)
    try:
        r = subprocess.run([sys.executable, script, path, "--sealtrace",
                            "--get", "g{a=3}", "--get", 'sealtrace_probe_hits_total{probe="t:f",'
                            'target="a\\"b\\\\c\\nd"}'], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "-1.5e-3\n4\n", r.stdout
        r = subprocess.run([sys.executable, script, path, "--get", "g{a=9}"],
                           capture_output=True, text=True)
        assert r.returncode == 3 and "no sample g{a=9}" in r.stderr, r
        r = subprocess.run([sys.executable, script, "-"], input=GOOD + "g 1\n",
                           capture_output=True, text=True)
        assert r.returncode == 1, r
        assert r.stderr == "promparse: -: line 21: lines of metric g are not one group\n", r.stderr
        r = subprocess.run([sys.executable, script, path, "--get", "{x}"],
                           capture_output=True, text=True)
        assert r.returncode == 2, r
    finally:
        os.unlink(path)
