"""The layout every catalog had before versioning: articles, chunk offsets, state, and
LangChain's indexing records."""

import sqlalchemy as sa
from alembic import op

revision = "0000"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("site", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("published", sa.Text),
        sa.Column("ingested_at", sa.Text, nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("indexed", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("articles_url", "articles", ["url"])
    op.create_table(
        "chunks",
        sa.Column(
            "article_id",
            sa.Text,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "position"),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("namespace", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("group_id", sa.Text),
        sa.Column("updated_at", sa.Float(53), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "key"),
    )
    op.create_index("records_group", "records", ["namespace", "group_id", "updated_at"])
