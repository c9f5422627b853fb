"""Keyed writes on both stores, at the application: the Idempotency-Key's record is saved with
the write's events, a repeat answers the first result, and a concurrent duplicate that lost
the race answers the winner's result rather than a conflict."""

import copy
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import uuid4

import pytest

from services.common.codes import ReferralSource
from services.common.errors import IdempotencyKeyReusedError
from services.common.store import IdempotencyRecord, Receipt, store_env
from services.journey.application import JourneyApplication
from services.journey.domain import Episode
from services.journey.steps.interventions import InterventionIn
from tests.support import database_url

BY = {"organisation": "ORG1", "user": "alice"}
DAY = date(2026, 1, 10)
KEY = Receipt(organisation="ORG1", key="start-1", fingerprint="body-1")


@pytest.fixture
def application(store: str, tmp_path: Path) -> Iterator[JourneyApplication]:
    with database_url(store, tmp_path, "journey") as url:
        app = JourneyApplication(env=store_env(url))
        yield app
        app.close()


@pytest.fixture
def episode(application: JourneyApplication) -> Episode:
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
    application.save(episode)
    return episode


def start(
    app: JourneyApplication, episode: Episode, key: Receipt
) -> tuple[Episode, dict[str, str]]:
    data = InterventionIn.model_validate({"on": DAY, "modality": "harm_reduction"}).event_data()
    return app.start_intervention(episode.id, BY, DAY, None, key, **data)


def test_a_repeat_answers_the_first_result_and_records_nothing_more(
    application: JourneyApplication, episode: Episode
) -> None:
    first, created = start(application, episode, KEY)
    application.record(episode.id, Episode.KeyworkerAssigned, BY, DAY, keyworker="k")
    again, created_again = start(application, episode, KEY)
    assert (again.id, again.version, created_again) == (first.id, 2, created)
    assert list(created) == ["intervention_id"]
    assert [e.originator_version for e in application.events.get(episode.id)] == [1, 2, 3]
    other = Receipt(organisation="ORG1", key="start-1", fingerprint="body-2")
    with pytest.raises(IdempotencyKeyReusedError):
        start(application, episode, other)


def test_a_concurrent_duplicate_that_saves_second_answers_the_first_result(
    application: JourneyApplication, episode: Episode
) -> None:
    """The duplicate asked for a replay before the first request saved; its save conflicts
    and answers the first request's result."""
    stale = copy.deepcopy(application.get_episode(episode.id))
    first, created = start(application, episode, KEY)
    stale.record(Episode.KeyworkerAssigned, DAY, BY, DAY, keyworker="late")
    answered, answered_created = application.save_keyed(KEY, stale, created={"x": "y"})
    assert (answered.version, answered_created) == (first.version, created)
    assert application.get_episode(episode.id).state.keyworker is None


def test_records_keep_their_stored_topics_and_old_records_load(
    application: JourneyApplication, episode: Episode
) -> None:
    start(application, episode, KEY)
    (stored,) = application.recorder.select_events(KEY.record_id)
    assert stored.topic == "services.common.idempotency:IdempotencyRecord.IdempotencyKeyUsed"
    # A record stored before the created ids were kept: they were the answer's header.
    old = IdempotencyRecord(
        organisation="ORG1",
        key="old",
        fingerprint="f",
        aggregate_id=episode.id,
        version=1,
        headers={"Intervention-Id": "i-1"},
    )
    application.save(old)
    application.repository.cache = None  # read it from the store
    loaded = application.repository.get(old.id)
    assert isinstance(loaded, IdempotencyRecord) and loaded.created == {"intervention_id": "i-1"}
