"""Schemathesis over the OpenAPI schema: no input may produce a server error (5xx other than 503)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.integration


def test_no_input_produces_a_server_error(api_stack) -> None:
    app = api_stack.client.app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    calls: list[str] = []
    for op in schema.get_all_operations():
        operation = op.ok()

        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.headers = {**(case.headers or {}), **api_stack.headers}
            response = case.call()
            calls.append(case.method)
            if response.status_code >= 500 and response.status_code != 503:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")

        run()
    assert len(calls) > 100 and {"GET", "POST"} <= set(calls)
    assert not failures, "\n".join(failures[:10])
