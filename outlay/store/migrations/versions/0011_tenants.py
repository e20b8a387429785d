"""tenants and users; tenant_id on every row a tenant owns; rollup keys hashed again with the tenant

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:00:00.000000

Rows written before tenancy belong to the `default` tenant. Ids derived from content (usage records,
anomalies, plans, recommendations) are unique per tenant, so their primary keys gain `tenant_id`; the rollup
key gains it too, and every stored rollup is hashed again (`outlay.store.models.rollup_key_hash`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outlay.store.models import ROLLUP_KEY, rollup_key_hash

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def _tenant() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("tenant_id", sa.String(length=64), nullable=False, server_default="default")


# Tables whose content-derived id becomes unique per tenant: (table, id column).
_KEYED = (
    ("usage_records", "record_id"),
    ("anomalies", "anomaly_id"),
    ("plans", "plan_id"),
    ("recommendations", "recommendation_id"),
)

_rollups = sa.table(
    "cost_rollups",
    sa.column("id", sa.BigInteger()),
    sa.column("grain", sa.String()),
    sa.column("period_start", sa.DateTime()),
    *(sa.column(name, sa.String()) for name in ROLLUP_KEY[2:]),
    sa.column("key_hash", sa.LargeBinary()),
)


def _rehash_rollups() -> None:
    conn = op.get_bind()
    key_cols = [_rollups.c[name] for name in ROLLUP_KEY]
    last_id: int | None = None
    while True:
        query = sa.select(_rollups.c.id, *key_cols).order_by(_rollups.c.id).limit(_BATCH)
        if last_id is not None:
            query = query.where(_rollups.c.id > last_id)
        rows = conn.execute(query).all()
        if not rows:
            return
        conn.execute(
            sa.update(_rollups).where(_rollups.c.id == sa.bindparam("row_id")).values(key_hash=sa.bindparam("digest")),
            [{"row_id": row[0], "digest": rollup_key_hash(tuple(row[1:]))} for row in rows],
        )
        last_id = rows[-1][0]


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
        sa.UniqueConstraint("tenant_id", "email", name="uq_users_tenant_email"),
    )
    for table, id_column in _KEYED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(_tenant())
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", ["tenant_id", id_column])
    for table in ("cost_rollups", "budgets", "audit_events"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(_tenant())
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("user_id", sa.String(length=32), nullable=True))
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("requested_by", sa.String(length=200), nullable=True))
        batch.drop_index("ix_plans_status")
        batch.drop_index("ix_plans_updated_at")
        batch.create_index("ix_plans_tenant_status", ["tenant_id", "status", "updated_at"])
        batch.create_index("ix_plans_tenant_updated_at", ["tenant_id", "updated_at", "plan_id"])
    with op.batch_alter_table("anomalies") as batch:
        batch.drop_index("ix_anomalies_start")
        batch.create_index("ix_anomalies_tenant_start", ["tenant_id", "start", "anomaly_id"])
    with op.batch_alter_table("recommendations") as batch:
        batch.drop_index("ix_recommendations_region")
        batch.create_index("ix_recommendations_tenant_region", ["tenant_id", "region"])
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index("ix_audit_events_subject")
        batch.create_index("ix_audit_events_tenant", ["tenant_id", "audit_id"])
        batch.create_index("ix_audit_events_tenant_subject", ["tenant_id", "subject", "audit_id"])
    with op.batch_alter_table("cost_rollups") as batch:
        batch.drop_index("ix_cost_rollups_grain_period")
        batch.create_index("ix_cost_rollups_tenant_grain_period", ["tenant_id", "grain", "period_start"])
    _rehash_rollups()


def downgrade() -> None:
    raise NotImplementedError("tenancy cannot be undone without losing which tenant owns which rows")
