"""The API shadow-scores recorded calls with every challenger; what-ifs and the champion's answer are untouched."""

from __future__ import annotations

import json
import shutil

import psycopg
import pytest

from fraudguard import schema
from fraudguard.generator import generate_frame
from fraudguard.models import lifecycle
from fraudguard.models.registry import current_version

pytestmark = pytest.mark.integration
CHALLENGER = "v20990101-000000-0badcafe"


def test_recorded_calls_are_shadow_scored_and_never_decided_by_the_challenger(api_stack) -> None:
    models = api_stack.settings.models_dir
    champion = current_version(models)
    shutil.copytree(models / champion, models / CHALLENGER)
    card_path = models / CHALLENGER / "model_card.json"
    card = json.loads(card_path.read_text())
    ens = card["thresholds"]["ensemble"]
    ens[ens["used"]] = ens["value"] = 0.0  # would flag everything
    card_path.write_text(json.dumps(card))
    lifecycle.add_challenger(models, CHALLENGER, actor="test")
    scoring = api_stack.client.app.state.services.scoring
    scoring.shadow._checked = float("-inf")  # re-read the roles on the next call

    bodies = schema.encode_many(schema.from_frame(generate_frame(30, seed=123, customers=500)))
    h = {**api_stack.headers, "Content-Type": "application/json"}
    answers = [api_stack.client.post("/v1/score?record=true", content=b, headers=h).json() for b in bodies[:20]]
    whatifs = [api_stack.client.post("/v1/score?record=false", content=b, headers=h).json() for b in bodies[20:]]
    assert all(a["model_version"] == champion for a in answers + whatifs)
    assert sum(a["decision"] == "fraud" for a in answers) < 20  # the champion decided, not the challenger
    ids = [a["transaction_id"] for a in answers]
    with psycopg.connect(api_stack.database_url) as conn:
        rows = conn.execute(
            "SELECT transaction_id, decision, champion_decision FROM fraud_challenger_scores WHERE model_version = %s",
            (CHALLENGER,),
        ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(ids)  # recorded calls only, each once
    assert {r[1] for r in rows} == {"fraud"}
    by_id = {a["transaction_id"]: a["decision"] for a in answers}
    assert all(by_id[r[0]] == r[2] for r in rows)
    lifecycle.remove_challenger(models, CHALLENGER, actor="test")
