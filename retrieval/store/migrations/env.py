"""Alembic's environment: run the migrations on the connection `schema.migrate` holds.

That connection is already inside the transaction that holds the catalog's migration
lock, so Alembic joins it instead of beginning its own.
"""

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes["connection"]
if not isinstance(connection, Connection):  # pragma: no cover - only `schema.migrate` runs us
    raise RuntimeError("run the catalog's migrations through retrieval.store.schema.migrate")
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
