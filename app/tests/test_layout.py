"""The house's rules, checked on the source: no import cycle between the app's modules, rooms
import only downwards (cachekit ← tenancy ← catalog ← assistant ← openai_compat; api, ops and
config are plumbing), no import inside a function to dodge a cycle (AppConfig.ready() excepted:
Django's place for it), and no module over 400 lines.

Static, so it sees every module, imported or not, in every order: a cycle that one import
order happens to survive is still reported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1]
REPO = APP.parent
TREES = ("app", "benchmarks", "charts", "docker", "k8s-tests", "release", "testsupport")
ROOMS = ["cachekit", "tenancy", "catalog", "assistant", "openai_compat"]
FIRST_PARTY = {*ROOMS, "api", "ops", "config"}
MAX_LINES = 400


def app_modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(APP.rglob("*.py")):
        parts = path.relative_to(APP).with_suffix("").parts
        if parts[0] not in FIRST_PARTY or "migrations" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


MODULES = app_modules()


def imported(name: str, path: Path, *, top_level: bool) -> set[str]:
    """First-party modules `name` imports (at module level, or inside functions)."""
    tree = ast.parse(path.read_text())
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    inner = {id(sub) for fn in functions for sub in ast.walk(fn) if fn is not sub}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or (id(node) in inner) == top_level:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1]])
                base = f"{base}.{node.module}" if node.module else base
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        found |= {t for t in targets if t in MODULES and t != name}
    return found


GRAPH = {name: imported(name, path, top_level=True) for name, path in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_app_has_its_modules():
    assert {"cachekit.component", "tenancy.keys", "catalog.cache"} <= set(MODULES)


def test_no_import_cycle_between_app_modules():
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("room", ROOMS)
def test_rooms_import_only_rooms_below_them(room):
    above = set(ROOMS[ROOMS.index(room) + 1 :])
    if room == "cachekit":
        above |= {"api", "ops"}  # the component stands on Django and config alone
    upward = {
        (name, target)
        for name, targets in GRAPH.items()
        if name.split(".")[0] == room
        for target in targets
        if target.split(".")[0] in above
    }
    assert upward == set()


def test_no_import_inside_a_function_but_in_app_config_ready():
    inner = {
        name: imported(name, path, top_level=False)
        for name, path in MODULES.items()
        if not name.endswith(".apps")
    }
    assert {name: targets for name, targets in inner.items() if targets} == {}


def test_no_module_over_400_lines():
    sizes = {path: len(path.read_text().splitlines()) for path in APP.rglob("*.py")}
    assert {str(p.relative_to(APP)): n for p, n in sizes.items() if n > MAX_LINES} == {}


def repo_python_files() -> list[Path]:
    return [path for tree in TREES for path in (REPO / tree).rglob("*.py")]


def test_no_sys_path_edits_anywhere_but_the_root_manage_py():
    """Test helpers come from the installed `testsupport` package, never from path edits."""
    edits = [
        str(path.relative_to(REPO))
        for path in repo_python_files()
        if "sys.path." in path.read_text() and path != APP / "tests" / "test_layout.py"
    ]
    assert edits == []
    assert "sys.path.insert" in (REPO / "manage.py").read_text()  # the project's entry point


def test_benchmarks_never_import_the_app_tests():
    importers = [
        str(path.relative_to(REPO))
        for path in (REPO / "benchmarks").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom | ast.Import)
        and any(
            (name or "").split(".")[0] == "tests"
            for name in ([node.module] if isinstance(node, ast.ImportFrom) else
                         [alias.name for alias in node.names])
        )
    ]  # fmt: skip
    assert importers == []
