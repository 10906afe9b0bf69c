"""The import graph of ``core`` has one direction: no cycle, no upward edge, no ``app``.

Every ``import`` in every core module counts: module level, inside functions, under
``if TYPE_CHECKING:`` and relative ones. Each module belongs to one layer of ``LAYERS``
(the longest matching prefix wins); a module may import its own layer and the layers below it.
A new package must be given a layer here (the test fails on an unassigned module).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Top -> bottom. Within a layer any direction is allowed, but no cycle.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("facade", ("core",)),  # core/__init__.py: the lazy public API, above everything
    ("cli", ("core.cli",)),
    ("apps", ("core.apps",)),
    ("eval", ("core.eval", "core.bench")),
    ("train", ("core.train",)),
    (
        "inference",
        (
            "core.pipeline",
            "core.trace_cache",
            "core.generate",
            "core.sculpt",
            "core.edit",
            "core.fit",
            "core.speech",
        ),
    ),
    ("models", ("core.models",)),
    ("base", ("core.data", "core.mesh", "core.io", "core.geometry", "core.assets", "core.motion")),
    (
        "foundation",
        (
            "core.errors",
            "core.tolerances",
            "core.paths",
            "core.arrays",
            "core.runtime",
            "core.files",
            "core.version",
            "core.config",
            "core.glossary",
        ),
    ),
]
RANK = {name: i for i, (name, _) in enumerate(LAYERS)}
FORBIDDEN_ROOTS = ("app", "PySide6", "shiboken6", "pyvista", "pyvistaqt", "vtk", "vtkmodules")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    name = ".".join(parts)
    return name.removesuffix(".__init__")


def core_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / "core").rglob("*.py"))}


def layer_of(module: str) -> str | None:
    best, best_len = None, -1
    for layer, prefixes in LAYERS:
        for prefix in prefixes:
            if module == prefix:
                if prefix == "core" or len(prefix) > best_len:
                    best, best_len = layer, len(prefix)
            elif prefix != "core" and module.startswith(prefix + ".") and len(prefix) > best_len:
                best, best_len = layer, len(prefix)
    return best


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """``(imported module, line)`` of every import statement anywhere in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_pkg, node)
            for a in node.names:  # `from core.io import atomic` imports the module core.io.atomic
                sub = f"{target}.{a.name}"
                out.append((sub if sub in known else target, node.lineno))
    return out


def _edges():
    mods = core_modules()
    known = set(mods)
    edges = {}
    for mod, path in mods.items():
        edges[mod] = [(t, line) for t, line in imports_of(mod, path, known)]
    return mods, edges


def test_every_core_module_has_a_layer():
    mods = core_modules()
    missing = [f"{p.relative_to(ROOT)}: {m}" for m, p in mods.items() if layer_of(m) is None]
    assert not missing, "modules without a layer (add them to LAYERS):\n" + "\n".join(missing)


def test_core_never_imports_app_or_gui():
    mods, edges = _edges()
    bad = [
        f"{mods[m].relative_to(ROOT)}:{line}: imports {t}"
        for m, es in edges.items()
        for t, line in es
        if t.split(".")[0] in FORBIDDEN_ROOTS
    ]
    assert not bad, "\n".join(bad)


def test_no_upward_import():
    mods, edges = _edges()
    bad = []
    for m, es in edges.items():
        for t, line in es:
            if t.split(".")[0] != "core" or t == m:
                continue
            lm, lt = layer_of(m), layer_of(t)
            if lm is None or lt is None:
                continue  # reported by test_every_core_module_has_a_layer
            if t != "core" and RANK[lt] < RANK[lm]:
                bad.append(f"{mods[m].relative_to(ROOT)}:{line}: {m} ({lm}) imports {t} ({lt})")
            elif t == "core" and m != "core":
                bad.append(f"{mods[m].relative_to(ROOT)}:{line}: {m} imports the facade `core`")
    assert not bad, "upward imports (move the shared piece down):\n" + "\n".join(bad)


def test_no_import_cycle():
    mods, edges = _edges()
    graph = {m: sorted({t for t, _ in es if t in mods and t != m}) for m, es in edges.items()}
    lines = {(m, t): line for m, es in edges.items() for t, line in reversed(es)}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in graph[m]:
            if state.get(t) == 1:
                cyc = stack[stack.index(t) :] + [t]
                cycles.append(
                    " -> ".join(
                        f"{a} ({mods[a].relative_to(ROOT)}:{lines[(a, b)]})"
                        for a, b in zip(cyc, cyc[1:], strict=False)
                    )
                    + f" -> {t}"
                )
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_function_level_relative_and_type_checking_imports(tmp_path):
    src = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from core.cli import run_cli\n"
        "def f():\n    from ..eval import report\n"
        "from . import sibling\n"
    )
    p = ROOT / "core" / "models" / "_probe_not_real.py"
    tree_path = tmp_path / "probe.py"
    tree_path.write_text(src)
    known = {"core.eval.report", "core.models.sibling"}
    got = imports_of("core.models._probe_not_real", tree_path, known)
    assert ("core.cli", 3) in got
    assert ("core.eval.report", 5) in got
    assert ("core.models.sibling", 6) in got
    assert layer_of("core.models._probe_not_real") == "models"
    assert not p.exists()
