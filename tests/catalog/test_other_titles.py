"""Titles in other languages (Catalog CSV `other_titles`, MARC 240/246/765), the work
authority that links records to famous works, and the subject authority at import."""

from __future__ import annotations

import json

from pymarc import Field, Indicators, Record, Subfield
from sqlalchemy import select

from index import SearchRequest
from portal.catalog import models
from portal.catalog.catalog import other_titles
from portal.catalog.marc import parse_marc
from portal.catalog.marcout import marc_record
from portal.catalog.works import WorkAuthority, authority, read_works

HEADER_V1 = (
    "record_id,title,language,authors,translators,work,publisher,year,isbn,subjects,"
    "donor,donated_on,library,copies\n"
)
LIBRARIES = {"SHU", "LAC"}


def import_csv(catalog, text: str):
    return catalog.import_files([("batch.csv", text.encode("utf-8"))])


def stored(catalog, record_id: str) -> dict:
    with catalog.engine.connect() as conn:
        row = conn.execute(select(models.records).where(models.records.c.id == record_id))
        return dict(row.mappings().one())


def found(catalog, text: str) -> list[str]:
    catalog.index.clear_result_cache()
    return [h.id for h in catalog.index.search(SearchRequest(text=text)).hits]


def test_other_titles_column_is_imported_and_searched(empty_catalog):
    header = HEADER_V1.replace("subjects,", "subjects,other_titles,")
    row = "x-1,Qara kitab,az,Test Müəllif,,x-work,,2020,,,Sanat Kitap Aşk Şiirleri;Kara Kitap,,,SHU,1\n"
    report = import_csv(empty_catalog, header + row)
    assert report.records_new == 1
    assert json.loads(stored(empty_catalog, "x-1")["other_titles"]) == [
        "Sanat Kitap Aşk Şiirleri",
        "Kara Kitap",
    ]
    assert found(empty_catalog, "Kara Kitap") == ["x-1"]


def test_a_file_without_the_column_means_what_it_meant(empty_catalog):
    row = "x-2,Qara kitab,az,Test Müəllif,,x-work,,2020,,,,,SHU,1\n"
    assert import_csv(empty_catalog, HEADER_V1 + row).records_new == 1
    assert stored(empty_catalog, "x-2")["other_titles"] == "[]"


def marc_file(*extra: Field) -> bytes:
    record = Record(force_utf8=True, leader="     nam a22     4i 4500")
    record.add_field(
        Field("001", data="m-1"),
        Field("008", data="220101s2016    ru            000 1 rus d"),
        Field("245", Indicators("1", "0"), [Subfield("a", "Доктор Живаго")]),
        *extra,
        Field("852", Indicators(" ", " "), [Subfield("b", "SHU"), Subfield("t", "1")]),
    )
    return record.as_marc()


def test_marc_240_246_and_765_are_other_titles():
    data = marc_file(
        Field("240", Indicators("1", "0"), [Subfield("a", "Doktor Živago.")]),
        Field(
            "246",
            Indicators("1", " "),
            [Subfield("a", "Doctor Zhivago :"), Subfield("b", "a novel")],
        ),
        Field("765", Indicators("0", " "), [Subfield("t", "Доктор Живаго")]),  # its own title
    )
    (row,) = parse_marc(data, "b.mrc", LIBRARIES).rows
    assert row.record.other_titles == ("Doktor Živago", "Doctor Zhivago a novel")


def test_the_marc_export_writes_other_titles_and_reads_them_back():
    record = {
        "id": "m-2",
        "title": "Доктор Живаго",
        "language": "ru",
        "year": 2016,
        "work": "doctor-zhivago",
        "other_titles": ["Doctor Zhivago", "Doktor Jivaqo"],
    }
    data = marc_record(record, [{"library": "SHU", "copies": 1}]).as_marc()
    (row,) = parse_marc(data, "b.mrc", LIBRARIES).rows
    assert row.record.other_titles == ("Doctor Zhivago", "Doktor Jivaqo")
    assert row.record.work == "doctor-zhivago"  # the work key is not taken for a title


WORKS = """key,authors,original_language,original,az,kk,tr,ru,en,note
abai-zholy,Мұхтар Әуезов;Mukhtar Auezov,kk,Абай жолы,Abay yolu,,Abay Yolu,Путь Абая,The Path of Abai,
"""


def test_a_record_links_by_work_key_or_by_title_and_author():
    works = WorkAuthority(read_works(WORKS))
    assert works.link("abai-zholy", "anything", []).key == "abai-zholy"
    # another key, the title in another script and spelling, the author in another form
    assert works.link("other", "ABAY YOLU", ["Muhtar Avezov"]).key == "abai-zholy"
    assert works.link("other", "Abai zholy", ["Ауэзов Мухтар"]).key == "abai-zholy"
    assert works.link("other", "Абай жолы", []).key == "abai-zholy"
    # the same title by someone else is another book
    assert works.link("other", "Abay yolu", ["Orhan Pamuk"]) is None
    assert works.other_titles("abai-zholy", "Абай жолы", []) == (
        "Abay yolu",
        "Путь Абая",
        "The Path of Abai",
    )


def test_the_shipped_authority_has_hundreds_of_works_in_five_languages():
    works = authority()
    assert len(works) >= 400
    zhivago = works.by_key["doctor-zhivago"]
    assert {"Доктор Живаго", "Doctor Zhivago"} <= set(zhivago.titles)


def test_linked_records_carry_their_works_titles(demo_catalog):
    record = demo_catalog.records(["ru-0026"])["ru-0026"]
    assert "Doctor Zhivago" in other_titles(record)
    assert "Доктор Живаго" not in other_titles(record)


def test_an_import_reports_the_records_it_linked(empty_catalog):
    row = "x-3,Путь Абая,ru,Мухтар Ауэзов,,,,1987,,,,,SHU,1\n"
    report = import_csv(empty_catalog, HEADER_V1 + row)
    assert report.records_linked == 1
    assert "1 linked to a known work" in report.summary()


def test_a_subject_in_any_language_or_script_is_stored_as_its_key(empty_catalog):
    rows = (
        "s-1,Şəhər,az,A B,,,,2020,,Bakı,,,SHU,1\n"
        "s-2,Город,ru,A B,,,,2020,,Баку;Поэзия,,,SHU,1\n"
        "s-3,Kent,tr,A B,,,,2020,,şiir;Bilinmeyen konu,,,SHU,1\n"
    )
    import_csv(empty_catalog, HEADER_V1 + rows)
    subjects = {i: json.loads(stored(empty_catalog, i)["subjects"]) for i in ("s-1", "s-2", "s-3")}
    assert subjects == {
        "s-1": ["Baku"],
        "s-2": ["Baku", "Poetry"],
        "s-3": ["Poetry", "Bilinmeyen konu"],
    }
    assert set(found(empty_catalog, "Баку")) == {"s-1", "s-2"}
    assert found(empty_catalog, "bilinmeyen") == ["s-3"]  # kept as written, searchable
