"""Titles in other languages: a record carries the other titles its work is known by
(Catalog CSV `other_titles`, MARC 240/130, 246 and 765 $t), searched like its title.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "records", sa.Column("other_titles", sa.Text(), nullable=False, server_default="[]")
    )


def downgrade() -> None:
    op.drop_column("records", "other_titles")
