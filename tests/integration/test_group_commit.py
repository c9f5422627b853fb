"""Group commit on both stores: batched writes land atomically, conflicts answer per writer."""

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from services.common.codes import ReferralSource
from services.common.group_commit import GroupCommit, _Write
from services.common.store import store_env
from services.journey.application import JourneyApplication
from services.journey.domain import Episode
from services.journey.steps.base import VersionMismatchError
from tests.support import database_url

BY = {"organisation": "ORG1", "user": "alice"}
DAY = date(2026, 1, 10)


@pytest.fixture
def application(store: str, tmp_path: Path) -> Iterator[JourneyApplication]:
    with database_url(store, tmp_path, "journey") as url:
        app = JourneyApplication(env=store_env(url))
        yield app
        app.close()


def new_episode(app: JourneyApplication) -> Episode:
    episode = Episode(
        on=DAY,
        by=BY,
        client_id=uuid4(),
        organisation="ORG1",
        referral_id=uuid4(),
        referral_date=DAY,
        source=ReferralSource.GP,
        referring_organisation=None,
        priority_flags=[],
        handover=None,
        keyworker=None,
        re_engaged_from=None,
    )
    app.save(episode)
    return episode


def keyworker_events(app: JourneyApplication, episode: Episode, name: str) -> list[Any]:
    copy = app.get_episode(episode.id)
    copy.record(Episode.KeyworkerAssigned, DAY, BY, DAY, keyworker=name)
    return list(copy.collect_events())


def test_a_batch_with_a_conflict_saves_the_rest_and_fails_only_the_loser(
    application: JourneyApplication,
) -> None:
    one, two = new_episode(application), new_episode(application)
    first = _Write(keyworker_events(application, one, "a"))
    rival = _Write(keyworker_events(application, one, "b"))  # same version as `first`
    other = _Write(keyworker_events(application, two, "c"))
    committer = GroupCommit(application.events)
    committer._commit([first, rival, other])
    assert first.error is None and other.error is None
    assert isinstance(rival.error, IntegrityError)
    stored = application.repository  # version= reads the store, not the cache
    assert stored.get(one.id, version=2).state.keyworker == "a"
    assert stored.get(two.id, version=2).state.keyworker == "c"
    assert [e.originator_version for e in application.events.get(one.id)] == [1, 2]


def test_concurrent_writers_to_different_episodes_all_land(
    application: JourneyApplication,
) -> None:
    episodes = [new_episode(application) for _ in range(8)]
    errors: list[BaseException] = []

    def write(episode: Episode) -> None:
        for n in range(10):
            try:
                application.record(
                    episode.id, Episode.KeyworkerAssigned, BY, DAY, keyworker=f"k{n}"
                )
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=write, args=(e,)) for e in episodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for episode in episodes:
        stored = list(application.events.get(episode.id))
        assert [e.originator_version for e in stored] == list(range(1, 12))
        assert application.get_episode(episode.id).state.keyworker == "k9"


def test_a_stale_copy_in_another_process_is_never_written_over(store: str, tmp_path: Path) -> None:
    """Two journey applications on one store, as two processes would be. A change starts from
    the cached episode; when that copy is stale the save conflicts, and the change is made again
    on the episode read from the store, rules and all: a lone writer alternating between the
    processes never sees a conflict, and one that states the version it read is never refused
    for our stale copy."""
    with database_url(store, tmp_path, "journey") as url:
        a, b = JourneyApplication(env=store_env(url)), JourneyApplication(env=store_env(url))
        try:
            episode = new_episode(a)

            def assign(app: JourneyApplication, name: str, expected: int | None = None) -> int:
                changed, _ = app.record(
                    episode.id,
                    Episode.KeyworkerAssigned,
                    BY,
                    DAY,
                    expected_version=expected,
                    keyworker=name,
                )
                return changed.version

            assert assign(a, "a1") == 2  # a holds version 2
            assert assign(b, "b1") == 3  # b read the store: it held nothing
            assert assign(a, "a2") == 4  # a's copy was stale: it read the store again
            assert assign(b, "b2", expected=4) == 5  # b's copy is at 3: it reads, not 412
            with pytest.raises(VersionMismatchError):
                assign(a, "a3", expected=4)  # a real stale If-Match is still refused
            for n in range(20):  # alternating, with and without If-Match: never a conflict
                app = a if n % 2 else b
                assert assign(app, f"x{n}", expected=5 + n if n % 3 else None) == 6 + n
            stored = [
                (e.originator_version, getattr(e, "keyworker", None))
                for e in a.events.get(episode.id)
            ]
            assert stored[:5] == [(1, None), (2, "a1"), (3, "b1"), (4, "a2"), (5, "b2")]
            assert [v for v, _ in stored] == list(range(1, 26))
        finally:
            a.close()
            b.close()
