"""Alembic's scripts for the catalog's schema (`retrieval/store/schema.py` runs them)."""
