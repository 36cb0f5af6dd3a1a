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
    ROOT / "frames.py",
    ROOT / "record_types.py",
    ROOT / "decoding.py",
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
