"""The keyworkers each episode's opening or a keyworker assignment ever named
(episode_keyworkers): one keyworker's worklist finds its episodes by index instead of reading
every opening and assignment of the organisation for its name (at 100,000 clients, ~5 ms of a
~40 ms worklist). Filled from the facts held.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "episode_keyworkers",
        sa.Column("organisation", sa.String(64), primary_key=True),
        sa.Column("keyworker", sa.String(128), primary_key=True),
        sa.Column("episode_id", sa.String(36), primary_key=True),
    )
    facts = op.get_bind().execute(
        sa.text(
            "SELECT organisation, episode_id, data FROM facts "
            "WHERE type IN ('EpisodeOpened', 'KeyworkerAssigned')"
        )
    )
    named = {
        (organisation, keyworker, str(episode_id))
        for organisation, episode_id, data in facts
        if (keyworker := json.loads(data).get("keyworker"))
    }
    rows = [{"organisation": o, "keyworker": k, "episode_id": e} for o, k, e in sorted(named)]
    for start in range(0, len(rows), 10_000):
        op.bulk_insert(table, rows[start : start + 10_000])


def downgrade() -> None:
    op.drop_table("episode_keyworkers")
