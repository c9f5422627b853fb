"""Summary child rows looked up by the summary version they belong to, and an organisation's
summaries read through partial indexes:

A summary's spans, plans, profiles and TOPs are written with the summary row's own span of
recording time (services/reporting/summaries.py), so the children of the row in force are
those with its episode and its `recorded_from`, whatever the knowledge asked
(services/reporting/aggregates.py `Frame.children`). The child tables are indexed by
(episode, recorded_from, what is read) instead of (episode, recorded_to): at 100,000
clients, England-wide, the look-ups took ~190 ms of a ~350 ms pass, ~140 ms index-only.

- ix_summaries_org (organisation, recorded_to, opened_on) is replaced by a partial index of
  the current rows holding every column the KPIs read, led by organisation
  (ix_summaries_org_now), and one of the superseded rows (ix_summaries_org_superseded). With
  planner statistics SQLite took the old one for England-wide questions: its statistics count
  each NULL `recorded_to` as a distinct value, so "current rows of every organisation" looked
  like ~100 rows, and it skip-scanned the organisations instead of reading ix_summaries_now
  (England-wide at 100,000 clients, the rows alone 80-200 ms).
- TOPs by date hold what TOP change reads of them (ix_tops_date).
- Referrals by kind of handover and release date: prison-to-community continuity reads the
  CARAT handovers released in the period (England-wide at 100,000 clients, 62 ms scanning
  every referral).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Written out here, as in 0010: a migration does not follow the models.
CURRENT, SUPERSEDED = sa.text("recorded_to IS NULL"), sa.text("recorded_to IS NOT NULL")
ORG_NOW_COLUMNS = (
    "organisation",
    "opened_on",
    "discharged_on",
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
# TOPs by date, holding what TOP change reads of them (an index-only read).
TOPS_BY_DATE = ("interviewed_on", "stage", "episode_id", "recorded_from", "recorded_to")
# Each child table's index: its episode and version, then what the look-ups read (an
# index-only look-up; the latest plan and profile dated by a day are the first entry from it).
CHILDREN = {
    "summary_spans": (
        "ix_spans_episode",
        ["episode_id", "recorded_from", "started_on", "ended_on"],
    ),
    "summary_plans": (
        "ix_plans_episode",
        ["episode_id", "recorded_from", "agreed_on DESC", "seq", "next_review_on"],
    ),
    "summary_profiles": (
        "ix_profiles_episode",
        ["episode_id", "recorded_from", "profiled_on DESC", "seq", "substance_group"],
    ),
    "summary_tops": (
        "ix_tops_episode",
        ["episode_id", "recorded_from", "stage", "interviewed_on"],
    ),
}


def upgrade() -> None:
    for table, (index, columns) in CHILDREN.items():
        op.drop_index(index, table)
        op.create_index(index, table, [sa.text(c) for c in columns])
    op.drop_index("ix_tops_date", "summary_tops")
    op.create_index("ix_tops_date", "summary_tops", list(TOPS_BY_DATE))
    op.create_index("ix_referrals_release", "referrals", ["handover_kind", "release_date"])
    op.drop_index("ix_summaries_org", "episode_summaries")
    for name, columns, where in (
        ("ix_summaries_org_now", ORG_NOW_COLUMNS, CURRENT),
        ("ix_summaries_org_superseded", ("organisation", "recorded_to"), SUPERSEDED),
    ):
        op.create_index(
            name, "episode_summaries", list(columns), sqlite_where=where, postgresql_where=where
        )


def downgrade() -> None:
    for table, (index, _) in CHILDREN.items():
        op.drop_index(index, table)
        op.create_index(index, table, ["episode_id", "recorded_to"])
    op.drop_index("ix_referrals_release", "referrals")
    op.drop_index("ix_tops_date", "summary_tops")
    op.create_index("ix_tops_date", "summary_tops", ["interviewed_on"])
    op.drop_index("ix_summaries_org_superseded", "episode_summaries")
    op.drop_index("ix_summaries_org_now", "episode_summaries")
    op.create_index(
        "ix_summaries_org", "episode_summaries", ["organisation", "recorded_to", "opened_on"]
    )
