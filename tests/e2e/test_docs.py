"""The configuration examples a user copies must be accepted by the agent."""
import os
import re
import tempfile

from harness import ROOT, SEALTRACE, eq, run


def check(text, name):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        p = run([SEALTRACE, "run", "--check-config", f.name], check=False)
        eq(p.returncode, 0, "%s: check-config (%s)" % (name, p.stderr.strip()))
    finally:
        os.unlink(f.name)


def test_readme_config_example_is_valid():
    with open(os.path.join(ROOT, "README.md")) as f:
        blocks = re.findall(r"```yaml\n(.*?)```", f.read(), re.S)
    eq(len(blocks) >= 1, True, "README has a yaml block")
    for i, b in enumerate(blocks):
        check(b, "README.md yaml block %d" % i)


def test_http_doc_config_example_is_valid():
    with open(os.path.join(ROOT, "docs", "http.md")) as f:
        blocks = re.findall(r"```yaml\n(.*?)```", f.read(), re.S)
    eq(len(blocks) >= 1, True, "docs/http.md has a yaml block")
    for i, b in enumerate(blocks):
        check(b, "docs/http.md yaml block %d" % i)


def test_shipped_configs_are_valid():
    for rel in ("examples/demo.yaml", "deploy/config/llama.yaml"):
        with open(os.path.join(ROOT, rel)) as f:
            check(f.read(), rel)
