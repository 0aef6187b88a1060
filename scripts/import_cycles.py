#!/usr/bin/env python3
"""Lists import circles between the modules of each crate.

A module "uses" another when its source names it by path: `use crate::a::b`, `use super::b`,
or an inline `crate::a::b::f()` / `super::b::T` (doc comments and `//` comments are ignored).
Each such edge is lifted to the two sibling modules under the deepest module both sit in (so
`worker::cycle` -> `worker::symbol::X` is an edge cycle -> symbol inside `worker`, and
`intake` -> `sources::tradingview` is intake -> sources at the crate root); a module naming its
own ancestor (a child using its parent's items) is not an edge. A circle is a strongly
connected set of two or more siblings; each is printed with the lines that make it.

Usage: scripts/import_cycles.py [CRATE_NAME ...]   (default: every crate under crates/)
Exit status 1 when any listed crate has a circle.
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH_RE = re.compile(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)+)")
USE_GROUP_RE = re.compile(r"\buse\s+(crate|super)((?:::[a-z_][a-z0-9_]*)*)::\{([^;]*)\}", re.S)


def module_of(src: Path, file: Path) -> tuple:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts in (["lib"], ["main"]):
        return ()
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


def declared_paths(src: Path, file: Path, module: tuple) -> dict:
    """Modules declared with `#[path = ...] mod x;` map to the file they name."""
    out = {}
    text = file.read_text(encoding="utf-8")
    for m in re.finditer(r'#\[path\s*=\s*"([^"]+)"\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)', text):
        target = (file.parent / m.group(1)).resolve()
        out[target] = module + (m.group(2),)
    return out


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def resolve(kind: str, segs: list, module: tuple, is_mod_file: bool) -> tuple:
    if kind == "crate":
        return tuple(segs)
    # `super` from a file module `a/b.rs` (module a::b) is `a`; from `a/b/mod.rs` also `a`.
    base = list(module[:-1])
    while segs and segs[0] == "super":
        base = base[:-1]
        segs = segs[1:]
    return tuple(base + segs)


def longest_module(path: tuple, modules: set) -> tuple:
    for n in range(len(path), -1, -1):
        if path[:n] in modules:
            return path[:n]
    return ()


def crate_edges(src: Path):
    files = sorted(src.rglob("*.rs"))
    mod_of = {}
    for f in files:
        mod_of[f.resolve()] = module_of(src, f)
    for f in files:
        mod_of.update(declared_paths(src, f, mod_of[f.resolve()]))
    modules = set(mod_of.values())
    edges = defaultdict(list)  # (parent, a, b) -> [evidence]
    for f in files:
        module = mod_of[f.resolve()]
        text = strip_comments(f.read_text(encoding="utf-8"))
        found = []
        for m in USE_GROUP_RE.finditer(text):
            prefix = [s for s in m.group(2).split("::") if s]
            for item in re.split(r",", m.group(3)):
                head = item.strip().split("::")[0].split(" ")[0]
                if re.fullmatch(r"[a-z_][a-z0-9_]*", head or "") and head != "self":
                    found.append((m.group(1), prefix + [head], m.group(0).split("\n")[0]))
        for m in PATH_RE.finditer(text):
            segs = [s for s in m.group(2).split("::") if s]
            line = text.count("\n", 0, m.start()) + 1
            found.append((m.group(1), segs, f"line {line}: {m.group(0)}"))
        for kind, segs, where in found:
            target = longest_module(resolve(kind, segs, module, f.name == "mod.rs"), modules)
            n = 0
            while n < min(len(module), len(target)) and module[n] == target[n]:
                n += 1
            if n == len(module) or n == len(target):
                continue  # the same module, an ancestor or a descendant
            parent, a, b = module[:n], module[n], target[n]
            edges[(parent, a, b)].append(f"{f.relative_to(ROOT)} {where}")
    return edges


def circles(edges):
    graph = defaultdict(lambda: defaultdict(set))
    for parent, a, b in edges:
        graph[parent][a].add(b)
    out = []
    for parent, g in graph.items():
        index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

        def strong(v):
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in g.get(v, ()):
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

        for v in list(g):
            if v not in index:
                strong(v)
        out.extend((parent, c) for c in sccs)
    return out


def main() -> int:
    wanted = set(sys.argv[1:])
    bad = 0
    for src in sorted((ROOT / "crates").glob("*/src")):
        name = src.parent.name
        if wanted and name not in wanted:
            continue
        edges = crate_edges(src)
        found = circles(edges)
        if not found:
            print(f"{name}: no import circles")
            continue
        for parent, comp in found:
            bad += 1
            where = "::".join(parent) or "crate root"
            print(f"{name}: circle in {where}: {' <-> '.join(comp)}")
            members = set(comp)
            for (p, a, b), ev in sorted(edges.items()):
                if p == parent and a in members and b in members:
                    print(f"    {a} -> {b}: {ev[0]}" + (f" (+{len(ev) - 1} more)" if len(ev) > 1 else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
