"""The production set-up's commands, run as plain processes (no Docker engine here): the
compose file's one-off migration job, then each service started by the image's own command
(several workers, the database URL from a secret file, migrations not at start-up), its
health check passing, and a journey through the three."""

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.process_story import journey_story
from tests.support import AUTH_ENV, free_port, postgres_database, wait_until

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
BIN = str(Path(sys.executable).parent)  # the image has uvicorn and python on its PATH


def image_env() -> dict[str, str]:
    """The image's ENV lines (KEY=value pairs, continued over lines)."""
    text = DOCKERFILE.replace("\\\n", " ")
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            found.update(pair.split("=", 1) for pair in shlex.split(line[4:]))
    return found


def instruction(name: str) -> list[str]:
    """An exec-form instruction (CMD, or the HEALTHCHECK's CMD) as its argument list."""
    text = DOCKERFILE.replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith(name))
    return list(json.loads(line[line.index("[") :]))


def run_env(tmp_path: Path, service: str, **extra: str) -> dict[str, str]:
    """The image's environment on this machine: its folders under tmp_path, PATH to the venv."""
    env = {**os.environ, **image_env(), **AUTH_ENV, **extra, "SERVICE": service}
    env.pop("PGOPTIONS", None)
    env["PATH"] = f"{BIN}:{env['PATH']}"
    env["TJ_DATA_DIR"] = str(tmp_path / service)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / service / "prometheus")
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    return env


def secret(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / "secrets" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return str(path)


@pytest.fixture(scope="module")
def urls() -> Iterator[dict[str, str]]:
    with (
        postgres_database() as referral,
        postgres_database() as journey,
        postgres_database() as reporting,
    ):
        yield {"referral": referral, "journey": journey, "reporting": reporting}


def test_the_image_sets_up_an_unprivileged_multi_worker_service() -> None:
    assert re.search(r"^USER tj$", DOCKERFILE, re.M)
    env = image_env()
    assert int(env["WORKERS"]) > 1 and env["TJ_MIGRATE_AT_STARTUP"] == "false"
    assert "--workers ${WORKERS}" in instruction("CMD")[-1]
    for name in ("referral", "journey", "reporting"):
        service = COMPOSE["services"][name]
        assert f"TJ_{name.upper()}_DATABASE_URL_FILE" in service["environment"]
        assert "postgres" in service["depends_on"] or "migrate" in service["depends_on"]
    waits = COMPOSE["services"]["reporting"]["depends_on"]
    assert waits["migrate"] == {"condition": "service_completed_successfully"}
    assert "PASSWORD" not in json.dumps(COMPOSE).replace("PASSWORD_FILE", "")


def test_the_migration_job_then_the_image_command_runs_each_service(
    urls: dict[str, str], tmp_path: Path
) -> None:
    migrate = COMPOSE["services"]["migrate"]
    reporting_url = secret(tmp_path, "reporting_database_url", urls["reporting"])
    job = subprocess.run(
        migrate["command"],
        env=run_env(tmp_path, "migrate", TJ_REPORTING_DATABASE_URL_FILE=reporting_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert job.returncode == 0, job.stderr
    assert "at revision" in job.stdout

    processes: list[subprocess.Popen[bytes]] = []
    addresses: dict[str, str] = {}
    try:
        for name in ("referral", "journey", "reporting"):
            port = free_port()
            extra: dict[str, Any] = {
                "PORT": str(port),
                "WORKERS": "2",
                f"TJ_{name.upper()}_DATABASE_URL_FILE": secret(
                    tmp_path, f"{name}_database_url", urls[name]
                ),
                "TJ_FOLLOW_INTERVAL_SECONDS": "0.05",
                "TJ_LOG_LEVEL": "WARNING",
                **{f"TJ_{u.upper()}_URL": addresses[u] for u in addresses},
            }
            env = run_env(tmp_path, name, **extra)
            processes.append(subprocess.Popen(instruction("CMD"), env=env, cwd=ROOT))
            addresses[name] = f"http://127.0.0.1:{port}"
            wait_until(lambda a=addresses[name]: ready(a), timeout=60)
            check = subprocess.run(instruction("HEALTHCHECK"), env=env, cwd=ROOT, timeout=10)
            assert check.returncode == 0, f"{name}: the image's HEALTHCHECK failed"
        journey_story(addresses["referral"], addresses["journey"], addresses["reporting"])
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def ready(address: str) -> bool:
    try:
        return httpx.get(f"{address}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
