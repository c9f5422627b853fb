"""Handovers a CARAT team made, and TOP care coordinators for the national return:

- referrals indexed by referring organisation and date: a CARAT team's handover continuity reads
  the handovers it made (services/reporting/queries.py `handovers`) as a CJIT's reads those it
  received;
- `ndtms_top_coordinators`: each naming of a client's TOP care coordinator and its ending, from
  the journey feed, for the extract's TOPCC item (a read model: rebuilt from the feed).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_referrals_referrer_date", "referrals", ["referring_organisation", "referral_date"]
    )
    op.create_table(
        "ndtms_top_coordinators",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("coordination_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("from_on", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_on", sa.Date),
        sa.Column("ended_recorded_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_ndtms_top_coordinators_client", "ndtms_top_coordinators", ["client_id"])
    op.create_index(
        "ix_ndtms_top_coordinators_coordination", "ndtms_top_coordinators", ["coordination_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_ndtms_top_coordinators_coordination", "ndtms_top_coordinators")
    op.drop_index("ix_ndtms_top_coordinators_client", "ndtms_top_coordinators")
    op.drop_table("ndtms_top_coordinators")
    op.drop_index("ix_referrals_referrer_date", "referrals")
