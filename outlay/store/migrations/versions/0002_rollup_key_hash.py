"""rollup key hash; drop unused usage index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 15:05:00.000000

The rollup upsert used to find its bucket through an eleven-column unique constraint (long resource
ids included), maintained and probed on every upsert. It now goes through `key_hash`, a 16-byte
digest of those columns (`outlay.store.models.rollup_key_hash`), under a one-column unique
constraint. Existing rows are hashed here in Python, in batches, so the same code serves PostgreSQL
and SQLite. `ix_usage_records_service` served no query and cost every usage insert.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from outlay.store.models import rollup_key_hash

# The rollup key as it was at this revision (0011 adds tenant_id and hashes every row again).
ROLLUP_KEY = (
    "grain", "period_start", "cost_kind", "provider", "billing_account_id", "sub_account_id", "region",
    "service", "resource_id", "currency", "tags_hash",
)  # fmt: skip

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000

# Only the columns the backfill reads and writes, typed so both dialects hand back datetimes.
_rollups = sa.table(
    "cost_rollups",
    sa.column("id", sa.BigInteger()),
    sa.column("grain", sa.String()),
    sa.column("period_start", sa.DateTime()),
    *(sa.column(name, sa.String()) for name in ROLLUP_KEY[2:]),
    sa.column("key_hash", sa.LargeBinary()),
)


def _backfill_key_hash() -> None:
    conn = op.get_bind()
    key_cols = [_rollups.c[name] for name in ROLLUP_KEY]
    last_id: int | None = None
    while True:
        # Keyset pagination on the primary key: each batch is one short query whatever the table size.
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
    with op.batch_alter_table("cost_rollups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_hash", sa.LargeBinary(length=16), nullable=True))
    _backfill_key_hash()
    with op.batch_alter_table("cost_rollups", schema=None) as batch_op:
        batch_op.alter_column("key_hash", existing_type=sa.LargeBinary(length=16), nullable=False)
        batch_op.drop_constraint("uq_cost_rollups_key", type_="unique")
        batch_op.create_unique_constraint("uq_cost_rollups_key_hash", ["key_hash"])
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_records_service")


def downgrade() -> None:
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.create_index("ix_usage_records_service", ["service", "charge_period_start"], unique=False)
    with op.batch_alter_table("cost_rollups", schema=None) as batch_op:
        batch_op.drop_constraint("uq_cost_rollups_key_hash", type_="unique")
        batch_op.create_unique_constraint("uq_cost_rollups_key", list(ROLLUP_KEY))
        batch_op.drop_column("key_hash")
