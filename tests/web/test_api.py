"""JSON API v1."""

from __future__ import annotations


def test_search_shape(client):
    body = client.get("/api/v1/search", params={"q": "Oyan kazak", "ui_lang": "ru"}).json()
    assert body["query"] == "Oyan kazak" and body["total"] >= 1 and body["page"] == 1
    first = body["results"][0]
    assert first["id"] == "kk-0012" and first["language"] == "kk" and first["script"] == "Cyrl"
    assert "<mark>" in first["highlight"]
    assert first["total_copies"] == sum(h["copies"] for h in first["holdings"]) > 0
    assert all(set(h["library"]) >= {"code", "name"} for h in first["holdings"])
    assert set(body["facets"]) >= {"language", "library", "district", "donor", "subject", "year"}


def test_empty_query_browses_with_filters(client):
    body = client.get("/api/v1/search", params={"language": "tr", "per_page": 100}).json()
    assert body["total"] > 0 and all(r["language"] == "tr" for r in body["results"])


def test_per_page_limit(client):
    assert client.get("/api/v1/search", params={"per_page": 101}).status_code == 400
    error = client.get("/api/v1/search", params={"per_page": 101}).json()["error"]
    assert "per_page" in error["message"]


def test_record_and_editions(client):
    body = client.get("/api/v1/records/ru-0027").json()
    assert body["title"] == "Путь Абая"
    assert {"kk-0004", "tr-0036"} <= {e["id"] for e in body["editions"]}


def test_unknown_record_is_json_404(client):
    response = client.get("/api/v1/records/no-such")
    assert response.status_code == 404 and response.json()["error"]["status"] == 404


def test_suggest(client):
    body = client.get("/api/v1/suggest", params={"q": "Kürk Man"}).json()
    assert any(s["title"] == "Kürk Mantolu Madonna" for s in body["suggestions"])


def test_libraries(client):
    libraries = client.get("/api/v1/libraries", params={"ui_lang": "en"}).json()["libraries"]
    assert {lib["code"] for lib in libraries} == {
        "ANL",
        "SHU",
        "LAC",
        "KEL",
        "AGD",
        "FUZ",
        "JAB",
        "ZAN",
        "GUB",
        "KHO",
        "KHV",
    }
    shusha = client.get("/api/v1/libraries/SHU", params={"ui_lang": "ru"}).json()
    assert shusha["district_name"] == "Шуша"


def test_cors_open_for_get(client):
    assert client.get("/api/v1/libraries").headers["access-control-allow-origin"] == "*"
