"""Fuzz the live server from its own OpenAPI schema: no input may cause a 5xx.

Every operation gets schema-conforming and schema-violating requests (schemathesis'
positive and negative generation), sent over HTTP with the admin token.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from ltv.serving.app import create_app

from .conftest import TOKEN, LiveServer, settings as serve_settings

HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def test_no_server_errors(shop):
    failures, calls = [], {"n": 0}
    with LiveServer(create_app(serve_settings(shop))) as server:
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 9
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=20, deadline=None, derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck))
                def call(case):
                    response = case.call(base_url=server.url, headers=HEADERS)
                    calls["n"] += 1
                    if response.status_code >= 500:
                        failures.append((case.method, case.formatted_path, case.body,
                                         response.status_code, response.text[:300]))

                try:
                    call()
                except Unsatisfiable:
                    # No input of this operation can violate its schema (e.g. GET /healthz).
                    assert mode is GenerationMode.NEGATIVE, operation.label
    assert calls["n"] > 100
    assert not failures, failures[:5]
