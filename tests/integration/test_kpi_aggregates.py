"""The KPIs aggregated in SQL over episode summaries give the same figures, digit for digit, as
the direct reading of each definition over the folded episodes (kpis.all_kpis, and
outcomes.outcome_kpis for the national outcome KPIs), on generated journeys with corrections,
records in error, re-engagements, substance profiles and TOPs; for every scope, for periods of
every shape, as at dates inside and outside them, and as known at past times."""

import random
from datetime import date, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import Connection, func, select

from services.common.clock import today
from services.reporting import aggregates, db, outcome_aggregates, queries
from services.reporting.kpis import Period, all_kpis
from services.reporting.models import EpisodeSummary, FactRow
from services.reporting.outcomes import outcome_kpis
from tests.generator import generate
from tests.reporting_driver import ReportingDriver


def oracle(
    connection: Connection, scope: queries.Scope, period: Period, knowledge: queries.Knowledge
) -> dict[str, Any]:
    start, end = period.start, period.end
    [episodes] = queries.episodes(connection, scope, [knowledge], start, end)
    return all_kpis(
        episodes,
        queries.referrals(connection, scope, knowledge, start, end),
        queries.re_engagements(connection, scope, knowledge, start, end),
        period,
        queries.handovers(connection, scope, knowledge, start, end),
    ) | outcome_kpis(connection, scope, knowledge, episodes, period, knowledge.as_at or today())


def aggregated(
    connection: Connection,
    scope: queries.Scope,
    period: Period,
    knowledges: list[queries.Knowledge],
) -> list[dict[str, Any]]:
    """As api.compute_figures: a frame per knowledge, sharing one episode pass."""
    return [
        aggregates.figures(connection, scope, period, k, f)
        | outcome_aggregates.figures(connection, scope, period, k, k.as_at or today(), f)
        for k, f in zip(knowledges, aggregates.frames(scope, period, knowledges), strict=True)
    ]


def test_aggregated_figures_equal_the_folded_ones(reporting_driver: ReportingDriver) -> None:
    r = reporting_driver
    referrals = r.journeys.referral.app.state.application  # type: ignore[attr-defined]
    generate(referrals, r.journeys.application, clients=400, organisations=4, years=2, seed=3)
    r.follow(page_size=173)
    # These change treatment now and then: episodes with several structured interventions
    # (the summary reads one inline and looks several up).
    generate(
        referrals,
        r.journeys.application,
        clients=200,
        organisations=4,
        years=2,
        seed=4,
        changes=0.3,
    )
    r.follow(page_size=251)
    rng = random.Random(5)
    with r.engine.connect() as connection:
        first, last = connection.execute(
            select(func.min(FactRow.business_date), func.max(FactRow.business_date))
        ).one()
        several = select(func.count()).where(EpisodeSummary.structured_spans > 1)
        assert connection.execute(several).scalar_one() > 20
        moments = sorted(m for (m,) in connection.execute(select(FactRow.recorded_from).distinct()))
        first, last = queries.as_date(first), queries.as_date(last)
        # Half the periods start or end on a day something happened: edges are where
        # "before", "on or before" and "after" differ.
        happened = [
            queries.as_date(d)
            for (d,) in connection.execute(select(FactRow.business_date).distinct())
        ]
        compared = 0
        outcomes = {"groups": 0, "compliance": 0, "change": 0}
        for n in range(120):
            start = rng.choice(happened)
            if n % 2:
                start = first + timedelta(days=rng.randrange((last - first).days))
            end = start + timedelta(days=rng.choice([0, 6, 30, 90, 364]))
            if n % 3 == 0:
                end = rng.choice(happened)
                start = end - timedelta(days=rng.choice([0, 30, 90]))
            as_at: date | None = rng.choice(
                [None, end, start - timedelta(days=3), start + (end - start) / 2]
            )
            known_at: datetime | None = rng.choice([None, None, rng.choice(moments)])
            scope = rng.choice(
                [
                    queries.Scope(),
                    queries.Scope(organisation=f"ORG{n % 4:02d}"),
                    queries.Scope(area="LS"),
                    queries.Scope(area="unknown"),
                ]
            )
            period, knowledge = Period(start, end), queries.Knowledge(as_at, known_at)
            expected = oracle(connection, scope, period, knowledge)
            # As known at and as known now together, as a question with known_at asks them
            # (their episode pass shared), and alone.
            together = [knowledge, queries.Knowledge(as_at, None)][: 2 if known_at else 1]
            if n % 4 == 1:
                together.reverse()
            found = aggregated(connection, scope, period, together)
            for k, figures in zip(together, found, strict=True):
                wanted = expected if k == knowledge else oracle(connection, scope, period, k)
                assert figures == wanted, (scope, period, k, together)
            assert aggregated(connection, scope, period, [knowledge]) == [expected]
            compared += expected["numbers_in_treatment"]["count"] > 0
            outcomes["groups"] += sum(
                expected["successful_completion"][g]["denominator"]["count"] > 0
                for g in ("opiate", "alcohol", "non_opiate", "non_opiate_and_alcohol")
            )
            outcomes["compliance"] += expected["top_compliance"]["denominator"]["count"] > 0
            outcomes["change"] += expected["top_change"]["pairs"]["count"] > 0
    assert compared > 60  # most questions had figures to compare
    # and outcome figures among them (a start and a review TOP, ~182 days apart, fall in one
    # period only when it is long)
    assert outcomes["groups"] > 60 and outcomes["compliance"] > 20, outcomes
    assert outcomes["change"] >= 3, outcomes


def test_migrating_a_store_that_holds_facts_fills_the_summaries_of_the_final_shape(
    reporting_driver: ReportingDriver,
) -> None:
    """An upgrade from before the summaries existed (0005) or before they had their latest
    columns (0009) leaves the same figures as a store built at head."""
    r = reporting_driver
    referrals = r.journeys.referral.app.state.application  # type: ignore[attr-defined]
    generate(
        referrals,
        r.journeys.application,
        clients=120,
        organisations=3,
        years=2,
        seed=8,
        changes=0.3,
    )
    r.follow()
    questions = [
        (queries.Scope(), Period(date(y, m, 1), date(y, m, 28) + timedelta(days=60)), k)
        for y, m in ((today().year - 1, 3), (today().year - 1, 10))
        for k in (queries.Knowledge(None, None), queries.Knowledge(date(y, m, 20), None))
    ] + [
        (
            queries.Scope(organisation="ORG01"),
            Period(today() - timedelta(days=90), today()),
            queries.Knowledge(None, None),
        )
    ]

    def figures() -> list[dict[str, Any]]:
        with r.engine.connect() as connection:
            return [aggregated(connection, s, p, [k])[0] for s, p, k in questions]

    at_head = figures()
    assert any(f["numbers_in_treatment"]["count"] for f in at_head)
    config = db.alembic_config(r.engine)
    for earlier in ("0013", "0012", "0011", "0010", "0009", "0005"):
        with db.writing(r.engine).begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, earlier)
        db.upgrade(r.engine)
        assert figures() == at_head, earlier
