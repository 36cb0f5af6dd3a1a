"""``--drift``: the last part of a drifting run differs measurably from the first; a steady run does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraudguard.errors import ConfigError
from fraudguard.generator import GeneratorConfig, TransactionGenerator
from fraudguard.generator.drift import DRIFT_CATEGORIES, Drift, parse_drift
from fraudguard.generator.population import CAT
from fraudguard.schema import MERCHANT_CATEGORIES

ROWS = 60_000
DRIFT_CATS = {MERCHANT_CATEGORIES[c] for c in DRIFT_CATEGORIES}
ONLINE_FRAUD = {"card_testing", "account_takeover", "slow_card_testing"}


def _run(*drift: str, seed: int = 8, fraud_rate: float = 0.02, **kwargs: object) -> pd.DataFrame:
    config = GeneratorConfig(
        fraud_rate=fraud_rate, seed=seed, customers=2_000, merchants=300,
        drift=tuple(parse_drift(d) for d in drift), **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip
    return pd.concat([c.to_frame() for c in TransactionGenerator(config).chunks(ROWS)], ignore_index=True)


def _ends(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    fifth = len(frame) // 5
    return frame.iloc[:fifth], frame.iloc[-fifth:]


@pytest.fixture(scope="module")
def steady() -> pd.DataFrame:
    return _run()


def test_a_steady_run_does_not_drift(steady):
    first, last = _ends(steady)
    legit_first, legit_last = first[first["is_fraud"] == 0], last[last["is_fraud"] == 0]
    for q in (0.25, 0.5, 0.9):
        assert legit_last["amount"].quantile(q) / legit_first["amount"].quantile(q) == pytest.approx(1.0, abs=0.06)
    share = [part["merchant_category"].isin(DRIFT_CATS).mean() for part in (first, last)]
    assert share[1] - share[0] == pytest.approx(0.0, abs=0.02)


def test_a_steady_run_keeps_its_fraud_rate_and_mix():
    first, last = _ends(_run(fraud_rate=0.03, scenarios="short"))
    assert 0.6 < last["is_fraud"].mean() / first["is_fraud"].mean() < 1.6
    online = [part.loc[part["is_fraud"] == 1, "fraud_scenario"].isin(ONLINE_FRAUD).mean() for part in (first, last)]
    assert online[1] == pytest.approx(online[0], abs=0.25)
    assert online[1] < 0.75


def test_amount_drift_scales_amounts_progressively():
    first, last = _ends(_run("amount:1.5"))
    for q in (0.25, 0.5, 0.9):
        ratio = last.loc[last["is_fraud"] == 0, "amount"].quantile(q) / first.loc[
            first["is_fraud"] == 0, "amount"
        ].quantile(q)
        assert 1.25 < ratio < 1.6, q


def test_category_drift_moves_purchases_online():
    first, last = _ends(_run("category:0.5"))
    share = [part["merchant_category"].isin(DRIFT_CATS).mean() for part in (first, last)]
    assert share[1] - share[0] > 0.25
    assert last["channel"].eq("online").mean() > first["channel"].eq("online").mean() + 0.1


def test_fraud_mix_drift_raises_the_rate_and_moves_fraud_online():
    first, last = _ends(_run("fraud-mix:3", fraud_rate=0.03, scenarios="short"))
    assert last["is_fraud"].mean() > 1.6 * first["is_fraud"].mean()
    online = [part.loc[part["is_fraud"] == 1, "fraud_scenario"].isin(ONLINE_FRAUD).mean() for part in (first, last)]
    assert online[1] > online[0] + 0.15
    assert online[1] > 0.85


def test_drift_days_ends_the_ramp_early():
    frame = _run("amount:2", drift_days=0.5)
    _, last = _ends(frame)
    mid = frame.iloc[len(frame) // 2 : len(frame) // 2 + len(last)]
    assert last["amount"].median() == pytest.approx(mid["amount"].median(), rel=0.08)  # both at full strength


def test_drift_is_deterministic_per_seed():
    a = _run("amount:1.5", "category", "fraud-mix", seed=3)
    pd.testing.assert_frame_equal(a, _run("amount:1.5", "category", "fraud-mix", seed=3))
    assert not np.array_equal(a["amount"], _run("amount:1.5", "category", "fraud-mix", seed=4)["amount"])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("speed", "expected amount"),
        ("amount:x", "not a number"),
        ("amount:-1", "positive"),
        ("category:2", r"\(0, 1\]"),
    ],
)
def test_bad_drift_is_refused(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_drift(text)


def test_parse_defaults_and_duplicates():
    assert parse_drift("amount") == Drift("amount", 2.0)
    assert parse_drift("fraud_mix:3") == Drift("fraud-mix", 3.0)
    with pytest.raises(ConfigError, match="twice"):
        GeneratorConfig(drift=(Drift("amount", 2.0), Drift("amount", 3.0)))
    assert CAT["travel"] in DRIFT_CATEGORIES
