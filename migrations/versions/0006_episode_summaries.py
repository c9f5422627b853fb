"""Per-episode summaries (services/reporting/summaries.py): KPIs aggregate these in SQL
instead of folding every episode's facts per question. Filled from the facts already held.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def when() -> list[sa.Column[object]]:
    """Whose, and over which span of recording time."""
    return [
        sa.Column("episode_id", sa.String(36), nullable=False),
        sa.Column("recorded_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_to", sa.DateTime(timezone=True)),
    ]


def upgrade() -> None:
    op.create_table(
        "episode_summaries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        *when(),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("referral_id", sa.String(36)),
        sa.Column("opened_on", sa.Integer, nullable=False),
        sa.Column("waiting_from", sa.Integer, nullable=False),
        sa.Column("triaged_on", sa.Integer),
        sa.Column("first_structured_on", sa.Integer),
        sa.Column("first_tier4_on", sa.Integer),
        sa.Column("first_care_plan_on", sa.Integer),
        sa.Column("discharged_on", sa.Integer),
        sa.Column("planned_exit", sa.Integer, nullable=False),
    )
    op.create_index("ix_summaries_episode", "episode_summaries", ["episode_id"])
    op.create_index("ix_summaries_current", "episode_summaries", ["recorded_to", "opened_on"])
    op.create_index(
        "ix_summaries_org", "episode_summaries", ["organisation", "recorded_to", "opened_on"]
    )
    op.create_table(
        "summary_spans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        *when(),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("started_on", sa.Integer, nullable=False),
        sa.Column("ended_on", sa.Integer),
    )
    op.create_index("ix_spans_episode", "summary_spans", ["episode_id", "recorded_to"])
    op.create_index("ix_spans_org", "summary_spans", ["organisation", "recorded_to"])
    op.create_table(
        "summary_plans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        *when(),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("agreed_on", sa.Integer, nullable=False),
        sa.Column("next_review_on", sa.Integer),
    )
    op.create_index("ix_plans_episode", "summary_plans", ["episode_id", "recorded_to"])
    # Filled by 0010, the last migration that shapes the summaries: the code that fills them
    # writes every column of their final shape, which does not exist yet here.


def downgrade() -> None:
    for table in ("summary_plans", "summary_spans", "episode_summaries"):
        op.drop_table(table)
