"""Alembic migrations of the catalog database (`portal db upgrade`). Each revision in
versions/ is explicit DDL and frozen once released: a released revision is never edited,
a change is a new revision."""
