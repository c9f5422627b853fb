"""A rebuild while the reporting service answers: the same KPIs throughout, then the new read
models swapped in; a second rebuild at the same time is refused."""

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.auth import Role
from services.common.settings import Settings
from services.common.store import store_env
from services.journey.application import JourneyApplication
from services.referral.application import ReferralApplication
from services.reporting.rebuild import RebuildRunningError, rebuild, rebuild_lock
from tests.builders import last_month, month_of
from tests.generator import generate
from tests.support import AUTH_SETTINGS, ServiceProcess, auth, database_url, wait_until

pytestmark = pytest.mark.e2e
COMMISSIONER, SERVICE = auth("NHSE", Role.COMMISSIONER), auth("svc", Role.SERVICE)
PERIOD = month_of(last_month())  # a commissioner asks for whole months


@pytest.fixture
def live(store: str, tmp_path: Path) -> Iterator[tuple[ServiceProcess, Settings]]:
    urls = {s: f"sqlite:///{tmp_path / f'{s}.db'}" for s in ("referral", "journey")}
    referrals = ReferralApplication(env=store_env(urls["referral"]))
    journeys = JourneyApplication(env=store_env(urls["journey"]))
    generate(referrals, journeys, clients=300, seed=5)
    referrals.close()
    journeys.close()
    env = {
        "TJ_DATA_DIR": str(tmp_path),
        "TJ_REFERRAL_DATABASE_URL": urls["referral"],
        "TJ_JOURNEY_DATABASE_URL": urls["journey"],
        "TJ_FOLLOW_INTERVAL_SECONDS": "0.05",
    }
    referral = ServiceProcess("referral", env).start()
    journey = ServiceProcess("journey", {**env, "TJ_REFERRAL_URL": referral.url}).start()
    with database_url(store, tmp_path, "reporting") as url:
        env = {**env, "TJ_REFERRAL_URL": referral.url, "TJ_JOURNEY_URL": journey.url}
        reporting = ServiceProcess("reporting", {**env, "TJ_REPORTING_DATABASE_URL": url})
        settings = Settings(
            data_dir=tmp_path,
            **AUTH_SETTINGS,
            reporting_database_url=url,
            referral_url=referral.url,
            journey_url=journey.url,
            follow_page_size=50,  # a slower rebuild: more KPI answers during it
        )
        try:
            yield reporting.start(), settings
        finally:
            reporting.stop()
            journey.stop()
            referral.stop()


def kpis(url: str) -> dict[str, Any]:
    answer = httpx.get(f"{url}/kpis", params=PERIOD, headers=COMMISSIONER, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["figures"])


def caught_up(url: str) -> bool:
    details = httpx.get(f"{url}/health/details", headers=SERVICE, timeout=5).json()
    return all(f["caught_up"] for f in details["following"].values())


def test_kpis_answered_during_a_rebuild_equal_those_before_it(
    live: tuple[ServiceProcess, Settings],
) -> None:
    reporting, settings = live
    wait_until(lambda: caught_up(reporting.url), timeout=60)
    before = kpis(reporting.url)
    during: list[dict[str, Any]] = []
    done = threading.Event()

    def read_in_a_loop() -> None:
        while not done.is_set():
            during.append(kpis(reporting.url))

    reader = threading.Thread(target=read_in_a_loop)
    reader.start()
    try:
        with (Path(settings.data_dir) / "progress.txt").open("w") as progress:
            counts = rebuild(settings, out=progress)
    finally:
        done.set()
        reader.join()
    assert counts["journey"] > 1000
    assert len(during) > 3
    assert all(figures == before for figures in during)
    assert kpis(reporting.url) == before
    assert httpx.get(f"{reporting.url}/health/ready").status_code == 200
    assert wait_until(lambda: caught_up(reporting.url), timeout=30)


def test_a_second_rebuild_at_the_same_time_is_refused(
    live: tuple[ServiceProcess, Settings],
) -> None:
    _, settings = live
    url = settings.database_url("reporting")
    with rebuild_lock(url), pytest.raises(RebuildRunningError):
        rebuild(settings)
    assert rebuild(settings, out=open("/dev/null", "w"))  # noqa: SIM115


def test_a_rebuild_keeps_what_was_submitted(live: tuple[ServiceProcess, Settings]) -> None:
    """Submissions are records, not read models: a rebuild carries them over, and the file
    regenerates byte for byte afterwards."""
    reporting, settings = live
    wait_until(lambda: caught_up(reporting.url), timeout=120)
    provider = auth("NOBODY1", Role.PROVIDER)  # no episodes: a return with no errors
    period_end = date.today().replace(day=1) - timedelta(days=1)
    body = {"organisation": "NOBODY1", "period_end": period_end.isoformat()}
    submitted = httpx.post(f"{reporting.url}/ndtms/submissions", json=body, headers=provider)
    assert submitted.status_code == 201, submitted.text
    file_url = f"{reporting.url}/ndtms/submissions/{submitted.json()['id']}/file"
    before = httpx.get(file_url, headers=provider)
    assert before.status_code == 200, before.text
    rebuild(settings, out=open("/dev/null", "w"))  # noqa: SIM115
    after = httpx.get(file_url, headers=provider)
    assert after.status_code == 200, after.text
    assert after.content == before.content
