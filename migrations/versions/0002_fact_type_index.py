"""Index facts by organisation, type and business date: finding the episodes alive in a
period (opened by its end, not discharged before its start) without reading all history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_facts_org_type_date", "facts", ["organisation", "type", "business_date"])
    op.create_index("ix_facts_type_date", "facts", ["type", "business_date"])


def downgrade() -> None:
    op.drop_index("ix_facts_type_date", "facts")
    op.drop_index("ix_facts_org_type_date", "facts")
