"""The package's layout: no import cycles, lower layers never import higher ones, no private
attribute of another module used, and every subpackage says in its docstring what belongs there.

Imports are read with ``ast`` from every module, including imports inside functions (a lazy
import is still a dependency). Importing a submodule counts as importing that module, not its
parent package (as Python runs the parent's ``__init__`` first anyway).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "screening"

# Layers, lowest first. A module may import modules of its own layer or of a lower one, never
# of a higher one. Top-level modules are named by their module name, subpackages by theirs.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "version"),  # the error tree and the version: imported by every layer
    ("values",),  # Kleene logic, units, UCUM, titers, bounds, durations
    ("model",),  # pydantic models (the result's status is values.logic's)
    ("terms",),  # codes, names and guards, concept-set matching, result words
    ("rules",),  # rule files: YAML with positions, front end, IR, checks, compilation, cache
    ("sources",),  # patients from native JSON, FHIR (and OMOP), behind PatientSource
    ("engine",),  # records as of the screening date, items, atoms, program, verdict
    ("report", "sql", "authoring"),  # tables, coverage, funnel; (reserved: SQL compiler, authoring)
    ("batch",),  # many patients on every core
    ("cli", "service", "tools", "__init__"),  # thin shells, and tools that are not the library
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str) -> set[str]:
    """Modules of this package that module ``name`` imports (anywhere in it)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
            found.update(t for t in targets if t == "screening" or t.startswith("screening."))
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = name.split(".") if _is_package(name) else name.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
            if not (module == "screening" or module.startswith("screening.")):
                continue
        for alias in node.names:
            sub = f"{module}.{alias.name}"
            found.add(sub if sub in MODULES else module)
    unknown = {m for m in found if m not in MODULES}
    assert not unknown, f"{name} imports modules that do not exist: {sorted(unknown)}"
    found.discard(name)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _layer(module: str) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    assert key in LAYER_OF, f"{module}: add {key!r} to LAYERS in tests/test_layout.py (and to README's layout table)"
    return LAYER_OF[key]


def _cycles() -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
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
                out.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_the_walk_sees_the_package():
    assert len(MODULES) > 40
    assert "screening.rules.compiled" in GRAPH["screening.engine.program"]
    assert "screening.sources.location" in GRAPH["screening.sources.fhir.parse"]
    assert "screening.values.registry" in GRAPH["screening.values.ucum"]


def test_no_import_cycles():
    assert _cycles() == []


def test_cycle_detection_finds_a_cycle():
    GRAPH["screening.values.logic"].add("screening.values.units")
    GRAPH["screening.values.units"].add("screening.values.logic")
    try:
        assert ["screening.values.logic", "screening.values.units"] in _cycles()
    finally:
        GRAPH["screening.values.logic"].discard("screening.values.units")
        GRAPH["screening.values.units"].discard("screening.values.logic")


def test_lower_layers_never_import_higher_ones():
    wrong = [f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
             for a in sorted(GRAPH) for b in sorted(GRAPH[a]) if _layer(b) > _layer(a)]
    assert wrong == []


def test_nothing_in_the_library_imports_the_tools():
    importers = sorted(a for a in GRAPH for b in GRAPH[a]
                       if b.startswith("screening.tools") and not a.startswith("screening.tools"))
    assert importers == ["screening.cli"]


# pint has no public listing of a registry's contexts nor a public test for offset units
THIRD_PARTY_PRIVATE = {"_contexts", "_ok_for_muldiv",
                       "_exit",  # os._exit: documented, the way a child process exits at once
                       "_processes"}  # ProcessPoolExecutor's: the only way to kill a hung worker


def _private_uses(name: str) -> list[str]:
    """Private names (``_x``) of other modules this module imports or reads as attributes."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    own = set()  # private names this module defines itself (functions, classes, attributes)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            own.add(node.value)  # __slots__ entries, object.__setattr__ names
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            bad += [f"{name}:{node.lineno} imports {a.name}" for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if node.attr not in own and node.attr not in THIRD_PARTY_PRIVATE:
                bad.append(f"{name}:{node.lineno} reads .{node.attr}")
    return bad


def test_no_private_attribute_of_another_module_is_used():
    assert [u for name in sorted(MODULES) for u in _private_uses(name)] == []


@pytest.mark.parametrize("package", sorted(n for n in MODULES if _is_package(n) and n != "screening"))
def test_every_subpackage_says_what_belongs_there(package):
    doc = ast.get_docstring(ast.parse(MODULES[package].read_text(encoding="utf-8"))) or ""
    if package.count(".") == 1:  # a stage of the package: what belongs there, and what does not
        assert "Belongs here" in doc and "Not here" in doc, package
    else:
        assert len(doc) > 40, package


def test_readme_layout_table_lists_every_module():
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Layout"):]
    table = table[:table.index("\n## ", 1)] if "\n## " in table[1:] else table
    missing = [str(path.relative_to(PACKAGE.parent)) for name, path in MODULES.items()
               if f"`{path.relative_to(PACKAGE.parent).as_posix()}`" not in table]
    assert missing == []
