"""``fraudguard challenger / promote / roles`` on a real registry directory."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fraudguard.cli import app
from fraudguard.models.registry import current_version


def test_cli_lifecycle(three_versions, monkeypatch):
    root, (a, b, _c) = three_versions
    monkeypatch.setenv("FRAUDGUARD_STATE_DIR", str(root.parent))
    run = CliRunner().invoke
    assert run(app, ["challenger", b]).exit_code == 0
    refused = run(app, ["promote", b])
    assert refused.exit_code == 1 and "no evaluation report" in refused.output
    assert run(app, ["promote", b, "--force"]).exit_code == 0 and current_version(root) == b
    out = json.loads(run(app, ["roles", "--json"]).output)
    assert out["champion"] == b and out["audit"][-1]["forced"] is True
    assert out["audit"][-1]["actor"].startswith("cli:")
    assert run(app, ["promote", "--previous"]).exit_code == 0 and current_version(root) == a
    both = run(app, ["promote", b, "--previous"])
    assert both.exit_code == 1 and "either a VERSION or --previous" in both.output
