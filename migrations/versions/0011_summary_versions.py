"""Summary child rows looked up by the summary version they belong to.

A summary's spans, plans, profiles and TOPs are written with the summary row's own span of
recording time (services/reporting/summaries.py), so the children of the row in force are
those with its episode and its `recorded_from`, whatever the knowledge asked
(services/reporting/aggregates.py `Frame.children`). The child tables are indexed by
(episode, recorded_from) instead of (episode, recorded_to).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = {
    "summary_spans": "ix_spans_episode",
    "summary_plans": "ix_plans_episode",
    "summary_profiles": "ix_profiles_episode",
    "summary_tops": "ix_tops_episode",
}


def upgrade() -> None:
    for table, index in TABLES.items():
        op.drop_index(index, table)
        op.create_index(index, table, ["episode_id", "recorded_from"])


def downgrade() -> None:
    for table, index in TABLES.items():
        op.drop_index(index, table)
        op.create_index(index, table, ["episode_id", "recorded_to"])
