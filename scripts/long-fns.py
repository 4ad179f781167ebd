#!/usr/bin/env python3
"""Lists Rust functions longer than a limit (default 80 lines, signature to closing brace).

Usage: scripts/long-fns.py [--limit N] [--git REV] [--no-tests] PATH...
  PATH     files or folders (searched for *.rs), relative to the repo root
  --git    read the files as they are at commit REV (`git show REV:path`) instead of the work tree
  --no-tests  skip `#[cfg(test)] mod` blocks and `tests.rs` / `tests/` files

Prints `lines path:line name`, longest first, then the count. Comments, strings, raw strings and
char literals are blanked before braces are matched, so a `{` in a string does not count.
"""

import argparse
import os
import re
import subprocess
import sys


def blank(src: str) -> str:
    """The source with comments and literals replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(src)

    def keep_newlines(s):
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = src[i]
        nxt = src[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(keep_newlines(src[i:j]))
            i = j
        elif c in "rb" and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")) and (
            m := re.match(r'(br|r)(#*)"', src[i:])
        ):
            close = '"' + m.group(2)
            j = src.find(close, i + len(m.group(0)))
            j = n if j < 0 else j + len(close)
            out.append(keep_newlines(src[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append(keep_newlines(src[i : j + 1]))
            i = j + 1
        elif c == "'":
            if nxt == "\\":
                j = src.find("'", i + 2)
                out.append(" " * (j + 1 - i))
                i = j + 1
            elif i + 2 < n and src[i + 2] == "'":
                out.append("   ")
                i += 3
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def test_spans(text: str):
    """(start, end) offsets of `#[cfg(test)] mod x { ... }` blocks in blanked text."""
    spans = []
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", text):
        end = match_brace(text, m.end() - 1)
        spans.append((m.start(), end))
    return spans


def match_brace(text: str, open_at: int) -> int:
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(text) - 1


def functions(src: str, skip_tests: bool):
    """(name, first line, line count) of every function with a body."""
    text = blank(src)
    skip = test_spans(text) if skip_tests else []
    for m in re.finditer(r"\bfn\s+(\w+)", text):
        if any(a <= m.start() <= b for a, b in skip):
            continue
        depth, k = 0, m.end()
        while k < len(text):
            ch = text[k]
            if ch in "([<":
                depth += 1
            elif ch in ")]>" and not (ch == ">" and text[k - 1] == "-"):
                depth -= 1
            elif ch == ";" and depth <= 0:
                k = -1
                break
            elif ch == "{" and depth <= 0:
                break
            k += 1
        if k < 0 or k >= len(text):
            continue
        end = match_brace(text, k)
        first = text.count("\n", 0, m.start()) + 1
        last = text.count("\n", 0, end) + 1
        yield m.group(1), first, last - first + 1


def rust_files(paths, rev):
    if rev:
        listed = subprocess.run(
            ["git", "ls-tree", "-r", "--name-only", rev, "--", *paths],
            capture_output=True, text=True, check=True,
        ).stdout.split()
        for p in listed:
            if p.endswith(".rs"):
                yield p, subprocess.run(
                    ["git", "show", f"{rev}:{p}"], capture_output=True, text=True, check=True
                ).stdout
        return
    for p in paths:
        if os.path.isfile(p):
            walk = [p]
        else:
            walk = [os.path.join(d, f) for d, _, fs in os.walk(p) for f in fs]
        for f in sorted(walk):
            if f.endswith(".rs"):
                with open(f, encoding="utf-8") as fh:
                    yield f, fh.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--limit", type=int, default=80)
    ap.add_argument("--git", metavar="REV")
    ap.add_argument("--no-tests", action="store_true")
    a = ap.parse_args()
    found = []
    for path, src in rust_files(a.paths, a.git):
        parts = path.split("/")
        if a.no_tests and (parts[-1] == "tests.rs" or "tests" in parts[:-1]):
            continue
        for name, line, count in functions(src, a.no_tests):
            if count > a.limit:
                found.append((count, f"{path}:{line}", name))
    for count, where, name in sorted(found, reverse=True):
        print(f"{count:4} {where} {name}")
    print(f"{len(found)} function(s) over {a.limit} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
