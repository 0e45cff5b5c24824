"""The search layer: schema, analysis pipeline, indexer and searcher over Whoosh.

`index` knows records as plain dicts and nothing of HTTP or SQL. The portal talks to it
through `SearchIndex` (store.py) and the request/result types in `searcher.py`.
"""

from index import whoosh_patches

whoosh_patches.apply()

from index.searcher import Facet, Hit, SearchRequest, SearchResult, Suggestion  # noqa: E402
from index.store import SearchIndex  # noqa: E402

__all__ = ["Facet", "Hit", "SearchIndex", "SearchRequest", "SearchResult", "Suggestion"]
