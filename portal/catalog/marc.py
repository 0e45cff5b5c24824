"""MARC 21 bibliographic import: ISO 2709 (binary) or MARCXML -> the rows of a Catalog CSV file.

Each MARC record becomes one `RecordData` and one `DonationRow` per library holding (852). The
rows are validated like Catalog CSV rows: every problem of the file is collected, each naming its
record number (`Problem.line` is the 1-based record number, and the message says "record N"), and
a file with any problem yields no rows at all.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import xml.sax
from datetime import date
from functools import cache

from babel import Locale
from defusedxml import DefusedXmlException
from defusedxml import sax as defused_sax
from pymarc import Field, Record
from pymarc.marcxml import XmlHandler

from portal import limits
from portal.catalog import records as rules
from portal.catalog.csvformat import (
    MAX_COPIES,
    MAX_FIELD_CHARS,
    MAX_ROWS,
    CatalogFileError,
    DonationRow,
    ParsedFile,
    Problem,
    RecordData,
    assigned_id,
    check_consistency,
    detect_script,
)
from portal.errors import InvalidInput, Message, msg

RECORD_TERMINATOR = 0x1D
LEADER_LENGTH = 24
_BETWEEN_RECORDS = b" \t\r\n\x00\x1a"  # line breaks some exporters put between records; DOS EOF

# MARC language codes (ISO 639-2/B, plus the /T forms some systems write) -> ISO 639-1.
MARC_LANGUAGES = {
    "aze": "az", "kaz": "kk", "tur": "tr", "rus": "ru", "eng": "en", "uzb": "uz", "kir": "ky",
    "tuk": "tk", "tat": "tt", "bak": "ba", "chv": "cv", "uig": "ug", "tgk": "tg", "ukr": "uk",
    "bel": "be", "geo": "ka", "kat": "ka", "arm": "hy", "hye": "hy", "per": "fa", "fas": "fa",
    "ara": "ar", "heb": "he", "kur": "ku", "pus": "ps", "urd": "ur", "hin": "hi", "ger": "de",
    "deu": "de", "fre": "fr", "fra": "fr", "spa": "es", "ita": "it", "por": "pt", "pol": "pl",
    "cze": "cs", "ces": "cs", "slo": "sk", "slk": "sk", "hun": "hu", "rum": "ro", "ron": "ro",
    "bul": "bg", "srp": "sr", "hrv": "hr", "gre": "el", "ell": "el", "dut": "nl", "nld": "nl",
    "swe": "sv", "nor": "no", "dan": "da", "fin": "fi", "est": "et", "lav": "lv", "lit": "lt",
    "chi": "zh", "zho": "zh", "jpn": "ja", "kor": "ko", "mon": "mn", "lat": "la",
}  # fmt: skip
_NO_LANGUAGE = {
    "und": msg("the language is coded as undetermined (und)"),
    "mul": msg("the language is coded as multiple languages (mul)"),
    "zxx": msg("the language is coded as no linguistic content (zxx)"),
}
TRANSLATOR_TERMS = frozenset({  # words of a 100/700 $e relator term, without their periods
    "translator", "translated", "trans", "tr", "trl",
    "переводчик", "перевод", "пер", "аударған", "аудармашы", "аударма",
    "çeviren", "çevirmen", "çev", "tərcüməçi", "tərcümə", "tərc",
})  # fmt: skip
_YEAR = re.compile(r"(?<!\d)(1[4-9]\d\d|20\d\d)(?!\d)")
_ISBN_PART = re.compile(r"\s*([0-9][0-9Xx\s-]*[0-9Xx])")
_DATE_ISO = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
# Letters ICU's Any-Latin leaves alone (Kazakh, Azerbaijani): folded by hand first.
_SLUG_FOLD = str.maketrans("әғқңөұүһіəƏı", "agqnouuhieei")


@cache
def _language_codes() -> frozenset[str]:
    return frozenset(code for code in Locale("en").languages if len(code) == 2)


@cache
def _transliterator():
    try:
        import icu
    except ImportError:  # pragma: no cover - pyicu is a dependency; fall back to NFKD
        return None
    return icu.Transliterator.createInstance("Any-Latin; Latin-ASCII; Lower")


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by '-': 'Kürk mantolu Madonna' -> 'kurk-mantolu-madonna'."""
    text = text.lower().translate(_SLUG_FOLD)
    translit = _transliterator()
    if translit is not None:
        text = translit.transliterate(text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64].rstrip("-")


def _clean(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split())


def _strip_isbd(value: str) -> str:
    """Drop the ISBD punctuation that ends a MARC subfield (' /', ' :', ' ;', ' =', ',', '.'),
    but keep an ellipsis and the period of a final initial ('Tolkien, J. R. R.')."""
    value = re.sub(r"[\s/:;=,]+$", "", _clean(value))
    if value.endswith(".") and not value.endswith("..") and not re.search(r"\b\w\.$", value):
        value = value[:-1].rstrip()
    return re.sub(r"[\s/:;=,]+$", "", value)


def _direct_order(name: str, ind1: str) -> str:
    """'Әуезов, Мұхтар' (100/700 first indicator 1, surname first) -> 'Мұхтар Әуезов', the
    order the catalog writes names in; other forms stay as written."""
    if ind1 == "1" and name.count(",") == 1:
        surname, forename = (part.strip() for part in name.split(","))
        if surname and forename:
            return f"{forename} {surname}"
    return name


def _linked_880(record: Record, field: Field) -> Field | None:
    """The 880 holding this field in its original script (a romanized LC/OCLC record)."""
    link = next(iter(field.get_subfields("6")), "")
    if not link.startswith("880-"):
        return None
    occurrence = link[4:6]
    for other in record.get_fields("880"):
        if next(iter(other.get_subfields("6")), "").startswith(f"{field.tag}-{occurrence}"):
            return other
    return None


def _original(record: Record, field: Field) -> Field:
    return _linked_880(record, field) or field


def _first(field: Field | None, code: str) -> str:
    if field is None:
        return ""
    return _clean(next(iter(field.get_subfields(code)), ""))


def _control(record: Record, tag: str) -> str:
    field = next(iter(record.get_fields(tag)), None)
    return (field.data or "") if field is not None and field.is_control_field() else ""


def _is_utf8(chunk: bytes) -> bool:
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _in_record(number: int, message: Message) -> Message:
    return msg("record %(n)s: %(reason)s", n=number, reason=message)


# --- reading the records ------------------------------------------------------------------


def _looks_like_xml(data: bytes) -> bool:
    head = data.lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<") or data.startswith(tuple(start for start, _ in _UTF16))


def _read_iso2709(data: bytes, source: str) -> tuple[list[tuple[int, Record]], list[Problem]]:
    """Split on the record lengths in the leaders (as pymarc's MARCReader does, but tolerating
    line breaks between records); decode each record by its leader/09: 'a' is UTF-8 (strictly),
    blank is MARC-8 - unless a "MARC-8" record is plainly UTF-8, a common mislabelling."""
    records, problems = [], []
    pos, number = 0, 0
    data = data.removeprefix(b"\xef\xbb\xbf")
    while True:
        while pos < len(data) and data[pos] in _BETWEEN_RECORDS:
            pos += 1
        if pos >= len(data):
            break
        number += 1
        if number > MAX_ROWS:
            problems.append(
                Problem(source, number, None, None, msg("more than %(n)s records", n=MAX_ROWS))
            )
            break
        head = data[pos : pos + 5]

        def fail(message: Message, value: str | None = None, number: int = number) -> None:
            problems.append(Problem(source, number, None, value, _in_record(number, message)))

        if not (len(head) == 5 and head.isdigit()):
            fail(
                msg(
                    "the file is not ISO 2709 MARC or is corrupt at byte %(byte)s: a record "
                    "must start with its length in 5 digits",
                    byte=pos,
                ),
                head.decode("latin-1"),
            )
            break
        length = int(head)
        chunk = data[pos : pos + length]
        if length <= LEADER_LENGTH:
            fail(
                msg("record length %(n)s is too short to hold a leader", n=length),
                head.decode("ascii"),
            )
            break
        if len(chunk) < length:
            fail(
                msg(
                    "the file is truncated: the leader gives %(length)s bytes but only "
                    "%(left)s remain",
                    length=length,
                    left=len(chunk),
                )
            )
            break
        if chunk[-1] != RECORD_TERMINATOR:
            fail(
                msg(
                    "does not end with the record terminator (0x1D) at byte %(byte)s; the "
                    "record length in the leader is wrong or the file is corrupt",
                    byte=pos + length - 1,
                )
            )
            break
        pos += length
        leader9 = chr(chunk[9])
        utf8 = leader9 == "a" or (b"\x1b" not in chunk and not chunk.isascii() and _is_utf8(chunk))
        try:
            record = Record(
                chunk,
                to_unicode=True,
                force_utf8=utf8,
                hide_utf8_warnings=True,
                utf8_handling="strict",
            )
        except UnicodeDecodeError as error:
            fail(
                msg(
                    "leader/09 says UTF-8 but the record is not valid UTF-8 (%(reason)s)",
                    reason=error.reason,
                )
            )
            continue
        except Exception as error:  # pymarc's RecordDirectoryInvalid, BaseAddressInvalid, ...
            reason = str(error) or type(error).__name__
            fail(msg("not a readable MARC record (%(reason)s)", reason=reason))
            continue
        records.append((number, record))
    return records, problems


class _CountingHandler(XmlHandler):
    """pymarc's MARCXML handler; knows whether it is inside a <record> when parsing fails."""

    @property
    def in_record(self) -> bool:
        return self._record is not None


NO_DTD = msg("DTDs and entity declarations are not accepted in MARCXML")


_UTF16 = (
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)


def _as_utf8(data: bytes) -> bytes:
    """UTF-16 MARCXML (with or without a byte order mark) re-encoded as UTF-8, which expat
    reads whatever the declaration said; other files as they are."""
    for start, encoding in _UTF16:
        if data.startswith(start):
            try:
                text = data.decode(encoding).lstrip("\ufeff")
            except UnicodeDecodeError:
                return data
            text = re.sub(r"^(<\?xml[^>]*?encoding=)([\"'])[^\"']*\2", r"\1\2utf-8\2", text)
            return text.encode("utf-8")
    return data


def _read_marcxml(data: bytes, source: str) -> tuple[list[tuple[int, Record]], list[Problem]]:
    data = _as_utf8(data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    data = data.lstrip()  # whitespace before "<?xml" is an error to expat, harmless here
    handler = _CountingHandler()
    # defusedxml's parser refuses a DTD and any entity declaration itself, whatever the
    # file's encoding (a byte search for "<!ENTITY" missed UTF-16 files).
    parser = defused_sax.make_parser()
    parser.forbid_dtd = True
    parser.forbid_entities = True
    parser.forbid_external = True
    parser.setContentHandler(handler)
    parser.setFeature(xml.sax.handler.feature_namespaces, True)
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setFeature(xml.sax.handler.feature_external_pes, False)
    try:
        parser.parse(io.BytesIO(data))
    except DefusedXmlException:
        return [], [Problem(source, None, None, None, NO_DTD)]
    except xml.sax.SAXParseException as error:
        where = {"line": error.getLineNumber(), "column": error.getColumnNumber() + 1}
        reason = error.getMessage()
        if handler.in_record:
            number = len(handler.records) + 1
            message = msg(
                "broken MARCXML at XML line %(line)s, column %(column)s (%(reason)s)",
                reason=reason,
                **where,
            )
            return [], [Problem(source, number, None, None, _in_record(number, message))]
        if handler.records:
            message = msg(
                "not well-formed XML at XML line %(line)s, column %(column)s after record "
                "%(n)s (%(reason)s)",
                n=len(handler.records),
                reason=reason,
                **where,
            )
        else:
            message = msg(
                "not well-formed XML at XML line %(line)s, column %(column)s (%(reason)s)",
                reason=reason,
                **where,
            )
        return [], [Problem(source, None, None, None, message)]
    except Exception as error:  # e.g. a datafield without tag="..."
        number = len(handler.records) + 1
        message = msg("not a MARCXML record (%(reason)s)", reason=repr(error))
        return [], [Problem(source, number, None, None, _in_record(number, message))]
    records = list(enumerate(handler.records, start=1))
    if len(records) > MAX_ROWS:
        message = msg("more than %(n)s records", n=MAX_ROWS)
        return [], [Problem(source, MAX_ROWS + 1, None, None, message)]
    return records, []


# --- mapping one record ---------------------------------------------------------------------


class _RecordMapper:
    """MARC 21 bibliographic record -> RecordData and holdings; collects problems."""

    def __init__(self, source, number, libraries, default_library, default_donor, today):
        self.source, self.number, self.libraries = source, number, libraries
        self.default_library, self.default_donor, self.today = (
            default_library,
            default_donor,
            today,
        )
        self.problems: list[Problem] = []

    def fail(self, column: str | None, value: str | None, message: Message) -> None:
        self.problems.append(
            Problem(self.source, self.number, column, value, _in_record(self.number, message))
        )

    def map(self, record: Record) -> list[DonationRow]:
        title = self._title(record)
        language = self._language(record)
        authors, translators = self._names(record)
        imprint = self._imprint(record)
        publisher = _strip_isbd(_first(imprint, "b")) if imprint else ""
        if re.fullmatch(r"\[?s\.\s?n\.?\]?", publisher, re.IGNORECASE):
            publisher = ""  # "[s.n.]": publisher unknown
        year = self._year(record, imprint)
        isbn = self._isbn(record)
        subjects = tuple(
            dict.fromkeys(
                s
                for f in record.get_fields("650")
                if (s := _strip_isbd(_first(_original(record, f), "a")))
            )
        )
        uniform = next(iter(record.get_fields("240", "130")), None)
        work = slugify(_strip_isbd(_first(uniform, "a"))) if uniform else ""
        other_titles = self._other_titles(record, uniform, title)
        for column, value in (
            ("245", title),
            ("100/700", "; ".join(authors + translators)),
            ("264/260$b", publisher),
            ("650$a", "; ".join(subjects)),
            ("240/246/765", "; ".join(other_titles)),
        ):
            if len(value) > MAX_FIELD_CHARS:
                self.fail(column, value, msg("longer than %(n)s characters", n=MAX_FIELD_CHARS))
        record_id = _clean(_control(record, "001"))
        if not limits.valid_record_id(record_id):
            cells = {
                "title": title,
                "language": language,
                "authors": "; ".join(authors),
                "translators": "; ".join(translators),
                "work": work,
                "publisher": publisher,
                "year": str(year or ""),
                "isbn": isbn or "",
                "subjects": "; ".join(subjects),
            }
            record_id = assigned_id(cells)
        donor, donated_on = self._acquisition(record)
        holdings = self._holdings(record)
        if self.problems:
            return []
        data = RecordData(
            id=record_id,
            title=title,
            language=language,
            script=detect_script(title),
            authors=authors,
            translators=translators,
            work=work or record_id.lower(),
            publisher=publisher,
            year=year,
            isbn=isbn,
            subjects=subjects,
            other_titles=other_titles,
        )
        return [
            DonationRow(self.number, data, donor, donated_on, library, copies)
            for library, copies in holdings.items()
        ]

    def _other_titles(self, record: Record, uniform, title: str) -> tuple[str, ...]:
        """The uniform title (240/130 $a), varying forms (246 $a $b) and the original's
        title (765 $t), each once, the record's own title left out."""
        found = []
        if uniform:
            text = _strip_isbd(_first(_original(record, uniform), "a"))
            if slugify(text) != text:  # a title, not a work key as this portal's export writes
                found.append(text)
        for f in record.get_fields("246"):
            f = _original(record, f)
            found.append(_clean(" ".join(_strip_isbd(v) for v in f.get_subfields("a", "b"))))
        for f in record.get_fields("765"):
            found.append(_strip_isbd(_first(_original(record, f), "t")))
        seen = {title.casefold()}
        kept = []
        for text in (_clean(t) for t in found):
            if text and text.casefold() not in seen:
                seen.add(text.casefold())
                kept.append(text)
        return tuple(kept)

    def _title(self, record: Record) -> str:
        field = next(iter(record.get_fields("245")), None)
        if field is None:
            self.fail("245", None, msg("no title (field 245 is missing)"))
            return ""
        field = _original(record, field)
        parts = [
            _strip_isbd(value)
            for code, value in ((s.code, s.value) for s in field.subfields)
            if code in "abnp"
        ]
        title = _clean(" ".join(p for p in parts if p))
        if not title:
            self.fail("245$a", "", msg("the title (245 $a) is empty"))
        return title

    def _language(self, record: Record) -> str:
        code, column = "", "041$a"
        f041 = next(iter(record.get_fields("041")), None)
        if f041 is not None:
            code = _first(f041, "a")[:3]  # old records run codes together: "azerus"
        if not code:
            code, column = _control(record, "008")[35:38].strip(" |"), "008/35-37"
        code = code.lower()
        if not code:
            self.fail("041$a", "", msg("no language: neither 041 $a nor 008/35-37 gives one"))
            return ""
        if code in _NO_LANGUAGE:
            self.fail(
                column, code, msg("the language is coded as %(what)s", what=_NO_LANGUAGE[code])
            )
            return ""
        language = MARC_LANGUAGES.get(code) or (code if code in _language_codes() else "")
        if not language:
            self.fail(
                column,
                code,
                msg("unknown MARC language code (expected a code like aze, kaz, tur, rus, eng)"),
            )
        return language

    def _names(self, record: Record) -> tuple[tuple[str, ...], tuple[str, ...]]:
        authors, translators = [], []
        for field in record.get_fields("100", "700"):
            shown = _original(record, field)
            name = _direct_order(_strip_isbd(_first(shown, "a")), field.indicator1)
            if not name:
                continue
            words = {
                word.strip(".")
                for v in field.get_subfields("e") + shown.get_subfields("e")
                for word in re.split(r"[\s,;:()]+", _clean(v).casefold())
            }
            codes = [_clean(v).casefold().rsplit("/", 1)[-1] for v in field.get_subfields("4")]
            translator = field.tag == "700" and ("trl" in codes or bool(words & TRANSLATOR_TERMS))
            target = translators if translator else authors
            if name not in target:
                target.append(name)
        return tuple(authors), tuple(translators)

    @staticmethod
    def _imprint(record: Record) -> Field | None:
        publication = [f for f in record.get_fields("264") if f.indicator2 == "1"]
        field = next(iter(publication or record.get_fields("260")), None)
        return None if field is None else _original(record, field)

    def _year(self, record: Record, imprint: Field | None) -> int | None:
        text, column = _first(imprint, "c"), "264/260$c"
        match = _YEAR.search(text)
        if match is None:
            text, column = _control(record, "008")[7:11], "008/07-10"
            match = re.fullmatch(r"\d{4}", text)
        if match is None:
            return None
        try:
            return rules.check_year(match.group(0), self.today)
        except InvalidInput as problem:
            self.fail(column, text, problem.message)
            return None

    def _isbn(self, record: Record) -> str | None:
        found = None
        for field in record.get_fields("020"):
            for value in field.get_subfields("a"):  # $z is a cancelled/invalid ISBN: ignored
                match = _ISBN_PART.match(value)
                try:
                    isbn = rules.check_isbn(match.group(1) if match else "x")
                except InvalidInput as problem:
                    self.fail(
                        "020$a",
                        _clean(value),
                        msg(
                            "%(reason)s; move it to 020 $z if it is wrong",
                            reason=problem.message,
                        ),
                    )
                    continue
                found = found or isbn
        return found

    def _acquisition(self, record: Record) -> tuple[str, date | None]:
        field = next(iter(record.get_fields("541")), None)
        donor = _strip_isbd(_first(field, "a")) or " ".join(self.default_donor.split())
        text = _first(field, "d")
        if not text:
            return donor, None
        match = _DATE_ISO.fullmatch(text.rstrip("."))
        try:
            if match is None:
                raise ValueError
            donated_on = date(*(int(g) for g in match.groups()))
        except ValueError:
            self.fail("541$d", text, msg("the date of acquisition is not YYYY-MM-DD or YYYYMMDD"))
            return donor, None
        if donated_on > self.today:
            self.fail("541$d", text, msg("the date of acquisition is in the future"))
        return donor, donated_on

    def _holdings(self, record: Record) -> dict[str, int]:
        holdings: dict[str, int] = {}
        fields = record.get_fields("852")
        if not fields:
            if self.default_library is None:
                self.fail(
                    "852",
                    None,
                    msg(
                        "no 852 holdings, and no library was chosen for records without them "
                        "(--library)"
                    ),
                )
            elif self.default_library.strip().upper() not in self.libraries:
                self._unknown_library(self.default_library)
            else:
                holdings[self.default_library.strip().upper()] = 1
            return holdings
        for field in fields:
            candidates = [_first(field, "b").upper(), _first(field, "a").upper()]
            library = next((c for c in candidates if c in self.libraries), None)
            if library is None:
                self._unknown_library(next((c for c in candidates if c), ""))
                continue
            copies = self._copies(field)
            if copies is not None:
                holdings[library] = holdings.get(library, 0) + copies
        for library, copies in holdings.items():
            if copies > MAX_COPIES:
                self.fail(
                    "852",
                    str(copies),
                    msg("more than %(n)s copies for %(library)s", n=MAX_COPIES, library=library),
                )
        return holdings

    def _unknown_library(self, code: str) -> None:
        known = ", ".join(sorted(self.libraries))
        if code:
            self.fail(
                "852$b",
                code,
                msg("unknown library code in 852 $b/$a; known: %(codes)s", codes=known),
            )
        else:
            self.fail(
                "852$b", "", msg("852 names no library in $b or $a; known: %(codes)s", codes=known)
            )

    def _copies(self, field: Field) -> int | None:
        for code in "t9":
            value = _first(field, code)
            if value:
                if not value.isdigit() or not 1 <= int(value) <= MAX_COPIES:
                    self.fail(
                        f"852${code}",
                        value,
                        msg("not a number of copies from 1 to %(max)s", max=MAX_COPIES),
                    )
                    return None
                return int(value)
        return 1


# --- the file ---------------------------------------------------------------------------------


def parse_marc(
    data: bytes,
    source: str,
    libraries: set[str],
    default_library: str | None = None,
    default_donor: str = "",
    today: date | None = None,
) -> ParsedFile:
    """Validate a whole MARC 21 file (ISO 2709 or MARCXML); raises CatalogFileError listing
    every problem, each with its 1-based record number in `line`."""
    today = today or date.today()
    if not data.strip():
        raise CatalogFileError([Problem(source, None, None, None, msg("the file is empty"))])
    if data.startswith(b"PK\x03\x04"):
        message = msg(
            "this is a spreadsheet or zip file (.xlsx?), not MARC: export the records as "
            "MARC 21 (.mrc) or MARCXML (.xml), or save the sheet as Catalog CSV"
        )
        raise CatalogFileError([Problem(source, None, None, None, message)])
    if _looks_like_xml(data):
        records, problems = _read_marcxml(data, source)
    else:
        records, problems = _read_iso2709(data, source)
    if not records and not problems:
        message = (
            msg("no MARC records found (MARCXML needs <record> elements)")
            if _looks_like_xml(data)
            else msg("no MARC records found")
        )
        problems.append(Problem(source, None, None, None, message))
    parsed = ParsedFile(source, hashlib.sha256(data).hexdigest())
    for number, record in records:
        mapper = _RecordMapper(source, number, libraries, default_library, default_donor, today)
        rows = mapper.map(record)
        problems.extend(mapper.problems)
        parsed.rows.extend(rows)
    problems.extend(check_consistency(parsed.rows, source))
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise CatalogFileError(problems)
    return parsed
