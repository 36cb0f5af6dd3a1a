"""Each record's struct and Arrow schema agree, and every column tuple follows from them."""

from __future__ import annotations

import pyarrow as pa

from fraudguard.records import (
    LIST_COLUMNS,
    MODEL_NAMES,
    PASS_THROUGH_COLUMNS,
    PREDICTION_COLUMNS,
    PREDICTION_FRAME_SCHEMA,
    PREDICTION_SCHEMA,
    RULE_COLUMNS,
    SCORE_COLUMNS,
    TIME_COLUMNS,
    TRANSACTION_COLUMNS,
    TRANSACTION_OPTIONAL_FLOATS,
    Alert,
    Prediction,
    ScoreResult,
    Transaction,
)


def test_transaction_schema_holds_every_struct_field_but_extras() -> None:
    assert sorted(TRANSACTION_COLUMNS) == sorted(set(Transaction.__struct_fields__) - {"extras"})
    assert TRANSACTION_OPTIONAL_FLOATS == ("customer_lat", "customer_lon", "merchant_lat", "merchant_lon", "is_fraud")


def test_prediction_schema_is_the_struct_with_scores_spread_and_the_transaction_context() -> None:
    fields = set(Prediction.__struct_fields__)
    assert set(PREDICTION_COLUMNS) == (fields - {"scores"}) | set(SCORE_COLUMNS) | {"customer_id", "channel"}
    assert tuple(f"score_{m}" for m in MODEL_NAMES) == SCORE_COLUMNS
    assert set(Alert.__struct_fields__) <= fields
    assert set(ScoreResult.__struct_fields__) - {"recorded", "duplicate"} <= fields


def test_derived_column_tuples() -> None:
    assert LIST_COLUMNS == ("reasons", "rule_ids", "shadow_rule_ids")
    assert TIME_COLUMNS == ("event_time", "produced_at", "scored_at")
    assert set(RULE_COLUMNS) <= set(PREDICTION_COLUMNS)
    assert PASS_THROUGH_COLUMNS == (
        "transaction_id", "card_id", "customer_id", "event_time", "amount", "merchant_id", "merchant_category",
        "channel", "is_fraud", "fraud_scenario",
    )  # fmt: skip


def test_frame_schema_differs_from_the_stored_one_only_in_the_label() -> None:
    differ = [a.name for a, b in zip(PREDICTION_SCHEMA, PREDICTION_FRAME_SCHEMA, strict=True) if a != b]
    assert differ == ["is_fraud"]
    assert PREDICTION_FRAME_SCHEMA.field("is_fraud").type == pa.float64()
    assert PREDICTION_SCHEMA.field("is_fraud").type == pa.bool_()
