"""The national return: clients' attributors and profiles (read models), and submissions
(records: `downgrade` keeps them, so a rebuild from the feeds does not lose what was sent).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ndtms_clients",
        sa.Column("client_id", sa.String(36), primary_key=True),
        sa.Column("initials", sa.String(2), nullable=False),
        sa.Column("date_of_birth", sa.Date, nullable=False),
        sa.Column("sex", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ndtms_client_profiles",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_ndtms_client_profiles_client", "ndtms_client_profiles", ["client_id"])
    if not sa.inspect(op.get_bind()).has_table("ndtms_submissions"):
        op.create_table(
            "ndtms_submissions",
            sa.Column("id", sa.String(36), primary_key=True),
            sa.Column("data_set", sa.String(4), nullable=False),
            sa.Column("organisation", sa.String(64), nullable=False),
            sa.Column("window_start", sa.Date, nullable=False),
            sa.Column("period_end", sa.Date, nullable=False),
            sa.Column("known_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("sha256", sa.String(64), nullable=False),
            sa.Column("rows", sa.Integer, nullable=False),
            sa.Column("submitted_by", sa.String(128), nullable=False),
            sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        )


def downgrade() -> None:
    op.drop_index("ix_ndtms_client_profiles_client", "ndtms_client_profiles")
    op.drop_table("ndtms_client_profiles")
    op.drop_table("ndtms_clients")
