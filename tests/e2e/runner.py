"""Discover and run the e2e tests; print one line per test and a summary.

A test is a function test_* in tests/e2e/test_*.py (raise harness.Skip to
skip with a reason), or an executable tests/e2e/*.sh (exit 77 = skip).
"""
import importlib.util
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402


def py_tests(filt):
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(HERE, name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for fn in sorted(f for f in dir(mod) if f.startswith("test_")):
            full = "%s::%s" % (name, fn)
            if filt in full:
                yield full, getattr(mod, fn)


def sh_tests(filt):
    for name in sorted(os.listdir(HERE)):
        if name.endswith(".sh") and name != "run.sh" and filt in name:
            yield name, os.path.join(HERE, name)


def main():
    filt = sys.argv[1] if len(sys.argv) > 1 else ""
    passed = failed = skipped = 0
    for full, fn in py_tests(filt):
        t0 = time.time()
        try:
            fn()
            print("PASS %s (%.1fs)" % (full, time.time() - t0), flush=True)
            passed += 1
        except harness.Skip as e:
            print("SKIP %s: %s" % (full, e), flush=True)
            skipped += 1
        except Exception:
            print("FAIL %s (%.1fs)\n%s" % (full, time.time() - t0, traceback.format_exc()),
                  flush=True)
            failed += 1
        finally:
            harness.kill_leftover_targets()
    for name, path in sh_tests(filt):
        t0 = time.time()
        p = subprocess.run(["bash", path], capture_output=True, text=True)
        out = (p.stdout + p.stderr).strip()
        if p.returncode == 0:
            print("PASS %s (%.1fs)" % (name, time.time() - t0), flush=True)
            passed += 1
        elif p.returncode == 77:
            print("SKIP %s: %s" % (name, out.splitlines()[-1] if out else ""), flush=True)
            skipped += 1
        else:
            print("FAIL %s (exit %d, %.1fs)\n%s" % (name, p.returncode, time.time() - t0,
                                                   out[-4000:]), flush=True)
            failed += 1
    print("e2e: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
