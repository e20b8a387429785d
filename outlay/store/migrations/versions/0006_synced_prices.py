"""synced_prices: on-demand prices from the AWS Price List API, laid over the bundled catalogue

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "synced_prices",
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=128), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("usd", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service", "item", "region", name=op.f("pk_synced_prices")),
    )


def downgrade() -> None:
    op.drop_table("synced_prices")
