"""audit_events.entry_hash: each entry chained to the one before by SHA-256 (tamper-evident)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 02:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Entries written before the chain have no hash; `verify` reports the first of them, so the trail says
    # truthfully where the chain begins. (A fresh store has none.)
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("entry_hash")
