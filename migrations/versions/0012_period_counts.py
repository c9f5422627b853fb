"""Each organisation's episode counts for each commissioner period, kept
(services/reporting/period_counts.py): period_counts, and the organisations they are kept for.

Every organisation with summaries is listed; its counts are left for the reporting service's
keeper to fill (a question asked before then is counted as before).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "period_counts",
        sa.Column("period_start", sa.Integer, primary_key=True),
        sa.Column("period_end", sa.Integer, primary_key=True),
        sa.Column("organisation", sa.String(64), primary_key=True),
        sa.Column("counts", sa.Text, nullable=False),
    )
    op.create_index("ix_period_counts_org", "period_counts", ["organisation", "period_end"])
    op.create_table(
        "counted_organisations",
        sa.Column("organisation", sa.String(64), primary_key=True),
        sa.Column("changed_from", sa.Integer, nullable=False),
    )
    op.execute(
        "INSERT INTO counted_organisations (organisation, changed_from) "
        "SELECT organisation, MIN(opened_on) FROM episode_summaries GROUP BY organisation"
    )


def downgrade() -> None:
    op.drop_table("counted_organisations")
    op.drop_index("ix_period_counts_org", "period_counts")
    op.drop_table("period_counts")
