"""Telegram's per-group flood limit shared by the bot's processes: each message sent to a
group, supergroup or channel is a row, so N replicas together keep to about 20 a minute
in one group instead of 20 each. Times are the database's clock."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "group_sends",
        sa.Column("chat", sa.Text, nullable=False),
        sa.Column("sent_at", sa.Float(53), nullable=False),
    )
    op.create_index("group_sends_chat", "group_sends", ["chat", "sent_at"])
    op.create_index("group_sends_sent", "group_sends", ["sent_at"])
