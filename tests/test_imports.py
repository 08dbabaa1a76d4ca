"""Structure rules read from the source: no import cycles, Textual only in the TUI, short files.

The import graph is read with ``ast`` (nothing is imported), so a cycle is
found even where Python's import order happens to let it work today. Each
module's imports are split in two:

- **module-level**: run when the module is first imported (``try`` blocks
  included, ``if TYPE_CHECKING:`` left out, as it never runs). A cycle here
  means a module can see its partner half-initialised, depending on which
  one a caller imports first: always a failure.
- **deferred**: inside a function or method, run when it is called. A cycle
  through one is legal Python, but it is the same tangle hidden in a
  function; it fails too, so a layer that needs something from a layer
  above it gets a new home for that thing instead.

``from pkg import name`` leans on ``pkg.name`` when that is a module, else
on ``pkg`` itself (its ``__init__``). A dotted import does not add edges to
the parent packages Python runs first: a package's ``__init__`` importing
its own modules (its face) is not a cycle.

A module over 500 lines is hard to find one's way in: it is split by
concern, or its docstring has a line starting ``Why this file is long:``
that says why it is one piece (see docs/architecture.md).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "virtio_wizard"
SRC = Path(__file__).resolve().parent.parent / PACKAGE

#: Longer files are hard to change; over this, the module docstring says why.
MAX_LINES = 500
#: How a module docstring says why it is long (a line starting so).
LONG_REASON = "Why this file is long:"
#: Long files the redesign (issue 12) has not split yet, with who splits them.
#: The list only shrinks: a file split, or given its reason, must leave it.
NOT_YET_SPLIT: dict[str, str] = {}


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (packages by their ``__init__``)."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts[1:3] == ["demo", "guests"]:
            continue  # guest trees shipped with the demo: data, not the program's code
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
    return name == "TYPE_CHECKING"


def _imports(tree: ast.AST, deferred: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """(import node, whether it is deferred) for every import that can run."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, deferred
        elif isinstance(node, ast.If) and _is_type_checking(node):
            yield from _imports(ast.Module(body=node.orelse, type_ignores=[]), deferred)
        else:
            inner = deferred or isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            yield from _imports(node, inner)


def _base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from`` import names (relative levels resolved)."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def import_graph() -> dict[str, dict[str, set[str]]]:
    """module -> {"module": modules it imports at load, "deferred": those imported in functions}."""
    files = module_files()
    graph: dict[str, dict[str, set[str]]] = {}
    for module, path in files.items():
        edges: dict[str, set[str]] = {"module": set(), "deferred": set()}
        tree = ast.parse(path.read_text(), str(path))
        for node, deferred in _imports(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = _base(module, path.name == "__init__.py", node)
                names = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names
                ]
            for name in names:
                if name in files and name != module:
                    edges["deferred" if deferred else "module"].add(name)
        graph[module] = edges
    return graph


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules, each as one cycle through it.

    Tarjan's algorithm finds the groups; a path around each is then named
    (a group may hold several cycles: fixing the named one shows the next).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [_path_around(sorted(g), edges) for g in groups]


def _path_around(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest cycle from the group's first module back to it, inside the group."""
    start = group[0]
    seen = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges.get(v, ())):
                if w == start:
                    return seen[v] + [start]
                if w in group and w not in seen:
                    seen[w] = seen[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle through {start}")


def _named(found: list[list[str]]) -> str:
    return "\n".join(" -> ".join(c) for c in found)


def test_no_import_cycle_at_module_level():
    graph = import_graph()
    found = cycles({m: e["module"] for m, e in graph.items()})
    assert not found, "import cycles when modules load:\n" + _named(found)


def test_no_import_cycle_through_function_level_imports():
    graph = import_graph()
    found = cycles({m: e["module"] | e["deferred"] for m, e in graph.items()})
    assert not found, "import cycles through imports inside functions:\n" + _named(found)


def test_the_cycle_finder_names_a_cycle():
    """The tests above can fail: a three-module ring and a pair are each named, a chain is not."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d", "f"}, "f": set()}
    assert sorted(cycles(edges)) == [["a", "b", "c", "a"], ["d", "e", "d"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_relative_imports_resolve_to_the_modules_they_name():
    graph = import_graph()
    # commands/host.py: "from ..host import ..." at load (the module, not the command).
    assert "virtio_wizard.host" in graph["virtio_wizard.commands.host"]["deferred"]
    assert graph["virtio_wizard.vercmp"]["module"] == set()


def test_textual_is_imported_only_under_tui():
    """The core and the CLI must work (and be tested) without the TUI's toolkit."""
    inside, outside = [], []
    for module, path in module_files().items():
        for node, _deferred in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                names = [node.module or ""] if not node.level else []
            found = [f"{module}: {n}" for n in names if n.split(".")[0] == "textual"]
            (inside if module.startswith(f"{PACKAGE}.tui") else outside).extend(found)
    assert inside, "the scan sees the TUI's own Textual imports (else it reads nothing)"
    assert outside == []


def long_files() -> list[str]:
    """Modules over MAX_LINES lines whose docstring does not say why they are long."""
    out = []
    for path in module_files().values():
        text = path.read_text()
        if text.count("\n") <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if not any(line.strip().startswith(LONG_REASON) for line in doc.splitlines()):
            out.append(str(path.relative_to(SRC.parent)))
    return sorted(out)


def test_no_long_file_without_a_reason_at_its_top():
    """Over 500 lines, the module docstring has a line 'Why this file is long: ...'."""
    found = long_files()
    new = [f for f in found if f not in NOT_YET_SPLIT]
    assert not new, (
        f"files over {MAX_LINES} lines whose docstring has no '{LONG_REASON}' line "
        "(split them by concern, or say why they are one piece):\n" + "\n".join(new)
    )
    done = sorted(set(NOT_YET_SPLIT) - set(found))
    assert not done, f"split or explained now: take them out of NOT_YET_SPLIT: {done}"


def test_a_long_file_is_seen(tmp_path, monkeypatch):
    """The rule reads what it should: 501 lines fail, a reason line passes."""
    package = tmp_path / PACKAGE
    package.mkdir()
    body = "x = 1\n" * MAX_LINES
    (package / "long.py").write_text('"""A long one."""\n' + body)
    (package / "told.py").write_text(f'"""Told.\n\n{LONG_REASON} one table.\n"""\n' + body)
    (package / "short.py").write_text('"""Short."""\n')
    monkeypatch.setitem(globals(), "SRC", package)
    assert long_files() == [f"{PACKAGE}/long.py"]


def _script_files() -> list[Path]:
    """Python files outside the package that import it: tests, benchmarks, scripts."""
    repo = SRC.parent
    skip = {repo / "tests" / "roots", SRC}
    return sorted(
        p
        for p in repo.rglob("*.py")
        if not any(parent in skip for parent in p.parents) and ".venv" not in p.parts
    )


def test_every_import_of_the_package_names_a_module_that_exists():
    """Tests and scripts follow a move too (a stale import breaks only when that file runs)."""
    modules = module_files()
    stale = []
    for path in _script_files():
        for node, _deferred in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] == PACKAGE and name not in modules:
                    stale.append(f"{path.relative_to(SRC.parent)}: {name}")
    assert stale == []
