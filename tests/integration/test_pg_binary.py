"""Binary COPY (pgpq, the sink's path) stores exactly the rows the former CSV COPY stored."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudguard.io.pg_schema import migrate
from fraudguard.io.postgres import connect
from fraudguard.io.sinks.pg_copy import copy_binary, frame_to_csv
from fraudguard.records import PREDICTION_COLUMNS, predictions_to_arrow
from tests.fixtures.postgres import prediction_frame

pytestmark = pytest.mark.integration

_COLS = ", ".join(PREDICTION_COLUMNS)
STRANGE = ['q"uote', "back\\slash", "new\nline", "tab\tcomma,", "nul\x00byte", "émoji 😀", "{brace}", "", "NULL"]


def hostile_frame() -> pd.DataFrame:
    n = len(STRANGE)
    frame = prediction_frame(n)
    frame["transaction_id"] = [f"tx-{i}-{s}" for i, s in enumerate(STRANGE)]
    frame["merchant_category"] = STRANGE
    frame["customer_id"] = [None if i % 3 == 0 else s for i, s in enumerate(STRANGE)]
    frame["reasons"] = [None if i == 0 else [s, s[::-1], ""] for i, s in enumerate(STRANGE)]
    frame["score_random_forest"] = [float("nan") if i % 2 else 0.25 for i in range(n)]
    frame["is_fraud"] = [float("nan"), 1.0, 0.0] * (n // 3)
    frame.loc[1, "produced_at"] = pd.NaT
    return frame


def stored(conn, table: str, payload: bytes, fmt: str) -> list[tuple]:
    conn.execute(f"CREATE TEMP TABLE {table} (LIKE fraud_predictions INCLUDING DEFAULTS EXCLUDING CONSTRAINTS)")
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({_COLS}) FROM STDIN (FORMAT {fmt})") as copy:
        copy.write(payload)
    return conn.execute(f"SELECT {_COLS} FROM {table} ORDER BY transaction_id").fetchall()


@pytest.mark.parametrize("make", [hostile_frame, lambda: prediction_frame(3000)], ids=["hostile", "3000-rows"])
def test_binary_copy_stores_the_rows_csv_copy_stored(pg_db: str, make) -> None:
    frame = make()
    with connect(pg_db) as conn:
        migrate(conn)
        binary = stored(conn, "via_binary", copy_binary(predictions_to_arrow(frame)), "binary")
        csv = stored(conn, "via_csv", frame_to_csv(frame), "csv")
    assert len(binary) == len(frame)
    assert binary == csv
