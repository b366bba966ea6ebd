"""Alembic migrations of the metadata store, applied by `MetadataStore.migrate()`.

Migrations are written by hand (each a frozen snapshot: they never import the ORM
models), numbered 0001, 0002, ...; `metadata.HEAD_REVISION` names the newest, and a test
checks that the migrated schema matches the ORM models exactly.
"""
