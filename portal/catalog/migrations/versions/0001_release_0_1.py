"""The catalog as release 0.1 made it: reference tables with a name column per language,
records, the holdings ledger, users and the append-only audit log.

A database made by release 0.1 (whose own migration table, `schema_migrations`, says 3) is
at this revision already; db.py stamps it instead of running this.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen: the languages release 0.1 had name columns for.
RELEASE_LANGUAGES = ("az", "kk", "tr", "ru", "en")


def _names(length: int) -> list[sa.Column]:
    return [
        sa.Column(f"name_{lang}", sa.String(length), nullable=False) for lang in RELEASE_LANGUAGES
    ]


def upgrade() -> None:
    op.create_table(
        "districts",
        sa.Column("code", sa.String(16), primary_key=True),
        *_names(200),
    )
    op.create_table(
        "libraries",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("district", sa.String(16), sa.ForeignKey("districts.code"), nullable=False),
        *_names(300),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
    )
    op.create_table(
        "donors",
        sa.Column("code", sa.String(80), primary_key=True),
        *_names(300),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("script", sa.String(8), nullable=False),
        sa.Column("authors", sa.Text(), nullable=False),
        sa.Column("translators", sa.Text(), nullable=False),
        sa.Column("work", sa.String(120), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer()),
        sa.Column("isbn", sa.String(13)),
        sa.Column("subjects", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_records_work", "records", ["work"])
    op.create_index("ix_records_isbn", "records", ["isbn"])
    op.create_index("ix_records_updated_at", "records", ["updated_at"])
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
    )
    op.create_table(
        "holding_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(64), sa.ForeignKey("records.id"), nullable=False),
        sa.Column("library", sa.String(16), sa.ForeignKey("libraries.code"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("donor", sa.String(80), sa.ForeignKey("donors.code")),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("source_key", sa.String(300)),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("import_batches.id")),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('donation', 'correction', 'transfer_out', 'transfer_in', 'withdrawal')",
            name="ck_event_kind",
        ),
    )
    op.create_index("ix_events_record_library", "holding_events", ["record_id", "library"])
    op.create_index("ix_events_source_key", "holding_events", ["source_key"])
    op.create_table(
        "holdings",
        sa.Column("record_id", sa.String(64), sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("library", sa.String(16), sa.ForeignKey("libraries.code"), primary_key=True),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("first_added", sa.Date(), nullable=False),
        sa.Column("last_added", sa.Date(), nullable=False),
        sa.CheckConstraint("copies >= 0", name="ck_copies_not_negative"),
        sa.UniqueConstraint("record_id", "library"),
    )
    op.create_index("ix_holdings_library", "holdings", ["library"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("library", sa.String(16), sa.ForeignKey("libraries.code")),
        sa.Column("disabled", sa.Integer(), nullable=False),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('librarian', 'coordinator', 'admin')", name="ck_user_role"),
        sa.CheckConstraint(
            "role != 'librarian' OR library IS NOT NULL", name="ck_librarian_library"
        ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("library", sa.String(16)),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("before", sa.Text()),
        sa.Column("after", sa.Text()),
    )
    op.create_index("ix_audit_at", "audit_log", ["at"])
    op.create_index("ix_audit_library", "audit_log", ["library"])
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )
