"""Claims: which worker is storing which article right now, until when (the database's
clock), so ingest workers on several machines share pending work without doing it twice,
and a crashed worker's articles are finished by another once its claim runs out."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("article_id", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float(53), nullable=False),
    )
    op.create_index("claims_owner", "claims", ["owner"])
