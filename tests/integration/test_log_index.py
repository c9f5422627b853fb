"""A service's log index is built from start-up in the background: until it is, the requests
that need it answer 503 (Retry-After) at once and the service is not ready, instead of each
reading the whole log alongside it (after a restart at 100,000 clients every feed request
timed out)."""

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.auth import Role
from services.common.log_index import IndexWarmingError, LogIndex
from services.common.store import store_env
from services.journey.application import JourneyApplication
from services.journey.main import create_app as create_journey
from services.referral.application import ReferralApplication
from tests.generator import generate
from tests.support import MakeSettings, assert_problem, auth

SERVICE = auth("reporting", Role.SERVICE)


def test_requests_wait_for_nothing_while_the_index_warms(make_settings: MakeSettings) -> None:
    settings = make_settings("referral", "journey")
    referrals = ReferralApplication(env=store_env(settings.database_url("referral")))
    journeys = JourneyApplication(env=store_env(settings.database_url("journey")))
    generate(referrals, journeys, 20, organisations=2)
    released, opened = threading.Event(), []

    def slow(event: Any) -> None:  # indexing that takes as long as the test says
        released.wait(10)
        opened.append(event.originator_id)

    index = LogIndex(journeys, slow, frozenset({"EpisodeOpened"}))
    index.warm(wait_seconds=0.1)
    with pytest.raises(IndexWarmingError, match="indexing its event log"):
        index.catch_up()
    assert index.reasons() and "indexing the event log" in index.reasons()[0]
    released.set()
    index.warm_done(5)
    index.catch_up()  # answers now
    assert index.reasons() == []
    # Only the openings were decoded and indexed: one per episode.
    episodes = {n.originator_id for n in journeys.recorder.select_notifications(0, 10_000)}
    assert sorted(opened) == sorted(set(opened)) and set(opened) <= episodes and opened
    referrals.close()
    journeys.close()


def test_a_feed_read_while_warming_answers_503_and_readiness_says_why(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings("referral", "journey")
    referrals = ReferralApplication(env=store_env(settings.database_url("referral")))
    journeys = JourneyApplication(env=store_env(settings.database_url("journey")))
    generate(referrals, journeys, 5, organisations=2)
    referrals.close()
    journeys.close()
    released = threading.Event()
    original = JourneyApplication._index_event

    def slow(self: JourneyApplication, event: Any) -> None:
        released.wait(10)
        original(self, event)

    monkeypatch.setattr(JourneyApplication, "_index_event", slow)
    monkeypatch.setattr("services.journey.main.WARM_WAIT_SECONDS", 0.1)
    with TestClient(create_journey(settings)) as journey:
        answer = journey.get("/feed", headers=SERVICE)
        assert_problem(answer, 503)
        assert answer.headers["Retry-After"]
        ready = journey.get("/health/ready")
        assert ready.status_code == 503
        assert any("indexing the event log" in r for r in ready.json()["reasons"])
        released.set()
        journey.app.state.application.log_index.warm_done(5)
        assert journey.get("/feed", headers=SERVICE).status_code == 200
        assert not any("indexing" in r for r in journey.get("/health/ready").json()["reasons"])
