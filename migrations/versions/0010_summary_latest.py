"""The episode summary carries what most questions would otherwise look up per episode: its
latest substance profile (date, group), its latest plan (date, next review) and, for an episode
with one structured intervention, that intervention's span. A KPI reads them inline and looks
the child rows up only when the inline ones cannot answer (services/reporting/aggregates.py).
Summaries are indexed by client, for the starts of the persons released from prison, and by
referral, for the criminal-justice engagement of a period's referrals,
and TOPs by interview date, for the TOP change of a period (an index led by the recording time
instead made SQLite look every episode's review TOPs up through it: seconds).
Fills every summary from the facts held (0006 and 0008 leave that to this one).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Current rows are read through a partial index holding every column the KPIs read, superseded
# ones through another (queries.summaries_in_force). Written out here: a migration does not
# follow the models.
CURRENT, SUPERSEDED = sa.text("recorded_to IS NULL"), sa.text("recorded_to IS NOT NULL")
NOW_COLUMNS = (
    "opened_on",
    "discharged_on",
    "organisation",
    "episode_id",
    "client_id",
    "recorded_from",
    "waiting_from",
    "triaged_on",
    "first_structured_on",
    "first_tier4_on",
    "first_care_plan_on",
    "planned_exit",
    "last_profiled_on",
    "last_substance_group",
    "last_agreed_on",
    "last_next_review_on",
    "structured_spans",
    "span_started_on",
    "span_ended_on",
)
COLUMNS = (
    ("last_profiled_on", sa.Integer),
    ("last_substance_group", sa.String(32)),
    ("last_agreed_on", sa.Integer),
    ("last_next_review_on", sa.Integer),
    ("structured_spans", sa.Integer),
    ("span_started_on", sa.Integer),
    ("span_ended_on", sa.Integer),
)


def upgrade() -> None:
    with op.batch_alter_table("episode_summaries") as table:
        for name, kind in COLUMNS:
            table.add_column(sa.Column(name, kind))
    op.create_index("ix_summaries_referral", "episode_summaries", ["referral_id"])
    op.drop_index("ix_summaries_current", "episode_summaries")
    op.create_index(
        "ix_summaries_now",
        "episode_summaries",
        list(NOW_COLUMNS),
        sqlite_where=CURRENT,
        postgresql_where=CURRENT,
    )
    op.create_index(
        "ix_summaries_superseded",
        "episode_summaries",
        ["recorded_to", "opened_on"],
        sqlite_where=SUPERSEDED,
        postgresql_where=SUPERSEDED,
    )
    op.create_index("ix_tops_date", "summary_tops", ["interviewed_on"])
    op.create_index("ix_summaries_client", "episode_summaries", ["client_id"])
    from services.reporting.summaries import refresh_all

    refresh_all(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_summaries_referral", "episode_summaries")
    op.drop_index("ix_summaries_superseded", "episode_summaries")
    op.drop_index("ix_summaries_now", "episode_summaries")
    op.create_index("ix_summaries_current", "episode_summaries", ["recorded_to", "opened_on"])
    op.drop_index("ix_tops_date", "summary_tops")
    op.drop_index("ix_summaries_client", "episode_summaries")
    with op.batch_alter_table("episode_summaries") as table:
        for name, _ in COLUMNS:
            table.drop_column(name)
