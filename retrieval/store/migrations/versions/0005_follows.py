"""Followed topics: each chat's topics with a cursor (the last stored article already
considered) and the stories sent for each, so a story is sent once."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float(53), nullable=False),
        sa.Column("cursor", sa.BigInteger, nullable=False, server_default="0"),
        sa.UniqueConstraint("chat_id", "topic"),
    )
    op.create_table(
        "follow_deliveries",
        sa.Column(
            "follow_id",
            sa.Integer,
            sa.ForeignKey("follows.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("story", sa.Text, nullable=False),
        sa.Column("article_id", sa.Text, nullable=False),
        sa.Column("sent_at", sa.Float(53), nullable=False),
        sa.UniqueConstraint("follow_id", "story"),
    )
    op.create_index("follow_deliveries_chat", "follow_deliveries", ["chat_id", "sent_at"])
