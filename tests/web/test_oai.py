"""OAI-PMH 2.0 at /oai, harvested by a real client (Sickle, from PyPI) over real HTTP.

The whole demo catalog is harvested in pages and compared with the catalog, in both metadata
formats and by set; then the catalog is changed (copies withdrawn everywhere, copies
received, a record corrected) and an incremental harvest must bring exactly those records,
the withdrawn one as deleted. Paging must neither skip nor repeat records while the catalog
changes underneath. Errors are the protocol's codes.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
import requests
from pymarc import parse_xml_to_array
from servers import serving_app
from sickle import Sickle, oaiexceptions

from portal.catalog import harvest, models, staff
from portal.catalog.accounts import User
from portal.web import oai
from portal.web.app import create_app

OAI_NS = {"o": "http://www.openarchives.org/OAI/2.0/"}
PREFIX = "oai:karabakh-library-books:"
COORDINATOR = User(id=0, name="harvest-test", role="coordinator", library=None, disabled=False)


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(oai, "PAGE_SIZE", 40)


@pytest.fixture
def served(fresh_demo):
    with serving_app(create_app(catalog=fresh_demo)) as base:
        yield fresh_demo, base + "/oai"


def record_id(identifier: str) -> str:
    assert identifier.startswith(PREFIX), identifier
    return identifier[len(PREFIX) :]


def raw(url: str, **params) -> ET.Element:
    response = requests.get(url, params=params, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    return ET.fromstring(response.content)


def error_code(root: ET.Element) -> str | None:
    error = root.find("o:error", OAI_NS)
    return None if error is None else error.get("code")


def response_date(url: str) -> str:
    return raw(url, verb="Identify").find("o:responseDate", OAI_NS).text


# --- harvesting the whole catalog -------------------------------------------------------------


def test_identify(served):
    _catalog, url = served
    identify = Sickle(url).Identify()
    assert identify.protocolVersion == "2.0"
    assert identify.baseURL == url
    assert identify.deletedRecord == "persistent"
    assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.adminEmail
    datetime.strptime(identify.earliestDatestamp, "%Y-%m-%dT%H:%M:%SZ")


def test_list_metadata_formats(served):
    _catalog, url = served
    formats = {f.metadataPrefix: f.metadataNamespace for f in Sickle(url).ListMetadataFormats()}
    assert formats == {
        "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
        "marc21": "http://www.loc.gov/MARC21/slim",
    }
    one = list(Sickle(url).ListMetadataFormats(identifier=PREFIX + "kk-0004"))
    assert len(one) == 2


def test_full_harvest_oai_dc_in_pages(served, small_pages):
    catalog, url = served
    pages = []
    sickle = Sickle(url)
    iterator = sickle.ListRecords(metadataPrefix="oai_dc")
    harvested = {}
    for record in iterator:
        harvested[record_id(record.header.identifier)] = record
        if iterator.resumption_token and iterator.resumption_token.token not in pages:
            pages.append(iterator.resumption_token.token)
    ids = harvest.all_record_ids(catalog.engine)
    assert sorted(harvested) == ids  # every record once (a dict would hide repeats: see below)
    assert len(pages) >= len(ids) // 40  # paged with resumption tokens
    records = catalog.records(ids)
    for rid, record in harvested.items():
        expected = records[rid]
        assert record.metadata["title"] == [expected["title"]]
        assert record.metadata.get("creator", []) == expected["authors"]
        assert record.metadata.get("contributor", []) == expected["translators"]
        assert record.metadata["language"] == [expected["language"]]
        assert any(i.endswith(f"/records/{rid}") for i in record.metadata["identifier"])
        if expected["isbn"]:
            assert f"urn:isbn:{expected['isbn']}" in record.metadata["identifier"]
        assert not record.deleted


def test_list_identifiers_has_no_repeats(served, small_pages):
    catalog, url = served
    identifiers = [h.identifier for h in Sickle(url).ListIdentifiers(metadataPrefix="marc21")]
    assert len(identifiers) == len(set(identifiers)) == catalog.record_count()


def test_full_harvest_marc21_matches_holdings(served):
    catalog, url = served
    harvested = list(Sickle(url).ListRecords(metadataPrefix="marc21"))
    ids = [record_id(r.header.identifier) for r in harvested]
    holdings = catalog.holdings(ids)
    records = catalog.records(ids)
    for record in harvested:
        rid = record_id(record.header.identifier)
        (marc,) = parse_xml_to_array(
            __import__("io").BytesIO(
                ET.tostring(record.xml.find(".//{http://www.loc.gov/MARC21/slim}record"))
            )
        )
        assert marc["001"].data == rid
        assert marc["245"]["a"] == records[rid]["title"]
        held = {f["b"]: int(f["9"]) for f in marc.get_fields("852")}
        assert held == {h["library"]: h["copies"] for h in holdings[rid]}, rid
        assert marc.leader[5] == "n"


@pytest.mark.parametrize("spec", ["library:SHU", "language:kk", "donor:embassy-kazakhstan"])
def test_sets_select_their_records(served, spec):
    catalog, url = served
    harvested = {
        record_id(h.identifier)
        for h in Sickle(url).ListIdentifiers(metadataPrefix="oai_dc", set=spec)
    }
    kind, value = spec.split(":")
    with catalog.engine.connect() as conn:
        if kind == "library":
            h = models.holdings
            query = h.select().with_only_columns(h.c.record_id).where(h.c.library == value)
        elif kind == "language":
            r = models.records
            query = r.select().with_only_columns(r.c.id).where(r.c.language == value)
        else:
            e = models.holding_events
            query = e.select().with_only_columns(e.c.record_id).where(e.c.donor == value)
        expected = set(conn.execute(query).scalars())
    assert expected and harvested == expected


def test_list_sets_names_every_library_in_five_languages(served):
    _catalog, url = served
    sets = {s.setSpec: s for s in Sickle(url).ListSets()}
    for code in ("ANL", "SHU", "LAC", "KEL", "AGD", "FUZ", "JAB", "ZAN", "GUB", "KHO", "KHV"):
        assert f"library:{code}" in sets
    assert {"library", "language", "donor", "language:kk", "donor:ilesam"} <= set(sets)
    shusha = ET.fromstring(sets["library:SHU"].raw)
    titles = {
        t.get("{http://www.w3.org/XML/1998/namespace}lang"): t.text
        for t in shusha.iter("{http://purl.org/dc/elements/1.1/}title")
    }
    assert set(titles) == {"az", "kk", "tr", "ru", "en"}
    assert titles["ru"] == "Шушинская районная центральная библиотека"


def test_post_requests_are_answered_alike(served):
    _catalog, url = served
    record = Sickle(url, http_method="POST").GetRecord(
        identifier=PREFIX + "kk-0004", metadataPrefix="oai_dc"
    )
    assert record.metadata["title"] == ["Абай жолы"]


# --- incremental harvesting -----------------------------------------------------------------------


def change_three_records(catalog):
    """Withdraw every copy of one record, receive copies of another, correct a third."""
    gone, received, corrected = "tr-0001", "kk-0004", "ru-0001"
    for entry in catalog.holdings([gone])[gone]:
        _record, copies, version = staff.holding(catalog, COORDINATOR, gone, entry["library"])
        staff.withdraw(catalog, COORDINATOR, gone, entry["library"], copies, "damaged", version)
    _record, _copies, version = staff.holding(catalog, COORDINATOR, received, "SHU")
    staff.receive(catalog, COORDINATOR, received, "SHU", 2, version)
    record = catalog.records([corrected])[corrected]
    staff.update_record(
        catalog, COORDINATOR, corrected, {"publisher": "Corrected publisher"}, record["version"]
    )
    return gone, received, corrected


def test_incremental_harvest_brings_exactly_the_changes(served):
    catalog, url = served
    first = list(Sickle(url).ListIdentifiers(metadataPrefix="oai_dc"))
    assert not any(h.deleted for h in first)
    time.sleep(1.1)  # datestamps have seconds granularity: the next harvest starts later
    since = response_date(url)
    assert not list_or_empty(url, since)
    gone, received, corrected = change_three_records(catalog)

    changed = {record_id(h.identifier): h for h in list_or_empty(url, since)}
    assert set(changed) == {gone, received, corrected}
    assert changed[gone].deleted
    assert not changed[received].deleted and not changed[corrected].deleted
    for header in changed.values():
        assert header.datestamp >= since

    deleted = Sickle(url).GetRecord(identifier=PREFIX + gone, metadataPrefix="marc21")
    assert deleted.deleted
    assert deleted.xml.find(".//{http://www.openarchives.org/OAI/2.0/}metadata") is None
    corrected_dc = Sickle(url).GetRecord(identifier=PREFIX + corrected, metadataPrefix="oai_dc")
    assert corrected_dc.metadata["publisher"] == ["Corrected publisher"]
    # a deleted record stays in the sets it was in, so a set's harvester learns of it too
    in_set = {
        record_id(h.identifier) for h in list_or_empty(url, since, set=f"language:{gone[:2]}")
    }
    assert gone in in_set


def list_or_empty(url: str, since: str, **args):
    try:
        return list(Sickle(url).ListIdentifiers(metadataPrefix="oai_dc", **{"from": since}, **args))
    except oaiexceptions.NoRecordsMatch:
        return []


def test_until_excludes_later_changes(served):
    catalog, url = served
    time.sleep(1.1)
    before_changes = response_date(url)
    time.sleep(1.1)
    change_three_records(catalog)
    old = list(Sickle(url).ListIdentifiers(metadataPrefix="oai_dc", until=before_changes))
    # the three changed records now carry later datestamps: they leave the list up to then
    assert len(old) == catalog.record_count() - 3


def test_paging_is_stable_while_records_change(served, small_pages):
    catalog, url = served
    ids = harvest.all_record_ids(catalog.engine)
    first = raw(url, verb="ListIdentifiers", metadataPrefix="oai_dc")
    started = first.find("o:responseDate", OAI_NS).text
    seen = [record_id(h.text) for h in first.iterfind(".//o:header/o:identifier", OAI_NS)]
    token = first.find(".//o:resumptionToken", OAI_NS)
    assert len(seen) == 40 and token.get("completeListSize") == str(len(ids))
    # one record already sent and one still to come change before the next page is asked for
    time.sleep(1.1)
    early, late = seen[5], ids[-3]
    for changed in (early, late):
        held = catalog.holdings([changed])[changed][0]
        _r, _c, version = staff.holding(catalog, COORDINATOR, changed, held["library"])
        staff.receive(catalog, COORDINATOR, changed, held["library"], 1, version)
    while token is not None and token.text:
        page = raw(url, verb="ListIdentifiers", resumptionToken=token.text)
        assert error_code(page) is None
        seen += [record_id(h.text) for h in page.iterfind(".//o:header/o:identifier", OAI_NS)]
        token = page.find(".//o:resumptionToken", OAI_NS)
    assert len(seen) == len(set(seen)), "a record was sent twice"
    assert set(seen) == set(ids) - {late}, "the list moved: records were skipped"
    # the record that changed after the list began comes in the next incremental harvest
    assert {late, early} <= {record_id(h.identifier) for h in list_or_empty(url, started)}


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params,code",
    [
        ({}, "badVerb"),
        ({"verb": "Harvest"}, "badVerb"),
        ({"verb": ["Identify", "Identify"]}, "badVerb"),
        ({"verb": "Identify", "extra": "1"}, "badArgument"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": ["oai_dc", "marc21"]}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2022-13-45"}, "badArgument"),
        (
            {
                "verb": "ListRecords",
                "metadataPrefix": "oai_dc",
                "from": "2022-01-01",
                "until": "2023-01-01T00:00:00Z",
            },
            "badArgument",
        ),
        (
            {
                "verb": "ListRecords",
                "metadataPrefix": "oai_dc",
                "from": "2023-01-02",
                "until": "2023-01-01",
            },
            "badArgument",
        ),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "shelf:1"}, "badArgument"),
        (
            {"verb": "ListRecords", "resumptionToken": "x", "metadataPrefix": "oai_dc"},
            "badArgument",
        ),
        ({"verb": "GetRecord", "identifier": PREFIX + "kk-0004"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "mods"}, "cannotDisseminateFormat"),
        (
            {"verb": "GetRecord", "identifier": PREFIX + "kk-0004", "metadataPrefix": "mods"},
            "cannotDisseminateFormat",
        ),
        (
            {"verb": "GetRecord", "identifier": PREFIX + "no-such", "metadataPrefix": "oai_dc"},
            "idDoesNotExist",
        ),
        (
            {"verb": "GetRecord", "identifier": "kk-0004", "metadataPrefix": "oai_dc"},
            "idDoesNotExist",
        ),
        ({"verb": "ListMetadataFormats", "identifier": PREFIX + "no-such"}, "idDoesNotExist"),
        ({"verb": "ListRecords", "resumptionToken": "not-a-token"}, "badResumptionToken"),
        ({"verb": "ListSets", "resumptionToken": "x"}, "badResumptionToken"),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2999-01-01"},
            "noRecordsMatch",
        ),
        (
            {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "language:de"},
            "noRecordsMatch",
        ),
    ],
)
def test_errors_are_the_protocols_codes(served, params, code):
    _catalog, url = served
    root = raw(url, **params)
    assert error_code(root) == code
    request = root.find("o:request", OAI_NS)
    assert request.text == url
    if code in ("badVerb", "badArgument"):
        assert request.attrib == {}  # the protocol: no arguments echoed for these two
    assert root.find("o:responseDate", OAI_NS) is not None


def test_sickle_raises_the_protocols_exceptions(served):
    _catalog, url = served
    with pytest.raises(oaiexceptions.IdDoesNotExist):
        Sickle(url).GetRecord(identifier=PREFIX + "nope", metadataPrefix="oai_dc")
    with pytest.raises(oaiexceptions.CannotDisseminateFormat):
        list(Sickle(url).ListRecords(metadataPrefix="mods"))


def test_a_token_for_another_verb_is_refused(served, small_pages):
    _catalog, url = served
    first = raw(url, verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = first.find(".//o:resumptionToken", OAI_NS).text
    assert error_code(raw(url, verb="ListRecords", resumptionToken=token)) == "badResumptionToken"


def test_datestamps_are_utc_seconds(served):
    catalog, url = served
    state = harvest.record_states(catalog.engine, ["kk-0004"])["kk-0004"]
    record = Sickle(url).GetRecord(identifier=PREFIX + "kk-0004", metadataPrefix="oai_dc")
    assert record.header.datestamp == state.datestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
