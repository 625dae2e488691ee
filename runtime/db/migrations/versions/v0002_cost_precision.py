"""requests.cost as numeric(20, 6): numeric(10, 6) overflowed (22003) at 10,000 a request, and the record was
dead-lettered; the insert also clamps to this size.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("requests", "cost", type_=sa.Numeric(20, 6), existing_type=sa.Numeric(10, 6))


def downgrade() -> None:
    op.execute("UPDATE requests SET cost = LEAST(cost, 9999.999999)")
    op.alter_column("requests", "cost", type_=sa.Numeric(10, 6), existing_type=sa.Numeric(20, 6))
