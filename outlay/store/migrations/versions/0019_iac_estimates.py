"""iac_estimates: the cost change of pull requests' commits, as CI reports it (POST /v1/iac/estimates)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 19:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "iac_estimates",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("estimate_id", sa.String(length=64), nullable=False),
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("pull_request", sa.Integer(), nullable=True),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("monthly_cost_before_nanos", sa.BigInteger(), nullable=False),
        sa.Column("monthly_cost_after_nanos", sa.BigInteger(), nullable=False),
        sa.Column("monthly_delta_nanos", sa.BigInteger(), nullable=False),
        sa.Column("resources_changed", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "estimate_id", name=op.f("pk_iac_estimates")),
    )
    op.create_index("ix_iac_estimates_tenant_reported", "iac_estimates", ["tenant_id", "reported_at"])
    op.create_index(
        "ix_iac_estimates_tenant_repository_reported", "iac_estimates", ["tenant_id", "repository", "reported_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_iac_estimates_tenant_repository_reported", table_name="iac_estimates")
    op.drop_index("ix_iac_estimates_tenant_reported", table_name="iac_estimates")
    op.drop_table("iac_estimates")
