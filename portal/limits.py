"""Every size limit of the portal in one place, and the one rule for record ids.

The importer, the web forms, the router and the API all read these, so a value one of them
accepts is never refused (or unreachable) in another.
"""

from __future__ import annotations

import re

from index.query import MAX_QUERY_CHARS, MAX_QUERY_WORDS  # noqa: F401 - the index's own limits
from index.searcher import MAX_PER_PAGE  # noqa: F401

# Records and files
MAX_RECORD_ID = 64
MAX_FIELD_CHARS = 2000  # any one value of a record or a donation row
MAX_LIST_ITEMS = 50  # authors, translators, subjects, other titles of one record
MAX_ROWS = 200_000  # rows of one Catalog CSV file, records of one MARC file
MAX_COPIES = 100_000  # copies in one donation, transfer or withdrawal
EARLIEST_YEAR = 1400  # printed books; a year before this is a typing mistake

# Web
MAX_PAGE = 1000
MAX_FILTER_VALUES = 20  # values of one facet in one request
MAX_URL_BYTES = 4096
MAX_FORM_FIELDS = 100
MAX_FIELD_BYTES = 64 * 1024
DEFAULT_UPLOAD_MB = 20

# Accounts
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
USER_NAME = re.compile(r"[A-Za-z0-9._-]{2,80}")
LIBRARY_CODE = re.compile(r"[A-Z0-9]{2,16}")

# A record id is a URL path segment: it starts with a letter or digit (so it is never "." or
# "..", which clients resolve away), then letters, digits, '.', '_' and '-'.
_RECORD_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_RECORD_ID - 1}}}")


def valid_record_id(value: object) -> bool:
    """The one rule for record ids: the importer accepts exactly what the router opens."""
    return isinstance(value, str) and _RECORD_ID.fullmatch(value) is not None
