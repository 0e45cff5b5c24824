from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from portal.web.app import create_app


@pytest.fixture(scope="module")
def client(demo_catalog):
    with TestClient(create_app(catalog=demo_catalog), follow_redirects=False) as test_client:
        yield test_client
