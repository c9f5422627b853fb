"""Several uvicorn workers per service on PostgreSQL, as production runs them: workers starting
together on empty databases create the stores and migrate the read models once, the system
becomes ready, a journey story runs through it, and each service's metrics count the requests
of all its workers."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.auth import Role
from tests.journey_driver import H
from tests.process_story import journey_story
from tests.support import ServiceProcess, auth, postgres_database, wait_until

pytestmark = pytest.mark.e2e
WORKERS = 2


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("workers")
    with (
        postgres_database() as referral_db,
        postgres_database() as journey_db,
        postgres_database() as reporting_db,
    ):
        env = {
            "TJ_DATA_DIR": str(tmp_path),
            "TJ_FOLLOW_INTERVAL_SECONDS": "0.05",
            "TJ_REFERRAL_DATABASE_URL": referral_db,
            "TJ_JOURNEY_DATABASE_URL": journey_db,
            "TJ_REPORTING_DATABASE_URL": reporting_db,
            "TJ_LOG_LEVEL": "WARNING",
        }
        processes: dict[str, ServiceProcess] = {}
        try:
            for name, upstream in (
                ("referral", None),
                ("journey", "referral"),
                ("reporting", "journey"),
            ):
                if upstream:
                    env[f"TJ_{upstream.upper()}_URL"] = processes[upstream].url
                metrics = Path(tmp_path / "metrics" / name)
                metrics.mkdir(parents=True)
                service_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
                processes[name] = ServiceProcess(name, service_env, workers=WORKERS).start()
            yield {name: p.url for name, p in processes.items()}
        finally:
            for process in processes.values():
                process.stop()


def ready(url: str) -> bool:
    return httpx.get(f"{url}/health/ready", timeout=5).status_code == 200


def test_workers_start_together_and_serve_a_journey(system: dict[str, Any]) -> None:
    for url in system.values():
        wait_until(lambda u=url: ready(u), timeout=60)
    journey_story(system["referral"], system["journey"], system["reporting"])
    kpis = httpx.get(
        f"{system['reporting']}/kpis",
        params={"period_start": "2026-01-01", "period_end": "2026-12-31"},
        headers=H,
        timeout=10,
    )
    assert kpis.status_code == 200


def test_metrics_count_the_requests_of_every_worker(system: dict[str, Any]) -> None:
    url = system["referral"]
    sent = 12
    for _ in range(sent):  # a new connection each: the workers share them out
        answer = httpx.get(f"{url}/codes", headers=H)
        assert answer.status_code == 200
    text = httpx.get(f"{url}/metrics", headers=auth("ops-test", Role.SERVICE)).text
    found = re.search(
        r'tj_http_requests_total\{method="GET",route="/codes",status="200"\} ([0-9.]+)', text
    )
    assert found and float(found.group(1)) == sent
