"""The package layering holds: no import cycles, no forbidden imports, and every app module imports on its own.

The rules (also in docs/architecture.md):

    core        imports nothing of ours
    crm         core
    nlu         core
    learning    core, crm, nlu
    privacy     core, crm, learning
    actions     core, crm
    bot         core, crm, learning, nlu, privacy, reports
    demo        core, crm
    reports     core, crm
    ingest      core, crm (the ingestion API and `parceldesk import`)
    sandbox     nothing of ours
    parceldesk  anything (the roof: CLI and process supervision)
    engine      nothing of ours but core.logs and core.redaction (engine/parse.py and engine/serve.py run inside
                the Rasa engine environment; those two modules use the standard library only, checked below)

and core, crm, learning, privacy, demo, reports and ingest never import `telegram` or `rasa_sdk`. No app module
imports `tests`.

How imports are counted. The graph is built statically with `ast` from every module of the packages above,
including nlu/components, nlu/channel.py, crm/migrations and engine/parse.py (which cannot be imported in the app
venv). Every import statement counts, wherever it is: at module level, inside a function (a lazy import is still a
dependency; it only moves the moment it runs), and under `if TYPE_CHECKING:`.
- Layering: every import obeys the rules, TYPE_CHECKING ones included — an annotation naming a class of a package
  you may not import is the same coupling, merely unchecked at run time.
- Cycles: TYPE_CHECKING-only imports are left out, because they never execute and are the standard way to name a
  type without a runtime dependency; all other imports, lazy ones included, are in the cycle check.
Dynamic imports (importlib, strings in YAML) are invisible here; the import test below covers what actually runs.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import random
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Package → the first-party packages it may import (besides itself).
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "crm": frozenset({"core"}),
    "nlu": frozenset({"core"}),
    "learning": frozenset({"core", "crm", "nlu"}),
    "privacy": frozenset({"core", "crm", "learning"}),
    "actions": frozenset({"core", "crm"}),
    "bot": frozenset({"core", "crm", "learning", "nlu", "privacy", "reports"}),
    "demo": frozenset({"core", "crm"}),
    "reports": frozenset({"core", "crm"}),
    "ingest": frozenset({"core", "crm"}),
    "sandbox": frozenset(),
    "parceldesk": frozenset(
        {"core", "crm", "nlu", "learning", "actions", "bot", "demo", "sandbox", "reports", "privacy", "ingest"}
    ),
    "engine": frozenset(),
}
# Modules the engine side may import beyond its package: they run in the engine's own environment too, so they may
# use the standard library only (test_engine_side_modules_use_the_standard_library_only).
ENGINE_MAY_IMPORT = frozenset({"core.logs", "core.redaction"})
# First-party top-level names: the packages above plus the test suite, which no app module may import.
FIRST_PARTY = frozenset(ALLOWED) | {"tests"}
# Third-party front ends the lower layers must not know about.
FRONT_ENDS = frozenset({"telegram", "rasa_sdk"})
FRONT_END_FREE = frozenset({"core", "crm", "learning", "privacy", "demo", "reports", "ingest"})

# Not importable in the app venv (the probe runs in the engine env), or not meant to be imported: static graph only.
NOT_IMPORTED_PREFIXES = ("nlu.components", "nlu.channel", "nlu.experiments.probe", "crm.migrations", "engine")
IMPORT_SEED = 20261201


@dataclass(frozen=True)
class Import:
    """One first-party or front-end import found in a module."""

    importer: str
    target: str
    path: str
    line: int
    lazy: bool
    type_checking: bool

    def where(self) -> str:
        """file:line plus how the import is made, for messages."""
        how = " (TYPE_CHECKING)" if self.type_checking else " (inside a function)" if self.lazy else ""
        return f"{self.path}:{self.line}{how}"


def module_name(path: Path) -> str:
    """The dotted module name of a file under the project root."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules() -> dict[str, Path]:
    """Every Python module of the app packages (and engine/), by dotted name."""
    modules: dict[str, Path] = {}
    for package in sorted(ALLOWED):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                modules[module_name(path)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    """True for `if TYPE_CHECKING:` and `if typing.TYPE_CHECKING:`."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, modules: Iterable[str]) -> str:
    """The longest known module that `name` starts with (or `name` itself for outside modules)."""
    known = set(modules)
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return name


def scan_source(source: str, importer: str, path: str, is_package: bool, modules: Iterable[str]) -> list[Import]:
    """Every first-party or front-end import in a module's source, with where and how it is made."""
    known = set(modules)
    found: list[Import] = []

    def add(target: str, node: ast.stmt, lazy: bool, type_checking: bool) -> None:
        top = target.split(".")[0]
        if top in FIRST_PARTY or top in FRONT_ENDS:
            found.append(Import(importer, _resolve(target, known), path, node.lineno, lazy, type_checking))

    def visit(node: ast.AST, lazy: bool, type_checking: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node, lazy, type_checking)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = importer.split(".") if is_package else importer.split(".")[:-1]
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                add(submodule if submodule in known else module, node, lazy, type_checking)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, lazy, True)
            for child in node.orelse:
                visit(child, lazy, type_checking)
        else:
            inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            for child in ast.iter_child_nodes(node):
                visit(child, inner, type_checking)

    visit(ast.parse(source, filename=path), False, False)
    return found


def scan_all() -> list[Import]:
    """The imports of every app module."""
    modules = app_modules()
    imports: list[Import] = []
    for name, path in modules.items():
        relative = str(path.relative_to(ROOT))
        imports += scan_source(path.read_text(encoding="utf-8"), name, relative, path.name == "__init__.py", modules)
    return imports


def layering_violations(imports: Iterable[Import]) -> list[str]:
    """Every import that breaks the rules, as 'importer → target  file:line'."""
    problems: list[str] = []
    for found in imports:
        layer, target = found.importer.split(".")[0], found.target.split(".")[0]
        if target == layer or (layer == "engine" and found.target in ENGINE_MAY_IMPORT):
            continue
        if target in FIRST_PARTY and target not in ALLOWED[layer]:
            allowed = ", ".join(sorted(ALLOWED[layer])) or "nothing of ours"
            problems.append(f"{found.importer} → {found.target}  {found.where()}  [{layer} may import: {allowed}]")
        elif target in FRONT_ENDS and layer in FRONT_END_FREE:
            problems.append(f"{found.importer} → {found.target}  {found.where()}  [{layer} never imports {target}]")
    return problems


def _strongly_connected(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Tarjan's strongly connected components (iterative), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    yield sorted(component)


def _shortest_cycle(graph: dict[str, set[str]], start: str, members: set[str]) -> list[str]:
    """The shortest path start → … → start inside one component."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child in members and child not in previous and child != start:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return [start, start]


def import_cycles(imports: Iterable[Import]) -> list[str]:
    """Each cycle between modules (TYPE_CHECKING imports left out), with the lines that close it."""
    graph: dict[str, set[str]] = {}
    lines: dict[tuple[str, str], str] = {}
    for found in imports:
        if found.type_checking or found.target.split(".")[0] not in FIRST_PARTY:
            continue
        graph.setdefault(found.importer, set()).add(found.target)
        graph.setdefault(found.target, set())
        lines.setdefault((found.importer, found.target), found.where())
    cycles = []
    for component in _strongly_connected(graph):
        cycle = _shortest_cycle(graph, component[0], set(component))
        steps = ", ".join(f"{a} → {b} at {lines[(a, b)]}" for a, b in zip(cycle, cycle[1:], strict=False))
        others = f" (component: {', '.join(component)})" if len(component) > len(cycle) - 1 else ""
        cycles.append(f"{' → '.join(cycle)}{others}\n      {steps}")
    return cycles


def importable_modules() -> list[str]:
    """App modules that must import in the app venv (not engine-only code, migrations or `__main__`)."""
    return [
        name
        for name in app_modules()
        if not name.startswith(NOT_IMPORTED_PREFIXES) and name.rsplit(".", 1)[-1] != "__main__"
    ]


IMPORTER = textwrap.dedent(
    """
    import importlib, json, sys, traceback
    failures = {}
    for name in json.loads(sys.argv[1]):
        try:
            importlib.import_module(name)
        except BaseException:
            failures[name] = traceback.format_exc(limit=-3)
    print(json.dumps(failures))
    """
)


# --- the scanner itself ---------------------------------------------------------------------------------------


def test_scanner_sees_lazy_type_checking_and_relative_imports() -> None:
    """Module-level, in-function, TYPE_CHECKING, `from x import submodule` and relative imports are all found."""
    source = textwrap.dedent(
        """
        from typing import TYPE_CHECKING
        import core.db
        from crm import models
        from . import chats
        from .sibling import helper
        if TYPE_CHECKING:
            from bot.app import Application
        def later():
            import telegram
            from learning.review import Labeller
        """
    )
    modules = ["core", "core.db", "crm", "crm.models", "crm.chats", "crm.sibling", "bot.app", "learning.review"]
    found = {(i.target, i.lazy, i.type_checking) for i in scan_source(source, "crm.thing", "crm/thing.py", False,
                                                                          modules)}
    assert found == {
        ("core.db", False, False),
        ("crm.models", False, False),
        ("crm.chats", False, False),
        ("crm.sibling", False, False),
        ("bot.app", False, True),
        ("telegram", True, False),
        ("learning.review", True, False),
    }


def test_rules_flag_upward_and_front_end_imports_and_cycles() -> None:
    """The checks themselves catch a wrong-way import, a telegram import in crm and a two-module cycle."""
    imports = [
        Import("crm.a", "bot.app", "crm/a.py", 3, lazy=True, type_checking=False),
        Import("crm.a", "telegram", "crm/a.py", 4, lazy=False, type_checking=False),
        Import("bot.x", "bot.y", "bot/x.py", 1, lazy=False, type_checking=False),
        Import("bot.y", "bot.x", "bot/y.py", 9, lazy=True, type_checking=False),
        Import("bot.y", "bot.z", "bot/y.py", 2, lazy=False, type_checking=True),
        Import("bot.z", "bot.y", "bot/z.py", 2, lazy=False, type_checking=False),
    ]
    problems = layering_violations(imports)
    assert len(problems) == 2
    assert problems[0].startswith("crm.a → bot.app  crm/a.py:3 (inside a function)")
    assert problems[1].startswith("crm.a → telegram  crm/a.py:4")
    cycles = import_cycles(imports)
    assert len(cycles) == 1 and cycles[0].startswith("bot.x → bot.y → bot.x")  # bot.y ↔ bot.z is TYPE_CHECKING


# --- the project ------------------------------------------------------------------------------------------------


def test_every_package_is_known() -> None:
    """Each top-level Python package in the project has a layering rule (a new package needs one)."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages <= set(ALLOWED), f"no layering rule for: {sorted(packages - set(ALLOWED))}"
    assert set(ALLOWED) - {"engine"} <= packages


def test_every_package_is_installed() -> None:
    """pyproject.toml installs every top-level package, so `import privacy` works outside the checkout too."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    missing = {name for name in packages if not any(fnmatch.fnmatch(name, pattern) for pattern in patterns)}
    assert not missing, f"pyproject.toml [tool.setuptools.packages.find] include misses {sorted(missing)}"


def test_no_layering_violations() -> None:
    """No module imports a package above it (or telegram/rasa_sdk below the front ends), lazily or not."""
    problems = layering_violations(scan_all())
    assert not problems, "layering violations (module → import):\n  " + "\n  ".join(problems)


def test_engine_side_modules_use_the_standard_library_only() -> None:
    """What the engine side imports of ours (engine/serve.py: the log redaction) imports only the standard library
    and each other: the engine environment has Rasa's packages, not ours."""
    for name in sorted(ENGINE_MAY_IMPORT):
        path = ROOT / Path(*name.split(".")).with_suffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module]
            else:
                continue
            for target in targets:
                top = target.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__" or target in ENGINE_MAY_IMPORT, (
                    f"{name} imports {target}: the engine environment cannot import it"
                )


def test_no_import_cycles() -> None:
    """No cycle between modules, counting imports inside functions (TYPE_CHECKING-only imports excluded)."""
    cycles = import_cycles(scan_all())
    assert not cycles, "import cycles:\n  " + "\n  ".join(cycles)


@pytest.mark.parametrize("order", ["shuffled", "reversed"])
def test_every_app_module_imports_in_a_fresh_interpreter(order: str) -> None:
    """Every importable app module imports in a fresh interpreter, in a seeded shuffled order and in reverse."""
    names = importable_modules()
    assert "parceldesk.cli" in names and "bot.handlers" in names and "nlu.channel" not in names
    if order == "shuffled":
        random.Random(IMPORT_SEED).shuffle(names)
    else:
        names.reverse()
    result = subprocess.run(
        [sys.executable, "-c", IMPORTER, json.dumps(names)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert not failures, f"modules that fail to import ({order} order, seed {IMPORT_SEED}):\n" + "\n".join(
        f"--- {name}\n{trace}" for name, trace in failures.items()
    )
