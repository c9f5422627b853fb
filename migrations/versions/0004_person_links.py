"""Person links: which person each client registration is, over recording time, so figures
"for the client" follow the person and "as known at" reproduces them across merges and splits.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("recorded_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_to", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_person_links_client", "person_links", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_person_links_client", table_name="person_links")
    op.drop_table("person_links")
