"""The dashboard's files ship in the package and work offline (no browser needed)."""

from __future__ import annotations

import re
from pathlib import Path

from fraudguard.api.routes.dashboard import INDEX, STATIC_DIR

REFERENCE = re.compile(r"""(?:src|href)="([^"#]+)"|from\s+"([^"]+)"|import\s+"([^"]+)\"""")


def references(path: Path) -> list[str]:
    return [next(g for g in m.groups() if g) for m in REFERENCE.finditer(path.read_text())]


def test_every_page_and_module_reference_resolves_to_a_packaged_file() -> None:
    files = [INDEX, *sorted((STATIC_DIR / "js").glob("*.js"))]
    for f in files:
        base = STATIC_DIR.parent if f == INDEX else f.parent
        for ref in references(f):
            if ref.startswith("data:"):
                continue
            assert not re.match(r"^(https?:)?//", ref), f"{f.name} fetches {ref} from the network"
            assert (base / ref).resolve().is_file(), f"{f.name} references missing {ref}"


def test_vendored_chart_library_carries_its_licence_and_no_source_map_request() -> None:
    lib = (STATIC_DIR / "vendor" / "chart.umd.min.js").read_text()
    assert lib.startswith("/*!\n * Chart.js v4.6.1")
    assert "sourceMappingURL" not in lib
    assert "MIT License" in (STATIC_DIR / "vendor" / "chart.js.LICENSE.md").read_text()
