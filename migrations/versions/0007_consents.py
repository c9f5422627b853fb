"""Consents as the worklist needs them: who holds each consent and when it ends, as known over
recording time (a change or a withdrawal closes the row it ends).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("referral_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("given_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date),
        sa.Column("recorded_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_to", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_consents_holder_ends", "consents", ["holder", "ends_on"])
    op.create_index("ix_consents_client", "consents", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_consents_client", "consents")
    op.drop_index("ix_consents_holder_ends", "consents")
    op.drop_table("consents")
