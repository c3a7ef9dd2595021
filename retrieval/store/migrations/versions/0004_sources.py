"""Watched sources (feeds, pages, folders) with their schedule, HTTP validators, failures
and a lease, and what each source last saw of its entries or files."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    seconds = sa.Float(53)
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("location", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("interval_seconds", sa.Integer, nullable=False),
        sa.Column("allow_private", sa.Integer, nullable=False, server_default="0"),
        sa.Column("added_at", seconds, nullable=False),
        sa.Column("next_run", seconds, nullable=False),
        sa.Column("last_run", seconds),
        sa.Column("last_success", seconds),
        sa.Column("last_error", sa.Text),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("articles_added", sa.Integer, nullable=False, server_default="0"),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("lease_owner", sa.Text),
        sa.Column("lease_expires", seconds),
        sa.CheckConstraint("kind IN ('feed', 'page', 'folder', 'file')"),
        sa.CheckConstraint("interval_seconds > 0"),
    )
    op.create_table(
        "source_entries",
        sa.Column(
            "source_id",
            sa.Integer,
            sa.ForeignKey("sources.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("article_ids", sa.Text, nullable=False, server_default="[]"),
        sa.PrimaryKeyConstraint("source_id", "key"),
    )
