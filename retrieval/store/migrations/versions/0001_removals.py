"""A removal is marked as started before Chroma is touched, so a killed `remove` is
finished by the next writer and its article is never quoted meanwhile."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = "0000"


def upgrade() -> None:
    op.create_table(
        "removals",
        sa.Column("article_id", sa.Text, primary_key=True),
        sa.Column(
            "started_at", sa.Text, nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")
        ),
    )
