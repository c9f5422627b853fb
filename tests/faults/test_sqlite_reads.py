"""Reporting reads on SQLite begin deferred: they answer while another process holds the write
lock (only the follower's write transactions begin with BEGIN IMMEDIATE)."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, exc

from services.common.auth import Role
from services.reporting.follower import apply_page, projectors
from tests.builders import days_ago, month_of
from tests.journey_driver import H
from tests.reporting_driver import ReportingDriver
from tests.support import auth

COMMISSIONER = auth("NHSE", Role.COMMISSIONER)


def wait_briefly_for_locks(engine: Engine) -> None:
    """A short busy timeout, so a read that waited on the writer fails instead of hanging."""

    @event.listens_for(engine, "connect")
    def short_busy_timeout(dbapi_connection, record):  # type: ignore[no-untyped-def]
        dbapi_connection.execute("PRAGMA busy_timeout = 200")

    engine.dispose()  # pooled connections were opened without it


@contextmanager
def write_lock_held(engine: Engine) -> Iterator[None]:
    """Another connection (as another process would) holding SQLite's write lock."""
    holder = sqlite3.connect(str(engine.url.database), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("store", ["sqlite"])
def test_kpi_and_caseload_reads_answer_while_the_write_lock_is_held(
    reporting_driver: ReportingDriver,
) -> None:
    r = reporting_driver
    episode = r.journeys.open_episode()
    r.follow()
    wait_briefly_for_locks(r.engine)
    params = {"period_start": days_ago(365), "period_end": days_ago(0)}
    with write_lock_held(r.engine):
        kpis = r.reporting.get("/kpis", params=params, headers=H)
        caseload = r.reporting.get("/caseloads", headers=H)
        commissioner = r.reporting.get("/kpis", params=month_of(days_ago(0)), headers=COMMISSIONER)
        # The lock is real: the follower's write transaction cannot begin meanwhile.
        with pytest.raises(exc.OperationalError, match="locked"):
            apply_page(r.engine, "journey", projectors()["journey"], None, [], 10**6)
    assert kpis.status_code == 200, kpis.text
    assert caseload.status_code == 200, caseload.text
    assert commissioner.status_code == 200, commissioner.text
    assert [row["episode_id"] for row in caseload.json()["rows"]] == [episode]
