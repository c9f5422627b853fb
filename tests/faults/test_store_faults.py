"""Store faults degrade, never hang or mislead: each fault found by outside testing, reproduced
against a real referral service process (its writes take the same group-commit path as the
journey service's).

Every answer during a fault is a 201, or a 503 problem+json with Retry-After that came within
the bound; nothing acknowledged is lost; once the fault clears, writes succeed without a
restart; and a write whose COMMIT answer was lost is reported as saved, never as a conflict.
"""

import resource
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from services.common.auth import Role
from tests.builders import client_body
from tests.faults.pg_proxy import CommitAnswerDropper
from tests.support import (
    ServiceProcess,
    auth,
    postgres_address,
    postgres_database,
    send_together,
    wait_until,
)

pytestmark = pytest.mark.e2e
H = auth("ORG1")
SERVICE = auth("fault-test", Role.SERVICE)
WRITE_TIMEOUT = 1.0
# The longest a fault may hold an answer: the writer's bound, the in-flight grace, slack.
ANSWER_BOUND = WRITE_TIMEOUT + 1.0 + 3.0


def referral_service(tmp_path: Path, database_url: str, **env: str) -> ServiceProcess:
    return ServiceProcess(
        "referral",
        {
            "TJ_DATA_DIR": str(tmp_path),
            "TJ_REFERRAL_DATABASE_URL": database_url,
            "TJ_WRITE_TIMEOUT_SECONDS": str(WRITE_TIMEOUT),
            **env,
        },
    ).start()


def register(url: str, key: str | None = None) -> httpx.Response:
    headers = {**H, **({"Idempotency-Key": key} if key else {})}
    return httpx.post(f"{url}/clients", json=client_body(), headers=headers, timeout=ANSWER_BOUND)


def register_once_the_fault_clears(url: str, timeout: float = 20) -> httpx.Response:
    """Writes succeed again without a restart (each attempt is answered within the bound)."""

    def attempt() -> httpx.Response | None:
        answer = register(url)
        assert_fault_answer(answer)
        return answer if answer.status_code == 201 else None

    started = time.monotonic()
    answer: httpx.Response = wait_until(attempt, timeout=timeout)
    print(f"\n  writes succeed again {time.monotonic() - started:.2f} s after the fault cleared")
    return answer


def register_concurrently(url: str, writers: int) -> list[httpx.Response]:
    return send_together(lambda: register(url), writers)


def registered_ids(url: str) -> list[str]:
    ids, after = [], 0
    while True:
        page = httpx.get(f"{url}/feed", params={"after": after, "limit": 1000}, headers=SERVICE)
        page.raise_for_status()
        body = page.json()
        ids += [i["aggregate_id"] for i in body["items"] if i["type"] == "ClientRegistered"]
        if not body["has_more"]:
            return ids
        after = body["next_after"]


def assert_fault_answer(answer: httpx.Response) -> None:
    """201 saved, or 503 problem+json with Retry-After: never a 500, a 409, or a hang."""
    assert answer.status_code in (201, 503), answer.text
    if answer.status_code == 503:
        assert answer.headers["content-type"] == "application/problem+json"
        assert int(answer.headers["retry-after"]) > 0
        assert answer.json()["type"].rsplit("/", 1)[1] in ("store-unavailable", "outcome-unknown")


def assert_nothing_lost(url: str, answers: list[httpx.Response]) -> None:
    """Every acknowledged write is stored once; anything else stored was answered 'unknown'."""
    stored = registered_ids(url)
    assert len(stored) == len(set(stored))
    acknowledged = {a.json()["id"] for a in answers if a.status_code == 201}
    assert acknowledged <= set(stored)
    unknown = [a for a in answers if a.status_code == 503 and "outcome-unknown" in a.text]
    assert len(set(stored) - acknowledged) <= len(unknown)
    slowest = max(a.elapsed.total_seconds() for a in answers)
    print(  # the figures of a run, for `pytest tests/faults -s`
        f"\n  requests {len(answers)}, acknowledged {len(acknowledged)}, "
        f"503 {sum(a.status_code == 503 for a in answers)} (outcome unknown {len(unknown)}), "
        f"stored {len(stored)}, duplicates {len(stored) - len(set(stored))}, "
        f"slowest answer {slowest:.2f} s"
    )


def assert_not_ready(url: str, *reasons: str) -> None:
    """Not ready, for one of the reasons given (which one shows first depends on timing)."""
    ready = httpx.get(f"{url}/health/ready", timeout=ANSWER_BOUND)
    assert ready.status_code == 503
    assert any(r in said for r in reasons for said in ready.json()["reasons"]), ready.json()
    assert httpx.get(f"{url}/health/live", timeout=ANSWER_BOUND).status_code == 200


@contextmanager
def running(service: ServiceProcess) -> Iterator[ServiceProcess]:
    try:
        yield service
    finally:
        service.stop()


@pytest.mark.parametrize("writers", [8, 48])
def test_a_held_sqlite_write_lock_answers_503_and_writes_resume(
    tmp_path: Path, writers: int
) -> None:
    database = tmp_path / "referral.db"
    with running(referral_service(tmp_path, f"sqlite:///{database}")) as service:
        before = register(service.url)
        assert before.status_code == 201
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds SQLite's write lock
        try:
            answers = register_concurrently(service.url, writers)
            assert_not_ready(service.url, "write path failing")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        for answer in answers:
            assert_fault_answer(answer)
        assert any(a.status_code == 503 for a in answers)
        after = register_once_the_fault_clears(service.url)
        assert httpx.get(f"{service.url}/health/ready").status_code == 200
        assert_nothing_lost(service.url, [before, *answers, after])


def test_a_full_disk_answers_503_and_writes_resume_when_space_returns(tmp_path: Path) -> None:
    database = tmp_path / "referral.db"
    with running(referral_service(tmp_path, f"sqlite:///{database}")) as service:
        answers = [register(service.url)]
        assert answers[0].status_code == 201
        assert service.process is not None
        pid = service.process.pid
        # A file-size limit on the running process: SQLite sees "database or disk is full".
        used = max(p.stat().st_size for p in tmp_path.glob("referral.db*"))
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (used + 8192, resource.RLIM_INFINITY))
        try:
            for _ in range(60):
                answers.append(register(service.url))
                if answers[-1].status_code == 503:
                    break
        finally:
            resource.prlimit(
                pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
            )
        for answer in answers:
            assert_fault_answer(answer)
        assert answers[-1].status_code == 503, "the file-size limit never bit"
        answers.append(register_once_the_fault_clears(service.url))
        assert_nothing_lost(service.url, answers)


@contextmanager
def table_lock(database_url: str, mode: str, table_suffix: str = "_events") -> Iterator[None]:
    """Another session holds LOCK TABLE on the service's events table."""
    with psycopg.connect(database_url) as conn:
        table = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE %s "
            "AND table_name NOT LIKE 'accesslog%%' AND table_name NOT LIKE 'auditlog%%'",
            (f"%{table_suffix}",),
        ).fetchone()
        assert table is not None
        conn.execute(f'LOCK TABLE "{table[0]}" IN {mode} MODE')
        yield
        conn.rollback()


@pytest.mark.parametrize("mode", ["EXCLUSIVE", "ACCESS EXCLUSIVE"])
def test_a_postgres_table_lock_answers_503_and_writes_resume(tmp_path: Path, mode: str) -> None:
    with (
        postgres_database() as url,
        running(referral_service(tmp_path, url)) as service,
    ):
        answers = [register(service.url)]
        with table_lock(url, mode):
            answers += register_concurrently(service.url, 8)
            # Under ACCESS EXCLUSIVE even the probe's read waits: "did not answer".
            assert_not_ready(service.url, "write path failing", "did not answer")
        for answer in answers:
            assert_fault_answer(answer)
        assert any(a.status_code == 503 for a in answers)
        answers.append(register_once_the_fault_clears(service.url, timeout=40))
        assert_nothing_lost(service.url, answers)


def test_a_lost_commit_answer_is_reported_as_saved_not_as_a_conflict(tmp_path: Path) -> None:
    upstream = postgres_address()
    with postgres_database() as url, CommitAnswerDropper(upstream) as proxy:
        through_proxy = url.replace(f"{upstream[0]}:{upstream[1]}/", f"127.0.0.1:{proxy.port}/")
        env = {"PGSSLMODE": "disable", "PGGSSENCMODE": "disable"}
        with running(referral_service(tmp_path, through_proxy, **env)) as service:
            results: list[Any] = []
            for _ in range(3):
                key = str(uuid.uuid4())
                proxy.arm()
                answer = register(service.url, key)
                assert answer.status_code in (201, 503), answer.text  # never 409
                if answer.status_code == 503:  # outcome unknown: the key's retry settles it
                    assert "outcome-unknown" in answer.text
                    answer = register(service.url, key)
                assert answer.status_code == 201, answer.text
                results.append(answer.json()["id"])
            assert proxy.dropped == 3
            stored = registered_ids(service.url)
            assert sorted(stored) == sorted(results)  # each saved once, none lost
