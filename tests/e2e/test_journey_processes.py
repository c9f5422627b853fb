"""The journey service as a real process following a real referral service over HTTP."""

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.auth import Role
from tests.builders import client_body, days_ago, referral_body
from tests.journey_driver import RISKS
from tests.support import ServiceProcess, auth, database_url, free_port, wait_until

pytestmark = pytest.mark.e2e
H = auth("ORG1")


@pytest.fixture
def stores(store: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    with (
        database_url(store, tmp_path, "referral") as referral_url,
        database_url(store, tmp_path, "journey") as journey_url,
    ):
        yield {
            "TJ_DATA_DIR": str(tmp_path),
            "TJ_REFERRAL_DATABASE_URL": referral_url,
            "TJ_JOURNEY_DATABASE_URL": journey_url,
            "TJ_FOLLOW_INTERVAL_SECONDS": "0.05",
        }


def services(env: dict[str, str], **journey_env: str) -> tuple[ServiceProcess, ServiceProcess]:
    referral = ServiceProcess("referral", env)
    journey = ServiceProcess("journey", {**env, "TJ_REFERRAL_URL": referral.url, **journey_env})
    return referral, journey


def accept_referrals(referral_url: str, count: int) -> set[str]:
    accepted = set()
    with httpx.Client(base_url=referral_url, headers=H) as http:
        for n in range(count):
            client = http.post("/clients", json=client_body()).json()
            referral = http.post("/referrals", json=referral_body(client["id"])).json()
            if n % 5 == 4:  # some are declined: they must open nothing
                http.post(
                    f"/referrals/{referral['id']}/decline",
                    json={"declined_on": days_ago(1), "reason": "no_capacity"},
                )
                continue
            http.post(f"/referrals/{referral['id']}/accept", json={"accepted_on": days_ago(1)})
            accepted.add(referral["id"])
    return accepted


def journey_feed(journey_url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    with httpx.Client(base_url=journey_url, headers=H) as http:
        while True:
            page = http.get("/feed", params={"after": after, "limit": 1000}).json()
            items += page["items"]
            after = page["next_after"]
            if not page["has_more"]:
                return items


def following(journey: ServiceProcess) -> dict[str, Any]:
    details = httpx.get(f"{journey.url}/health/details", headers=auth("svc", Role.SERVICE))
    return dict(details.json()["following"]["referral"])


def test_killed_follower_resumes_with_exactly_one_episode_per_acceptance(
    stores: dict[str, str],
) -> None:
    referral, journey = services(stores, TJ_FOLLOW_PAGE_SIZE="3")
    try:
        referral.start()
        accepted = accept_referrals(referral.url, 150)
        journey.start()

        def part_way() -> bool:
            status = following(journey)
            return bool(status["position"]) and not status["caught_up"]

        wait_until(part_way, interval=0.01)
        journey.kill()
        journey.start()
        wait_until(lambda: following(journey)["caught_up"])
        opened = [i for i in journey_feed(journey.url) if i["type"] == "EpisodeOpened"]
        referral_ids = [i["data"]["referral_id"] for i in opened]
        assert sorted(referral_ids) == sorted(accepted)  # each once: none doubled, none lost
    finally:
        journey.stop()
        referral.stop()


def test_follower_backs_off_while_referral_service_is_down_then_catches_up(
    stores: dict[str, str],
) -> None:
    port = free_port()
    referral = ServiceProcess("referral", stores, port=port)
    journey = ServiceProcess("journey", {**stores, "TJ_REFERRAL_URL": referral.url})
    try:
        journey.start()
        wait_until(lambda: following(journey)["last_error"])
        referral.start()
        accepted = accept_referrals(referral.url, 3)
        wait_until(lambda: following(journey)["caught_up"], timeout=60)
        status = following(journey)
        assert status["last_error"] is None and status["positions_behind"] == 0
        opened = [i for i in journey_feed(journey.url) if i["type"] == "EpisodeOpened"]
        assert {i["data"]["referral_id"] for i in opened} == accepted
    finally:
        journey.stop()
        referral.stop()


def test_parallel_writers_on_one_episode_win_or_get_409(stores: dict[str, str]) -> None:
    referral, journey = services(stores)
    try:
        referral.start()
        journey.start()
        accept_referrals(referral.url, 1)
        episode_id = wait_until(
            lambda: next(
                (
                    i["aggregate_id"]
                    for i in journey_feed(journey.url)
                    if i["type"] == "EpisodeOpened"
                ),
                None,
            )
        )
        with httpx.Client(base_url=journey.url, headers=H) as http:
            triage = {
                "on": days_ago(1),
                "urgency": "routine",
                "tier_indicated": 2,
                "outcome": "open_access_only",
                "risks": RISKS,
            }
            assert http.post(f"/episodes/{episode_id}/triage", json=triage).status_code == 201
        results: list[tuple[int, str, dict[str, Any]]] = []
        lock = threading.Lock()

        def writer(n: int) -> None:
            with httpx.Client(base_url=journey.url, headers=H, timeout=30) as http:
                for k in range(8):
                    keyworker = f"worker-{n}-{k}"
                    response = http.post(
                        f"/episodes/{episode_id}/keyworker",
                        json={"on": days_ago(1), "keyworker": keyworker},
                    )
                    with lock:
                        results.append((response.status_code, keyworker, response.json()))

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        accepted = {keyworker for status, keyworker, _ in results if status == 201}
        rejected = [body for status, _, body in results if status != 201]
        assert all(
            body["status"] == 409 and body["type"].endswith("concurrent-change")
            for body in rejected
        ), rejected
        recorded = [
            i["data"]["keyworker"]
            for i in journey_feed(journey.url)
            if i["type"] == "KeyworkerAssigned"
        ]
        assert sorted(recorded) == sorted(accepted)  # every accepted write once, nothing else
        assert len(accepted) + len(rejected) == 64
        print(f"parallel writers: {len(accepted)} accepted, {len(rejected)} answered 409")
        versions = [
            i["version"] for i in journey_feed(journey.url) if i["aggregate_id"] == episode_id
        ]
        assert versions == list(range(1, len(versions) + 1))
    finally:
        journey.stop()
        referral.stop()
