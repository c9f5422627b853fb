"""Runs of records the feed never serves (consent projections, idempotency keys), longer than a
page: every follower pages past them on `next_after`, reaches what follows, says it is caught up
exactly when it is, and a rebuild applies every event."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.common.auth import Role
from services.common.feed import FeedItem, FeedPage
from services.common.follower import FeedFollower
from services.common.settings import Settings
from services.journey.main import create_app as journey_app
from services.referral.main import create_app as referral_app
from services.reporting import db
from services.reporting.follower import followers
from services.reporting.main import create_app as reporting_app
from services.reporting.models import FactRow
from services.reporting.rebuild import rebuild
from tests.builders import client_body, days_ago, referral_body
from tests.journey_driver import RISKS, SERVICE, H
from tests.reporting_driver import snapshot
from tests.support import MakeSettings, ServiceProcess, token

PAGE = 10
RUN = 3 * PAGE + 5  # consent changes in a row: as many internal records in the journey feed


@dataclass
class Services:
    settings: Settings
    referral: TestClient
    journey: TestClient
    reporting: TestClient
    episode_id: str = ""

    @property
    def journey_follower(self) -> FeedFollower:
        follower: FeedFollower = self.journey.app.state.referral_follower  # type: ignore[attr-defined]
        return follower

    def reporting_follower(self, feed: str) -> FeedFollower:
        follower: FeedFollower = self.reporting.app.state.followers[feed]  # type: ignore[attr-defined]
        return follower

    def close(self) -> None:
        """Idempotent: a test may close the in-process services early, to serve their stores
        from processes."""
        for client in (self.referral, self.journey):
            client.app.state.application.close()  # type: ignore[attr-defined]
        self.reporting.app.state.engine.dispose()  # type: ignore[attr-defined]

    def follow_all(self) -> None:
        """Each follower's own paging, in-process: the journey's, then reporting's two."""
        follow_to_the_end(self.journey_follower, self.referral)
        follow_to_the_end(self.reporting_follower("referral"), self.referral)
        follow_to_the_end(self.reporting_follower("journey"), self.journey)


def follow_to_the_end(follower: FeedFollower, upstream: TestClient) -> None:
    # The in-process client routes the follower's absolute feed URL to the upstream app.
    while follower.poll_once(upstream).has_more:
        pass


def published(upstream: TestClient) -> list[FeedItem]:
    items, after, has_more = [], 0, True
    while has_more:
        response = upstream.get("/feed", params={"after": after}, headers=SERVICE)
        page = FeedPage.model_validate(response.json())
        items += page.items
        after, has_more = page.next_after, page.has_more
    return items


def keyed(key: str) -> dict[str, str]:
    return {**H, "Idempotency-Key": key}


@pytest.fixture
def services(make_settings: MakeSettings) -> Iterator[Services]:
    settings = make_settings("referral", "journey", "reporting").model_copy(
        update={"follow_page_size": PAGE}
    )
    referral, journey = referral_app(settings), journey_app(settings)
    reporting = reporting_app(settings)
    services = Services(settings, TestClient(referral), TestClient(journey), TestClient(reporting))
    yield services
    services.close()


@pytest.fixture
def run_of_internal_records(services: Services) -> Services:
    """An episode, then RUN consent changes (each a consent projection in the journey feed,
    never served), then a published event: every write with an Idempotency-Key."""
    s = services
    client = s.referral.post("/clients", json=client_body(), headers=keyed("client")).json()
    body = referral_body(client["id"], referral_date=days_ago(60))
    referral = s.referral.post("/referrals", json=body, headers=keyed("referral")).json()
    accept = {"accepted_on": days_ago(58), "keyworker": "kim"}
    response = s.referral.post(
        f"/referrals/{referral['id']}/accept", json=accept, headers=keyed("accept")
    )
    assert response.status_code == 200, response.text
    follow_to_the_end(s.journey_follower, s.referral)
    for n in range(RUN):
        consent = {"given_on": days_ago(1), "share_with": ["ORG1"], "purposes": ["treatment"]}
        response = s.referral.post(
            f"/referrals/{referral['id']}/consent", json=consent, headers=keyed(f"consent-{n}")
        )
        assert response.status_code == 200, response.text
    follow_to_the_end(s.journey_follower, s.referral)
    journey = s.journey.get(f"/clients/{client['id']}/journey", headers=H).json()
    s.episode_id = journey["episodes"][-1]["episode"]["id"]
    triage = {
        "on": days_ago(55),
        "urgency": "routine",
        "tier_indicated": 3,
        "outcome": "structured_treatment_needed",
        "risks": RISKS,
    }
    response = s.journey.post(
        f"/episodes/{s.episode_id}/triage", json=triage, headers=keyed("triage")
    )
    assert response.status_code == 201, response.text
    return s


def facts(services: Services) -> set[tuple[str, int]]:
    engine = services.reporting.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(FactRow.__table__.select()).all()
    return {(row.episode_id, row.version) for row in rows}


def test_followers_reach_the_event_after_more_than_a_page_of_internal_records(
    run_of_internal_records: Services,
) -> None:
    s = run_of_internal_records
    journey_items = published(s.journey)
    last_journey_position = FeedPage.model_validate(
        s.journey.get("/feed", headers=SERVICE).json()
    ).last_position
    # The run really is there: more than a page of positions the feed never serves.
    positions = [item.position for item in journey_items]
    assert max(b - a for a, b in pairwise(positions)) > PAGE

    s.follow_all()

    assert journey_items[-1].type == "TriageCompleted"
    assert facts(s) == {(str(i.aggregate_id), i.version) for i in journey_items}
    journey = s.reporting_follower("journey").status()
    assert journey["position"] == last_journey_position
    assert journey["caught_up"] and journey["positions_behind"] == 0
    assert s.reporting_follower("referral").status()["caught_up"]
    assert s.journey_follower.status()["caught_up"]


def test_caught_up_after_keyed_writes(services: Services) -> None:
    s = services
    for n in range(3):
        response = s.referral.post("/clients", json=client_body(), headers=keyed(f"client-{n}"))
        assert response.status_code == 201, response.text
    s.follow_all()
    # Each keyed write left an idempotency record, never served, as the feed's last position.
    for status in (s.journey_follower.status(), s.reporting_follower("referral").status()):
        assert status["caught_up"], status
        assert status["position"] == status["upstream_last_position"]
    # Each registration publishes the client and its person link (issue 17).
    assert [i.type for i in published(s.referral)] == ["ClientRegistered", "PersonLinked"] * 3


@contextmanager
def serving(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The referral and journey stores served by real processes, for the rebuild."""
    env = {
        "TJ_DATA_DIR": str(tmp_path),
        "TJ_REFERRAL_DATABASE_URL": settings.referral_database_url,
        "TJ_JOURNEY_DATABASE_URL": settings.journey_database_url,
        "TJ_FOLLOW_PAGE_SIZE": str(PAGE),
    }
    referral = ServiceProcess("referral", env).start()
    journey = ServiceProcess("journey", {**env, "TJ_REFERRAL_URL": referral.url}).start()
    try:
        yield settings.model_copy(update={"referral_url": referral.url, "journey_url": journey.url})
    finally:
        journey.stop()
        referral.stop()


def test_a_rebuild_and_a_catch_up_apply_every_event_past_a_run_of_internal_records(
    run_of_internal_records: Services, tmp_path: Path
) -> None:
    s = run_of_internal_records
    s.follow_all()
    incremental = snapshot(s.reporting.app.state.engine)  # type: ignore[attr-defined]
    expected = {"referral": len(published(s.referral)), "journey": len(published(s.journey))}
    s.close()

    with serving(s.settings, tmp_path) as settings:
        with (tmp_path / "progress.txt").open("w") as progress:
            assert rebuild(settings, out=progress) == expected
        assert "journey: " in (tmp_path / "progress.txt").read_text()
        engine = db.make_engine(settings.database_url("reporting"))
        try:
            assert snapshot(engine) == incremental
            db.drop(engine)
            db.upgrade(engine)
            service = functools.partial(token, "reporting-service", Role.SERVICE, "rebuild-test")
            urls = {"referral": settings.referral_url, "journey": settings.journey_url}
            for follower in followers(engine, urls, service, PAGE, 0).values():
                assert follower.catch_up(timeout=10), follower.last_error
                assert follower.status()["caught_up"]
            assert snapshot(engine) == incremental
        finally:
            engine.dispose()
