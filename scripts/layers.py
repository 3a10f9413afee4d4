#!/usr/bin/env python3
"""Checks the layers of docs/ARCHITECTURE.md against the code.

Reads every `crate::<module>` path in src/ (use statements and inline
paths, tests excluded: `#[cfg(test)] mod tests` blocks and files named
tests.rs), builds the graph of src/'s top-level modules, and fails when
the graph has a cycle or a module uses one of a lower layer (a layer
may use its own layer and the ones above it in the list). Prints each
offending import with its file and line.

Run: python3 scripts/layers.py
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

# The layers of docs/ARCHITECTURE.md, top (used by all) to bottom.
LAYERS = [
    ["secret", "setting", "causes", "retry", "transport", "ratelimit", "metrics", "telemetry", "rss", "text"],
    ["db", "store"],
    ["cloudroom", "aliyun"],
    ["mirror", "directory", "attendance", "archive", "companies"],
    ["jobs", "daemon"],
    ["configuration", "app", "doctor"],
    ["cli"],
]
LAYER_OF = {m: i for i, layer in enumerate(LAYERS) for m in layer}
PATH = re.compile(r"\bcrate::(\w+)")
GROUP = re.compile(r"\bcrate::\{([^}]*)\}")


def module_of(path: pathlib.Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".rs")


def without_tests(text: str) -> list[tuple[int, str]]:
    """The file's lines, without `#[cfg(test)]` items (to their closing brace)."""
    lines = text.splitlines()
    out, skip_depth, pending = [], None, False
    for number, line in enumerate(lines, 1):
        if skip_depth is not None:
            skip_depth += line.count("{") - line.count("}")
            if skip_depth <= 0:
                skip_depth = None
            continue
        if line.strip().startswith("#[cfg(test)]"):
            pending = True
            continue
        if pending:
            pending = False
            depth = line.count("{") - line.count("}")
            if depth > 0:
                skip_depth = depth
            continue
        if line.strip().startswith("//"):
            continue
        out.append((number, line))
    return out


def main() -> int:
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(SRC.rglob("*.rs")):
        if path.name == "tests.rs" or path.name in ("main.rs", "lib.rs") and path.parent == SRC:
            continue
        source = module_of(path)
        for number, line in without_tests(path.read_text()):
            targets = PATH.findall(line)
            for group in GROUP.findall(line):
                targets += [name.strip().split("::")[0] for name in group.split(",")]
            for target in targets:
                if target != source and target in LAYER_OF:
                    where = f"{path.relative_to(ROOT)}:{number}"
                    edges.setdefault((source, target), []).append(where)
    problems = []
    for (source, target), places in sorted(edges.items()):
        if source not in LAYER_OF:
            problems.append(f"{source} is in no layer of docs/ARCHITECTURE.md ({places[0]})")
        elif LAYER_OF[target] > LAYER_OF[source]:
            problems.append(
                f"upward import: {source} (layer {LAYER_OF[source] + 1}) uses {target} "
                f"(layer {LAYER_OF[target] + 1}) at {', '.join(places[:3])}"
            )
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
    for cycle in cycles(graph):
        problems.append("import cycle: " + " -> ".join(cycle + [cycle[0]]))
    for problem in problems:
        print(problem)
    print(f"{len(edges)} module dependencies, {len(problems)} problem(s)")
    return 1 if problems else 0


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
