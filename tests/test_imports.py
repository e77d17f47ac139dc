"""The import graph of ``appliance/`` has no cycle: neither between modules nor between its
top-level packages.

How the graph is built (from the source, with :mod:`ast`; nothing is imported):

- a node is a module, ``appliance.audio.ring``; a package's ``__init__.py`` is the node of the
  package's own name (``appliance.audio``);
- an edge is an import of ``appliance…`` anywhere in a module: at the top, in a function or a
  method, in ``try`` — a deferred import still ties the two modules together; it only hides the
  cycle from the interpreter. Imports under ``if TYPE_CHECKING:`` do not count (they never run).
  Relative imports are resolved; ``importlib`` and other imports by string are not seen;
- ``from appliance.x import y`` is an edge to ``appliance.x.y`` when that is a module, else to
  ``appliance.x``. Importing a module also runs its parent packages' ``__init__.py``; that is
  not counted as an edge (else every package that imports its own modules would be a cycle);
- the top-level packages are the first name under ``appliance``: ``appliance.audio`` (all of
  ``appliance/audio/``), ``appliance.bus`` (one module); ``appliance/__init__.py`` is one of its
  own, ``appliance``. Imports within one of them are not package edges. Every top-level package
  depends on ``appliance`` (importing any of its modules runs ``appliance/__init__.py`` first),
  so ``appliance/__init__.py`` importing any of them is a cycle.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "appliance"

Graph = dict[
    str, dict[str, list[str]]
]  # module → imported module → where ("file:line"; []: implied)
SHOWN = 12  # cycles listed on failure


def modules(root: Path) -> dict[str, Path]:
    """Every module under ``root`` (a package folder) by its dotted name."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Every statement, however deeply nested, except the bodies of ``if TYPE_CHECKING:``."""
    out: list[ast.stmt] = []
    for node in body:
        out.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            out += _statements(node.orelse)
            continue
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(node, name, None)
            if isinstance(inner, list):
                for item in inner:
                    if isinstance(item, ast.stmt):
                        out += _statements([item])
                    elif isinstance(item, ast.ExceptHandler | ast.match_case):
                        out += _statements(item.body)
    return out


def imports_of(name: str, path: Path, known: set[str], shown: str) -> dict[str, list[str]]:
    """The modules of ``known`` that module ``name`` (at ``path``, called ``shown``) imports,
    with where ("shown:line")."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: defaultdict[str, list[str]] = defaultdict(list)

    def add(target: str, line: int) -> None:
        while target and target not in known:  # an attribute of a module: the module
            target = target.rpartition(".")[0]
        if target and target != name and f"{shown}:{line}" not in out[target]:
            out[target].append(f"{shown}:{line}")

    for node in _statements(ast.parse(path.read_text(), str(path)).body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[: len(up) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                add(full if full in known else base, node.lineno)
    return dict(out)


def import_graph(root: Path = ROOT) -> Graph:
    found = modules(root)
    known = set(found)
    return {
        name: imports_of(name, path, known, str(path.relative_to(root.parent)))
        for name, path in found.items()
    }


def package_graph(graph: Graph, root: str = "appliance") -> Graph:
    """The same edges between top-level packages (``root`` itself being one), and from each of
    them to ``root``, whose ``__init__.py`` runs before any of their modules."""

    def top(module: str) -> str:
        return ".".join(module.split(".")[:2])

    out: defaultdict[str, defaultdict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for module, targets in graph.items():
        if top(module) != root:
            out[top(module)][root]  # implied
        for target, lines in targets.items():
            if top(target) != top(module):
                out[top(module)][top(target)] += lines
    out[root]  # a node even when it imports nothing
    return {k: dict(v) for k, v in out.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """The shortest cycle (a → … → a) through each node caught in one, each cycle once (from
    its first node in sorted order), shortest first; :func:`groups` has the nodes that are
    caught together."""
    found = set()
    for group in groups(graph):
        for node in group:
            cycle = _shortest_cycle(graph, node, set(group))[:-1]
            first = cycle.index(min(cycle))
            found.add((*cycle[first:], *cycle[:first], cycle[first]))
    return sorted((list(c) for c in found), key=lambda c: (len(c), c))


def groups(graph: Graph) -> list[list[str]]:
    """The groups of more than one node that all reach each other, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # recursion depth: at most the number of modules
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _shortest_cycle(graph: Graph, start: str, inside: set[str]) -> list[str]:
    """The shortest cycle through ``start`` within the nodes ``inside``."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for target in sorted(graph.get(node, {})):
                if target == start:
                    return [*paths[node], start]
                if target in inside and target not in paths:
                    paths[target] = [*paths[node], target]
                    nxt.append(target)
        frontier = nxt
    raise AssertionError("a strongly connected group without a cycle")


def describe(graph: Graph) -> str:
    """The groups of nodes caught in cycles, then the cycles edge by edge."""
    lines = [f"caught together: {', '.join(group)}" for group in groups(graph)]
    found = cycles(graph)
    for cycle in found[:SHOWN]:
        lines.append("  " + " → ".join(cycle))
        for a, b in itertools.pairwise(cycle):
            where = graph[a][b]
            if where:
                more = ", …" if len(where) > 4 else ""
                lines.append(f"      {a} imports {b} ({', '.join(where[:4])}{more})")
            else:
                lines.append(f"      {a} needs {b}: its __init__.py runs first")
    if len(found) > SHOWN:
        lines.append(f"  … and {len(found) - SHOWN} more")
    return "import cycles; " + "\n".join(lines)


# -- the checks ----------------------------------------------------------------------------------


def test_no_module_of_the_appliance_imports_itself_round_a_cycle() -> None:
    graph = import_graph()
    assert not cycles(graph), describe(graph)


def test_no_top_level_package_of_the_appliance_imports_itself_round_a_cycle() -> None:
    graph = package_graph(import_graph())
    assert not cycles(graph), describe(graph)


# -- the checker itself, on a made-up package ------------------------------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_the_checker_finds_deferred_and_relative_imports_and_skips_type_checking(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import os\nfrom . import b\nthing = 1\n",
            "pkg/b.py": "def later():\n    from pkg.sub.c import x\n    return x\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.a import thing\nelse:\n    import pkg.sub\n"
                "try:\n    from ..a import thing as x\nexcept ImportError:\n    pass\n"
            ),
        },
    )
    graph = import_graph(root)
    assert set(graph) == {"pkg", "pkg.a", "pkg.b", "pkg.sub", "pkg.sub.c"}
    assert graph["pkg"] == {}
    assert graph["pkg.a"] == {"pkg.b": ["pkg/a.py:2"]}
    assert graph["pkg.b"] == {"pkg.sub.c": ["pkg/b.py:2"]}
    assert graph["pkg.sub.c"] == {
        "pkg.sub": ["pkg/sub/c.py:5"],
        "pkg.a": ["pkg/sub/c.py:7"],  # not line 3
    }
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]
    assert "pkg.sub.c imports pkg.a (pkg/sub/c.py:7)" in describe(graph)
    assert cycles(package_graph(graph, "pkg")) == [["pkg.a", "pkg.b", "pkg.sub", "pkg.a"]]


def test_the_root_init_is_a_package_of_its_own_that_every_other_one_needs(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path,
        {
            "pkg/__init__.py": "__version__ = '1'\n",
            "pkg/audio/__init__.py": "from pkg.audio.x import y\n",
            "pkg/audio/x.py": "from pkg.audio import z\ny = 1\n",
            "pkg/audio/z.py": "import pkg.bus\n",
            "pkg/bus.py": "",
        },
    )
    graph = import_graph(root)
    assert cycles(graph) == []  # a package's __init__ may import its own modules
    assert package_graph(graph, "pkg") == {
        "pkg": {},
        "pkg.audio": {"pkg": [], "pkg.bus": ["pkg/audio/z.py:1"]},
        "pkg.bus": {"pkg": []},
    }
    assert cycles(package_graph(graph, "pkg")) == []
    (root / "__init__.py").write_text("from pkg.audio.x import y\n")
    packages = package_graph(import_graph(root), "pkg")
    assert cycles(packages) == [["pkg", "pkg.audio", "pkg"], ["pkg", "pkg.audio", "pkg.bus", "pkg"]]
    assert "pkg.audio needs pkg: its __init__.py runs first" in describe(packages)
