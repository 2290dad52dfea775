"""The shape of the package, checked from its source: no import cycle, production code never reaches
evaluation or simulator code, and modules stay small."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "monitor"
# Only for measuring and demonstrating: the service must run without them.
EVALUATION = ("monitor.evaluation", "monitor.simulate", "monitor.bench")
# Entry points that offer evaluation commands next to production ones (they import them inside the command).
ENTRY_POINTS = ("monitor.cli", "monitor.demo", "monitor.__main__")
LONGEST = 300  # lines; cli.py is a flat argument table and may be longer


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in PACKAGE.rglob("*.py")}


def imports(module: str) -> set[str]:
    """Every monitor module a module imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return {m for m in found if m in MODULES and m != module}


def _is_evaluation(module: str) -> bool:
    return module.startswith(EVALUATION)


def test_production_modules_import_no_evaluation_or_simulator_code() -> None:
    entry = tuple(f"{e}." for e in ENTRY_POINTS)  # an entry point's package (monitor.demo.*) is one too
    production = [
        m for m in MODULES if not _is_evaluation(m) and m not in ENTRY_POINTS and not m.startswith(entry)
    ]
    offenders = {m: sorted(i for i in imports(m) if _is_evaluation(i)) for m in production}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_there_is_no_import_cycle() -> None:
    graph = {m: imports(m) for m in MODULES}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                cycles.append([*path[path.index(other) :], other])
            elif other not in state:
                visit(other, [*path, other])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    if module == "monitor.cli":
        return
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= LONGEST, f"{module}: {lines} lines"
