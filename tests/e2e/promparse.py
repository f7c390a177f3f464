#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Strict parser for the Prometheus text exposition format 0.0.4.

Reads a /metrics body (a file or stdin), checks it against the format and
exits 1 naming the first offending line. The e2e tests use it to check that
`curl /metrics` parses and that its counters equal `sealtrace status --json`.

    promparse.py [FILE|-]                     check only
    promparse.py FILE --get 'NAME{a=b,c="d"}' print that sample's value
    promparse.py FILE --json                  all samples as JSON
    promparse.py FILE --sealtrace             also: every metric has HELP and
                                              TYPE, counters end in _total

--get matches the full label set exactly (NAME alone: no labels); values
may be bare or double-quoted with \\ \" \\n escapes. It may be repeated; one
value per line. Exit status: 0 ok, 1 format violation, 2 usage, 3 a --get
sample is absent.

As a module: parse(text, sealtrace=False) -> Exposition, raises ParseError.
"""

import argparse
import json
import re
import sys

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
TS_RE = re.compile(r"-?[0-9]+\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
BLANKS = " \t"


class ParseError(Exception):
    def __init__(self, line, msg):
        super().__init__(f"line {line}: {msg}")
        self.line = line


class Family:
    def __init__(self, name):
        self.name = name
        self.help = None
        self.type = None
        self.samples = 0
        self.closed = False


class Exposition:
    def __init__(self):
        self.families = {}      # name -> Family, in order of appearance
        self.samples = []       # (name, ((label, value), ...) sorted, value str, ts)
        self.index = {}         # (name, labels) -> value str

    def get(self, name, labels):
        return self.index.get((name, tuple(sorted(labels.items()))))


def parse_value(s):
    """The float a value string stands for; None if it is not one."""
    if s in ("+Inf", "-Inf", "NaN"):
        return float(s.replace("+", ""))
    if FLOAT_RE.match(s):
        return float(s)
    return None


def unescape(s, i, end_char, line, what, allowed):
    """Read an escaped string from s[i:] up to end_char; (value, next index)."""
    out = []
    while True:
        if i >= len(s):
            if end_char is None:
                return "".join(out), i
            raise ParseError(line, f"unterminated {what}")
        c = s[i]
        if c == end_char:
            return "".join(out), i
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in allowed:
                raise ParseError(line, f"bad escape in {what}: only "
                                 + " ".join("\\" + a for a in allowed))
            out.append({"\\": "\\", '"': '"', "n": "\n"}[s[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1


def parse_labels(s, i, line):
    """s[i] == '{'; returns (dict, index after '}')."""
    labels = {}
    i += 1
    while True:
        while i < len(s) and s[i] in BLANKS:
            i += 1
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = LABEL_RE.match(s, i)
        if not m:
            raise ParseError(line, f"bad label name at column {i + 1}")
        name = m.group(0)
        if name.startswith("__"):
            raise ParseError(line, f"label name {name} is reserved (starts with __)")
        if name in labels:
            raise ParseError(line, f"duplicate label {name}")
        i = m.end()
        while i < len(s) and s[i] in BLANKS:
            i += 1
        if s[i:i + 2] != '="':
            raise ParseError(line, f"expected =\"value\" after label {name}")
        value, i = unescape(s, i + 2, '"', line, "label value", '\\"n')
        labels[name] = value
        i += 1
        while i < len(s) and s[i] in BLANKS:
            i += 1
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        raise ParseError(line, f"expected ',' or '}}' at column {i + 1}")


class Parser:
    def __init__(self, sealtrace):
        self.sealtrace = sealtrace
        self.exp = Exposition()
        self.current = None     # the family whose group is open

    def family(self, name):
        fam = self.exp.families.get(name)
        if fam is None:
            fam = self.exp.families[name] = Family(name)
        return fam

    def enter(self, fam, line):
        """All lines of a family form one group (the format's rule)."""
        if self.current is fam:
            return
        if fam.closed:
            raise ParseError(line, f"lines of metric {fam.name} are not one group")
        if self.current is not None:
            self.current.closed = True
        self.current = fam

    def comment(self, text, line):
        parts = text[1:].lstrip(BLANKS)
        kw = parts.split(" ", 1)[0].split("\t", 1)[0]
        if kw not in ("HELP", "TYPE"):
            if self.sealtrace:
                raise ParseError(line, "comment that is neither HELP nor TYPE")
            return
        rest = parts[len(kw):]
        if not rest or rest[0] not in BLANKS:
            raise ParseError(line, f"{kw} without a metric name")
        rest = rest.lstrip(BLANKS)
        m = NAME_RE.match(rest)
        if not m:
            raise ParseError(line, f"bad metric name in {kw}")
        name, rest = m.group(0), rest[m.end():]
        if rest and rest[0] not in BLANKS:
            raise ParseError(line, f"bad metric name in {kw}")
        rest = rest[1:] if rest else rest
        fam = self.family(name)
        self.enter(fam, line)
        if kw == "HELP":
            if fam.help is not None:
                raise ParseError(line, f"second HELP for {name}")
            fam.help, _ = unescape(rest, 0, None, line, "HELP text", "\\n")
            return
        if fam.type is not None:
            raise ParseError(line, f"second TYPE for {name}")
        if fam.samples:
            raise ParseError(line, f"TYPE for {name} after its samples")
        typ = rest.strip(BLANKS)
        if typ not in TYPES:
            raise ParseError(line, f"unknown type '{typ}' for {name}")
        if self.sealtrace and fam.help is None:
            raise ParseError(line, f"TYPE for {name} before its HELP")
        if self.sealtrace and typ == "counter" and not name.endswith("_total"):
            raise ParseError(line, f"counter {name} does not end in _total")
        fam.type = typ

    def family_of(self, name):
        """A histogram's or summary's _bucket/_sum/_count belong to it."""
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix):
                base = self.exp.families.get(name[:-len(suffix)])
                if base is not None and base.type in ("histogram", "summary"):
                    if suffix == "_bucket" and base.type != "histogram":
                        continue
                    return base
        return self.family(name)

    def sample(self, text, line):
        m = NAME_RE.match(text)
        if not m:
            raise ParseError(line, "bad metric name")
        name, i = m.group(0), m.end()
        labels = {}
        if i < len(text) and text[i] == "{":
            labels, i = parse_labels(text, i, line)
        if i >= len(text) or text[i] not in BLANKS:
            raise ParseError(line, "expected a blank before the value")
        fields = text[i:].split()
        if not 1 <= len(fields) <= 2:
            raise ParseError(line, "expected a value and an optional timestamp")
        if parse_value(fields[0]) is None:
            raise ParseError(line, f"bad value '{fields[0]}'")
        ts = None
        if len(fields) == 2:
            if not TS_RE.match(fields[1]):
                raise ParseError(line, f"bad timestamp '{fields[1]}'")
            ts = int(fields[1])
        fam = self.family_of(name)
        self.enter(fam, line)
        self.check_typed(fam, name, labels, fields[0], line)
        key = (name, tuple(sorted(labels.items())))
        if key in self.exp.index:
            raise ParseError(line, f"duplicate sample {name}{format_labels(labels)}")
        self.exp.index[key] = fields[0]
        self.exp.samples.append((name, key[1], fields[0], ts))
        fam.samples += 1

    def check_typed(self, fam, name, labels, value, line):
        if self.sealtrace and fam.type is None:
            raise ParseError(line, f"sample of {name} without HELP and TYPE before it")
        if fam.type == "histogram" and name.endswith("_bucket") and "le" not in labels:
            raise ParseError(line, f"histogram bucket {name} without an le label")
        if fam.type == "summary" and name == fam.name and "quantile" not in labels:
            raise ParseError(line, f"summary sample {name} without a quantile label")
        if fam.type == "counter" and parse_value(value) < 0:
            raise ParseError(line, f"counter {name} is negative")


def format_labels(labels):
    if not labels:
        return ""
    esc = lambda v: v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in sorted(labels.items())) + "}"


def parse(text, sealtrace=False):
    """Parse an exposition; raises ParseError on the first violation."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            line = text[:e.start].count(b"\n") + 1
            raise ParseError(line, "not UTF-8") from None
    if text and not text.endswith("\n"):
        raise ParseError(text.count("\n") + 1, "the last line does not end in a line feed")
    p = Parser(sealtrace)
    for n, raw in enumerate(text.split("\n")[:-1], 1):
        if "\r" in raw:
            raise ParseError(n, "carriage return (lines end in \\n only)")
        body = raw.lstrip(BLANKS)
        if not body:
            if sealtrace:
                raise ParseError(n, "empty line")
            continue
        if body[0] == "#":
            p.comment(body, n)
        else:
            p.sample(body, n)
    return p.exp


def parse_selector(sel):
    """'name{a=b,c="d"}' -> (name, {labels})."""
    m = NAME_RE.match(sel)
    if not m:
        raise ValueError(f"bad selector {sel!r}: no metric name")
    name, i, labels = m.group(0), m.end(), {}
    if i == len(sel):
        return name, labels
    if sel[i] != "{" or not sel.endswith("}"):
        raise ValueError(f"bad selector {sel!r}: expected NAME{{label=value,...}}")
    i += 1
    while i < len(sel) - 1:
        lm = LABEL_RE.match(sel, i)
        if not lm or sel[lm.end():lm.end() + 1] != "=":
            raise ValueError(f"bad selector {sel!r}: bad label at {i + 1}")
        key, i = lm.group(0), lm.end() + 1
        if sel[i:i + 1] == '"':
            try:
                val, i = unescape(sel, i + 1, '"', 0, "selector value", '\\"n')
            except ParseError as e:
                raise ValueError(f"bad selector {sel!r}: {e}") from None
            i += 1
        else:
            j = i
            while j < len(sel) - 1 and sel[j] != ",":
                j += 1
            val, i = sel[i:j], j
        labels[key] = val
        if sel[i] == ",":
            i += 1
        elif i != len(sel) - 1:
            raise ValueError(f"bad selector {sel!r}: expected ',' or '}}' at {i + 1}")
    return name, labels


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("file", nargs="?", default="-", help="exposition text (default stdin)")
    ap.add_argument("--get", action="append", default=[], metavar="SELECTOR",
                    help="print the value of NAME{label=value,...} (exact label set)")
    ap.add_argument("--json", action="store_true", help="print all samples as JSON")
    ap.add_argument("--sealtrace", action="store_true",
                    help="also require HELP+TYPE for every metric and _total counters")
    args = ap.parse_args(argv)

    try:
        sels = [parse_selector(s) for s in args.get]
    except ValueError as e:
        print(f"promparse: {e}", file=sys.stderr)
        return 2
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as f:
                data = f.read()
    except OSError as e:
        print(f"promparse: {e}", file=sys.stderr)
        return 2
    try:
        exp = parse(data, args.sealtrace)
    except ParseError as e:
        print(f"promparse: {args.file}: {e}", file=sys.stderr)
        return 1
    if args.json:
        json.dump([{"name": n, "labels": dict(l), "value": v, "timestamp": t}
                   for n, l, v, t in exp.samples], sys.stdout, indent=1)
        print()
    rc = 0
    for (name, labels), raw in zip(sels, args.get):
        v = exp.get(name, labels)
        if v is None:
            print(f"promparse: no sample {raw}", file=sys.stderr)
            rc = 3
            continue
        print(v)
    return rc


if __name__ == "__main__":
    sys.exit(main())
