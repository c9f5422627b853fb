"""Rebuild the read models from the feeds without downtime (`make rebuild-reporting`).

The service keeps answering from the live read models while the new ones are built beside them
(SQLite: the file `<db>.rebuild`; PostgreSQL: the schema `reporting_shadow`), then the new ones
replace the live ones at once:

- SQLite: SQLite's online backup copies the new file into the live one in one transaction
  (readers see the old or the new read models, never a mix). Renaming a file over a live WAL
  database is not safe: its -wal file would be applied to the new one.
- PostgreSQL: one transaction moves the live tables out to `reporting_old` and the new ones
  into `public` (the audit log, in the same database, is not touched); then `reporting_old`
  is dropped. Statements prepared on the old tables are planned again on the new ones.

A running reporting service notices the new positions at its next page (see follower.py). One
rebuild at a time: a second one is refused (a lock file beside the SQLite file; a PostgreSQL
advisory lock). The referral and journey services must be running.
"""

import fcntl
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from services.common.follower import retry_after
from services.common.issuer import service_token
from services.common.progress import progress
from services.common.settings import Settings
from services.reporting import db
from services.reporting.follower import followers

SHADOW_SCHEMA, OLD_SCHEMA = "reporting_shadow", "reporting_old"
LOCK_KEY = 7_401_052_015  # the advisory lock of "a rebuild is running", any fixed number


class RebuildRunningError(Exception):
    """Another rebuild of these read models is running."""


def sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


@contextmanager
def rebuild_lock(url: str) -> Iterator[None]:
    """Held for the whole rebuild; RebuildRunningError at once if another holds it."""
    path = sqlite_path(url)
    if path is not None:
        with open(f"{path}.rebuild.lock", "w") as lock_file:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RebuildRunningError(f"a rebuild of {path} is running") from None
            yield  # the lock ends with the file's closing (or the process)
        return
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            query = text("SELECT pg_try_advisory_lock(:key)")
            if not connection.execute(query, {"key": LOCK_KEY}).scalar():
                raise RebuildRunningError("a rebuild of the reporting read models is running")
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
    finally:
        engine.dispose()


def shadow_engine(url: str) -> Engine:
    """An engine on new, empty read models beside the live ones."""
    path = sqlite_path(url)
    if path is not None:
        shadow = Path(f"{path}.rebuild")
        for leftover in (shadow, Path(f"{shadow}-wal"), Path(f"{shadow}-shm")):
            leftover.unlink(missing_ok=True)
        return db.make_engine(f"sqlite:///{shadow}")
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SHADOW_SCHEMA} CASCADE")
            connection.exec_driver_sql(f"CREATE SCHEMA {SHADOW_SCHEMA}")
    finally:
        engine.dispose()
    return db.make_engine(url, search_path=SHADOW_SCHEMA)


# Tables of records made here (what was submitted or published), not derived from the feeds:
# a rebuild carries their rows over into the new read models instead of losing them.
RECORDS = ("ndtms_submissions",)


def swap(url: str, shadow: Engine) -> None:
    """Replace the live read models by the shadow ones, atomically, keeping the records."""
    path = sqlite_path(url)
    shadow.dispose()
    if path is not None:
        import sqlite3

        with (
            closing(sqlite3.connect(f"{path}.rebuild")) as source,
            closing(sqlite3.connect(path, timeout=60)) as target,
        ):
            # A record made between this copy and the backup below would be lost: the window
            # is the few milliseconds between two statements (PostgreSQL has none).
            source.execute("ATTACH DATABASE ? AS live", (str(path),))
            live = {row[0] for row in source.execute("SELECT name FROM live.sqlite_master")}
            with source:
                for table in set(RECORDS) & live:
                    source.execute(f'INSERT INTO main."{table}" SELECT * FROM live."{table}"')
            source.execute("DETACH DATABASE live")
            source.backup(target)  # one step: one transaction on the live file
        for leftover in ("", "-wal", "-shm"):
            Path(f"{path}.rebuild{leftover}").unlink(missing_ok=True)
        return
    engine = db.make_engine(url)
    try:
        for attempt in range(5):
            try:
                _move_tables(engine)
                break
            except DBAPIError:  # a deadlock with a live reader or follower: try again
                if attempt == 4:
                    raise
                time.sleep(1)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {OLD_SCHEMA} CASCADE")
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SHADOW_SCHEMA} CASCADE")
    finally:
        engine.dispose()


def _move_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {OLD_SCHEMA} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {OLD_SCHEMA}")
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"),
            {"s": SHADOW_SCHEMA},
        ).scalars()
        for table in RECORDS:
            if connection.scalar(text("SELECT to_regclass(:t)"), {"t": f"public.{table}"}) is None:
                continue  # live read models older than the table
            connection.exec_driver_sql(f'LOCK TABLE public."{table}" IN EXCLUSIVE MODE')
            connection.exec_driver_sql(
                f'INSERT INTO {SHADOW_SCHEMA}."{table}" SELECT * FROM public."{table}"'
            )
        for table in list(tables):
            connection.exec_driver_sql(
                f'ALTER TABLE IF EXISTS public."{table}" SET SCHEMA {OLD_SCHEMA}'
            )
            connection.exec_driver_sql(f'ALTER TABLE {SHADOW_SCHEMA}."{table}" SET SCHEMA public')


UNAVAILABLE_FOR_SECONDS = 900.0  # a feed answering 503 for longer ends the rebuild


def follow_feeds(engine: Engine, settings: Settings, out: IO[str] | None) -> dict[str, int]:
    """Apply both feeds from the start until caught up, with progress."""
    audiences = [settings.referral_audience, settings.journey_audience]
    token = service_token(settings, "reporting-rebuild", "reporting-service", audiences)
    urls = {"referral": settings.referral_url, "journey": settings.journey_url}
    counts = {}
    with httpx.Client(timeout=60) as http, progress(out) as bar:
        for feed, follower in followers(engine, urls, token, settings.follow_page_size, 0).items():
            task = bar.add_task(f"{feed} feed", total=None)
            started, applied, has_more = time.monotonic(), 0, True
            unavailable_since: float | None = None
            # Pages of internal records hold no items: only has_more says we are done.
            while has_more:
                try:
                    page = follower.poll_once(http)
                except httpx.HTTPError as error:
                    # 503: the service is starting (indexing its log) or its store is briefly
                    # unavailable; it says when to ask again. Anything else ends the rebuild.
                    wait = retry_after(error)
                    now = time.monotonic()
                    unavailable_since = unavailable_since or now
                    if wait is None or now - unavailable_since > UNAVAILABLE_FOR_SECONDS:
                        sys.exit(
                            f"\ncannot read the {feed} feed at {urls[feed]}: {error}. "
                            f"Start the {feed} service (make run) or set TJ_{feed.upper()}_URL."
                        )
                    bar.update(task, description=f"{feed} feed (unavailable, retrying)")
                    time.sleep(wait)
                    continue
                unavailable_since = None
                bar.update(task, description=f"{feed} feed")
                applied, has_more = applied + len(page.items), page.has_more
                bar.update(task, completed=follower.position, total=page.last_position)
            rate = applied / max(time.monotonic() - started, 1e-9)
            bar.console.print(f"{feed}: {applied} events applied ({rate:,.0f}/s)")
            counts[feed] = applied
    return counts


def rebuild(settings: Settings, out: IO[str] | Any = None) -> dict[str, int]:
    """Build new read models from the feeds, swap them in, and return the events applied per
    feed. RebuildRunningError if another rebuild is running."""
    url = settings.database_url("reporting")
    with rebuild_lock(url):
        shadow = shadow_engine(url)
        try:
            db.upgrade(shadow)
            counts = follow_feeds(shadow, settings, out)
            db.analyze(shadow)
        except BaseException:
            shadow.dispose()
            raise
        swap(url, shadow)
    return counts


if __name__ == "__main__":
    try:
        rebuild(Settings())
    except RebuildRunningError as error:
        sys.exit(f"refused: {error}")
