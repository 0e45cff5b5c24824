"""Real API responses validate against the published OpenAPI document."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource


@pytest.fixture(scope="module")
def document(client):
    return client.get("/api/v1/openapi.json").json()


def validator_for(document, path, status="200"):
    schema = document["paths"][path]["get"]["responses"][status]["content"]["application/json"]
    resource = Resource.from_contents(
        {**document, "$schema": "https://json-schema.org/draft/2020-12/schema"}
    )
    registry = Registry().with_resource("urn:openapi", resource)
    ref = schema["schema"]["$ref"].replace("#", "urn:openapi#")
    return Draft202012Validator({"$ref": ref}, registry=registry)


CASES = [
    ("/api/v1/search", "/api/v1/search?q=Abai&ui_lang=kk", "200"),
    ("/api/v1/search", "/api/v1/search?language=tr&sort=title&per_page=100", "200"),
    ("/api/v1/search", "/api/v1/search?q=Madanno", "200"),
    ("/api/v1/search", "/api/v1/search?per_page=500", "400"),
    ("/api/v1/records/{id}", "/api/v1/records/kk-0004?ui_lang=ru", "200"),
    ("/api/v1/records/{id}", "/api/v1/records/nope", "404"),
    ("/api/v1/suggest", "/api/v1/suggest?q=Kürk", "200"),
    ("/api/v1/libraries", "/api/v1/libraries?ui_lang=tr", "200"),
    ("/api/v1/libraries/{code}", "/api/v1/libraries/SHU", "200"),
    ("/api/v1/libraries/{code}", "/api/v1/libraries/NOPE", "404"),
]


@pytest.mark.parametrize("path,url,status", CASES)
def test_response_matches_document(client, document, path, url, status):
    response = client.get(url)
    assert str(response.status_code) == status
    errors = list(validator_for(document, path, status).iter_errors(response.json()))
    assert not errors, [e.message for e in errors[:3]]


def test_document_is_openapi_31(document):
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/v1/search",
        "/api/v1/records/{id}",
        "/api/v1/records/{id}/{format}",
        "/api/v1/search/{format}",
        "/api/v1/suggest",
        "/api/v1/libraries",
        "/api/v1/libraries/{code}",
    }


def test_schema_rejects_a_wrong_shape(document):
    assert list(validator_for(document, "/api/v1/search").iter_errors({"total": "many"}))
