"""A two-day ULB-format file with the default seven-day label delay: nothing is lost, nothing leaks.

ULB covers two days, far less than the label delay. The delay must only keep labels out of
*features* (none can be known within two days); it must never drop a training label or
leave a split empty. The registered (refitted) models are the ones the card's test metrics
describe: ``evaluate --warmup-until`` the test split's start gives the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fraudguard.cli import app
from fraudguard.generator.datasets import read_dataset
from fraudguard.models.registry import current_version
from fraudguard.models.trainer import TRAINING_FEATURES, compute_features

runner = CliRunner()
FAST = ["--xgb-trees", "40", "--rf-trees", "10", "--if-trees", "10"]
N = 3000


def _two_day_ulb(path: Path, seed: int = 5) -> Path:
    rng = np.random.default_rng(seed)
    y = (rng.random(N) < 0.05).astype(int)
    cols: dict[str, object] = {"Time": np.sort(rng.choice(172_800, N, replace=False)).astype(float)}
    for i in range(1, 29):
        cols[f"V{i}"] = rng.normal(0, 1, N) + (np.where(rng.random(N) < 0.7, -2.0, 0.0) * y if i in (4, 14) else 0)
    cols["Amount"] = rng.lognormal(3.0, 1.0, N).round(2)
    cols["Class"] = y
    pd.DataFrame(cols).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    d = tmp_path_factory.mktemp("ulb2d")
    csv = _two_day_ulb(d / "creditcard.csv")
    reg = d / "models"
    res = runner.invoke(app, ["train", "--format", "ulb", "--input", str(csv), "--out", str(reg), *FAST])
    assert res.exit_code == 0, res.output
    card = json.loads((reg / current_version(reg) / "model_card.json").read_text())
    return csv, reg, card


def test_no_label_is_dropped_and_every_split_has_both_classes(trained: tuple[Path, Path, dict]) -> None:
    csv, _reg, card = trained
    frauds = int(pd.read_csv(csv)["Class"].sum())
    assert card["features"]["config"]["label_delay_s"] == 7 * 86400
    assert card["data"]["rows"] == N and card["data"]["frauds"] == frauds
    splits = card["data"]["splits"]
    assert [splits[s]["rows"] for s in ("train", "validation", "test")] == [1800, 600, 600]
    assert sum(s["frauds"] for s in splits.values()) == frauds
    assert all(0 < s["frauds"] < s["rows"] for s in splits.values())
    assert splits["train"]["end"] < splits["validation"]["start"] < splits["test"]["start"]


def test_label_features_stay_zero_within_the_delay(trained: tuple[Path, Path, dict]) -> None:
    csv, _reg, card = trained
    frame, _bad = read_dataset("ulb", csv)
    fs = compute_features(frame, TRAINING_FEATURES)
    label_features = [n for n in fs.names if n.startswith("merchant_fraud_") or n == "card_known_frauds"]
    assert label_features  # the model has them; two days can never fill them
    values = fs.features[label_features].to_numpy()
    assert ((values == 0) | np.isnan(values)).all()  # no label known: 0 frauds, no age since one
    ages = [n for n in fs.names if n.endswith("_age_d") and n.startswith("merchant_")]
    assert len(ages) == 3 and fs.features[ages].isna().all().all()  # no known day at all
    assert [f"x_V{i}" for i in range(1, 29)] == card["features"]["extras"]  # V1..V28 reach the models


def test_registered_models_are_refitted_and_their_test_metrics_reproduce(
    trained: tuple[Path, Path, dict], tmp_path: Path
) -> None:
    csv, reg, card = trained
    final = card["selection"]["final_fit"]
    splits = card["data"]["splits"]
    assert final["rows"] == splits["train"]["rows"] + splits["validation"]["rows"]
    assert final["frauds"] == splits["train"]["frauds"] + splits["validation"]["frauds"]
    assert card["hyperparameters"]["refit"] is True
    out = tmp_path / "eval"
    args = ["evaluate", "--registry", str(reg), "--format", "ulb", "--input", str(csv), "--out", str(out)]
    res = runner.invoke(app, [*args, "--warmup-until", splits["test"]["start"]])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "evaluation.json").read_text())
    assert report["rows"] == splits["test"]["rows"]
    for model, m in card["metrics"]["test"].items():
        assert report["models"][model]["pr_auc"] == pytest.approx(m["pr_auc"], abs=1e-9)
        assert report["models"][model]["recall_at_1pct_fpr"] == pytest.approx(m["recall_at_1pct_fpr"], abs=1e-9)


def test_no_refit_keeps_the_split_models(tmp_path: Path) -> None:
    csv = _two_day_ulb(tmp_path / "creditcard.csv", seed=6)
    reg = tmp_path / "models"
    res = runner.invoke(app, ["train", "--format", "ulb", "--input", str(csv), "--out", str(reg), "--no-refit", *FAST])
    assert res.exit_code == 0, res.output
    card = json.loads((reg / current_version(reg) / "model_card.json").read_text())
    assert "final_fit" not in card["selection"] and card["hyperparameters"]["refit"] is False
    assert "refitted" not in res.output
