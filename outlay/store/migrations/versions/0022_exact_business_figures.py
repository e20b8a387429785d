"""business_metrics.value as exact decimal text on SQLite (PostgreSQL's NUMERIC is exact already)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 21:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # SQLite kept the figures as floats; the copy turns each into its text (digits already lost stay lost).
    with op.batch_alter_table("business_metrics") as batch:
        batch.alter_column("value", existing_type=sa.Numeric(38, 9), type_=sa.String(64), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("business_metrics") as batch:
        batch.alter_column("value", existing_type=sa.String(64), type_=sa.Numeric(38, 9), existing_nullable=False)
