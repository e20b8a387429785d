"""business_metrics: customers, requests, orders, revenue per hour or day (outlay.business_metrics.v1)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 18:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_metrics",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("metric_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.DateTime(), nullable=False),
        sa.Column("period_end", sa.DateTime(), nullable=False),
        sa.Column("value", sa.Numeric(precision=38, scale=9), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("dimension_value", sa.String(length=256), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "metric_id", name=op.f("pk_business_metrics")),
    )
    op.create_index("ix_business_metrics_tenant_name_period", "business_metrics", ["tenant_id", "name", "period_start"])


def downgrade() -> None:
    op.drop_index("ix_business_metrics_tenant_name_period", table_name="business_metrics")
    op.drop_table("business_metrics")
