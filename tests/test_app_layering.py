"""No two apps import each other, directly or around a circle, at any depth of a module.

Every import of every module of the project's packages is read from its source (module
level and inside functions alike, migrations included), so a lazy import cannot hide a
cycle. `billing_portal` (settings, URLs, the Celery app, WSGI) is the project that puts the
apps together: it may import them, and no app imports it. `common` is the shell's helpers
under every app: it imports none. The test prints the cycle it finds.
"""

import ast
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PROJECT = "billing_portal"
COMMON = "common"


def _packages() -> list[str]:
    apps = [name for name in settings.INSTALLED_APPS if (ROOT / name / "__init__.py").is_file()]
    return [*apps, COMMON, PROJECT]


def _imports(path: Path) -> set[str]:
    """Every absolute module name the file imports, wherever the import statement is."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _app_graph() -> dict[str, dict[str, set[str]]]:
    """{app: {imported app: {"file -> module", ...}}} between the project's packages."""
    packages = set(_packages())
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            for module in _imports(path):
                target = module.split(".")[0]
                if target in packages and target != package:
                    graph[package][target].add(f"{path.relative_to(ROOT)} imports {module}")
    return graph


def _cycle(graph: dict[str, dict[str, set[str]]]) -> list[str] | None:
    """One cycle of the graph as [a, b, ..., a], or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph.get(node, {})):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def _explain(graph: dict[str, dict[str, set[str]]], cycle: list[str]) -> str:
    lines = [" -> ".join(cycle)]
    for source, target in pairwise(cycle):
        lines += [f"  {source} -> {target}:", *(f"    {why}" for why in sorted(graph[source][target]))]
    return "\n".join(lines)


def test_no_cycle_between_apps():
    graph = _app_graph()
    cycle = _cycle(graph)
    assert cycle is None, f"import cycle between apps:\n{_explain(graph, cycle)}"


def test_common_imports_no_app_and_no_app_imports_the_project():
    graph = _app_graph()
    assert dict(graph.get(COMMON, {})) == {}
    importers = {app: sorted(graph[app][PROJECT]) for app in graph if PROJECT in graph[app]}
    assert importers == {}


def test_the_cycle_finder_finds_and_prints_a_cycle():
    graph = {"payments": {"finance": {"payments/services.py imports finance.services"}}, "finance": {"payments": {"x"}}}

    cycle = _cycle(graph)

    assert cycle == ["finance", "payments", "finance"]
    assert _explain(graph, cycle).startswith("finance -> payments -> finance\n  finance -> payments:\n    x")
