"""schemathesis against /api/v1/openapi.json: generated requests never get a 5xx, and every
response matches the published schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from portal.web.app import create_app
from portal.web.openapi import DOCUMENT

OPERATIONS = sorted(DOCUMENT["paths"])


@pytest.fixture(scope="module")
def api_schema(demo_catalog):
    app = create_app(catalog=demo_catalog)
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


@pytest.mark.parametrize("path", OPERATIONS)
def test_api_conforms(api_schema, path):
    operation = api_schema[path]["GET"]

    @given(case=operation.as_strategy())
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate()

    run()
