"""The house rules of the layout, read from the source: no import cycles anywhere (imports inside
functions count; only ``if TYPE_CHECKING:`` blocks are exempt), the library imports only NumPy
and the standard library, arrows between the sub-packages point down, and functions fit a
screen."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src"
BENCHMARKS = ROOT / "benchmarks"

# Who may import whom: a sub-package may import those of a lower rank (and the library, rank 0),
# never one of its own rank or above. report and web both use digits; neither uses the other.
# The engine is the library's second wing: it imports the textbook, never the other way round.
RANKS = {"engine": 1, "datasets": 1, "digits": 2, "exercises": 2, "report": 3, "web": 3, "cli": 4}
LIBRARY_MAY_IMPORT = {"numpy"}
# The optional imports of the library, each made only when its feature is asked for, so the
# library still needs NumPy alone (the extras add them).
LIBRARY_OPTIONAL = {
    "barenet.onnx_export": {"onnx"},
    "barenet.engine.sharding": {"threadpoolctl"},
    "barenet.engine.numba_kernels": {"numba"},  # imported only when the numba engine runs
}
# The package's public API switches the engine on: the one library module that imports it.
PUBLIC_API = "barenet"
# Attributes that were speed bookkeeping on the textbook's base class, and must not come back.
SPEED_ATTRIBUTES = {"shardable", "across_shards", "needs_input_grad", "elementwise"}
APPLICATION_ENTRY = {"barenet.__main__"}  # `python -m barenet` runs the command line
LINES_PER_FUNCTION = 60  # code lines, docstring aside: one screen


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, ast.Module]:
    """Every module below ``root``, parsed: ``{"barenet.layers": tree, ...}``."""
    return {
        module_name(path, root): ast.parse(path.read_text(), str(path))
        for path in sorted(root.rglob("*.py"))
    }


def imported_names(tree: ast.Module) -> set[str]:
    """Every module name an import statement names, at any depth, except under TYPE_CHECKING.
    ``from a.b import c`` names both ``a.b`` and ``a.b.c`` (c may be a module)."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def import_graph(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    """Edges between the modules of ``trees`` only."""
    return {name: imported_names(tree) & trees.keys() - {name} for name, tree in trees.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def area(module: str) -> str:
    """``"library"`` for barenet's top-level modules, else the sub-package's name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANKS) else "library"


def code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function, its docstring left out."""
    lines = node.end_lineno - node.lineno + 1
    if ast.get_docstring(node) is not None:
        docstring = node.body[0]
        lines -= docstring.end_lineno - docstring.lineno + 1
    return lines


@pytest.fixture(scope="module")
def barenet_modules() -> dict[str, ast.Module]:
    return modules(SOURCE)


def test_the_checker_finds_a_cycle_and_its_members():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    lazy = ast.parse("def f():\n    import b\nif TYPE_CHECKING:\n    import c\n")
    assert imported_names(lazy) == {"b"}


def test_no_import_cycles_in_barenet(barenet_modules):
    assert cycles(import_graph(barenet_modules)) == []


def test_no_import_cycles_in_the_benchmarks():
    assert cycles(import_graph(modules(BENCHMARKS))) == []


def test_the_library_imports_only_numpy_and_the_standard_library(barenet_modules):
    offenders = []
    for name, tree in barenet_modules.items():
        if area(name) not in ("library", "engine") or name in APPLICATION_ENTRY:
            continue
        for imported in imported_names(tree):
            top = imported.split(".")[0]
            if top in sys.stdlib_module_names or top in LIBRARY_MAY_IMPORT:
                continue
            if top in LIBRARY_OPTIONAL.get(name, ()):
                continue
            if top == "barenet" and imported not in barenet_modules:
                continue  # a name inside a module: `from barenet.layers import Dense`
            if top == "barenet" and area(imported) == "library" and imported != "barenet":
                continue
            if top == "barenet" and area(imported) == "engine" and area(name) == "engine":
                continue
            if name == PUBLIC_API and area(imported) == "engine":
                continue
            offenders.append(f"{name} imports {imported}")
    assert offenders == []


def test_no_textbook_module_imports_the_engine(barenet_modules):
    offenders = [
        f"{name} imports {imported}"
        for name, tree in barenet_modules.items()
        if area(name) == "library" and name != PUBLIC_API
        for imported in imported_names(tree)
        if imported.startswith("barenet.engine")
    ]
    assert offenders == []


def test_the_textbook_classes_carry_no_speed_attributes():
    import barenet as bn

    with bn.engine.using("reference"):
        classes = [bn.Layer, *bn.Layer.registry.values(), bn.Optimizer, bn.Sequential]
        found = sorted(
            f"{cls.__name__}.{attribute}"
            for cls in classes
            for attribute in SPEED_ATTRIBUTES
            if hasattr(cls, attribute)
        )
    assert found == []


def test_arrows_between_the_sub_packages_point_down(barenet_modules):
    graph = import_graph(barenet_modules)
    offenders = []
    for name, targets in graph.items():
        if name in APPLICATION_ENTRY or name == PUBLIC_API:
            continue
        for target in targets:
            mine, theirs = area(name), area(target)
            if theirs == "library" or mine == theirs:
                continue
            if mine == "library" or RANKS[theirs] >= RANKS[mine]:
                offenders.append(f"{name} imports {target}")
    assert offenders == []


def test_every_function_fits_a_screen(barenet_modules):
    long = []
    for name, tree in barenet_modules.items():
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            lines = code_lines(node)
            if lines > LINES_PER_FUNCTION:
                long.append(f"{name}.{node.name}: {lines} lines")
    assert long == []


def test_every_library_module_has_its_test_module(barenet_modules):
    library = [
        name.removeprefix("barenet.")
        for name in barenet_modules
        if area(name) == "library" and name not in ("barenet", *APPLICATION_ENTRY)
    ]
    missing = [name for name in library if not (ROOT / "tests" / f"test_{name}.py").is_file()]
    assert missing == []


def test_every_sub_package_has_its_test_folder():
    missing = [name for name in RANKS if not (ROOT / "tests" / name / "__init__.py").is_file()]
    assert missing == []


TEXTBOOK_METHODS = {"forward", "backward", "update"}
TEXTBOOK_METHOD_LINES = 30  # a formula a learner reads at one glance


def test_every_textbook_forward_backward_and_update_fits_thirty_lines(barenet_modules):
    long = []
    for name, tree in barenet_modules.items():
        if area(name) != "library":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in TEXTBOOK_METHODS:
                lines = code_lines(node)
                if lines > TEXTBOOK_METHOD_LINES:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert long == []
