"""Names of districts, libraries and donors become rows of `names` (one per language), so a
new portal language needs rows, not a migration; release 0.1's own migration table goes;
work keys are lower case.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RELEASE_LANGUAGES = ("az", "kk", "tr", "ru", "en")  # the name columns revision 0001 made
NAMED = (("district", "districts"), ("library", "libraries"), ("donor", "donors"))


def upgrade() -> None:
    op.create_table(
        "names",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("code", sa.String(80), primary_key=True),
        sa.Column("lang", sa.String(8), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.CheckConstraint("kind IN ('district', 'library', 'donor')", name="ck_name_kind"),
    )
    for kind, table in NAMED:
        for lang in RELEASE_LANGUAGES:
            op.execute(
                f"INSERT INTO names (kind, code, lang, name) "
                f"SELECT '{kind}', code, '{lang}', name_{lang} FROM {table}"
            )
        for lang in RELEASE_LANGUAGES:
            # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35, PostgreSQL): the tables are
            # referenced by foreign keys, which a copy-and-rename rebuild would trip over.
            op.execute(f"ALTER TABLE {table} DROP COLUMN name_{lang}")
    op.execute("DROP TABLE IF EXISTS schema_migrations")
    # Work keys are lower case (a record without one took its id's case before).
    op.execute("UPDATE records SET work = lower(work) WHERE work != lower(work)")
