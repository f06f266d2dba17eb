#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The architecture check (issue 14): reads every #include "..." under src/ and fails on
  - an include cycle between modules (a module is x.c with its x.h: one node), and
  - an include against the folder order written in src/README.md, on the line that starts
    with "Layers, lowest first:" (a folder may include its own folder and those before it),
  - an include of the daemon's header (daemon/daemon.h) from outside daemon/: the node's
    composition is nobody's business but its own, and
  - a .c file over MAX_LINES lines (one concern a file).
It prints the module graph's figures (files, modules, arrows, arrows against the order,
cycles, the biggest .c) so a change to the architecture shows in the test log.
Usage: check_layers.py SRC_DIR"""
import os
import re
import sys

MAX_LINES = 900
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layers(src):
    with open(os.path.join(src, "README.md")) as f:
        for line in f:
            if line.startswith("Layers, lowest first:"):
                names = line.split(":", 1)[1].replace("`", "").replace(",", " ").split()
                return {name: rank for rank, name in enumerate(names)}
    sys.exit("src/README.md has no line 'Layers, lowest first: ...'")


def main():
    src = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "src")
    order = layers(src)
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith((".c", ".h")):
                path = os.path.join(root, n)
                files[os.path.relpath(path, src)] = path
    by_name = {}
    for rel in files:
        by_name.setdefault(os.path.basename(rel), []).append(rel)

    def folder(rel):
        return rel.split(os.sep)[0] if os.sep in rel else "."

    def module(rel):
        return os.path.splitext(rel)[0]

    errors = []
    edges = {}
    against = 0
    for rel, path in sorted(files.items()):
        f = folder(rel)
        if f not in order:
            errors.append("%s: folder '%s' is not in the layer order of src/README.md" % (rel, f))
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        for inc in INCLUDE.findall(text):
            if inc.startswith("netron/"):
                continue  # the public headers, include/netron/: below everything
            cand = sorted({c for c in (os.path.normpath(os.path.join(os.path.dirname(rel), inc)), inc)
                           if c in files})
            if not cand:
                cand = by_name.get(os.path.basename(inc), [])
            if len(cand) != 1:
                if not cand and inc.endswith(".html"):
                    continue
                errors.append('%s: #include "%s" names %s' % (rel, inc,
                              "no file under src/" if not cand else "several files: %s" % cand))
                continue
            target = cand[0]
            if target == os.path.join("daemon", "daemon.h") and f != "daemon":
                errors.append('%s includes %s: only daemon/ may' % (rel, target))
            a, b = module(rel), module(target)
            if a != b:
                edges.setdefault(a, set()).add(b)
            g = folder(target)
            if g in order and order[g] > order[f]:
                against += 1
                errors.append('%s (%s) includes %s (%s): against the layer order' % (rel, f, target, g))

    # Cycles between modules: Tarjan's strongly connected components.
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            strong(v)
    for comp in sccs:
        errors.append("include cycle between modules: %s" % " <-> ".join(comp))

    biggest = max(((sum(1 for _ in open(p, encoding="utf-8", errors="replace")), r)
                   for r, p in files.items() if r.endswith(".c")), default=(0, "-"))
    for r, p in sorted(files.items()):
        if r.endswith(".c"):
            n = sum(1 for _ in open(p, encoding="utf-8", errors="replace"))
            if n > MAX_LINES:
                errors.append("%s: %d lines, over %d: split it by concern" % (r, n, MAX_LINES))
    narrows = sum(len(v) for v in edges.values())
    print("architecture: %d files, %d modules, %d include arrows, %d against the order, "
          "%d cycles, biggest .c %s (%d lines)" % (len(files), len({module(r) for r in files}),
                                                narrows, against, len(sccs), biggest[1], biggest[0]))
    for e in errors:
        print("FAIL: " + e)
    print("architecture: %d passed, %d failed" % (1 if not errors else 0, 1 if errors else 0))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
