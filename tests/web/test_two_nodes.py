"""Two web nodes on one catalog: a preview made on one is confirmed on the other, once;
a change through one shows in the other's search after it follows the feed."""

from __future__ import annotations

import re
import threading
import time

import pytest
from starlette.testclient import TestClient

from portal.catalog.accounts import add_user
from portal.catalog.catalog import Catalog, DataPaths
from portal.config import Settings
from portal.web.app import create_app

PASSWORD = "correct horse battery staple"
SECRET = "one secret shared by every node of the portal"
BATCH = b"record_id,title,language,library,copies\nnode-1,Qobylandy batyr,kk,SHU,4\n"


@pytest.fixture
def nodes(demo_folder, tmp_path, monkeypatch):
    """Two apps, each with its own data folder and index, on one database."""
    monkeypatch.setenv("PORTAL_SECRET_KEY", SECRET)  # sessions valid on every node
    other = tmp_path / "node-b"
    other.mkdir()
    DataPaths(other).database_url_file.write_text(DataPaths(demo_folder).database_url() + "\n")
    a, b = Catalog.open(demo_folder), Catalog.open(other)
    b.catch_up()
    add_user(a.engine, "coord", PASSWORD, "coordinator", None)
    apps = [
        create_app(Settings(data_dir=folder, database_url=None), catalog=catalog)
        for folder, catalog in ((demo_folder, a), (other, b))
    ]
    yield apps, (a, b)
    a.close()
    b.close()


def signed_in(client: TestClient) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/en/staff/sign-in").text)
    response = client.post(
        "/en/staff/sign-in",
        data={"name": "coord", "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 303
    page = client.get("/en/staff/import")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_a_preview_on_one_node_is_confirmed_on_another_once(nodes):
    (app_a, app_b), (catalog_a, catalog_b) = nodes
    with TestClient(app_a, follow_redirects=False) as on_a:
        token = signed_in(on_a)
        preview = on_a.post(
            "/en/staff/import",
            data={"csrf_token": token},
            files={"file": ("batch.csv", BATCH, "text/csv")},
        )
        assert preview.status_code == 200, preview.text
        confirm = re.search(r'action="(/en/staff/import/[^"]+/confirm)"', preview.text).group(1)
        cookies = dict(on_a.cookies)
    with TestClient(app_b, follow_redirects=False, cookies=cookies) as on_b:
        answers = []

        def post() -> None:
            answers.append(on_b.post(confirm, data={"csrf_token": token}))

        clicks = [threading.Thread(target=post) for _ in range(2)]  # a double click
        for click in clicks:
            click.start()
        for click in clicks:
            click.join(60)
        codes = sorted(answer.status_code for answer in answers)
        assert codes in ([303, 303], [303, 404]), codes  # one job, shown to both clicks
        jobs = {a.headers["location"] for a in answers if a.status_code == 303}
        assert len(jobs) == 1
        job = jobs.pop()
        deadline = time.monotonic() + 60
        while 'data-running="true"' in (page := on_b.get(job).text):
            assert time.monotonic() < deadline, "the import job did not finish"
            time.sleep(0.1)
        assert "The file was imported." in page
    assert catalog_a.records(["node-1"])["node-1"]["title"] == "Qobylandy batyr"
    assert catalog_a.holdings(["node-1"])["node-1"] == [{"library": "SHU", "copies": 4}]


def test_a_change_through_one_node_reaches_the_others_search(nodes):
    (app_a, app_b), (catalog_a, catalog_b) = nodes
    catalog_a.import_files([("batch.csv", BATCH)])
    with TestClient(app_b) as on_b:
        catalog_b.catch_up()  # what its follower thread does in a served node
        catalog_b.index.clear_result_cache()
        found = on_b.get("/api/v1/search", params={"q": "Qobylandy batyr"}).json()
        assert "node-1" in [r["id"] for r in found["results"]]
        status = on_b.get("/api/v1/status").json()
        assert status["behind"] == 0 and status["index_position"] == status["catalog_position"]
