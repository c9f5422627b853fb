"""The worklist reads only what it needs at scale (one keyworker's episodes; for the exit TOP,
only the episodes the summaries show due) and answers the same, item for item, as folding every
episode of the organisation (the first reading of DESIGN "Worklist"), on generated journeys with
corrections, records in error, re-engagements and TOPs, as at past days and as known at past
times."""

import random
from datetime import date, timedelta
from typing import Any

from alembic import command
from sqlalchemy import Connection, func, select

from services.common.auth import Role
from services.reporting import db, queries
from services.reporting.models import EpisodeKeyworker, FactRow
from services.reporting.worklist import exit_top_items, keyworker_episodes, top_items
from tests.generator import generate
from tests.reporting_driver import ReportingDriver
from tests.support import auth


def every_exit_item(
    connection: Connection, organisation: str, knowledge: queries.Knowledge, day: date
) -> list[Any]:
    """The exit TOP items from every episode the organisation ever had, folded."""
    [everything] = queries.episodes(
        connection, queries.Scope(organisation=organisation), [knowledge], date.min, day
    )
    return [
        i
        for e in everything
        if e.discharged_on is not None and e.discharged_on < day
        for i in top_items(e, day)
    ]


def key(items: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (i.rule, i.due_on, i.overdue, i.episode_id, i.referral_id, i.client_id, i.keyworker)
        for i in items
    )


def test_one_keyworkers_worklist_and_exit_tops_equal_the_full_fold(
    reporting_driver: ReportingDriver,
) -> None:
    r = reporting_driver
    referrals = r.journeys.referral.app.state.application  # type: ignore[attr-defined]
    generate(referrals, r.journeys.application, clients=300, organisations=2, years=3, seed=8)
    r.follow(page_size=211)
    rng = random.Random(9)
    with r.engine.connect() as connection:
        moments = sorted(m for (m,) in connection.execute(select(FactRow.recorded_from).distinct()))
        first = queries.as_date(
            connection.execute(select(func.min(FactRow.business_date))).scalar()
        )
    span = (date.today() - first).days
    compared = exits = 0
    for n in range(24):
        organisation = f"ORG{n % 2:02d}"
        day = date.today() - timedelta(days=rng.choice([0, 0, rng.randrange(span)]))
        known_at = rng.choice([None, None, rng.choice(moments)])
        knowledge = queries.Knowledge(day, known_at)
        with r.engine.connect() as connection:
            everything = every_exit_item(connection, organisation, knowledge, day)
            assert key(exit_top_items(connection, organisation, knowledge, day)) == key(everything)
            for kw in ("kw0", "kw3"):
                named = exit_top_items(
                    connection,
                    organisation,
                    knowledge,
                    day,
                    keyworker_episodes(organisation, kw),
                )
                assert key([i for i in named if i.keyworker == kw]) == key(
                    [i for i in everything if i.keyworker == kw]
                )
        exits += len(everything)
        params: dict[str, Any] = {"as_at": day.isoformat()}
        if known_at is not None:
            params["known_at"] = queries.utc(known_at).isoformat()
        headers = auth(organisation, Role.PROVIDER)
        response = r.reporting.get("/worklist", params=params, headers=headers)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        for kw in ("kw0", "kw3"):
            one = r.reporting.get("/worklist", params={**params, "keyworker": kw}, headers=headers)
            assert one.status_code == 200, one.text
            mine = [i for i in items if i["keyworker"] == kw]
            assert one.json()["items"] == mine, (organisation, day, known_at, kw)
            compared += len(mine)
    assert compared > 100 and exits > 20, (compared, exits)


def test_the_keyworkers_named_are_the_same_projected_or_filled_by_migration(
    reporting_driver: ReportingDriver,
) -> None:
    """episode_keyworkers as the projection keeps it (openings, assignments, corrections'
    replacements) and as migration 0014 fills it from the facts held are the same, and every
    episode whose opening or an assignment named a keyworker is there."""
    r = reporting_driver
    referrals = r.journeys.referral.app.state.application  # type: ignore[attr-defined]
    generate(referrals, r.journeys.application, clients=150, organisations=2, years=2, seed=17)
    r.follow(page_size=97)
    K = EpisodeKeyworker

    def named() -> set[tuple[str, str, str]]:
        with r.engine.connect() as connection:
            return set(connection.execute(select(K.organisation, K.keyworker, K.episode_id)))

    projected = named()
    with r.engine.connect() as connection:
        assigned = connection.execute(
            select(func.count(FactRow.episode_id.distinct())).where(
                FactRow.type == "KeyworkerAssigned"
            )
        ).scalar_one()
    assert assigned > 10 and len(projected) > 100
    config = db.alembic_config(r.engine)
    with db.writing(r.engine).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")
    db.upgrade(r.engine)
    assert named() == projected
