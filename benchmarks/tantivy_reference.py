"""A compiled engine on the same catalog, as a yardstick: tantivy through its Python package.

Default tokenizer (split on non-alphanumerics, lowercase), the words of a query OR-ed over
title, people, publisher and subjects, top 20 with their stored ids. No cross-script keys,
stems, typos, facets, editions or highlights: it shows what the bare inverted-index work
costs in Rust, not an engine that finds what ours finds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

FIELDS = ("title", "people", "publisher", "subjects")
ALPHANUMERIC_RUNS = re.compile(r"[^\W_]+")


def available() -> bool:
    try:
        import tantivy  # noqa: F401
    except ImportError:
        return False
    return True


def build(records: Sequence[dict], threads: int = 2):
    """An in-memory tantivy index of the records; returns (index, seconds)."""
    import tantivy

    started = time.perf_counter()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    for name in FIELDS:
        builder.add_text_field(name)
    index = tantivy.Index(builder.build())
    writer = index.writer(heap_size=256 * 2**20, num_threads=threads)
    for r in records:
        writer.add_document(
            tantivy.Document(
                id=r["id"],
                title=r["title"],
                people=" ; ".join([*(r.get("authors") or []), *(r.get("translators") or [])]),
                publisher=r.get("publisher") or "",
                subjects=" ; ".join(r.get("subjects") or []),
            )
        )
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index, time.perf_counter() - started


def search(index, searcher, text: str, limit: int = 20) -> list[str]:
    """The ids of the best `limit` records for the query's words, OR-ed (split and lowercased
    as tantivy's default tokenizer does, so that no query syntax is left in them)."""
    typed = " ".join(ALPHANUMERIC_RUNS.findall(text.lower()))
    if not typed:
        return []
    query = index.parse_query(typed, list(FIELDS))
    hits = searcher.search(query, limit).hits
    return [searcher.doc(address)["id"][0] for _score, address in hits]
