"""anomalies: the latest state of each cost anomaly, for the gateway

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "anomalies",
        sa.Column("anomaly_id", sa.String(length=64), nullable=False),
        sa.Column("series", sa.String(length=1024), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=True),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("expected_nanos", sa.BigInteger(), nullable=False),
        sa.Column("actual_nanos", sa.BigInteger(), nullable=False),
        sa.Column("impact_nanos", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("root_cause", sa.JSON(), nullable=False),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.Column("feedback", sa.String(length=16), nullable=True),
        sa.Column("feedback_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("anomaly_id", name=op.f("pk_anomalies")),
    )
    op.create_index("ix_anomalies_start", "anomalies", ["start", "anomaly_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_anomalies_start", table_name="anomalies")
    op.drop_table("anomalies")
