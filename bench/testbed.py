# SPDX-License-Identifier: Apache-2.0
"""The real model server of ../shared/testbed, as make bench uses it
(bench.py's engine section, wire_bench.py's part 4): set up once in its
own cache (ST_BENCH_TESTBED_CACHE), served by serve.sh llama PORT."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTBED = os.path.normpath(os.path.join(ROOT, "..", "shared", "testbed"))
CACHE = os.environ.get("ST_BENCH_TESTBED_CACHE", "/tmp/st-bench-testbed")


def setup():
    """None when the testbed is ready, else why not (for an 'unavailable' line)."""
    script = os.path.join(TESTBED, "setup.sh")
    if not os.access(script, os.X_OK):
        return "%s not found" % TESTBED
    try:
        subprocess.run([script, "--cache", CACHE, "--no-apt"], check=True,
                       capture_output=True, text=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        return "testbed setup failed: %s" % str(getattr(e, "stderr", e))[-300:]
    return None


def serve(port, cpus=None):
    """node-llama-cpp (libllama) behind Node's http on 127.0.0.1:port, tiny
    GGUF model, one thread, on cpus if given; the Popen (the server's pid:
    serve.sh and taskset exec it)."""
    cmd = [os.path.join(TESTBED, "serve.sh"), "llama", str(port)]
    if cpus:
        cmd = ["taskset", "-c", cpus] + cmd
    return subprocess.Popen(cmd, env=dict(os.environ, TESTBED_CACHE=CACHE),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
