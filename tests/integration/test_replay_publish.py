"""``fraudguard replay`` publishes every valid row of each dataset format to a real broker."""

from __future__ import annotations

import itertools

import pytest
from typer.testing import CliRunner

from fraudguard.cli import app
from fraudguard.schema import decode_transaction
from tests.integration.test_generate_publish import read_all
from tests.unit.generator.datafiles import write_sparkov, write_table, write_ulb

pytestmark = pytest.mark.integration

CASES = [
    ("ulb", write_ulb, [], 8, {"amount not a number", "label not 0 or 1"}),
    ("sparkov", write_sparkov, [], 6, {"amount not a number", "time not parseable"}),
    (
        "table",
        write_table,
        ["--map", "transaction_id=id,card_id=card,time=ts,amount=value,merchant_id=shop,label=fraud,x_score=score"],
        5,
        {"missing card_id"},
    ),
]


@pytest.mark.parametrize(("fmt", "writer", "extra", "good", "reasons"), CASES, ids=[c[0] for c in CASES])
def test_replay_publishes_every_valid_row(kafka_bootstrap, topic_factory, tmp_path, fmt, writer, extra, good, reasons):
    topic = topic_factory(f"replay-{fmt}", partitions=2)
    path = writer(tmp_path / "data.csv")
    result = CliRunner().invoke(
        app,
        ["replay", "--format", fmt, "--input", str(path), "--tps", "2000", *extra,
         "--bootstrap", kafka_bootstrap, "--topic", topic, "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    out = " ".join((result.stdout + result.stderr).split())
    assert f"published {good:,} messages" in out
    assert all(r in out for r in reasons)
    messages = read_all(kafka_bootstrap, topic, good, timeout=15.0)
    assert len(messages) == good
    txs = [decode_transaction(m.value()) for m in messages]
    assert all(m.key() == t.card_id.encode() for m, t in zip(messages, txs, strict=True))
    assert len({t.transaction_id for t in txs}) == good


def test_late_mode_sends_some_events_out_of_order(kafka_bootstrap, topic_factory, tmp_path):
    topic = topic_factory("replay-late", partitions=1)
    path = write_ulb(tmp_path / "c.csv", good=400)
    result = CliRunner().invoke(
        app,
        ["replay", "--format", "ulb", "--input", str(path), "--tps", "5000", "--mode", "late", "--late-share", "0.2",
         "--late-delay", "60", "--bootstrap", kafka_bootstrap, "--topic", topic, "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    messages = read_all(kafka_bootstrap, topic, 400)
    times = [decode_transaction(m.value()).event_time for m in sorted(messages, key=lambda m: m.offset())]
    assert len(times) == 400
    assert sum(b < a for a, b in itertools.pairwise(times)) > 10
