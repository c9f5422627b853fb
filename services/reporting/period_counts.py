"""Each organisation's episode counts for each commissioner period, as known now, kept so that
an England-wide or area question sums a row per organisation instead of passing over every
episode alive in the period (at 100,000 clients, 40,000-50,000 summaries a quarter).

What is kept: for every organisation with summaries (CountedOrganisation) and every period a
commissioner may ask for (a calendar month, quarter or financial year; `kept_periods`), the
episode pass's counts (aggregates.counted_by_organisation) over the current summary rows with no
`as_at`, per client area: a PeriodCounts row.

In force: a summary counts in no period ending before the episode opened (aggregates: `opened`
by the period end), so when the projection rewrites an episode's summaries it deletes, in the
same transaction, its organisations' rows (before and after) for the periods ending on or after
its opening (before and after) (`invalidate`); likewise for a client's area recorded after its
episodes. Every other row is unchanged by that change. So a row present is in force, and the
Keeper counts again what is missing.

Read (`preset`): a kept period asked with no `as_at`, or one on or after the period end, sums
the scope's rows: the counts are the same for every such `as_at` (aggregates' days: a date after
the period end changes no count), unless an episode was discharged by the period end and
triaged after it (possible only through corrections), whose row is then read only without
`as_at`. Organisations without a row in force are counted afresh, exactly as before. As known at
T still adds what changed since T (aggregates.Pass).

Races: on SQLite the keeper reads and writes in one transaction, which fails if the projection
committed in between (SQLITE_BUSY_SNAPSHOT); on PostgreSQL it locks the organisations'
CountedOrganisation rows, which the projection writes before deleting their counts.
"""

import logging
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, bindparam, delete, func, select

from services.common.clock import today
from services.reporting import aggregates, db, disclosure
from services.reporting.aggregates import Counts, Frame
from services.reporting.kpis import Period
from services.reporting.models import CountedOrganisation, PeriodCounts

log = logging.getLogger(__name__)
KEPT_YEARS = 6  # periods starting up to six years before this month's first day
MAX_BACKOFF_SECONDS = 30.0


def kept_periods(on: date) -> list[Period]:
    """Every commissioner period starting from KEPT_YEARS years before `on`'s month to it,
    latest first (the most asked for)."""
    first = date(on.year - KEPT_YEARS, on.month, 1)
    found = []
    index = first.year * 12 + first.month - 1
    while (start := date(index // 12, index % 12 + 1, 1)) <= on:
        for months in (1, 3, 12):
            stop = index + months
            end = date.fromordinal(date(stop // 12, stop % 12 + 1, 1).toordinal() - 1)
            period = Period(start, end)
            if disclosure.period_problem(period, None) is None:
                found.append(period)
        index += 1
    return sorted(found, key=lambda p: (p.end, p.start), reverse=True)


def is_kept(period: Period, on: date) -> bool:
    first = date(on.year - KEPT_YEARS, on.month, 1)
    return first <= period.start <= on and disclosure.period_problem(period, None) is None


def invalidate(connection: Connection, earliest: dict[str, int]) -> None:
    """Delete the counts a change could change: for each organisation, those of the periods
    ending on or after `earliest[organisation]` (a day ordinal: the earliest opening among the
    episodes changed). Its CountedOrganisation row first: on PostgreSQL that waits for a keeper
    counting it, so this delete comes after the keeper's insert."""
    if not earliest:
        return
    rows = [{"organisation": o, "changed_from": d} for o, d in sorted(earliest.items())]
    insert = db.insert_of(connection)
    statement = insert(CountedOrganisation)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["organisation"],
            set_={"changed_from": statement.excluded.changed_from},
        ),
        rows,
    )
    connection.execute(
        delete(PeriodCounts).where(
            PeriodCounts.organisation == bindparam("organisation"),
            PeriodCounts.period_end >= bindparam("changed_from"),
        ),
        rows,
    )


def encoded(areas: dict[str, Counts], sensitive: int) -> str:
    return orjson.dumps(
        {
            "sensitive": sensitive,
            "areas": {
                area: [c.counts, c.groups, {str(w): n for w, n in c.waits.items()}]
                for area, c in areas.items()
            },
        }
    ).decode()


def decoded(text: str) -> tuple[dict[str, Counts], int]:
    data = orjson.loads(text)
    areas = {}
    for area, (counts, groups, waits) in data["areas"].items():
        found = aggregates.no_counts()
        found.counts = counts
        found.groups = {g: (done, n) for g, (done, n) in groups.items()}
        found.waits.update({int(w): n for w, n in waits.items()})
        areas[area] = found
    return areas, data["sensitive"]


def days(period: Period, as_at: date | None = None) -> dict[str, Any]:
    """The bind parameters of aggregates.statement_of for a period, as at (None: no as_at)."""
    start, end = period.start.toordinal(), period.end.toordinal()
    at = as_at.toordinal() if as_at is not None else aggregates.NEVER
    return {"start": start, "end": end, "as_at": at, "upto": min(end, at)}


def read(connection: Connection, f: Frame, on: date) -> Counts | None:
    """The current rows' counts of the frame's question from the kept rows, the organisations
    without a row in force counted afresh; None when the question is not one kept, or most of
    its organisations have no row (then one pass over all is quicker)."""
    period = Period(date.fromordinal(f.start), date.fromordinal(f.end))
    as_at, scope = f.knowledge.as_at, f.scope
    if not is_kept(period, on) or (as_at is not None and as_at < period.end):
        return None
    query = select(PeriodCounts.organisation, PeriodCounts.counts).where(
        PeriodCounts.period_start == f.start, PeriodCounts.period_end == f.end
    )
    organisations = select(CountedOrganisation.organisation)
    if scope.organisation is not None:
        query = query.where(PeriodCounts.organisation == scope.organisation)
        organisations = organisations.where(CountedOrganisation.organisation == scope.organisation)
    rows = {o: c for o, c in connection.execute(query)}
    everyone = list(connection.execute(organisations).scalars())
    found, afresh = aggregates.no_counts(), []
    for organisation in everyone:
        kept = rows.get(organisation)
        if kept is None or not added(found, kept, scope.area, as_at is not None):
            afresh.append(organisation)
    if len(afresh) * 2 > len(everyone):
        return None
    if afresh:
        counted = aggregates.counted_by_organisation(connection, days(period, as_at), afresh)
        for areas, _ in counted.values():
            found = add_areas(found, areas, scope.area)
    return found


def added(found: Counts, kept: str, area: str | None, as_at: bool) -> bool:
    """Add a kept row's counts (of one client area, or all) into `found` in place (summing
    Counts objects instead took ~10 ms England-wide); False, adding nothing, when the row may
    not be read for a question with an `as_at` (see the module's docstring)."""
    data = orjson.loads(kept)
    if data["sensitive"] and as_at:
        return False
    for name, (counts, groups, waits) in data["areas"].items():
        if area is None or name == area:
            found.counts = [a + b for a, b in zip(found.counts, counts, strict=True)]
            for group, (done, n) in groups.items():
                done_before, n_before = found.groups[group]
                found.groups[group] = (done_before + done, n_before + n)
            for wait, n in waits.items():
                found.waits[int(wait)] += n
    return True


def add_areas(found: Counts, areas: dict[str, Counts], area: str | None) -> Counts:
    for name, counts in areas.items():
        if area is None or name == area:
            found = found + counts
    return found


def preset(connection: Connection, frames: list[Frame], on: date) -> None:
    """Give each frame's shared pass its current rows' counts from the kept rows, where the
    question is one kept (aggregates.Pass counts the rest as before)."""
    for f in frames:
        if f.shared.current is None:
            f.shared.current = read(connection, f, on)


def missing(connection: Connection, on: date) -> list[tuple[Period, list[str]]]:
    """The kept periods with organisations that have no row for them, latest first."""
    everyone = set(connection.execute(select(CountedOrganisation.organisation)).scalars())
    present: dict[tuple[int, int], set[str]] = {}
    for start, end, organisation in connection.execute(
        select(PeriodCounts.period_start, PeriodCounts.period_end, PeriodCounts.organisation)
    ):
        present.setdefault((start, end), set()).add(organisation)
    found = []
    for period in kept_periods(on):
        key = (period.start.toordinal(), period.end.toordinal())
        if absent := everyone - present.get(key, set()):
            found.append((period, sorted(absent)))
    return found


def all_kept(connection: Connection, on: date) -> bool:
    """Every organisation has a row for every kept period: two counts, where `missing` reads
    every row's key (an idle keeper asks this every follow interval)."""
    periods = kept_periods(on)
    organisations = connection.execute(select(func.count()).select_from(CountedOrganisation))
    rows = connection.execute(
        select(func.count())
        .select_from(PeriodCounts)
        .where(PeriodCounts.period_start >= min(p.start for p in periods).toordinal())
        .where(PeriodCounts.period_start <= max(p.start for p in periods).toordinal())
    )
    # Rows are only stored for kept periods of counted organisations, so equal counts mean
    # none is missing.
    return rows.scalar_one() == organisations.scalar_one() * len(periods)


def keep_one(engine: Engine, on: date) -> int:
    """Count one kept period for the organisations without a row for it, in one transaction;
    the number of periods that were missing rows (0: all kept)."""
    with engine.connect() as connection, connection.begin():
        if all_kept(connection, on):
            return 0
        wanted = missing(connection, on)
        if wanted:
            store(connection, *count(connection, *wanted[0]))
        return len(wanted)


def count(
    connection: Connection, period: Period, organisations: list[str]
) -> tuple[Period, dict[str, tuple[dict[str, Counts], int]]]:
    """The organisations' counts for the period, their CountedOrganisation rows locked first
    (PostgreSQL; see `invalidate`)."""
    locked = (
        select(CountedOrganisation.organisation)
        .where(CountedOrganisation.organisation.in_(organisations))
        .order_by(CountedOrganisation.organisation)
        .with_for_update()
    )
    chosen = list(connection.execute(locked).scalars())
    return period, aggregates.counted_by_organisation(connection, days(period), chosen)


def store(
    connection: Connection, period: Period, counted: dict[str, tuple[dict[str, Counts], int]]
) -> None:
    """Insert the rows `count` counted (on SQLite this fails if the projection committed since
    the transaction's first read: its snapshot is no longer the latest)."""
    rows = [
        {
            "period_start": period.start.toordinal(),
            "period_end": period.end.toordinal(),
            "organisation": organisation,
            "counts": encoded(*found),
        }
        for organisation, found in counted.items()
    ]
    if rows:
        insert = db.insert_of(connection)
        connection.execute(insert(PeriodCounts).on_conflict_do_nothing(), rows)


class Keeper:
    """Counts what is missing, one period at a time, while `ready()` (the followers caught up:
    during a catch-up every page would undo the work)."""

    def __init__(self, engine: Engine, ready: Callable[[], bool], idle_seconds: float) -> None:
        self.engine, self.ready, self.idle_seconds = engine, ready, idle_seconds
        self.periods_missing: int | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        wait = self.idle_seconds
        while not self._stop.is_set():
            try:
                if self.ready():
                    self.periods_missing = keep_one(self.engine, today())
                    self.last_error, wait = None, self.idle_seconds
                    if self.periods_missing:
                        continue
            # The projection wrote first (SQLite), or the read models are unreachable: count
            # again later, backing off while it fails.
            except Exception as error:
                self.last_error = f"{type(error).__name__}: {error}"
                log.warning("keeping period counts: %s; again in %.1fs", error, wait)
                self._stop.wait(wait)
                wait = min(wait * 2, MAX_BACKOFF_SECONDS)
                continue
            self._stop.wait(self.idle_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="period-counts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def status(self) -> dict[str, Any]:
        return {
            "periods_missing": self.periods_missing,
            "all_kept": self.periods_missing == 0,
            "last_error": self.last_error,
        }
