"""Schemathesis over the OpenAPI schema: no input may produce a server error (issue 11, failure 9).

Every operation gets at least 100 generated examples against the real stack (broker,
PostgreSQL, model): a client's mistake is a 4xx, never a 5xx. The only 503 allowed is
``/readyz`` saying a dependency is not ready. Figures are printed (``-s`` shows them).
"""

from __future__ import annotations

import base64
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.integration
EXAMPLES = 100


def test_client_mistakes_found_before_are_4xx(api_stack) -> None:
    c, h = api_stack.client, api_stack.headers
    for body in (b'{"tps": NaN}', b'{"tps": Infinity}', b'{"fraud_rate": -Infinity}'):  # was 500
        r = c.post("/v1/generator", content=body, headers={**h, "content-type": "application/json"})
        assert r.status_code == 422, r.text
    label = {"transaction_id": "t-offset", "is_fraud": True, "labelled_at": "2026-01-01T00:00:00+17:45"}
    assert c.post("/v1/labels", json=label, headers=h).status_code == 422  # was 503
    for raw in (b"0001-01-01T00:00:00+00:00|x", b"2026-01-01T00:00:00+00:00|a\x00b", b"2026-01-01T00:00:00+17:45|x"):
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        r = c.get(f"/v1/alerts?cursor={cursor}", headers=h)
        assert r.status_code == 422, (raw, r.status_code)  # was 503
    assert c.get("/v1/alerts?since=2026-01-01T00:00:00%2B17:45", headers=h).status_code == 422


@pytest.mark.timeout(1800)
def test_no_input_produces_a_server_error(api_stack) -> None:
    """Last in this module: schemathesis runs the app's lifespan, which closes its pool at the end."""
    app = api_stack.client.app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    per_op: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    operations = [op.ok() for op in schema.get_all_operations()]
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def run(case) -> None:  # type: ignore[no-untyped-def]
            label = f"{case.method.upper()} {case.operation.path}"
            case.headers = {**(case.headers or {}), **api_stack.headers}
            response = case.call()
            per_op[label] += 1
            statuses[response.status_code] += 1
            if label == "POST /v1/generator":  # never leave a 50k tx/s generator running
                api_stack.client.post("/v1/generator", json={"running": False}, headers=api_stack.headers)
            allowed_503 = label == "GET /readyz"
            if response.status_code >= 500 and not (allowed_503 and response.status_code == 503):
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")

        run()
    print(
        f"\nschemathesis: {len(operations)} operations, {sum(per_op.values())} calls, "
        f"per operation {dict(per_op)}, statuses {dict(sorted(statuses.items()))}, "
        f"{len(failures)} server errors"
    )
    no_input = {"GET /healthz"}  # no parameter, no body, no key: one distinct example exists
    assert len(per_op) == len(operations)
    assert all(n >= EXAMPLES for op, n in per_op.items() if op not in no_input), per_op
    assert not failures, "\n".join(failures[:10])
