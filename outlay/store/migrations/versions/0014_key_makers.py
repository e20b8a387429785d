"""api_keys.created_by_identity (who made a key, for the approval rule); users unique per e-mail among active ones

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 05:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = sa.text("disabled_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("created_by_identity", sa.String(length=200), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_tenant_email", type_="unique")
    op.create_index(
        "uq_users_tenant_email_active", "users", ["tenant_id", "email"], unique=True,
        postgresql_where=_ACTIVE, sqlite_where=_ACTIVE,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_users_tenant_email_active", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.create_unique_constraint("uq_users_tenant_email", ["tenant_id", "email"])
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("created_by_identity")
