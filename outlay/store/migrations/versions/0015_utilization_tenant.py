"""utilization_5m per tenant: tenant_id leads its primary key

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("utilization_5m") as batch:
        batch.add_column(sa.Column("tenant_id", sa.String(length=64), nullable=False, server_default="default"))
        batch.drop_constraint("pk_utilization_5m", type_="primary")
        batch.create_primary_key("pk_utilization_5m", ["tenant_id", "resource_id", "metric", "bucket"])
        batch.drop_index("ix_utilization_5m_region_bucket")
        batch.create_index("ix_utilization_5m_tenant_region_bucket", ["tenant_id", "region", "bucket"])


def downgrade() -> None:
    raise NotImplementedError("samples of several tenants cannot share one key again")
