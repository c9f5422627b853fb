"""The reporting follower as a real process: killed mid catch-up, and doubled by mistake."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.common.auth import Role
from services.common.clock import today
from services.common.settings import Settings
from services.common.store import store_env
from services.journey.application import JourneyApplication
from services.referral.application import ReferralApplication
from services.reporting import aggregates, db, period_counts
from services.reporting.models import PeriodCounts
from services.reporting.rebuild import rebuild
from tests.generator import generate
from tests.reporting_driver import snapshot
from tests.support import AUTH_SETTINGS, ServiceProcess, auth, database_url, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Referral and journey services with ~1,500 generated journeys behind their feeds."""
    urls = {s: f"sqlite:///{tmp_path / f'{s}.db'}" for s in ("referral", "journey")}
    referrals = ReferralApplication(env=store_env(urls["referral"]))
    journeys = JourneyApplication(env=store_env(urls["journey"]))
    generate(referrals, journeys, clients=1500, seed=3)
    referrals.close()
    journeys.close()
    env = {
        "TJ_DATA_DIR": str(tmp_path),
        "TJ_REFERRAL_DATABASE_URL": urls["referral"],
        "TJ_JOURNEY_DATABASE_URL": urls["journey"],
    }
    referral = ServiceProcess("referral", env).start()
    journey = ServiceProcess("journey", {**env, "TJ_REFERRAL_URL": referral.url}).start()
    try:
        yield {**env, "TJ_REFERRAL_URL": referral.url, "TJ_JOURNEY_URL": journey.url}
    finally:
        journey.stop()
        referral.stop()


def reference(upstream: dict[str, str], url: str, tmp_path: Path) -> dict[str, Any]:
    settings = Settings(
        data_dir=tmp_path,
        **AUTH_SETTINGS,
        reporting_database_url=url,
        referral_url=upstream["TJ_REFERRAL_URL"],
        journey_url=upstream["TJ_JOURNEY_URL"],
    )
    rebuild(settings, out=open("/dev/null", "w"))  # noqa: SIM115
    engine = db.make_engine(url)
    try:
        return snapshot(engine)
    finally:
        engine.dispose()


def following(process: ServiceProcess) -> dict[str, Any]:
    details = httpx.get(
        f"{process.url}/health/details", headers=auth("svc", Role.SERVICE), timeout=5
    )
    return dict(details.json()["following"])


def caught_up(process: ServiceProcess) -> bool:
    return all(status["caught_up"] for status in following(process).values())


def test_killed_at_several_points_the_read_models_equal_a_rebuild(
    upstream: dict[str, str], store: str, tmp_path: Path
) -> None:
    with (
        database_url(store, tmp_path, "reference") as ref_url,
        database_url(store, tmp_path, "reporting") as url,
    ):
        expected = reference(upstream, ref_url, tmp_path)
        env = {
            **upstream,
            "TJ_REPORTING_DATABASE_URL": url,
            "TJ_FOLLOW_PAGE_SIZE": "40",
            "TJ_FOLLOW_INTERVAL_SECONDS": "0.05",
        }
        reporting = ServiceProcess("reporting", env)
        for stop_after in (300, 3000, 7000):
            reporting.start()

            def past(n: int = stop_after) -> bool:
                status = following(reporting)
                return sum(s["position"] or 0 for s in status.values()) >= n

            wait_until(past, timeout=60, interval=0.01)
            reporting.kill()
        reporting.start()
        try:
            wait_until(lambda: caught_up(reporting), timeout=120)
        finally:
            reporting.stop()
        engine = db.make_engine(url)
        try:
            assert snapshot(engine) == expected
        finally:
            engine.dispose()


@contextmanager
def two_reporting_processes(
    upstream: dict[str, str], url: str, page_size: int
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """Two reporting services on the same read models, stopped when done."""
    env = {
        **upstream,
        "TJ_REPORTING_DATABASE_URL": url,
        "TJ_FOLLOW_PAGE_SIZE": str(page_size),
        "TJ_FOLLOW_INTERVAL_SECONDS": "0.05",
    }
    first, second = ServiceProcess("reporting", env), ServiceProcess("reporting", env)
    first.start()
    second.start()
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_a_second_follower_on_the_same_read_models_is_harmless(
    upstream: dict[str, str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'reporting.db'}"
    expected = reference(upstream, f"sqlite:///{tmp_path / 'reference.db'}", tmp_path)
    with two_reporting_processes(upstream, url, page_size=50) as (first, second):
        wait_until(lambda: caught_up(first) and caught_up(second), timeout=120)
    engine = db.make_engine(url)
    try:
        assert snapshot(engine) == expected
    finally:
        engine.dispose()


def test_two_processes_keep_every_period_s_counts_as_a_pass_counts_them(
    upstream: dict[str, str], store: str, tmp_path: Path
) -> None:
    """Both keepers race on the same read models (period_counts.py): every row kept is the
    episode pass's counts for its organisation and period, and none is missing."""
    with database_url(store, tmp_path, "reporting") as url:

        def all_kept(process: ServiceProcess) -> bool:
            details = httpx.get(
                f"{process.url}/health/details", headers=auth("svc", Role.SERVICE), timeout=5
            )
            return bool(details.json()["period_counts"]["all_kept"])

        with two_reporting_processes(upstream, url, page_size=200) as (first, second):
            wait_until(lambda: caught_up(first) and caught_up(second), timeout=120)
            wait_until(lambda: all_kept(first) and all_kept(second), timeout=300)
        engine = db.make_engine(url)
        try:
            with engine.connect() as connection:
                kept = {
                    (row.period_start, row.period_end, row.organisation): row.counts
                    for row in connection.execute(select(PeriodCounts))
                }
                organisations = sorted({o for _, _, o in kept})
                assert len(organisations) == 50
                for period in period_counts.kept_periods(today()):
                    counted = aggregates.counted_by_organisation(
                        connection, period_counts.days(period), organisations
                    )
                    for organisation in organisations:
                        key = (period.start.toordinal(), period.end.toordinal(), organisation)
                        assert period_counts.decoded(kept[key]) == counted[organisation], key
        finally:
            engine.dispose()
