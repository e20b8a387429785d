"""plans, recommendations and the audit trail (the optimizer writes plans and findings; the gateway reads them)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("monthly_saving_nanos", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("risk", sa.String(length=8), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("approval_reasons", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=4000), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plans")),
    )
    op.create_index("ix_plans_status", "plans", ["status", "updated_at"])
    op.create_index("ix_plans_updated_at", "plans", ["updated_at", "plan_id"])
    op.create_table(
        "recommendations",
        sa.Column("recommendation_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=256), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=False),
        sa.Column("monthly_saving_nanos", sa.BigInteger(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("risk", sa.String(length=8), nullable=False),
        sa.Column("current", sa.String(length=200), nullable=True),
        sa.Column("proposed", sa.String(length=200), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=True),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("recommendation_id", name=op.f("pk_recommendations")),
    )
    op.create_index("ix_recommendations_region", "recommendations", ["region"])
    op.create_table(
        "audit_events",
        sa.Column("audit_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("resource_id", sa.String(length=256), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=4000), nullable=False),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_subject", "audit_events", ["subject", "audit_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_subject", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_recommendations_region", table_name="recommendations")
    op.drop_table("recommendations")
    op.drop_index("ix_plans_updated_at", table_name="plans")
    op.drop_index("ix_plans_status", table_name="plans")
    op.drop_table("plans")
