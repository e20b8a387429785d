"""who issued a set-password token, and so could know the password it set (the approval rule's "maker")

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("password_tokens") as batch:
        batch.add_column(sa.Column("issued_by", sa.String(length=200), nullable=False, server_default=""))
    with op.batch_alter_table("user_passwords") as batch:
        batch.add_column(sa.Column("known_to", sa.String(length=200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("user_passwords") as batch:
        batch.drop_column("known_to")
    with op.batch_alter_table("password_tokens") as batch:
        batch.drop_column("issued_by")
