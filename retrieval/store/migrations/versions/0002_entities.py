"""The named entities of each article (spaCy NER, tagged once when it is stored) and which
model tagged it, so questions can prefer sentences naming what they ask for."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def _article() -> sa.Column[str]:
    return sa.Column(
        "article_id", sa.Text, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "entities",
        _article(),
        sa.Column("start", sa.Integer, nullable=False),
        sa.Column("end", sa.Integer, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
    )
    op.create_index("entities_article", "entities", ["article_id"])
    op.create_table(
        "tagged",
        sa.Column(
            "article_id",
            sa.Text,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("model", sa.Text, nullable=False),
    )
