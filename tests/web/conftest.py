from __future__ import annotations

import pytest
from staffing import add_staff
from starlette.testclient import TestClient

from portal.web.app import create_app


@pytest.fixture(scope="module")
def client(demo_catalog):
    with TestClient(create_app(catalog=demo_catalog), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def staff_app(fresh_demo):
    """The portal on a private demo catalog with the staff of `staffing.add_staff`."""
    add_staff(fresh_demo)
    return create_app(catalog=fresh_demo)
