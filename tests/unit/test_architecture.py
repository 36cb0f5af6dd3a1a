"""The pure scoring core imports no I/O library: engines and the API call it, never the reverse."""

from __future__ import annotations

import ast
from pathlib import Path

import fraudguard

FORBIDDEN = {
    "confluent_kafka",
    "pyspark",
    "psycopg",
    "sqlalchemy",
    "redis",
    "fastapi",
    "starlette",
    "httpx",
    "uvicorn",
    "websockets",
    "fraudguard.io",
    "fraudguard.engines",
    "fraudguard.api",
    "fraudguard.cli",
}

ROOT = Path(fraudguard.__file__).parent
CORE = [
    ROOT / "schema.py",
    *(ROOT / "records").rglob("*.py"),
    ROOT / "admission.py",
    ROOT / "json_guard.py",
    ROOT / "config.py",
    ROOT / "errors.py",
    *(ROOT / "features").rglob("*.py"),
    *(ROOT / "models").rglob("*.py"),
    *(ROOT / "rules").rglob("*.py"),
]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_imports_no_io():
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m for m in imported_modules(p) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
        )
        for p in CORE
    }
    assert {k: v for k, v in offenders.items() if v} == {}


PURE_PACKAGES = ("records", "features", "models")
ADAPTERS = ("fraudguard.io", "fraudguard.engines", "fraudguard.api")


def absolute_imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved (``from ..io import x`` too)."""
    package = ".".join(("fraudguard", *path.relative_to(ROOT).parent.parts))
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            module = node.module if not node.level else ".".join(p for p in (base, node.module) if p)
            names.add(module or "")
            names.update(f"{module}.{a.name}" for a in node.names)  # ``from fraudguard import io``
    return names


def test_pure_packages_import_no_adapter():
    """records, features and models never import io, engines or api, even lazily inside a function."""
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m for m in absolute_imports(p) if any(m == a or m.startswith(a + ".") for a in ADAPTERS)
        )
        for pkg in PURE_PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_records_is_a_leaf():
    """records imports no other FraudGuard module but the errors, admission and JSON-guard helpers,
    none of which imports back: the record layouts can never be part of an import circle."""
    allowed = ("fraudguard.records", "fraudguard.errors", "fraudguard.admission", "fraudguard.json_guard")
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m
            for m in absolute_imports(p)
            if m.startswith("fraudguard.") and not any(m == a or m.startswith(a + ".") for a in allowed)
        )
        for p in (ROOT / "records").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    for helper in allowed[1:]:
        tree = ast.parse((ROOT / f"{helper.split('.')[1]}.py").read_text())
        typing_only = {id(n) for node in ast.walk(tree) if _is_type_checking(node) for n in ast.walk(node)}
        runtime = {
            name
            for node in ast.walk(tree)
            if id(node) not in typing_only
            for name in (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
        }
        assert {m for m in runtime if m.startswith("fraudguard")} <= {"fraudguard.errors"}, helper


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def private_imports(path: Path) -> list[str]:
    """``module.name`` for every underscore name ``path`` imports from another fraudguard module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("fraudguard")):
            found += [
                f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")
            ]
    return found


def test_no_module_imports_another_modules_private_names():
    """A helper used across modules is public (documented, kept stable); ``_name`` is the module's own."""
    offenders = {str(p.relative_to(ROOT)): private_imports(p) for p in ROOT.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
