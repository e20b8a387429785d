"""deployments: deploys reported by pipelines (POST /v1/deployments), for the cost step at each deploy

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 22:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=1024), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.Column("deployed_at", sa.DateTime(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("reported_by", sa.String(length=300), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "deployment_id", name=op.f("pk_deployments")),
    )
    op.create_index("ix_deployments_tenant_deployed", "deployments", ["tenant_id", "deployed_at"])
    op.create_index("ix_deployments_tenant_scope_deployed", "deployments", ["tenant_id", "scope", "deployed_at"])


def downgrade() -> None:
    op.drop_index("ix_deployments_tenant_scope_deployed", table_name="deployments")
    op.drop_index("ix_deployments_tenant_deployed", table_name="deployments")
    op.drop_table("deployments")
