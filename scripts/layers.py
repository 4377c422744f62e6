#!/usr/bin/env python3
"""The module graph of the library: which top-level module of `src/` names
which other one (`crate::x` in code, comments and doc links left out), and
whether any of them import each other in a circle.

Usage: python3 scripts/layers.py [--edges]   (exit status 1 on a circle)
"""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"


def top(path):
    rel = path.relative_to(SRC).parts
    return rel[0].removesuffix(".rs")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//")[0] if "\"" not in line else line
                     for line in text.splitlines() if not line.lstrip().startswith("//"))


def edges():
    modules = {p.name.removesuffix(".rs") for p in SRC.iterdir()} - {"lib", "main"}
    graph = {m: set() for m in modules}
    for path in SRC.rglob("*.rs"):
        here = top(path)
        if here not in modules:
            continue
        code = strip_comments(path.read_text())
        names = set(re.findall(r"crate::([a-z_]+)", code))
        for group in re.findall(r"crate::\{(.*?)\}", code, flags=re.S):
            names |= set(re.findall(r"(?:^|[{,])\s*([a-z_]+)", group))
        graph[here] |= {n for n in names if n in modules and n != here}
    return graph


def circles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
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
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    graph = edges()
    if "--edges" in sys.argv:
        for m in sorted(graph):
            print(f"{m} -> {', '.join(sorted(graph[m])) or '(nothing)'}")
    found = circles(graph)
    for comp in found:
        inner = [f"{a} -> {b}" for a in comp for b in sorted(graph[a]) if b in comp]
        print("circle:", ", ".join(inner))
    if not found:
        print("no circles between the modules of src/")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
