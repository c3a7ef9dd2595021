"""Each article's place in the order articles were stored (`stored_seq`, from a counter
in `meta` bumped in the storing transaction): the follows' cursor, which SQLite's rowid
served before, and which PostgreSQL has no equivalent of."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column(
        "articles", sa.Column("stored_seq", sa.BigInteger, nullable=False, server_default="0")
    )
    if op.get_bind().dialect.name == "sqlite":  # catalogs from before: their rowid order
        op.execute("UPDATE articles SET stored_seq = rowid")
    op.execute(
        "INSERT INTO meta (key, value)"
        " SELECT 'stored_seq', CAST(COALESCE(MAX(stored_seq), 0) AS TEXT) FROM articles"
    )
    op.create_index("articles_stored_seq", "articles", ["stored_seq"])
