"""Following the referral and journey feeds into the read models, exactly once.

Each page is one database transaction: take the write lock on the feed's position, drop any
items another follower already applied, project the rest, move the position to the page's
`next_after` (even when the page held no items), commit. A crash loses the whole page or
nothing; a second follower started by mistake waits on the lock and then finds the page applied.

A stored position behind the one the follower read from means the read models were replaced
under it (a rebuild swapped in, see rebuild.py): the page is refused and the follower reads
its position again from the store.
"""

import functools
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine, insert, select, update

from services.common.feed import FeedItem
from services.common.follower import FeedFollower, TokenProvider
from services.reporting import db
from services.reporting.models import FeedPosition
from services.reporting.projection import JourneyProjector, project_referral_page

FEEDS = ("referral", "journey")
Project = Callable[[Connection, list[FeedItem]], None]


def stored_positions(engine: Engine) -> tuple[int, ...]:
    """How far each of FEEDS is applied, read together."""
    with engine.connect() as connection:
        found = dict(connection.execute(select(FeedPosition.feed, FeedPosition.position)).all())
    return tuple(int(found.get(feed) or 0) for feed in FEEDS)


def stored_position(engine: Engine, feed: str) -> int:
    with engine.connect() as connection:
        position = connection.execute(
            select(FeedPosition.position).where(FeedPosition.feed == feed)
        ).scalar()
    return int(position or 0)


class ReadModelsReplacedError(Exception):
    """The stored position moved back: these are not the read models the page was read for."""


def apply_page(
    engine: Engine,
    feed: str,
    project: Project,
    statistics: "Statistics | None",
    items: list[FeedItem],
    next_after: int,
    read_from: int | None = None,
) -> None:
    """`read_from`: the position the page was read after, as the follower knew it."""
    with db.writing(engine).begin() as connection:
        stored = connection.execute(
            select(FeedPosition.position).where(FeedPosition.feed == feed).with_for_update()
        ).scalar()
        if stored is None:  # the first page ever (a racing follower's insert fails: it retries)
            connection.execute(insert(FeedPosition).values(feed=feed, position=0))
            stored = 0
        if read_from is not None and stored < read_from:
            raise ReadModelsReplacedError(
                f"{feed} position {stored} in the store, {read_from} in the follower"
            )
        if next_after <= stored:
            return  # another follower applied this page while we fetched it
        fresh = [item for item in items if item.position > stored]
        if fresh:
            project(connection, fresh)
        connection.execute(
            update(FeedPosition).where(FeedPosition.feed == feed).values(position=next_after)
        )
    if statistics is not None:
        statistics.applied(len(fresh))


class Statistics:
    """Asks for fresh planner statistics every `every` events applied (see db.analyze)."""

    def __init__(self, engine: Engine, every: int = 200_000) -> None:
        self.engine, self.every, self.pending = engine, every, 0
        self._lock = threading.Lock()

    def applied(self, count: int) -> None:
        with self._lock:
            self.pending += count
            if self.pending < self.every:
                return
            self.pending = 0
        db.analyze(self.engine)


class PageApplier:
    """apply_page for one feed's follower, told the position the follower read from."""

    def __init__(self, engine: Engine, feed: str, project: Project, statistics: Statistics):
        self.engine, self.feed, self.project, self.statistics = engine, feed, project, statistics
        self.follower: FeedFollower | None = None

    def __call__(self, items: list[FeedItem], next_after: int) -> None:
        read_from = self.follower.position if self.follower is not None else None
        apply_page(
            self.engine, self.feed, self.project, self.statistics, items, next_after, read_from
        )


def projectors() -> dict[str, Project]:
    return {"referral": project_referral_page, "journey": JourneyProjector().project_page}


def followers(
    engine: Engine,
    urls: dict[str, str],
    token: TokenProvider,
    page_size: int,
    idle_seconds: float,
) -> dict[str, FeedFollower]:
    statistics = Statistics(engine)
    result = {}
    for feed, project in projectors().items():
        applier = PageApplier(engine, feed, project, statistics)
        applier.follower = FeedFollower(
            feed,
            f"{urls[feed]}/feed",
            token,
            applier,
            functools.partial(stored_position, engine, feed),
            page_size=page_size,
            idle_seconds=idle_seconds,
        )
        result[feed] = applier.follower
    return result
