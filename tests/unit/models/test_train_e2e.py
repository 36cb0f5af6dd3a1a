"""Training end to end from small ULB and Sparkov CSVs, through the CLI, and batch/one-row scoring."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fraudguard import schema
from fraudguard.cli import app
from fraudguard.features import FeatureConfig, FeaturePipeline
from fraudguard.generator import generate_frame
from fraudguard.models.registry import current_version, sha256_file
from fraudguard.models.scorer import Scorer
from fraudguard.models.trainer import train_and_register

from .conftest import SMALL

runner = CliRunner()
FAST = ["--xgb-trees", "40", "--rf-trees", "15", "--if-trees", "20"]


def _ulb_csv(path: Path, n: int = 2000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.04).astype(int)
    cols = {"Time": np.sort(rng.uniform(0, 172_800, n)).round(0)}
    for i in range(1, 29):
        shift = -2.5 * y if i in (1, 3, 14) else 0.0
        cols[f"V{i}"] = rng.normal(0, 1, n) + shift
    cols["Amount"] = rng.gamma(2.0, 40.0, n).round(2)
    cols["Class"] = y
    pd.DataFrame(cols).to_csv(path, index=False)
    return path


def _sparkov_csv(path: Path, n: int = 4000, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    cards = rng.integers(0, 150, n)
    y = (rng.random(n) < 0.05).astype(int)
    t = pd.Timestamp("2020-06-01") + pd.to_timedelta(np.sort(rng.uniform(0, 60 * 86400, n)), unit="s")
    cats = np.array(["grocery_pos", "shopping_net", "gas_transport", "misc_net", "food_dining"])
    frame = pd.DataFrame(
        {
            "trans_date_trans_time": t.strftime("%Y-%m-%d %H:%M:%S"),
            "cc_num": 4_000_000_000_000 + cards,
            "merchant": [f"fraud_Shop{m}" for m in rng.integers(0, 40, n)],
            "category": np.where(y == 1, rng.choice(cats[[1, 3]], n), rng.choice(cats, n)),
            "amt": np.round(rng.gamma(2.0, 30.0, n) * (1 + 8 * y), 2),
            "lat": 40 + rng.normal(0, 0.1, n),
            "long": -75 + rng.normal(0, 0.1, n),
            "city_pop": rng.integers(1000, 100_000, n),
            "trans_num": [f"tx{i:06d}" for i in range(n)],
            "merch_lat": 40 + rng.normal(0, 0.5, n),
            "merch_long": -75 + rng.normal(0, 0.5, n),
            "is_fraud": y,
        }
    )
    frame.to_csv(path, index=False)
    return path


def _card(out: Path) -> dict:
    version = current_version(out)
    return json.loads((out / version / "model_card.json").read_text())


def test_cli_trains_from_ulb_csv(tmp_path: Path) -> None:
    csv = _ulb_csv(tmp_path / "creditcard.csv")
    out = tmp_path / "models"
    result = runner.invoke(app, ["train", "--format", "ulb", "--input", str(csv), "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    card = _card(out)
    assert card["data"]["sha256"] == sha256_file(csv)
    assert card["data"]["rows"] == 2000 and card["data"]["format"] == "ulb"
    assert [f"x_V{i}" for i in range(1, 29)] == card["features"]["extras"]
    assert card["features"]["names"][-28:] == card["features"]["extras"]
    # V1, V3, V14 separate the classes: every supervised model must beat chance by far
    for model in ("xgboost", "random_forest", "ensemble"):
        assert card["metrics"]["test"][model]["roc_auc"] > 0.9
    assert "ensemble" in result.output and card["version"] in result.output
    splits = card["data"]["splits"]
    assert (
        splits["train"]["end"]
        <= splits["validation"]["start"]
        <= splits["validation"]["end"]
        <= splits["test"]["start"]
    )


def test_cli_trains_from_sparkov_csv_and_scores(tmp_path: Path) -> None:
    csv = _sparkov_csv(tmp_path / "fraudTrain.csv")
    out = tmp_path / "models"
    result = runner.invoke(
        app,
        ["train", "--format", "sparkov", "--input", str(csv), "--out", str(out), "--threshold-policy", "cost", *FAST],
    )
    assert result.exit_code == 0, result.output
    card = _card(out)
    assert card["decision"]["policy"] == "cost"
    assert card["metrics"]["stateful_ablation"]["pr_auc_without_stateful"] is not None
    assert card["features"]["stateful"] and set(card["features"]["stateful"]) <= set(card["features"]["names"])
    scorer = Scorer.load(out)
    assert scorer.thresholds.used == "cost"
    assert scorer.thresholds.value == card["thresholds"]["ensemble"]["cost"]


def test_cli_trains_from_generated_parquet(tmp_path: Path) -> None:
    data = tmp_path / "gen.parquet"
    generate_frame(4000, fraud_rate=0.03, seed=4).to_parquet(data)
    out = tmp_path / "models"
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    assert _card(out)["data"]["format"] == "frame"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "ulb", "--input", "/nonexistent/creditcard.csv"], "does not exist"),
        (["--data", "/nonexistent/x.parquet"], "does not exist"),
        (["--format", "ulb"], "--input"),
        ([], "--data"),
    ],
)
def test_cli_bad_input_is_one_line_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["train", *args, "--out", str(tmp_path / "m")])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "m" / "CURRENT").exists()


def test_cli_refuses_wrong_columns_and_unlabelled_data(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"Time": [1, 2], "V1": [0.1, 0.2]}).to_csv(bad, index=False)
    result = runner.invoke(app, ["train", "--format", "ulb", "--input", str(bad), "--out", str(tmp_path / "m")])
    assert result.exit_code != 0 and "Amount" in result.output
    nolabel = tmp_path / "nolabel.csv"
    pd.read_csv(_ulb_csv(tmp_path / "u.csv", n=500)).drop(columns=["Class"]).to_csv(nolabel, index=False)
    result = runner.invoke(app, ["train", "--format", "ulb", "--input", str(nolabel), "--out", str(tmp_path / "m")])
    assert result.exit_code != 0 and "is_fraud" in result.output
    notparquet = tmp_path / "x.parquet"
    notparquet.write_text("hello")
    result = runner.invoke(app, ["train", "--data", str(notparquet), "--out", str(tmp_path / "m")])
    assert result.exit_code != 0 and "Parquet" in result.output


@pytest.fixture(scope="module")
def generated_scorer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scorer, pd.DataFrame, Path]:
    frame = generate_frame(12_000, fraud_rate=0.03, seed=2)
    out = tmp_path_factory.mktemp("gen-models")
    train_and_register(frame, out, source={"path": "generated", "format": "frame", "sha256": None}, cfg=SMALL)
    later = generate_frame(80, fraud_rate=0.25, seed=3, start=pd.Timestamp("2026-03-01", tz="UTC").to_pydatetime())
    return Scorer.load(out), later, out


def _pipe(scorer: Scorer) -> FeaturePipeline:
    return scorer.make_pipeline()


def test_score_batch_one_by_one_equals_batch(generated_scorer) -> None:
    scorer, later, _ = generated_scorer
    txs = schema.from_frame(later)
    batch = scorer.score_batch(txs, _pipe(scorer))
    pipe = _pipe(scorer)
    single = [p for tx in txs for p in scorer.score_batch([tx], pipe)]
    assert len(batch) == len(single) == len(txs)
    assert any(p.decision == "fraud" for p in batch)
    for a, b in zip(batch, single, strict=True):
        assert a.transaction_id == b.transaction_id
        assert a.scores == b.scores
        assert a.ensemble_score == b.ensemble_score
        assert (a.decision, a.reasons, a.threshold, a.model_version) == (
            b.decision,
            b.reasons,
            b.threshold,
            b.model_version,
        )
        assert set(a.scores) == set(schema.MODEL_NAMES)
    assert all(p.reasons for p in batch if p.decision == "fraud")


def test_scorer_refuses_pipeline_with_other_features(generated_scorer) -> None:
    scorer, later, out = generated_scorer
    other = FeaturePipeline(FeatureConfig(card_windows_s=(60, 600)))
    from fraudguard.errors import ModelError

    with pytest.raises(ModelError, match="missing"):
        scorer.score_batch(schema.from_frame(later.head(3)), other)
    with pytest.raises(ModelError, match="feature list mismatch"):
        Scorer.load(out, feature_names=other.feature_names())
