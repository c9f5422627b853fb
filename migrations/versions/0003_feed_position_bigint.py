"""Feed positions are 64-bit: a PostgreSQL notification id is a bigint, and a position past
2**31 must be stored as it is (SQLite's INTEGER is 64-bit already; batch mode rebuilds the table
there, which is harmless).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed_positions") as batch:
        batch.alter_column(
            "position", existing_type=sa.Integer, type_=sa.BigInteger, existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("feed_positions") as batch:
        batch.alter_column(
            "position", existing_type=sa.BigInteger, type_=sa.Integer, existing_nullable=False
        )
