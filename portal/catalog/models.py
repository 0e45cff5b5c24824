"""The catalog's tables (SQLAlchemy Core).

The schema is changed only by migrations (portal/catalog/migrations/versions), each frozen
once released; tests/catalog/test_migrations.py holds these tables and the migrations to the
same result.

The holdings ledger (`holding_events`) is the history and never loses a row; `holdings` is
its running total per record and library, kept in the same transaction as each event so
readers get current copies with one indexed lookup (and `portal check` can verify it).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UtcDateTime(TypeDecorator):
    """A moment in time, always in UTC: `timestamp with time zone` on PostgreSQL (so the
    server's time zone never shifts it), UTC without an offset on SQLite; read back as an
    aware datetime either way."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite read without type information
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

districts = Table(
    "districts",
    metadata,
    Column("code", String(16), primary_key=True),
)

libraries = Table(
    "libraries",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("district", String(16), ForeignKey("districts.code"), nullable=False),
    Column("address", String(300), nullable=False, default=""),
    Column("latitude", Float),
    Column("longitude", Float),
)

donors = Table(
    "donors",
    metadata,
    Column("code", String(80), primary_key=True),
)

NAMED_KINDS = ("district", "library", "donor")

# The names of districts, libraries and donors: one row per language, so that a new portal
# language needs rows, not a migration.
names = Table(
    "names",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("code", String(80), primary_key=True),
    Column("lang", String(8), primary_key=True),
    Column("name", String(300), nullable=False),
    CheckConstraint(f"kind IN {NAMED_KINDS!r}", name="ck_name_kind"),
)

records = Table(
    "records",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("script", String(8), nullable=False),
    Column("authors", Text, nullable=False, default="[]"),  # JSON list
    Column("translators", Text, nullable=False, default="[]"),  # JSON list
    Column("work", String(120), nullable=False),
    Column("publisher", Text, nullable=False, default=""),
    Column("year", Integer),
    Column("isbn", String(13)),  # normalized ISBN-13, digits only
    Column("subjects", Text, nullable=False, default="[]"),  # JSON list of subject keys
    Column("other_titles", Text, nullable=False, default="[]"),  # JSON list
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    # the newest change to the record or its holdings, stamped by the change feed
    Column("changed_at", UtcDateTime),
    Index("ix_records_work", "work"),
    Index("ix_records_isbn", "isbn"),
    Index("ix_records_updated_at", "updated_at"),
    Index("ix_records_changed_at", "changed_at"),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("actor", String(120), nullable=False, default="cli"),
)

EVENT_KINDS = ("donation", "correction", "transfer_out", "transfer_in", "withdrawal")

holding_events = Table(
    "holding_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(64), ForeignKey("records.id"), nullable=False),
    Column("library", String(16), ForeignKey("libraries.code"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("delta", Integer, nullable=False),  # signed change of copies
    Column("donor", String(80), ForeignKey("donors.code")),
    Column("event_date", Date, nullable=False),
    # record|library|donor|date of a donation row, so re-importing a file changes nothing
    Column("source_key", String(300)),
    Column("batch_id", Integer, ForeignKey("import_batches.id")),
    Column("note", Text, nullable=False, default=""),
    Column("actor", String(120), nullable=False, default="cli"),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(f"kind IN {EVENT_KINDS!r}", name="ck_event_kind"),
    Index("ix_events_record_library", "record_id", "library"),
    Index("ix_events_source_key", "source_key"),
)

holdings = Table(
    "holdings",
    metadata,
    Column("record_id", String(64), ForeignKey("records.id"), primary_key=True),
    Column("library", String(16), ForeignKey("libraries.code"), primary_key=True),
    Column("copies", Integer, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("first_added", Date, nullable=False),
    Column("last_added", Date, nullable=False),
    CheckConstraint("copies >= 0", name="ck_copies_not_negative"),
    Index("ix_holdings_library", "library"),
    UniqueConstraint("record_id", "library"),
)


ROLES = ("librarian", "coordinator", "admin")

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("library", String(16), ForeignKey("libraries.code")),  # a librarian's library
    Column("disabled", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(f"role IN {ROLES!r}", name="ck_user_role"),
    CheckConstraint("role != 'librarian' OR library IS NOT NULL", name="ck_librarian_library"),
)

# Append-only: the portal has no code path that updates or deletes a row of this table.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(40), nullable=False),
    Column("library", String(16)),  # the library affected, for filtering and for librarians
    Column("target", String(200), nullable=False),
    Column("before", Text),  # JSON
    Column("after", Text),  # JSON
    Index("ix_audit_at", "at"),
    Index("ix_audit_library", "library"),
)


# The recorded copies of each donation row of an import (record, library, donor and date):
# the primary key makes "was this row imported already?" the database's decision, so two
# imports of the same file at once cannot both add its copies.
donations = Table(
    "donations",
    metadata,
    Column("source_key", String(300), primary_key=True),
    Column("record_id", String(64), ForeignKey("records.id"), nullable=False),
    Column("library", String(16), ForeignKey("libraries.code"), nullable=False),
    Column("copies", Integer, nullable=False),
)

# The change feed: every catalog change appends one row in its own transaction. `feed_head`
# holds the last position; taking the next one locks that row until commit, so positions are
# gap-free and in commit order, and every node's indexer applies them in order.
feed_head = Table(
    "feed_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("position", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="ck_one_feed_head"),
)

changes = Table(
    "changes",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("records", Text, nullable=False),  # JSON list of record ids; "*" for every record
)

# Each serving node's index position, so `portal check` can report how far behind it is.
nodes = Table(
    "nodes",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("applied", BigInteger, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
)

# Files a coordinator uploaded and previewed, kept in the database so that any node can
# confirm the import.
pending_imports = Table(
    "pending_imports",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("library", String(16)),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("job_id", Integer),  # the background job importing it, once confirmed
)


# Staff sessions: the cookie carries a random session id; the server keeps its hash, so a
# session ends for good at sign-out, and every session of a user at a password change or
# when the account is disabled.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Index("ix_sessions_user", "user_id"),
)

# Failed sign-ins per client (`client:ADDRESS`) and per client and name
# (`name:ADDRESS:NAME`), counted atomically, for unknown names exactly as for real ones.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("since", UtcDateTime, nullable=False),
)

JOB_STATES = ("queued", "running", "done", "failed")

# Long work started from a page (an import of tens of thousands of rows) runs in the
# background; its page shows the progress.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("state", String(20), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("result", Text),  # JSON
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(f"state IN {JOB_STATES!r}", name="ck_job_state"),
)
