"""OAI-PMH 2.0 at /oai: the six verbs, `oai_dc` and `marc21`, sets, datestamps, resumption.

A small strict implementation of https://www.openarchives.org/OAI/openarchivesprotocol.html
(the maintained Python server libraries either are unmaintained or page with offsets, which
skip or repeat records when the catalog changes during a harvest). What the catalog knows
(datestamps, deleted records, set membership) comes from portal/catalog/harvest.py; the MARC
records from portal/catalog/exports.py. Every answer is HTTP 200 with an XML body, errors
included, as the protocol requires.

Resumption tokens are keyset cursors: the arguments of the first request, the last record id
sent, and the moment the list was first asked for. Each page lists records after that id
whose datestamp is before that moment, so a list is never shifted by records changing while
it is paged through: a record that changes meanwhile leaves the rest of the list and comes
in the next incremental harvest (from the first page's responseDate). Tokens do not expire.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from pymarc import record_to_xml
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal import limits
from portal.catalog import harvest
from portal.catalog.catalog import Catalog, localized
from portal.catalog.exports import marc_records
from portal.catalog.harvest import RecordState, SetFilter
from portal.catalog.records import xml_chars
from portal.catalog.reference import subjects
from portal.web.exports import permalink
from portal.web.i18n import LANGUAGES, language_name
from portal.web.templating import public_base, url_path

OAI = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
MARC = "http://www.loc.gov/MARC21/slim"
XML_NS = "http://www.w3.org/XML/1998/namespace"
for _prefix, _uri in (("", OAI), ("xsi", XSI), ("oai_dc", OAI_DC), ("dc", DC), ("marc", MARC)):
    ET.register_namespace(_prefix, _uri)

METADATA_FORMATS = {
    "oai_dc": (OAI_DC, "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", "dc"),
    "marc21": (MARC, "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", "record"),
}
REPOSITORY_ID = "karabakh-library-books"  # the middle of every oai identifier
IDENTIFIER_PREFIX = f"oai:{REPOSITORY_ID}:"
REPOSITORY_NAME = "Karabakh libraries: donated books"
PAGE_SIZE = 100  # records (or headers) per ListRecords / ListIdentifiers answer
MAX_BODY_BYTES = 8 * 1024
CONTENT_TYPE = "text/xml; charset=utf-8"
SECONDS = "%Y-%m-%dT%H:%M:%SZ"

VERBS = {
    # verb: (required, optional, exclusive)
    "Identify": ((), (), None),
    "ListMetadataFormats": ((), ("identifier",), None),
    "ListSets": ((), (), "resumptionToken"),
    "GetRecord": (("identifier", "metadataPrefix"), (), None),
    "ListIdentifiers": (("metadataPrefix",), ("from", "until", "set"), "resumptionToken"),
    "ListRecords": (("metadataPrefix",), ("from", "until", "set"), "resumptionToken"),
}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_SET_SPEC = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")


class OaiError(Exception):
    def __init__(self, code: str, text: str):
        super().__init__(text)
        self.code, self.text = code, text


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _sub(parent: ET.Element, namespace: str, tag: str, text=None, **attrs) -> ET.Element:
    attributes = {k: xml_chars(str(v)) for k, v in attrs.items()}
    element = ET.SubElement(parent, _q(namespace, tag), attributes)
    if text is not None:
        element.text = xml_chars(str(text))
    return element


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(SECONDS)


# --- arguments ------------------------------------------------------------------------------


def parse_arguments(pairs: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """(verb, other arguments) of a request; OaiError for a bad verb or argument."""
    verbs = [v for k, v in pairs if k == "verb"]
    if len(verbs) != 1 or verbs[0] not in VERBS:
        if not verbs:
            raise OaiError("badVerb", "The request has no verb.")
        if len(verbs) > 1:
            raise OaiError("badVerb", "The verb is repeated.")
        raise OaiError("badVerb", f"'{verbs[0][:40]}' is not an OAI-PMH verb.")
    verb = verbs[0]
    args: dict[str, str] = {}
    for key, value in pairs:
        if key == "verb":
            continue
        if key in args:
            raise OaiError("badArgument", f"The argument '{key[:40]}' is repeated.")
        args[key] = value
    required, optional, exclusive = VERBS[verb]
    if exclusive and exclusive in args:
        if len(args) > 1:
            raise OaiError("badArgument", f"{exclusive} must be the only argument besides verb.")
        return verb, args
    allowed = set(required) | set(optional)
    for key in args:
        if key not in allowed:
            raise OaiError("badArgument", f"{verb} does not take the argument '{key[:40]}'.")
    for key in required:
        if not args.get(key):
            raise OaiError("badArgument", f"{verb} needs the argument '{key}'.")
    return verb, args


def parse_datestamp(value: str, name: str) -> tuple[datetime, str]:
    """A from/until value -> (moment, granularity 'day' or 'second')."""
    try:
        if _DAY.fullmatch(value):
            return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC), "day"
        if _SECOND.fullmatch(value):
            return datetime.strptime(value, SECONDS).replace(tzinfo=UTC), "second"
    except ValueError:
        pass
    raise OaiError(
        "badArgument", f"'{name}' must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (UTC)."
    ) from None


def parse_set(spec: str) -> SetFilter:
    kind, _, value = spec.partition(":")
    if not _SET_SPEC.fullmatch(spec) or kind not in harvest.SET_KINDS or ":" in value:
        raise OaiError("badArgument", f"'{spec[:80]}' is not a set of this repository.")
    return SetFilter(kind, value or None)


def record_id_of(identifier: str) -> str:
    record_id = identifier.removeprefix(IDENTIFIER_PREFIX)
    if record_id == identifier or not limits.valid_record_id(record_id):
        raise OaiError("idDoesNotExist", f"'{identifier[:120]}' is not an identifier here.")
    return record_id


# --- resumption tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRequest:
    verb: str
    prefix: str
    set_spec: str | None
    since: datetime | None
    before: datetime  # exclusive; frozen at the first request
    after_id: str | None = None
    cursor: int = 0
    total: int = 0

    def token(self) -> str:
        data = {
            "v": 1,
            "verb": self.verb,
            "m": self.prefix,
            "s": self.set_spec,
            "f": self.since.isoformat() if self.since else None,
            "u": self.before.isoformat(),
            "a": self.after_id,
            "c": self.cursor,
            "n": self.total,
        }
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def from_token(cls, verb: str, token: str) -> ListRequest:
        bad = OaiError(
            "badResumptionToken", "The resumption token is not one this repository gave."
        )
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
            if data.get("v") != 1 or data.get("verb") != verb:
                raise bad
            found = cls(
                verb=verb,
                prefix=str(data["m"]),
                set_spec=data["s"],
                since=datetime.fromisoformat(data["f"]) if data["f"] else None,
                before=datetime.fromisoformat(data["u"]),
                after_id=data["a"],
                cursor=int(data["c"]),
                total=int(data["n"]),
            )
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            raise bad from None
        if (
            found.prefix not in METADATA_FORMATS
            or not isinstance(found.after_id, str)
            or not limits.valid_record_id(found.after_id)
            or found.cursor < 0
            or found.before.tzinfo is None
            or (found.since is not None and found.since.tzinfo is None)
            or (found.set_spec is not None and not isinstance(found.set_spec, str))
        ):
            raise bad
        if found.set_spec is not None:
            try:
                parse_set(found.set_spec)
            except OaiError:
                raise bad from None
        return found


# --- the repository -----------------------------------------------------------------------------


class Repository:
    """Answers one OAI-PMH request about a catalog (runs in a worker thread)."""

    def __init__(self, catalog: Catalog, base_url: str, record_url, admin_email: str):
        self.catalog = catalog
        self.base_url = base_url
        self.record_url = record_url  # record id -> absolute URL of its page
        self.admin_email = admin_email
        self.now = datetime.now(UTC)

    def respond(self, pairs: list[tuple[str, str]]) -> bytes:
        root = ET.Element(_q(OAI, "OAI-PMH"))
        root.set(
            _q(XSI, "schemaLocation"),
            f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd",
        )
        _sub(root, OAI, "responseDate", _stamp(self.now))
        request = _sub(root, OAI, "request", self.base_url)
        try:
            verb, args = parse_arguments(pairs)
        except OaiError as error:
            self._error(root, error)
            return self._serialize(root)
        request.set("verb", verb)
        for key, value in args.items():
            request.set(key, value)
        try:
            body = getattr(self, verb)(args)
            root.append(body)
        except OaiError as error:
            if error.code in ("badVerb", "badArgument"):
                request.attrib.clear()  # the protocol: then the request's arguments are not echoed
            self._error(root, error)
        return self._serialize(root)

    @staticmethod
    def _error(root: ET.Element, error: OaiError) -> None:
        _sub(root, OAI, "error", error.text, code=error.code)

    @staticmethod
    def _serialize(root: ET.Element) -> bytes:
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)

    # --- verbs ---

    def Identify(self, _args: dict) -> ET.Element:  # noqa: N802 - the verb's name
        element = ET.Element(_q(OAI, "Identify"))
        earliest = harvest.earliest_datestamp(self.catalog.engine) or self.now
        _sub(element, OAI, "repositoryName", REPOSITORY_NAME)
        _sub(element, OAI, "baseURL", self.base_url)
        _sub(element, OAI, "protocolVersion", "2.0")
        _sub(element, OAI, "adminEmail", self.admin_email)
        _sub(element, OAI, "earliestDatestamp", _stamp(earliest))
        _sub(element, OAI, "deletedRecord", "persistent")
        _sub(element, OAI, "granularity", "YYYY-MM-DDThh:mm:ssZ")
        return element

    def ListMetadataFormats(self, args: dict) -> ET.Element:  # noqa: N802
        if "identifier" in args:
            self._state(args["identifier"])  # idDoesNotExist if there is no such record
        element = ET.Element(_q(OAI, "ListMetadataFormats"))
        for prefix, (namespace, schema, _root) in METADATA_FORMATS.items():
            item = _sub(element, OAI, "metadataFormat")
            _sub(item, OAI, "metadataPrefix", prefix)
            _sub(item, OAI, "schema", schema)
            _sub(item, OAI, "metadataNamespace", namespace)
        return element

    def ListSets(self, args: dict) -> ET.Element:  # noqa: N802
        if "resumptionToken" in args:
            raise OaiError("badResumptionToken", "ListSets is answered in one list; no token.")
        element = ET.Element(_q(OAI, "ListSets"))
        values = harvest.set_values(self.catalog.engine)
        libraries = {row["code"]: row for row in self.catalog.libraries()}
        donors = self.catalog.donors()
        kinds = {
            "library": ("Libraries", lambda code: localized(libraries.get(code, {}), "en")),
            "language": ("Languages", lambda code: language_name(code, "en")),
            "donor": ("Donors", lambda code: localized(donors.get(code, {}), "en")),
        }
        titles = {
            "library": lambda code, lang: localized(libraries.get(code, {}), lang),
            "language": lambda code, lang: language_name(code, lang),
            "donor": lambda code, lang: localized(donors.get(code, {}), lang),
        }
        for kind, (heading, name) in kinds.items():
            self._set(element, kind, heading, {})
            codes = sorted(set(values[kind]) | (set(libraries) if kind == "library" else set()))
            for code in codes:
                if not _SET_SPEC.fullmatch(code):
                    continue
                names = {lang: titles[kind](code, lang) or code for lang in LANGUAGES}
                self._set(element, f"{kind}:{code}", name(code) or code, names)
        return element

    @staticmethod
    def _set(parent: ET.Element, spec: str, name: str, names: dict[str, str]) -> None:
        item = _sub(parent, OAI, "set")
        _sub(item, OAI, "setSpec", spec)
        _sub(item, OAI, "setName", name)
        if names:
            description = _sub(item, OAI, "setDescription")
            dc = _sub(description, OAI_DC, "dc")
            dc.set(_q(XSI, "schemaLocation"), f"{OAI_DC} {METADATA_FORMATS['oai_dc'][1]}")
            for lang, title in names.items():
                _sub(dc, DC, "title", title).set(_q(XML_NS, "lang"), lang)

    def GetRecord(self, args: dict) -> ET.Element:  # noqa: N802
        prefix = self._prefix(args["metadataPrefix"])
        state = self._state(args["identifier"])
        element = ET.Element(_q(OAI, "GetRecord"))
        self._records(element, [state], prefix, with_metadata=True)
        return element

    def ListIdentifiers(self, args: dict) -> ET.Element:  # noqa: N802
        return self._list("ListIdentifiers", args)

    def ListRecords(self, args: dict) -> ET.Element:  # noqa: N802
        return self._list("ListRecords", args)

    # --- helpers ---

    @staticmethod
    def _prefix(prefix: str) -> str:
        if prefix not in METADATA_FORMATS:
            raise OaiError(
                "cannotDisseminateFormat",
                f"'{prefix[:40]}' is not a metadata format here (oai_dc, marc21).",
            )
        return prefix

    def _state(self, identifier: str) -> RecordState:
        record_id = record_id_of(identifier)
        state = harvest.record_states(self.catalog.engine, [record_id]).get(record_id)
        if state is None:
            raise OaiError("idDoesNotExist", f"There is no record '{identifier[:120]}'.")
        return state

    def _first_request(self, verb: str, args: dict) -> ListRequest:
        prefix = self._prefix(args["metadataPrefix"])
        since = until = None
        if "from" in args:
            since, since_grain = parse_datestamp(args["from"], "from")
        if "until" in args:
            until, until_grain = parse_datestamp(args["until"], "until")
            until += timedelta(days=1) if until_grain == "day" else timedelta(seconds=1)
        if since is not None and until is not None:
            if since_grain != until_grain:
                raise OaiError("badArgument", "'from' and 'until' must have the same granularity.")
            if since >= until:
                raise OaiError("badArgument", "'from' is later than 'until'.")
        set_spec = args.get("set")
        if set_spec is not None:
            parse_set(set_spec)
        # The list is what the catalog holds now: later changes come in the next harvest.
        before = min(until, self.now) if until is not None else self.now
        if since is not None and since >= before:
            before = since  # an empty list (a 'from' in the future): noRecordsMatch
        return ListRequest(verb, prefix, set_spec, since, before)

    def _list(self, verb: str, args: dict) -> ET.Element:
        if "resumptionToken" in args:
            request = ListRequest.from_token(verb, args["resumptionToken"])
        else:
            request = self._first_request(verb, args)
        in_set = parse_set(request.set_spec) if request.set_spec else None
        window = {"since": request.since, "before": request.before, "in_set": in_set}
        page = harvest.changes(
            self.catalog.engine, after_id=request.after_id, limit=PAGE_SIZE + 1, **window
        )
        total = request.total
        if request.after_id is None:
            if not page:
                raise OaiError("noRecordsMatch", "No record matches these arguments.")
            total = (
                len(page)
                if len(page) <= PAGE_SIZE
                else harvest.count_changes(self.catalog.engine, **window)
            )
        more = len(page) > PAGE_SIZE
        page = page[:PAGE_SIZE]
        element = ET.Element(_q(OAI, verb))
        self._records(element, page, request.prefix, with_metadata=verb == "ListRecords")
        if request.after_id is not None or more:
            token = _sub(
                element, OAI, "resumptionToken", completeListSize=total, cursor=request.cursor
            )
            if more:
                token.text = ListRequest(
                    verb,
                    request.prefix,
                    request.set_spec,
                    request.since,
                    request.before,
                    page[-1].id,
                    request.cursor + len(page),
                    total,
                ).token()
        return element

    def _records(
        self, parent: ET.Element, states: list[RecordState], prefix: str, with_metadata: bool
    ) -> None:
        ids = [s.id for s in states]
        sets = harvest.record_sets(self.catalog.engine, ids)
        metadata = self._metadata(states, prefix) if with_metadata else {}
        for state in states:
            container = _sub(parent, OAI, "record") if with_metadata else parent
            header = _sub(container, OAI, "header")
            if state.deleted:
                header.set("status", "deleted")
            _sub(header, OAI, "identifier", IDENTIFIER_PREFIX + state.id)
            _sub(header, OAI, "datestamp", _stamp(state.datestamp))
            for kind, value in sets.get(state.id, []):
                if _SET_SPEC.fullmatch(value):
                    _sub(header, OAI, "setSpec", f"{kind}:{value}")
            if with_metadata and not state.deleted and state.id in metadata:
                _sub(container, OAI, "metadata").append(metadata[state.id])

    def _metadata(self, states: list[RecordState], prefix: str) -> dict[str, ET.Element]:
        ids = [s.id for s in states if not s.deleted]
        if prefix == "marc21":
            found = {}
            for record in marc_records(self.catalog, ids, url_for=self.record_url):
                element = ET.fromstring(record_to_xml(record, namespace=True))
                element.set(_q(XSI, "schemaLocation"), f"{MARC} {METADATA_FORMATS['marc21'][1]}")
                found[record["001"].data] = element
            return found
        records = self.catalog.records(ids)
        return {record_id: self._dublin_core(record) for record_id, record in records.items()}

    def _dublin_core(self, record: dict) -> ET.Element:
        dc = ET.Element(_q(OAI_DC, "dc"))
        dc.set(_q(XSI, "schemaLocation"), f"{OAI_DC} {METADATA_FORMATS['oai_dc'][1]}")
        _sub(dc, DC, "title", record["title"]).set(_q(XML_NS, "lang"), record["language"])
        for author in record["authors"]:
            _sub(dc, DC, "creator", author)
        for translator in record["translators"]:
            _sub(dc, DC, "contributor", translator)
        headings = subjects()
        for subject in record["subjects"]:
            _sub(dc, DC, "subject", headings.get(subject, {}).get("en", subject))
        if record["publisher"]:
            _sub(dc, DC, "publisher", record["publisher"])
        if record["year"]:
            _sub(dc, DC, "date", record["year"])
        _sub(dc, DC, "type", "Text")
        _sub(dc, DC, "language", record["language"])
        _sub(dc, DC, "identifier", self.record_url(record["id"]))
        if record["isbn"]:
            _sub(dc, DC, "identifier", f"urn:isbn:{record['isbn']}")
        return dc


# --- HTTP ---------------------------------------------------------------------------------------


async def oai_endpoint(request: Request) -> Response:
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    if request.method == "POST":
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            pairs = [("verb", "")]  # answered as badVerb below, like any unreadable request
        else:
            pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    base = public_base(request)

    def record_url(record_id: str) -> str:
        return permalink(request, record_id)

    settings = request.app.state.settings
    repository = Repository(
        request.app.state.catalog,
        base + url_path(request, "oai"),
        record_url,
        getattr(settings, "admin_email", "portal@localhost"),
    )
    body = await run_in_threadpool(repository.respond, pairs)
    return Response(body, media_type=CONTENT_TYPE)


routes = [Route("/oai", oai_endpoint, methods=["GET", "POST"], name="oai")]
