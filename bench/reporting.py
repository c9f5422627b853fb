"""Reporting at scale: catch-up over the real HTTP feeds, a full rebuild, and p50/p95 of the
KPI and caseload endpoints for one organisation, and of a commissioner's England-wide and area
KPIs, for a quarter (with and without known_at), one keyworker's worklist, and the NDTMS extract
of the largest organisation.

Every KPI question in the "new" rows is asked once (another period, as_at or known_at each
time; no If-None-Match), so neither the figure cache (api.FigureCache, keyed by the question
and the feed positions) nor the ETag answers it: those latencies are cold. Goals: England-wide
and area quarter p95 < 250 ms (< 400 ms with known_at), one organisation p95 < 25 ms, one
keyworker's worklist < 50 ms. Questions are asked once the reporting service has kept the
counts of every commissioner period (services/reporting/period_counts.py); how long that took
after the catch-up (or rebuild) is printed.

    .venv/bin/python bench/reporting.py [--clients 100000] [--store sqlite|postgres|both]
                                        [--keep DIR]

--keep DIR keeps the generated SQLite stores in DIR and reuses them on the next run (the
reporting store is always started empty), so a change can be measured without regenerating.

Generates the journeys (clients across 50 organisations and five years, with the mix of
sources, tiers, drop-outs, corrections and re-engagements of tests/generator.py) straight into
the referral and journey stores, starts the three services as real processes, and prints.
"""

import argparse
import contextlib
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.common.auth import Role
from services.common.progress import progress
from services.common.settings import Settings
from services.common.store import store_env
from services.journey.application import JourneyApplication
from services.referral.application import ReferralApplication
from services.reporting import db, queries
from services.reporting.models import EpisodeSummary, FactRow
from services.reporting.rebuild import rebuild
from tests.generator import generate
from tests.support import AUTH_SETTINGS, ServiceProcess, auth, postgres_database, wait_until


def latencies(
    http: httpx.Client,
    path: str,
    params: Callable[[int], dict[str, str]],
    headers: dict[str, str] | None,
    n: int = 200,
    label: str = "",
) -> tuple[float, float]:
    """p50 and p95 in ms of n requests (params(i) for the i-th); without headers, each
    organisation asks for its own figures. Progress (rate, ETA) on stderr."""
    times = []
    tokens: dict[str, dict[str, str]] = {}
    with progress(unit="requests") as bar:
        task = bar.add_task(label or path, total=n)
        for i in range(n):
            asked = params(i)
            if headers is None:
                org = asked["organisation"]
                headers_i = tokens.setdefault(org, auth(org, Role.PROVIDER))
            else:
                headers_i = headers
            started = time.perf_counter()
            response = http.get(path, params=asked, headers=headers_i)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            bar.update(task, advance=1)
    cuts = statistics.quantiles(times, n=100)
    return cuts[49] * 1000, cuts[94] * 1000


def quarter_start(today: date, back: int) -> date:
    """The first day of the calendar quarter `back` quarters before today's."""
    index = today.year * 4 + (today.month - 1) // 3 - back
    return date(index // 4, index % 4 * 3 + 1, 1)


def month_end(first: date, months_on: int) -> date:
    """The last day of the month `months_on` months after `first`'s."""
    index = first.year * 12 + first.month - 1 + months_on + 1
    return date(index // 12, index % 12 + 1, 1) - timedelta(days=1)


def generated(urls: dict[str, str], data: Path, clients: int) -> int:
    """Generate the journeys, or reuse those a --keep run left in `data`; the event count."""
    kept = data / f"generated-{clients}.json"
    if kept.exists():
        counts = json.loads(kept.read_text())
        print(f"  reusing {counts['events']:,} generated events in {data}", flush=True)
        return int(counts["events"])
    for partial in data.glob("*.db*"):  # an interrupted generation is started again
        partial.unlink()
    referrals = ReferralApplication(env=store_env(urls["referral"]))
    journeys = JourneyApplication(env=store_env(urls["journey"]))
    started = time.perf_counter()
    stats = generate(referrals, journeys, clients, progress=True, batch=1000)
    referrals.close()
    journeys.close()
    events = stats.referral_events + stats.journey_events
    print(
        f"  generated {events:,} events ({stats.referral_events:,} referral, "
        f"{stats.journey_events:,} journey; {stats.episodes:,} episodes) in "
        f"{time.perf_counter() - started:.0f}s",
        flush=True,
    )
    if urls["referral"].startswith("sqlite"):
        kept.write_text(json.dumps({"events": events}))
    return events


def copied(source: Path, urls: dict[str, str], clients: int) -> int:
    """Load the SQLite stores a `--keep SOURCE --generate-only` run generated into the
    PostgreSQL stores: the same events in the same order (their notification ids) and the
    journey service's position in the referral feed; the event count. Generating straight into
    PostgreSQL is bound by a round trip per event here (~600 events/s: 300,000 clients would
    take over two hours)."""
    if not (source / f"generated-{clients}.json").exists():
        sys.exit(f"no {clients:,}-client stores in {source}: run --keep {source} --generate-only")
    started, total = time.perf_counter(), 0
    for service, application in (
        ("referral", ReferralApplication),
        ("journey", JourneyApplication),
    ):
        application(env=store_env(urls[service])).close()  # creates the store's tables
        table = f"{application.name}_events"
        events = sqlite3.connect(source / f"{service}.db")
        count = events.execute("SELECT max(rowid) FROM stored_events").fetchone()[0]
        rows = events.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        )
        columns = "notification_id, originator_id, originator_version, topic, state"
        with psycopg.connect(urls[service]) as connection, connection.cursor() as cursor:
            with (
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
                progress(unit="events") as bar,
            ):
                task = bar.add_task(f"{service} events", total=count)
                for n, row in enumerate(rows, 1):
                    copy.write_row(row)
                    if n % 10_000 == 0:
                        bar.update(task, completed=n)
                bar.update(task, completed=count)
            cursor.execute(
                f"SELECT setval('{table}_notification_id_seq', (SELECT max(notification_id) "
                f"FROM {table}))"
            )
            if service == "journey":
                for name, position in events.execute("SELECT * FROM tracking"):
                    cursor.execute(
                        f"INSERT INTO {application.name}_tracking VALUES (%s, %s) "
                        "ON CONFLICT (application_name) DO UPDATE "
                        "SET notification_id = excluded.notification_id",
                        (name, position),
                    )
            cursor.execute(f"ANALYZE {table}")
        total += count
    print(
        f"  copied {total:,} generated events from {source} in {time.perf_counter() - started:.0f}s"
    )
    return total


def bench(
    label: str,
    urls: dict[str, str],
    data: Path,
    clients: int,
    feeding: str = "both",
    source: Path | None = None,
    only: str | None = None,
) -> None:
    """`feeding`: "both" (catch-up over HTTP, then a rebuild), "catch-up" (no rebuild),
    "rebuild" (no catch-up: the read models are built by a rebuild alone) or "reuse" (the read
    models a --keep run left caught up). `only`: ask only the questions whose name holds it."""
    print(f"\n== {label}: {clients:,} clients ==", flush=True)
    events = copied(source, urls, clients) if source else generated(urls, data, clients)
    env = {
        "TJ_DATA_DIR": str(data),
        "TJ_LOG_LEVEL": "WARNING",  # a JSON line per request would drown the figures
        "TJ_REFERRAL_DATABASE_URL": urls["referral"],
        "TJ_JOURNEY_DATABASE_URL": urls["journey"],
        "TJ_REPORTING_DATABASE_URL": urls["reporting"],
        "TJ_FOLLOW_PAGE_SIZE": "1000",
        "TJ_FOLLOW_INTERVAL_SECONDS": "0.2",
    }
    referral = ServiceProcess("referral", env).start()
    journey = ServiceProcess("journey", {**env, "TJ_REFERRAL_URL": referral.url}).start()
    upstream = {"TJ_REFERRAL_URL": referral.url, "TJ_JOURNEY_URL": journey.url}
    reporting = ServiceProcess("reporting", {**env, **upstream})
    try:

        def caught_up() -> bool:
            details = httpx.get(
                f"{reporting.url}/health/details", headers=auth("bench", Role.SERVICE), timeout=10
            )
            status = details.json()["following"]
            return all(s["caught_up"] for s in status.values())

        def all_kept() -> bool:
            """The keeper has counted every commissioner period (period_counts.py)."""
            details = httpx.get(
                f"{reporting.url}/health/details", headers=auth("bench", Role.SERVICE), timeout=10
            )
            return bool(details.json()["period_counts"]["all_kept"])

        if feeding != "rebuild":
            started = time.perf_counter()
            reporting.start(timeout=STARTING)
            wait_until(caught_up, timeout=3600 * 3, interval=0.2)
            elapsed = time.perf_counter() - started
            rate = events / elapsed
            if feeding != "reuse":
                print(
                    f"  catch-up over HTTP: {events:,} events in {elapsed:.1f}s "
                    f"= {rate:,.0f} events/s"
                )
            reporting.stop()
        settings = Settings(
            data_dir=data,
            **AUTH_SETTINGS,
            reporting_database_url=urls["reporting"],
            referral_url=referral.url,
            journey_url=journey.url,
        )
        if feeding in ("both", "rebuild"):
            started = time.perf_counter()
            rebuild(settings, out=sys.stderr)
            elapsed = time.perf_counter() - started
            print(f"  rebuild (drop, migrate, follow both feeds): {elapsed:.1f}s")
        reporting.start(timeout=STARTING)
        started = time.perf_counter()
        wait_until(all_kept, timeout=3600, interval=0.5)
        print(f"  counts kept per organisation and period: {time.perf_counter() - started:.1f}s")
        quarter_end = date.today() - timedelta(days=date.today().day)
        quarter = {
            "period_start": (quarter_end - timedelta(days=90)).isoformat(),
            "period_end": quarter_end.isoformat(),
            "organisation": "ORG07",
        }
        commissioner = auth("NHSE", Role.COMMISSIONER)
        provider = auth("ORG07", Role.PROVIDER)

        def cold(n: int) -> dict[str, str]:
            """A question not asked before: another organisation and as_at every time, each
            organisation reading its own figures."""
            return {
                **quarter,
                "organisation": f"ORG{n % 50:02d}",
                "as_at": (quarter_end - timedelta(days=n // 50)).isoformat(),
            }

        last = last_recorded(urls["reporting"])

        def known_before(n: int) -> str:
            """A recording time just before the last fact's, another each time: nearly all
            is known then, but through the recording-time ranges (a time after the last one
            would ask nothing of them)."""
            return (last - timedelta(seconds=1 + n / 100)).isoformat()

        def cold_known(n: int) -> dict[str, str]:
            return {**cold(n), "known_at": known_before(n)}

        def quarters(n: int, **scope: str) -> dict[str, str]:
            """A commissioner's question not asked before: one of the last 16 calendar
            quarters, as at its end or one or two month ends later."""
            first = quarter_start(date.today(), back=1 + n % 16)
            end = month_end(first, 2)
            as_at = month_end(first, 2 + n // 16 % 3)
            return {
                "period_start": first.isoformat(),
                "period_end": end.isoformat(),
                "as_at": as_at.isoformat(),
                **scope,
            }

        def quarters_known(n: int, **scope: str) -> dict[str, str]:
            return {
                **quarters(n, **scope),
                "known_at": known_before(n),
            }

        past = {
            "as_at": (quarter_end - timedelta(days=30)).isoformat(),
            "known_at": known_before(0),
        }
        largest = largest_organisation(urls["reporting"])
        owner = auth(largest, Role.PROVIDER)

        def keyworker(n: int) -> dict[str, str]:
            """One keyworker's worklist of the largest organisation, on another day each time."""
            return {
                "keyworker": f"kw{n % 8}",
                "as_at": (date.today() - timedelta(days=n // 8)).isoformat(),
            }

        results: dict[str, tuple[float, float]] = {}
        with httpx.Client(base_url=reporting.url, timeout=120) as http:
            for name, path, params, headers, n in (
                ("England, each question new", "/kpis", quarters, commissioner, 48),
                ("England as_at+known_at, new", "/kpis", quarters_known, commissioner, 48),
                (
                    "area LS, each question new",
                    "/kpis",
                    lambda n: quarters(n, area="LS"),
                    commissioner,
                    48,
                ),
                (
                    "area LS as_at+known_at, new",
                    "/kpis",
                    lambda n: quarters_known(n, area="LS"),
                    commissioner,
                    48,
                ),
                ("org KPIs, each question new", "/kpis", cold, None, 200),
                ("org KPIs as_at+known_at, new", "/kpis", cold_known, None, 200),
                ("org KPIs, repeated question", "/kpis", lambda n: quarter, provider, 200),
                ("caseload", "/caseloads", lambda n: {"limit": "100"}, provider, 200),
                (
                    "caseload as_at+known_at",
                    "/caseloads",
                    lambda n: {"limit": "100", **past},
                    provider,
                    200,
                ),
                (f"worklist, keyworker ({largest})", "/worklist", keyworker, owner, 200),
            ):
                if only is not None and only not in name:
                    continue
                p50, p95 = results[name] = latencies(http, path, params, headers, n, name)
                print(f"  {name:<29} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms", flush=True)
            if only is not None:
                return
            for kind in (", each question new", " as_at+known_at, new"):
                ratio = results[f"England{kind}"][1] / results[f"org KPIs{kind}"][1]
                print(f"  England / one organisation, p95 ({kind.strip(', ')}): {ratio:.1f}x")
            extract_times(http, largest, owner)
            etag = http.get("/kpis", params=quarter, headers=provider).headers["etag"]
            p50, p95 = latencies_304(http, quarter, {**provider, "If-None-Match": etag})
            print(f"  {'KPIs, unchanged (304)':<27} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
    finally:
        for process in (reporting, journey, referral):
            process.stop()


STARTING = 180  # seconds a service may take to start on a loaded machine


def last_recorded(url: str) -> datetime:
    """When the last fact the read models hold was recorded."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            moment = connection.execute(select(func.max(FactRow.recorded_from))).scalar_one()
            return queries.utc(moment)
    finally:
        engine.dispose()


def largest_organisation(url: str) -> str:
    """The organisation with the most episodes (as the read models hold them now)."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            query = (
                select(EpisodeSummary.organisation)
                .where(EpisodeSummary.recorded_to.is_(None))
                .group_by(EpisodeSummary.organisation)
                .order_by(func.count().desc())
                .limit(1)
            )
            return str(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def extract_times(http: httpx.Client, organisation: str, headers: dict[str, str]) -> None:
    """The NDTMS extract of the largest organisation for last month, five times (another
    known_at, in the past, each time)."""
    period_end = date.today() - timedelta(days=date.today().day)
    times, rows, size = [], 0, 0
    for n in range(5):
        asked = {
            "organisation": organisation,
            "period_end": period_end.isoformat(),
            "known_at": (datetime.now(UTC) - timedelta(seconds=n + 1)).isoformat(),
        }
        started = time.perf_counter()
        response = http.get("/ndtms/extract", params=asked, headers=headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        rows, size = response.text.count("\n") - 1, len(response.content)
    print(
        f"  NDTMS extract ({organisation}, {rows:,} episodes, {size:,} bytes): "
        f"median {sorted(times)[2] * 1000:.0f} ms, best {min(times) * 1000:.0f} ms",
        flush=True,
    )


def latencies_304(
    http: httpx.Client, params: dict[str, str], headers: dict[str, str]
) -> tuple[float, float]:
    times = []
    for _ in range(200):
        started = time.perf_counter()
        assert http.get("/kpis", params=params, headers=headers).status_code == 304
        times.append(time.perf_counter() - started)
    cuts = statistics.quantiles(times, n=100)
    return cuts[49] * 1000, cuts[94] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--keep", type=Path, help="keep and reuse the generated SQLite stores")
    parser.add_argument(
        "--generate-only", action="store_true", help="with --keep: generate the stores and stop"
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="PostgreSQL: copy the SQLite stores a --keep DIR --generate-only run generated in "
        "DIR, instead of generating there",
    )
    parser.add_argument(
        "--feeding",
        choices=["both", "catch-up", "rebuild", "reuse"],
        default="both",
        help="catch-up over HTTP then a rebuild (default), catch-up only, rebuild only, or "
        "(with --keep) reuse the read models a previous run left",
    )
    parser.add_argument(
        "--only", help="ask only the questions whose name holds this (e.g. 'org KPIs', 'worklist')"
    )
    args = parser.parse_args()
    if args.generate_only:
        args.keep.mkdir(parents=True, exist_ok=True)
        urls = {s: f"sqlite:///{args.keep / f'{s}.db'}" for s in ("referral", "journey")}
        generated(urls, args.keep, args.clients)
        return
    if args.store in ("sqlite", "both"):
        with contextlib.ExitStack() as stack:
            if args.keep:
                data = args.keep
                data.mkdir(parents=True, exist_ok=True)
                if args.feeding != "reuse":
                    for stale in data.glob("reporting.*"):
                        stale.unlink()
            else:
                data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            urls = {
                s: f"sqlite:///{data / f'{s}.db'}" for s in ("referral", "journey", "reporting")
            }
            bench(
                "SQLite (embedded default)", urls, data, args.clients, args.feeding, None, args.only
            )
    if args.store in ("postgres", "both"):
        with (
            tempfile.TemporaryDirectory() as tmp,
            postgres_database() as r,
            postgres_database() as j,
            postgres_database() as rep,
        ):
            bench(
                "PostgreSQL 15 (local)",
                {"referral": r, "journey": j, "reporting": rep},
                Path(tmp),
                args.clients,
                "both" if args.feeding == "reuse" else args.feeding,
                args.source,
                args.only,
            )


if __name__ == "__main__":
    main()
