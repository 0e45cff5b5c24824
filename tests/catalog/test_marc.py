"""MARC 21 import (ISO 2709 and MARCXML): field mapping, holdings, and every kind of bad file."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from pymarc import Field, Indicators, Record, Subfield, XMLWriter

from portal.catalog.csvformat import CatalogFileError
from portal.catalog.marc import parse_marc, slugify

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "marc"
LIBRARIES = {"ANL", "SHU", "LAC", "KEL", "AGD", "FUZ", "JAB", "ZAN", "GUB", "KHO", "KHV"}
TODAY = date(2025, 1, 1)


def parse(data: bytes, source: str = "books.mrc", **kwargs):
    kwargs.setdefault("today", TODAY)
    return parse_marc(data, source, LIBRARIES, **kwargs)


def problems_of(data: bytes, source: str = "bad.mrc", **kwargs):
    with pytest.raises(CatalogFileError) as caught:
        parse(data, source, **kwargs)
    return caught.value.problems


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def build(*fields: Field, utf8: bool = True) -> Record:
    # to_unicode=False keeps pymarc from setting leader/09 to 'a' when writing MARC-8
    leader = "     nam a22     4i 4500" if utf8 else "     nam  22     4i 4500"
    record = Record(force_utf8=utf8, to_unicode=utf8, leader=leader)
    record.add_field(*fields)
    return record


def datafield(tag: str, *pairs: str, ind: str = "  ") -> Field:
    subfields = [Subfield(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
    return Field(tag, Indicators(ind[0], ind[1]), subfields)


def minimal(*extra: Field, holdings: bool = True) -> list[Field]:
    fields = [
        Field("001", data="t-1"),
        Field("008", data="220101s2020    tu            000 1 tur d"),
        datafield("245", "a", "Küçük Prens /", "c", "Antoine de Saint-Exupéry.", ind="10"),
        *extra,
    ]
    if holdings:
        fields.append(datafield("852", "b", "SHU", "t", "2"))
    return fields


def mrc(*records: Record) -> bytes:
    return b"".join(r.as_marc() for r in records)


def one_row(*extra: Field, **kwargs):
    rows = parse(mrc(build(*minimal(*extra))), **kwargs).rows
    assert len(rows) == 1
    return rows[0]


def by_record(parsed) -> dict[int, list]:
    rows: dict[int, list] = {}
    for row in parsed.rows:
        rows.setdefault(row.line, []).append(row)
    return rows


# --- the fixtures: every mapped field ---------------------------------------------------------


@pytest.mark.parametrize("name", ["books.mrc", "books.xml"])
def test_fixture_fields(name):
    expected = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    data = fixture(name)
    parsed = parse(data, name)
    assert parsed.source == name
    assert re.fullmatch(r"[0-9a-f]{64}", parsed.sha256)
    rows = by_record(parsed)
    assert sorted(rows) == [e["record"] for e in expected]
    for want in expected:
        got = rows[want["record"]]
        record = got[0].record
        assert all(row.record == record for row in got)
        if want["id"] is None:
            assert re.fullmatch(r"r-[0-9a-f]{12}", record.id)
        else:
            assert record.id == want["id"]
        assert record.work == (want["work"] or record.id)
        assert record.title == want["title"]
        assert record.language == want["language"]
        assert record.script == want["script"]
        assert list(record.authors) == want["authors"]
        assert list(record.translators) == want["translators"]
        assert record.publisher == want["publisher"]
        assert record.year == want["year"]
        assert record.isbn == want["isbn"]
        assert list(record.subjects) == want["subjects"]
        assert {row.library: row.copies for row in got} == want["holdings"]
        for row in got:
            assert row.donor == want["donor"]
            assert row.donated_on == (
                date.fromisoformat(want["donated_on"]) if want["donated_on"] else None
            )


def test_binary_and_xml_give_identical_rows():
    binary = parse(fixture("books.mrc"), "books.mrc")
    xml = parse(fixture("books.xml"), "books.xml")
    assert binary.rows == xml.rows
    assert len(binary.rows) == 7


def test_fixture_is_utf8_marc():
    data = fixture("books.mrc")
    assert chr(data[9]) == "a"
    assert "Абай жолы".encode() in data
    assert "Kürk mantolu Madonna".encode() in data


def test_assigned_ids_are_stable_and_default_donor_used():
    first = parse(fixture("books.mrc"), default_donor="Private donors")
    second = parse(fixture("books.mrc"), default_donor="Private donors")
    assert [r.record.id for r in first.rows] == [r.record.id for r in second.rows]
    russian = by_record(first)[2][0]
    assert russian.donor == "Private donors"  # no 541 in that record
    assert by_record(first)[1][0].donor == "Embassy of Kazakhstan in Azerbaijan"


def test_xml_with_bom_and_whitespace():
    data = b"\xef\xbb\xbf\n  " + fixture("books.xml")
    assert parse(data, "books.xml").rows == parse(fixture("books.mrc")).rows


def test_line_breaks_between_binary_records_are_tolerated():
    data = fixture("books.mrc").replace(b"\x1d", b"\x1d\r\n")
    assert parse(data).rows == parse(fixture("books.mrc")).rows


# --- bad files ---------------------------------------------------------------------------------


def test_truncated_file_names_the_record():
    problems = problems_of(fixture("broken.mrc"), "broken.mrc")
    assert len(problems) == 1
    problem = problems[0]
    assert problem.source == "broken.mrc"
    assert problem.line == 2
    assert "record 2" in str(problem.message) and "truncated" in str(problem.message)
    assert "broken.mrc:2" in str(problem)


def test_corrupt_record_length():
    good = fixture("books.mrc")
    first = int(good[:5])
    data = good[:first] + b"xx" + good[first + 2 :]
    (problem,) = problems_of(data)
    assert problem.line == 2 and "record 2" in str(problem.message)
    assert "5 digits" in str(problem.message)


def test_missing_record_terminator():
    good = fixture("books.mrc")
    first = int(good[:5])
    data = good[: first - 1] + b"X" + good[first:]
    (problem,) = problems_of(data)
    assert problem.line == 1 and "terminator" in str(problem.message)


def test_invalid_utf8_in_utf8_record():
    good = build(*minimal())
    data = good.as_marc().replace("Küçük".encode(), b"K\xfc\xe7\xfck   ")  # Latin-1
    (problem,) = problems_of(data)
    assert problem.line == 1 and "not valid UTF-8" in str(problem.message)


def test_spreadsheet_is_refused_clearly():
    data = b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200 + b"xl/workbook.xml"
    (problem,) = problems_of(data, "donations.xlsx")
    assert problem.source == "donations.xlsx"
    assert "spreadsheet" in str(problem.message) and "MARC" in str(problem.message)


@pytest.mark.parametrize("data", [b"", b"  \n\r\n"])
def test_empty_file(data):
    (problem,) = problems_of(data)
    assert "empty" in str(problem.message)


def test_csv_given_as_marc():
    (problem,) = problems_of(b"record_id,title,language\nt-1,Kitab,az\n", "catalog.csv")
    assert problem.line == 1
    assert "not ISO 2709" in str(problem.message)


def test_broken_xml_names_the_record():
    xml = fixture("books.xml").decode("utf-8")
    cut = xml.index("<record>", xml.index("<record>") + 1) + 200
    (problem,) = problems_of(xml[:cut].encode(), "books.xml")
    assert problem.line == 2 and "record 2" in str(problem.message)
    assert "XML line" in str(problem.message)


def test_not_well_formed_xml_outside_records():
    (problem,) = problems_of(b"<?xml version='1.0'?><collection><record></collection>", "x.xml")
    assert "XML" in str(problem.message)


def test_xml_without_records():
    (problem,) = problems_of(b"<?xml version='1.0'?><html><body/></html>", "page.xml")
    assert "no MARC records" in str(problem.message)


BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="{encoding}"?>'
    '<!DOCTYPE c [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    '<collection xmlns="http://www.loc.gov/MARC21/slim"><record><datafield tag="245" '
    'ind1="0" ind2="0"><subfield code="a">&c;&c;&c;</subfield></datafield></record></collection>'
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "utf-16-be"])
def test_xml_entities_and_dtds_refused_in_any_encoding(encoding):
    """A UTF-16 file used to slip past a byte search for "<!ENTITY" and expand."""
    data = BILLION_LAUGHS.format(encoding=encoding).encode(encoding)
    if encoding == "utf-16":
        assert data.startswith((b"\xff\xfe", b"\xfe\xff"))
    (problem,) = problems_of(data, "evil.xml")
    assert "DTDs and entity declarations" in str(problem.message)


def test_an_external_entity_is_refused():
    data = (
        b'<?xml version="1.0"?><!DOCTYPE c SYSTEM "file:///etc/passwd">'
        b"<collection><record></record></collection>"
    )
    (problem,) = problems_of(data, "evil.xml")
    assert "DTDs" in str(problem.message)


def test_every_problem_is_collected_with_its_record_number():
    bad_language = build(
        Field("001", data="x-1"),
        datafield("041", "a", "xxx"),
        datafield("245", "a", "Kitab", ind="10"),
        datafield("852", "b", "SHU"),
    )
    no_title = build(Field("001", data="x-2"), datafield("041", "a", "aze"), *[])
    problems = problems_of(mrc(build(*minimal()), bad_language, no_title))
    assert [(p.line, p.column) for p in problems] == [(2, "041$a"), (3, "245"), (3, "852")]
    assert problems[0].value == "xxx" and "record 2" in str(problems[0].message)
    assert "record 3" in str(problems[1].message)


# --- single fields -----------------------------------------------------------------------------


def test_holdings_unknown_library():
    record = build(*minimal(holdings=False), datafield("852", "a", "Baku Central", "b", "XYZ"))
    (problem,) = problems_of(mrc(record))
    assert problem.line == 1 and problem.column == "852$b" and problem.value == "XYZ"
    assert "unknown library code" in str(problem.message) and "SHU" in str(problem.message)


def test_holdings_prefer_known_b_then_a_and_sum_per_library():
    row_libs = parse(
        mrc(
            build(
                *minimal(holdings=False),
                datafield("852", "a", "AZ-BaANL", "b", "kel", "t", "2"),
                datafield("852", "a", "ZAN", "b", "Reading room"),
                datafield("852", "b", "KEL", "9", "3"),
            )
        )
    ).rows
    assert {r.library: r.copies for r in row_libs} == {"KEL": 5, "ZAN": 1}


def test_bad_copies():
    record = build(*minimal(holdings=False), datafield("852", "b", "SHU", "t", "c.2"))
    (problem,) = problems_of(mrc(record))
    assert problem.column == "852$t" and problem.value == "c.2"


def test_missing_852_without_default_library():
    (problem,) = problems_of(mrc(build(*minimal(holdings=False))))
    assert (
        problem.line == 1
        and "no 852 holdings" in str(problem.message)
        and "--library" in str(problem.message)
    )


def test_missing_852_with_default_library():
    data = mrc(build(*minimal(holdings=False)))
    (row,) = parse(data, default_library="KHV", default_donor="ILESAM (Turkey)").rows
    assert (row.library, row.copies, row.donor) == ("KHV", 1, "ILESAM (Turkey)")
    assert row.donated_on is None


def test_missing_852_with_unknown_default_library():
    (problem,) = problems_of(mrc(build(*minimal(holdings=False))), default_library="NOPE")
    assert problem.value == "NOPE" and "unknown library code" in str(problem.message)


def test_isbn10_is_normalized_and_cancelled_isbn_ignored():
    row = one_row(
        datafield("020", "z", "975-000-000-0"),
        datafield("020", "a", "975-363-802-7 (pbk.)"),
    )
    assert row.record.isbn == "9789753638029"


def test_invalid_isbn_is_a_problem():
    record = build(*minimal(datafield("020", "a", "978-975-08-0647-2")))
    (problem,) = problems_of(mrc(record))
    assert problem.column == "020$a" and problem.value == "978-975-08-0647-2"
    assert "not a valid ISBN" in str(problem.message)


def test_language_from_008_and_unknown_language():
    assert one_row().record.language == "tr"  # no 041
    record = build(*minimal(datafield("041", "a", "qqq")))
    (problem,) = problems_of(mrc(record))
    assert problem.value == "qqq" and "language code" in str(problem.message)
    undetermined = build(*minimal(datafield("041", "a", "und")))
    (problem,) = problems_of(mrc(undetermined))
    assert "undetermined" in str(problem.message)


def test_translators_by_relator_term_and_code():
    row = one_row(
        datafield("100", "a", "Saint-Exupéry, Antoine de,", "d", "1900-1944.", ind="1 "),
        datafield("700", "a", "Atakay, Kemal,", "e", "çeviren.", ind="1 "),
        datafield(
            "700", "a", "Никольская, Анна,", "4", "http://id.loc.gov/vocabulary/relators/trl"
        ),
        datafield("700", "a", "Tolkien, J. R. R.", "e", "illustr.", ind="1 "),
        datafield("700", "a", "Kedrina, Zarema,", "e", "пер. с каз.", ind="1 "),
    )
    assert row.record.authors == ("Antoine de Saint-Exupéry", "J. R. R. Tolkien")
    assert row.record.translators == ("Kemal Atakay", "Никольская, Анна", "Zarema Kedrina")


def test_year_publisher_and_date_forms():
    row = one_row(
        datafield("260", "a", "İstanbul :", "b", "[s.n.],", "c", "c2015."),
        datafield("541", "a", "ILESAM (Turkey) ;", "d", "20210504"),
    )
    assert (row.record.year, row.record.publisher) == (2015, "")
    assert (row.donor, row.donated_on) == ("ILESAM (Turkey)", date(2021, 5, 4))


@pytest.mark.parametrize(
    ("date_text", "message"),
    [("May 2021", "not YYYY-MM-DD"), ("2021-02-30", "not YYYY-MM-DD"), ("2030-01-01", "future")],
)
def test_bad_acquisition_dates(date_text, message):
    record = build(*minimal(datafield("541", "a", "X", "d", date_text)))
    (problem,) = problems_of(mrc(record))
    assert problem.column == "541$d" and message in str(problem.message)


def test_year_out_of_range():
    record = build(*minimal(datafield("264", "b", "Can,", "c", "2099", ind=" 1")))
    (problem,) = problems_of(mrc(record))
    assert problem.value == "2099"


def test_invalid_001_gets_assigned_id():
    fields = minimal()
    fields[0] = Field("001", data="ocm 1234/5")
    (row,) = parse(mrc(build(*fields))).rows
    assert re.fullmatch(r"r-[0-9a-f]{12}", row.record.id)
    assert row.record.work == row.record.id


def test_marc8_record_is_decoded():
    fields = [
        Field("001", data="m8-1"),
        Field("008", data="220101s2020    tu            000 1 tur d"),
        # MARC-8: the combining diaeresis (0xE8) and cedilla (0xF0) precede their base letter
        datafield("245", "a", "K\xe8u\xf0c\xe8uk Prens /", ind="10"),
        datafield("852", "b", "SHU"),
    ]
    record = build(*fields, utf8=False)
    data = record.as_marc()
    assert chr(data[9]) == " "
    (row,) = parse(data).rows
    assert row.record.title == "Küçük Prens"


def test_mislabelled_utf8_record_is_read_as_utf8():
    data = bytearray(mrc(build(*minimal())))
    data[9] = ord(" ")
    (row,) = parse(bytes(data)).rows
    assert row.record.title == "Küçük Prens"


def test_decomposed_utf8_is_normalized_to_nfc():
    record = build(*minimal(holdings=False), datafield("852", "b", "SHU"))
    record["245"]["a"] = "Ku\u0308c\u0327u\u0308k Prens /"
    (row,) = parse(mrc(record)).rows
    assert row.record.title == "Küçük Prens"


def test_original_script_from_880():
    record = build(
        Field("001", data="kk-880"),
        Field("008", data="220101s1989    kz            000 1 kaz d"),
        datafield("100", "6", "880-01", "a", "Әuezov, Mŭkhtar,", ind="1 "),
        datafield("245", "6", "880-02", "a", "Abaĭ zholy /", ind="10"),
        datafield("880", "6", "100-01/(N", "a", "Әуезов, Мұхтар,", ind="1 "),
        datafield("880", "6", "245-02/(N", "a", "Абай жолы /", ind="10"),
        datafield("852", "b", "AGD"),
    )
    (row,) = parse(mrc(record)).rows
    assert row.record.title == "Абай жолы"
    assert row.record.script == "Cyrl"
    assert row.record.authors == ("Мұхтар Әуезов",)


def test_duplicate_record_in_one_file_is_a_problem():
    one = build(*minimal())
    other = build(*minimal(datafield("264", "b", "Can", ind=" 1")))
    problems = problems_of(mrc(one, other))
    assert problems and problems[0].line == 2


def test_xml_writer_round_trip_of_built_record():
    record = build(*minimal())
    stream = io.BytesIO()
    writer = XMLWriter(stream)
    writer.write(record)
    writer.close(close_fh=False)
    assert parse(stream.getvalue(), "one.xml").rows == parse(mrc(record)).rows


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Kürk mantolu Madonna.", "kurk-mantolu-madonna."),
        ("Dəli Kür", "deli-kur"),
        ("Абай жолы", "abaj-zoly"),
    ],
)
def test_slugify(text, slug):
    assert slugify(text) == slug.rstrip(".")
