"""cost_rollups_service: rollups per account, region and service, filled from the per-resource rollups

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 05:10:00.000000

Queries that neither group nor filter by resource or tag read these (far fewer) buckets. The ledger writes both
levels in one transaction from now on; existing rollups are summed into the new table here, in SQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ("grain", "period_start", "tenant_id", "cost_kind", "provider", "billing_account_id", "sub_account_id",
        "region", "service", "currency")  # fmt: skip
_AMOUNTS = ("billed_nanos", "effective_nanos", "list_nanos", "records")


def upgrade() -> None:
    op.create_table(
        "cost_rollups_service",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.DateTime(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("cost_kind", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("billing_account_id", sa.String(length=128), nullable=False),
        sa.Column("sub_account_id", sa.String(length=128), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=256), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billed_nanos", sa.BigInteger(), nullable=False),
        sa.Column("effective_nanos", sa.BigInteger(), nullable=False),
        sa.Column("list_nanos", sa.BigInteger(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_rollups_service")),
        sa.UniqueConstraint(*_KEY, name="uq_cost_rollups_service_key"),
    )
    op.create_index(
        "ix_cost_rollups_service_tenant_grain_period", "cost_rollups_service", ["tenant_id", "grain", "period_start"]
    )
    keys, amounts = ", ".join(_KEY), ", ".join(f"SUM({a})" for a in _AMOUNTS)
    op.execute(
        f"INSERT INTO cost_rollups_service ({keys}, {', '.join(_AMOUNTS)}) "
        f"SELECT {keys}, {amounts} FROM cost_rollups GROUP BY {keys}"
    )


def downgrade() -> None:
    op.drop_index("ix_cost_rollups_service_tenant_grain_period", table_name="cost_rollups_service")
    op.drop_table("cost_rollups_service")
