"""Persistence: the blob store (fsspec) and, later, the metadata store (SQLAlchemy)."""
