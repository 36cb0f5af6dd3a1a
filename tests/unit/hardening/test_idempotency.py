"""Idempotent recording (issue 11, failure 5): a recorded id is decided once, never re-applied."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from fraudguard.bench.fuzz import VALID
from tests.unit.hardening.conftest import H


def _body(tid: str, amount: float = 12.5) -> bytes:
    return VALID.replace(b'"t-1"', json.dumps(tid).encode()).replace(b'"amount":12.5', b'"amount":%r' % amount)


def _state(client: TestClient) -> dict[str, bytes]:
    return client.app.state.services.scoring.pipeline.card_store.snapshot()  # type: ignore[attr-defined]


def test_reposting_a_recorded_id_answers_the_stored_decision_and_applies_nothing(client: TestClient) -> None:
    first = client.post("/v1/score", content=_body("idem-1"), headers=H)
    assert first.status_code == 200 and first.json()["recorded"] is True and first.json()["duplicate"] is False
    state = _state(client)
    for _ in range(4):  # before: every re-post was counted again in the card's history
        again = client.post("/v1/score", content=_body("idem-1"), headers=H)
        assert again.status_code == 200
        assert again.json() == {**first.json(), "recorded": False, "duplicate": True}
    assert _state(client) == state
    route = client.post("/v1/score?record=1", content=_body("idem-1"), headers=H)  # the framework route
    assert route.json() == again.json()


def test_other_content_for_a_recorded_id_is_a_conflict_and_changes_nothing(client: TestClient) -> None:
    assert client.post("/v1/score", content=_body("idem-2"), headers=H).status_code == 200
    state = _state(client)
    r = client.post("/v1/score", content=_body("idem-2", amount=1.0), headers=H)
    assert r.status_code == 409 and "idem-2" in r.json()["detail"]
    r = client.post("/v1/score?record=1", content=_body("idem-2", amount=1.0), headers=H)
    assert r.status_code == 409
    assert _state(client) == state


def test_a_batch_is_checked_whole_before_anything_is_applied(client: TestClient) -> None:
    assert client.post("/v1/score", content=_body("idem-3"), headers=H).status_code == 200
    state = _state(client)
    batch = b"[" + _body("idem-4") + b"," + _body("idem-3", amount=2.0) + b"]"
    assert client.post("/v1/score", content=batch, headers=H).status_code == 409
    assert _state(client) == state
    fresh = client.post("/v1/score", content=_body("idem-4"), headers=H).json()
    assert fresh["recorded"] is True and fresh["duplicate"] is False  # the refused batch recorded nothing


def test_repeats_inside_one_batch_are_duplicates_of_the_first(client: TestClient) -> None:
    batch = b"[" + _body("idem-5") + b"," + _body("idem-5") + b"]"
    first, second = client.post("/v1/score", content=batch, headers=H).json()["predictions"]
    assert (first["recorded"], first["duplicate"]) == (True, False)
    assert (second["recorded"], second["duplicate"]) == (False, True)
    assert second["ensemble_score"] == first["ensemble_score"]


def test_what_ifs_are_never_duplicates(client: TestClient) -> None:
    assert client.post("/v1/score", content=_body("idem-6"), headers=H).status_code == 200
    w = client.post("/v1/score?record=false", content=_body("idem-6", amount=3.0), headers=H)
    assert w.status_code == 200 and w.json()["duplicate"] is False
