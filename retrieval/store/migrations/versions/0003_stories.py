"""Stories: the names each article gives and the story each article was grouped into when
it was stored, so news steps compare reports of one story only."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "names",
        sa.Column(
            "article_id", sa.Text, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "name"),
    )
    op.create_index("names_name", "names", ["name"])
    op.create_table(
        "stories",
        sa.Column(
            "article_id",
            sa.Text,
            sa.ForeignKey("articles.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("story", sa.Text, nullable=False),
    )
    op.create_index("stories_story", "stories", ["story"])
