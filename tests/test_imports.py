"""No import cycles in msenas/: the graph of every import statement (module level and inside functions alike).

The graph is read from the source files with ast, nothing is imported. An edge A -> B is an `import B` or a
`from ... import name` in A, the name followed to the module that defines it when a package re-exports it
(msenas.genome.Genome -> msenas.genome.types); imports under `if TYPE_CHECKING:` are left out (never run). The
import of a package's __init__ that Python makes before any of its modules is not an edge: it is every package's.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name -> source file of every module of msenas (a package under its own name)."""
    out = {}
    for p in sorted((root / "msenas").rglob("*.py")):
        parts = list(p.relative_to(root).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The module a `from X import ...` reads, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = package[:len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    blocks = [b for b in ast.walk(tree) if isinstance(b, ast.If) and "TYPE_CHECKING" in ast.unparse(b.test)]
    return {id(n) for block in blocks for stmt in block.body for n in ast.walk(stmt)}


def _reexports(mods: dict[str, Path], trees: dict[str, ast.AST]) -> dict[str, dict[str, str]]:
    """package -> name -> the module it takes the name from (its imports and a lazy `_LAZY = {name: module}`)."""
    out: dict[str, dict[str, str]] = {}
    for m, tree in trees.items():
        if mods[m].name != "__init__.py":
            continue
        table = out.setdefault(m, {})
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                base = _absolute(m, mods[m], node)
                for a in node.names:
                    table[a.asname or a.name] = f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_LAZY" for t in node.targets):
                table.update(ast.literal_eval(node.value))
    return out


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the msenas modules it imports (see the module docstring)."""
    mods = modules(root)
    trees = {m: ast.parse(p.read_text(), str(p)) for m, p in mods.items()}
    reexports = _reexports(mods, trees)

    def defining(base: str, name: str) -> str:
        seen = set()
        while name in reexports.get(base, {}) and base not in seen:
            seen.add(base)
            target = reexports[base][name]
            if target.endswith(f".{name}") and target in mods:
                return target
            base = target
        return base

    graph = {}
    for m, tree in trees.items():
        skip = _type_checking_nodes(tree)
        deps = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in mods}
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(m, mods[m], node)
                for a in node.names:
                    target = f"{base}.{a.name}" if f"{base}.{a.name}" in mods else defining(base, a.name)
                    if target in mods:
                        deps.add(target)
        graph[m] = deps - {m}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_msenas_has_no_import_cycle():
    graph = import_graph()
    found = cycles(graph)
    edges = [f"{a} -> {b}" for c in found for a in c for b in sorted(graph[a]) if b in c]
    assert not found, "import cycles:\n" + "\n".join(edges)


def test_the_graph_sees_function_level_imports_and_follows_reexports_and_finds_a_cycle(tmp_path):
    pkg = tmp_path / "msenas" / "p"
    pkg.mkdir(parents=True)
    (tmp_path / "msenas" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from msenas.p.a import A\n")
    (pkg / "a.py").write_text("A = 1\n\ndef f():\n    from msenas.p.b import B\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from msenas.p.c import C\n"
                              "B = 2\n")
    (pkg / "c.py").write_text("from msenas.p import A\n")
    graph = import_graph(tmp_path)
    assert graph["msenas.p.a"] == {"msenas.p.b"} and graph["msenas.p.b"] == set()
    assert graph["msenas.p.c"] == {"msenas.p.a"}                     # through the package's re-export
    assert cycles(graph) == []
    (pkg / "b.py").write_text("from msenas.p import A\nB = 2\n")      # a -> b (inside a function) -> a
    assert cycles(import_graph(tmp_path)) == [["msenas.p.a", "msenas.p.b"]]
