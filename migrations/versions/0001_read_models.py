"""Read models: feed positions, client areas, referrals, bitemporal journey facts.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_positions",
        sa.Column("feed", sa.String(32), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "client_areas",
        sa.Column("client_id", sa.String(36), primary_key=True),
        sa.Column("area", sa.String(8), nullable=False),
    )
    op.create_table(
        "referrals",
        sa.Column("referral_id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("referring_organisation", sa.String(64)),
        sa.Column("receiving_organisation", sa.String(64), nullable=False),
        sa.Column("referral_date", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handover_kind", sa.String(32)),
        sa.Column("release_date", sa.Date),
        sa.Column("accepted_on", sa.Date),
        sa.Column("accepted_recorded_at", sa.DateTime(timezone=True)),
        sa.Column("closed_on", sa.Date),
        sa.Column("closed_recorded_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_referrals_receiver_date", "referrals", ["receiving_organisation", "referral_date"]
    )
    op.create_table(
        "facts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("episode_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(48), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("recorded_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_to", sa.DateTime(timezone=True)),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_facts_episode_version", "facts", ["episode_id", "version"])


def downgrade() -> None:
    op.drop_table("facts")
    op.drop_table("referrals")
    op.drop_table("client_areas")
    op.drop_table("feed_positions")
