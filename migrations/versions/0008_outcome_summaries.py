"""Substance profiles and TOPs on the episode summaries (services/reporting/summaries.py), so
the national outcome KPIs aggregate in SQL like the others. Filled from the facts already held.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def when() -> list[sa.Column[object]]:
    """Whose, and over which span of recording time."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("episode_id", sa.String(36), nullable=False),
        sa.Column("recorded_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_to", sa.DateTime(timezone=True)),
        sa.Column("seq", sa.Integer, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "summary_profiles",
        *when(),
        sa.Column("profiled_on", sa.Integer, nullable=False),
        sa.Column("substance_group", sa.String(32), nullable=False),
    )
    op.create_index("ix_profiles_episode", "summary_profiles", ["episode_id", "recorded_to"])
    op.create_table(
        "summary_tops",
        *when(),
        sa.Column("interviewed_on", sa.Integer, nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("opiates_days", sa.Integer),
        sa.Column("crack_days", sa.Integer),
    )
    op.create_index("ix_tops_episode", "summary_tops", ["episode_id", "recorded_to"])
    # Filled by 0010, the last migration that shapes the summaries: the code that fills them
    # writes every column of their final shape, which does not exist yet here.


def downgrade() -> None:
    for table in ("summary_tops", "summary_profiles"):
        op.drop_table(table)
