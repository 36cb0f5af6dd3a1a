"""The generate and replay commands fail with one clear line and a non-zero exit."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fraudguard.cli import app
from fraudguard.io.broker import free_port
from tests.unit.generator.datafiles import write_ulb

runner = CliRunner()


def _run(args: list[str], env: dict[str, str] | None = None):
    result = runner.invoke(app, args, env={"KAFKA_BOOTSTRAP_SERVERS": "", **(env or {})})
    # rich wraps long lines at the terminal width: undo that to read the one message
    message = " ".join(result.stderr.split())
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, message


def test_generate_writes_a_file_without_a_broker(tmp_path):
    path = tmp_path / "tx.jsonl"
    code, _ = _run(
        ["generate", "--tps", "0", "--count", "500", "--customers", "100", "--merchants", "50", "--to", str(path)]
    )
    assert code == 0
    assert len(path.read_bytes().splitlines()) == 500


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["generate", "--tps", "10", "--count", "5"], "KAFKA_BOOTSTRAP_SERVERS is not set"),
        (["generate", "--tps", "10"], "exactly one of --count or --duration"),
        (["generate", "--tps", "10", "--count", "5", "--fraud-rate", "2", "--to", "x.parquet"], "fraud_rate"),
        (["generate", "--tps", "10", "--count", "5", "--to", "x.txt"], ".parquet or .jsonl"),
        (["generate", "--tps", "10", "--count", "5", "--start", "yesterday", "--to", "x.jsonl"], "--start"),
        (["replay", "--format", "ulb", "--input", "x.csv", "--tps", "5"], "KAFKA_BOOTSTRAP_SERVERS is not set"),
        (["generate", "--count", "5", "--days", "2", "--to", "x.jsonl"], "exactly one of --count or --duration"),
        (["generate", "--days", "-1", "--to", "x.jsonl"], "--days must be a positive"),
        (["generate", "--days", "1", "--scenarios", "long,bustout", "--to", "x.jsonl"], "unknown fraud scenario"),
        (["generate", "--days", "1", "--drift", "speed", "--to", "x.jsonl"], "--drift 'speed'"),
        (["generate", "--days", "1", "--drift", "amount:0", "--to", "x.jsonl"], "positive"),
        (["generate", "--days", "1", "--drift", "amount", "--drift-days", "0", "--to", "x.jsonl"], "drift_days"),
    ],
)
def test_bad_arguments_give_one_line(args, match):
    code, message = _run(args)
    assert code != 0
    assert match in message
    assert message.startswith("error: ") and message.count("error: ") == 1


def test_unreachable_broker_names_the_address(tmp_path):
    port = free_port()
    code, message = _run(
        [
            "replay",
            "--format",
            "ulb",
            "--input",
            str(write_ulb(tmp_path / "c.csv")),
            "--tps",
            "5",
            "--bootstrap",
            f"127.0.0.1:{port}",
        ]
    )
    assert code != 0
    assert f"127.0.0.1:{port}" in message
    assert message.startswith("error: ") and message.count("error: ") == 1


def test_duration_sets_the_count_at_the_rate(tmp_path):
    path = tmp_path / "tx.parquet"
    code, _ = _run(
        ["generate", "--tps", "150", "--duration", "2", "--customers", "100", "--merchants", "50", "--to", str(path)]
    )
    assert code == 0
    import pyarrow.parquet as pq

    assert pq.read_metadata(path).num_rows == 300


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["generate", "--tps", "5", "--duration", "nan", "--to", "x.parquet"], "--duration"),
        (["generate", "--tps", "nan", "--count", "5", "--to", "x.parquet"], "--tps"),
        (["generate", "--count", "5", "--time-scale", "nan", "--to", "x.parquet"], "time_scale"),
        (["generate", "--count", "5", "--to", "x.parquet", "--customers", "0"], "customers"),
    ],
)
def test_non_finite_numbers_give_one_line(args, match):
    code, message = _run(args)
    assert code != 0
    assert match in message
    assert message.startswith("error: ") and message.count("error: ") == 1


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--mode", "sideways"], "--mode"),
        (["--mode", "burst", "--burst-period", "0"], "--burst-period"),
    ],
)
def test_replay_options_are_checked_before_the_broker(tmp_path, extra, match):
    """A typo is reported at once, not as an unreachable broker (nothing listens on the port)."""
    args = ["replay", "--format", "ulb", "--input", str(write_ulb(tmp_path / "c.csv")), "--tps", "5"]
    code, message = _run([*args, *extra, "--bootstrap", f"127.0.0.1:{free_port()}"])
    assert code != 0
    assert match in message
    assert "broker" not in message


def test_out_of_range_setting_names_it_without_a_traceback():
    code, message = _run(["broker", "--partitions", "0", "--port", str(free_port())])
    assert code != 0
    assert "topic_partitions" in message
    assert message.startswith("error: ") and message.count("error: ") == 1


def test_days_scenarios_and_drift_shape_the_file(tmp_path):
    import pandas as pd

    path = tmp_path / "tx.parquet"
    args = ["generate", "--days", "20", "--customers", "150", "--merchants", "40", "--to", str(path)]
    code, _ = _run([*args, "--scenarios", "long", "--drift", "amount:2", "--drift", "category"])
    assert code == 0
    frame = pd.read_parquet(path)
    assert 19 < (frame["event_time"].max() - frame["event_time"].min()) / pd.Timedelta(days=1) <= 20
    assert set(frame["fraud_scenario"].dropna()) <= {
        "merchant_breach_weeks", "inflated_amounts", "slow_card_testing", "merchant_mimicry", "bust_out",
    }  # fmt: skip
    tenth = len(frame) // 10
    legit = frame[frame["is_fraud"] == 0]["amount"]
    assert legit.iloc[-tenth:].median() > 1.5 * legit.iloc[:tenth].median()
