"""Alembic's environment: migrations run on the connection portal/catalog/db.py passes in
(inside its transaction), never on a connection of their own."""

from alembic import context

from portal.catalog import models

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=models.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
