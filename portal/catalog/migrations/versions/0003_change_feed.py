"""Several machines: the change feed every node's index follows (and the time each record last
changed, stamped by it), node positions, donations
recorded once (so two imports of one file cannot both add it), pending uploads in the
database, times with their time zone, and the audit log append-only on PostgreSQL too.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Columns holding moments (revision 0001 made them without a time zone).
MOMENTS = (
    ("records", "created_at"),
    ("records", "updated_at"),
    ("import_batches", "imported_at"),
    ("holding_events", "created_at"),
    ("users", "locked_until"),
    ("users", "created_at"),
    ("audit_log", "at"),
)


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "donations",
        sa.Column("source_key", sa.String(300), primary_key=True),
        sa.Column("record_id", sa.String(64), sa.ForeignKey("records.id"), nullable=False),
        sa.Column("library", sa.String(16), sa.ForeignKey("libraries.code"), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
    )
    # What every donation row already imported says now: its donation and corrections.
    op.execute(
        "INSERT INTO donations (source_key, record_id, library, copies) "
        "SELECT source_key, min(record_id), min(library), sum(delta) FROM holding_events "
        "WHERE source_key IS NOT NULL AND kind IN ('donation', 'correction') "
        "GROUP BY source_key"
    )
    # When a record or its holdings last changed, stamped by the feed in commit order (what
    # OAI-PMH harvesters ask "what changed since?" of).
    op.add_column("records", sa.Column("changed_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE records SET changed_at = coalesce((SELECT max(created_at) FROM holding_events "
        "WHERE holding_events.record_id = records.id), updated_at)"
    )
    op.execute("UPDATE records SET changed_at = updated_at WHERE changed_at < updated_at")
    op.create_index("ix_records_changed_at", "records", ["changed_at"])
    op.create_table(
        "feed_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_one_feed_head"),
    )
    op.execute("INSERT INTO feed_head (id, position) VALUES (1, 0)")
    op.create_table(
        "changes",
        sa.Column("position", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("records", sa.Text(), nullable=False),
    )
    op.create_table(
        "nodes",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("applied", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "pending_imports",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("library", sa.String(16)),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    if bind.dialect.name == "postgresql":
        for table, column in MOMENTS:
            # Stored values are UTC: say so, whatever the server's time zone is.
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE timestamp with time zone "
                f"USING {column} AT TIME ZONE 'UTC'"
            )
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
