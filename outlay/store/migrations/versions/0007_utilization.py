"""utilization_5m: per-minute utilization samples kept in five-minute rows for the optimizer's lookback

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 02:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "utilization_5m",
        sa.Column("resource_id", sa.String(length=256), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.DateTime(), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        *(sa.Column(f"m{k}", sa.Float(), nullable=True) for k in range(5)),
        sa.PrimaryKeyConstraint("resource_id", "metric", "bucket", name=op.f("pk_utilization_5m")),
    )
    op.create_index("ix_utilization_5m_region_bucket", "utilization_5m", ["region", "bucket"])
    op.create_index("ix_utilization_5m_bucket", "utilization_5m", ["bucket"])


def downgrade() -> None:
    op.drop_index("ix_utilization_5m_bucket", table_name="utilization_5m")
    op.drop_index("ix_utilization_5m_region_bucket", table_name="utilization_5m")
    op.drop_table("utilization_5m")
