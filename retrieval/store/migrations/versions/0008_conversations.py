"""The Telegram bot's shared state, so several bot processes act as one bot: each chat's
conversation turns, a per-chat lease that lets one process at a time handle a chat's turn,
the per-user question log (the questions-per-minute limit) and the messages sent to
Telegram in each second (its per-token flood limit). Times are the database's clock."""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "conversation_turns",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("asked_at", sa.Float(53), nullable=False),
    )
    op.create_index("conversation_turns_chat", "conversation_turns", ["chat_id", "id"])
    op.create_index("conversation_turns_asked", "conversation_turns", ["asked_at"])
    op.create_table(
        "chat_turn_leases",
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float(53), nullable=False),
    )
    op.create_table(
        "question_log",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("asked_at", sa.Float(53), nullable=False),
    )
    op.create_index("question_log_user", "question_log", ["user_id", "asked_at"])
    op.create_table(
        "telegram_sends",
        sa.Column("second", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("sent", sa.Integer, nullable=False),
    )
