"""Opening episodes from referral-feed pages: exactly once, position stored with the episode."""

from fastapi.testclient import TestClient

from services.common.feed import FeedPage
from tests.builders import days_ago
from tests.journey_driver import SERVICE, H, JourneyDriver


def page(referral: TestClient, after: int = 0) -> FeedPage:
    return FeedPage.model_validate(
        referral.get("/feed", params={"after": after}, headers=SERVICE).json()
    )


def opened(driver: JourneyDriver) -> list[str]:
    return [i["data"]["referral_id"] for i in driver.feed() if i["type"] == "EpisodeOpened"]


def test_a_page_applied_twice_opens_each_episode_once(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    first = d.accepted_referral()
    second = d.accepted_referral()
    feed_page = page(d.referral)
    d.application.apply_referral_page(feed_page.items, feed_page.next_after)
    d.application.apply_referral_page(feed_page.items, feed_page.next_after)
    assert sorted(opened(d)) == sorted([first["id"], second["id"]])
    assert d.application.referral_feed_position() == feed_page.next_after


def test_events_that_open_nothing_still_move_the_position(journey_driver: JourneyDriver) -> None:
    d = journey_driver
    client = d.referral.post(
        "/clients",
        json={"given_name": "A", "family_name": "B", "date_of_birth": "1980-01-01", "sex": "male"},
        headers=H,
    ).json()
    referral = d.referral.post(
        "/referrals",
        headers=H,
        json={
            "client_id": client["id"],
            "source": "self",
            "receiving_organisation": "ORG1",
            "referral_date": days_ago(3),
        },
    ).json()
    d.referral.post(
        f"/referrals/{referral['id']}/withdraw",
        headers=H,
        json={"withdrawn_on": days_ago(1), "reason": "client_withdrew"},
    )
    feed_page = page(d.referral)
    d.application.apply_referral_page(feed_page.items, feed_page.next_after)
    assert opened(d) == []
    assert d.application.referral_feed_position() == feed_page.next_after
    assert page(d.referral, d.application.referral_feed_position()).items == []
