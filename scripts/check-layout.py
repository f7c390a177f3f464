#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The layout rule of docs/ARCHITECTURE.md, checked.

user/<stage>/ folders follow the data flow; a folder may use only itself and
the folders before it in STAGES. Two checks:

1. includes: a file under user/<F>/ or include/sealtrace/<F>/ includes
   "sealtrace/<G>/..." only for G at or before F;
2. symbols (from the built objects, build/obj/<F>/x.o): a module calls only
   functions defined in its own folder or one before it, and no two modules
   call each other, directly or through others (no cycle between files).

Usage: check-layout.py [BUILD_DIR]   (default build; step 2 is skipped,
with a note, when the objects are not built). Exit 0 clean, 1 violations.
"""
import os
import re
import subprocess
import sys

STAGES = ["base", "keys", "capture", "wire", "log", "config", "targets", "ops",
          "proof", "monitor", "fleet", "agent"]
RANK = {s: i for i, s in enumerate(STAGES)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"sealtrace/([^/"]+)/[^"]+"', re.M)


def stage_of(path):
    parts = path.split(os.sep)
    if parts[0] == "user" and len(parts) == 3:
        return parts[1]
    if parts[:2] == ["include", "sealtrace"] and len(parts) == 4:
        return parts[2]
    if path == os.path.join("user", "main.c"):
        return None     # main() sits above every stage
    return "?"


def check_includes(errors):
    for top in ("user", os.path.join("include", "sealtrace")):
        for root, _dirs, files in os.walk(top):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                stage = stage_of(path)
                if stage == "?" or (stage is not None and stage not in RANK):
                    errors.append(f"{path}: not in a stage folder "
                                  f"({', '.join(STAGES)})")
                    continue
                text = open(path, encoding="utf-8").read()
                for m in INCLUDE.finditer(text):
                    used = m.group(1)
                    line = text.count("\n", 0, m.start()) + 1
                    if used not in RANK:
                        errors.append(f"{path}:{line}: includes from unknown "
                                      f"folder '{used}'")
                    elif stage is not None and RANK[used] > RANK[stage]:
                        errors.append(f"{path}:{line}: {stage}/ includes "
                                      f"{used}/, which comes after it")


def nm(obj, flags):
    out = subprocess.run(["nm", flags, obj], capture_output=True, text=True,
                         check=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def check_symbols(build, errors):
    objdir = os.path.join(build, "obj")
    objs = {}
    for stage in STAGES:
        d = os.path.join(objdir, stage)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(".o"):
                objs[f"{stage}/{name[:-2]}"] = os.path.join(d, name)
    if not objs:
        print(f"check-layout: no objects under {objdir}; symbol check "
              "skipped (run make first)")
        return
    defined = {}
    for mod, obj in objs.items():
        for sym in nm(obj, "--defined-only"):
            defined[sym] = mod
    uses = {}
    for mod, obj in objs.items():
        deps = set()
        for sym in nm(obj, "--undefined-only"):
            other = defined.get(sym)
            if other and other != mod:
                deps.add(other)
                if RANK[other.split("/")[0]] > RANK[mod.split("/")[0]]:
                    errors.append(f"user/{mod}.c calls {sym} of "
                                  f"user/{other}.c, a later folder")
        uses[mod] = deps
    # cycles between modules: depth-first search, report each once
    state = {}
    stack = []

    def visit(mod):
        state[mod] = 1
        stack.append(mod)
        for dep in sorted(uses[mod]):
            if state.get(dep) == 1:
                cyc = stack[stack.index(dep):] + [dep]
                errors.append("cycle: " + " -> ".join(
                    f"user/{m}.c" for m in cyc))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[mod] = 2

    for mod in sorted(uses):
        if mod not in state:
            visit(mod)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(root)
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    errors = []
    check_includes(errors)
    check_symbols(build, errors)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check-layout: {len(errors)} violation(s); the rule is in "
              "docs/ARCHITECTURE.md", file=sys.stderr)
        return 1
    print(f"check-layout: {len(STAGES)} stage folders, includes and calls "
          "one-way, no cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
