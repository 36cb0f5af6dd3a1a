"""``fraudguard evaluate`` end to end on a small table file, and its one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fraudguard.cli import app
from fraudguard.models.registry import current_version

runner = CliRunner()
MAP = "transaction_id=tid,card_id=cust,merchant_id=term,time=ts,amount=amt,label=y,fraud_scenario=scen"
FAST = ["--xgb-trees", "30", "--rf-trees", "10", "--if-trees", "10"]


def _table(path: Path, n: int = 6000, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, 200, n)
    base = rng.uniform(10, 80, 200)[cust]
    y = (rng.random(n) < 0.04).astype(int)
    scen = np.where(y == 1, np.where(rng.random(n) < 0.5, "inflated", "big"), "")
    amt = np.round(base * rng.uniform(0.5, 1.5, n) * np.where(y == 1, np.where(scen == "big", 8, 4), 1), 2)
    t = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 60 * 86400, n)), unit="s")
    pd.DataFrame(
        {
            "tid": np.arange(n),
            "ts": t.strftime("%Y-%m-%d %H:%M:%S"),
            "cust": cust,
            "term": rng.integers(0, 300, n),
            "amt": amt,
            "y": y,
            "scen": scen,
        }
    ).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("evaluate")
    csv = _table(d / "tx.csv")
    reg = d / "models"
    res = runner.invoke(
        app, ["train", "--format", "table", "--input", str(csv), "--map", MAP, "--out", str(reg), *FAST]
    )
    assert res.exit_code == 0, res.output
    return csv, reg


def test_evaluate_writes_metrics_json_and_plots(trained: tuple[Path, Path], tmp_path: Path) -> None:
    csv, reg = trained
    out = tmp_path / "eval"
    args = ["evaluate", "--registry", str(reg), "--format", "table", "--input", str(csv), "--map", MAP]
    res = runner.invoke(app, [*args, "--out", str(out), "--warmup-until", "2024-01-20", "--top-k", "5"])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "evaluation.json").read_text())
    assert report["model_version"] == current_version(reg)
    assert pd.Timestamp(report["start"]) >= pd.Timestamp("2024-01-20", tz="UTC")
    assert report["rows"] < 6000 and report["frauds"] > 30
    ens = report["models"]["ensemble"]
    for key in ("pr_auc", "roc_auc", "recall_at_1pct_fpr", "recall_at_0_1pct_fpr", "precision_top_k_per_day"):
        assert 0.0 <= ens[key] <= 1.0
    assert ens["pr_auc"] > 0.5  # inflated amounts are easy to see against a card's own history
    (_tn, fp), (fn, tp) = ens["confusion_matrix"]
    assert ens["expected_cost"] == pytest.approx(fn * report["cost_ratio"] + fp + tp)
    assert set(report["scenarios"]) == {"big", "inflated"}
    assert sum(s["frauds"] for s in report["scenarios"].values()) == report["frauds"]
    for png in ("pr_curve.png", "score_distribution.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_by_version_matches_current(trained: tuple[Path, Path], tmp_path: Path) -> None:
    csv, reg = trained
    reports = []
    for model in ("current", current_version(reg)):
        out = tmp_path / model
        args = ["evaluate", "--registry", str(reg), "--model", model, "--format", "table", "--input", str(csv)]
        res = runner.invoke(app, [*args, "--map", MAP, "--out", str(out)])
        assert res.exit_code == 0, res.output
        reports.append(json.loads((out / "evaluation.json").read_text()))
    assert reports[0]["models"] == reports[1]["models"]
    assert reports[0]["rows"] == 6000


def _fails(args: list[str]) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code != 0
    assert "Traceback" not in res.output
    return " ".join(res.output.split())


def _evaluate(reg: Path, data: Path, out: Path, *, mapping: str = MAP, model: str | None = None) -> list[str]:
    """``fraudguard evaluate`` of the table file ``data`` with the column ``mapping``."""
    pick = ["--model", model] if model else []
    table = ["--format", "table", "--input", str(data), "--map", mapping]
    return ["evaluate", "--registry", str(reg), *pick, *table, "--out", str(out)]


def test_unknown_version_is_one_clear_line(trained: tuple[Path, Path], tmp_path: Path) -> None:
    csv, reg = trained
    msg = _fails(_evaluate(reg, csv, tmp_path, model="v20200101-000000-deadbeef"))
    assert "v20200101-000000-deadbeef not found" in msg


def test_column_missing_from_map_is_named(trained: tuple[Path, Path], tmp_path: Path) -> None:
    csv, reg = trained
    msg = _fails(_evaluate(reg, csv, tmp_path, mapping=MAP.replace("amount=amt", "amount=AMOUNT")))
    assert "AMOUNT" in msg


def test_file_without_labels_is_refused(trained: tuple[Path, Path], tmp_path: Path) -> None:
    csv, reg = trained
    unlabelled = tmp_path / "nolabels.csv"
    pd.read_csv(csv).drop(columns=["y"]).to_csv(unlabelled, index=False)
    no_label_map = MAP.replace(",label=y", "")
    msg = _fails(_evaluate(reg, unlabelled, tmp_path / "e", mapping=no_label_map))
    assert "no labels" in msg and "label=COLUMN" in msg
