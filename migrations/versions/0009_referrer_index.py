"""Handovers a CARAT team made: referrals indexed by referring organisation and date, so a CARAT
team's handover continuity reads the handovers it made (services/reporting/queries.py
`handovers`) as a CJIT's reads those it received.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-30
"""

from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_referrals_referrer_date", "referrals", ["referring_organisation", "referral_date"]
    )


def downgrade() -> None:
    op.drop_index("ix_referrals_referrer_date", "referrals")
