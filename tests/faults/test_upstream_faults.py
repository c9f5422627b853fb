"""A slow or frozen referral service never freezes the journey service.

The journey service asks the referral feed for the client's consent before it shares another
organisation's part. When that feed is frozen (SIGSTOP) or answers slowly, such reads fail
closed within the consent timeout with 503 and Retry-After (not 404, which would tell a partner
the record does not exist), and the owner's own reads and writes never wait on it.
"""

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.auth import Role
from tests.builders import client_body, days_ago, referral_body
from tests.support import ServiceProcess, auth, wait_until

pytestmark = pytest.mark.e2e
CJIT, TIER3 = auth("CJIT1", Role.CJIT), auth("T3", Role.PROVIDER)
PARTNER_READS = 40
# The consent timeout (1 s here), the cool-down after it, and slack for a busy 2-core machine.
BOUND = 8.0


@pytest.fixture
def system(tmp_path: Path) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    env = {"TJ_DATA_DIR": str(tmp_path), "TJ_FOLLOW_INTERVAL_SECONDS": "0.2"}
    referral = ServiceProcess("referral", env).start()
    journey = ServiceProcess(
        "journey",
        {**env, "TJ_REFERRAL_URL": referral.url, "TJ_CONSENT_TIMEOUT_SECONDS": "1"},
    ).start()
    try:
        yield referral, journey
    finally:
        assert referral.process is not None
        os.kill(referral.process.pid, signal.SIGCONT)
        journey.stop()
        referral.stop()


def shared_episode(referral: str, journey: str) -> str:
    """A Tier 3 episode at T3 that the client's consent lets CJIT1 see."""
    client = httpx.post(f"{referral}/clients", json=client_body(), headers=CJIT).json()["id"]
    body = referral_body(
        client,
        source="cjit",
        receiving_organisation="T3",
        referral_date=days_ago(40),
        consent={
            "given_on": days_ago(40),
            "share_with": ["CJIT1", "T3"],
            "purposes": ["care_coordination"],
        },
    )
    made = httpx.post(f"{referral}/referrals", json=body, headers=CJIT).json()["id"]
    accepted = httpx.post(
        f"{referral}/referrals/{made}/accept", json={"accepted_on": days_ago(38)}, headers=TIER3
    )
    assert accepted.status_code == 200, accepted.text
    # T3 holds its part: its own consent opens it to CJIT1.
    own_consent = {
        "given_on": days_ago(38),
        "share_with": ["CJIT1"],
        "purposes": ["care_coordination"],
    }
    held = httpx.post(f"{referral}/referrals/{made}/consent", json=own_consent, headers=TIER3)
    assert held.status_code == 200, held.text

    def opened() -> str | None:
        episodes = httpx.get(f"{journey}/clients/{client}/journey", headers=TIER3).json()
        ids = [e["episode"]["id"] for e in episodes.get("episodes", [])]
        return ids[0] if ids else None

    episode: str = wait_until(opened)
    return episode


def read_as_partner(journey: str, episode: str) -> httpx.Response:
    headers = {**CJIT, "Purpose": "care_coordination"}
    return httpx.get(f"{journey}/episodes/{episode}", headers=headers, timeout=BOUND)


def test_a_frozen_referral_service_fails_partner_reads_closed_and_never_the_owners_work(
    system: tuple[ServiceProcess, ServiceProcess],
) -> None:
    referral, journey = system
    episode = shared_episode(referral.url, journey.url)
    assert read_as_partner(journey.url, episode).status_code == 200
    assert referral.process is not None
    os.kill(referral.process.pid, signal.SIGSTOP)  # frozen: connections hang, nothing answers

    partner_answers: list[httpx.Response] = []
    owner_answers: list[httpx.Response] = []

    def partner() -> None:
        partner_answers.append(read_as_partner(journey.url, episode))

    def owner() -> None:  # one keyworker, working through the day
        with httpx.Client(base_url=journey.url, headers=TIER3, timeout=BOUND) as http:
            for n in range(10):
                body = {"on": days_ago(1), "keyworker": f"k{n}"}
                owner_answers.append(http.post(f"/episodes/{episode}/keyworker", json=body))
                owner_answers.append(http.get(f"/episodes/{episode}"))

    threads = [threading.Thread(target=partner) for _ in range(PARTNER_READS)]
    threads.append(threading.Thread(target=owner))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(partner_answers) == PARTNER_READS
    for answer in partner_answers:
        assert answer.status_code == 503, answer.text  # fail closed, and not "no such record"
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith("/consent-unknown")
        assert int(answer.headers["retry-after"]) > 0
    assert [a.status_code for a in owner_answers] == [201, 200] * 10
    ready = httpx.get(f"{journey.url}/health/ready", timeout=BOUND)
    assert ready.status_code == 503
    assert any(r.startswith("referral feed") for r in ready.json()["reasons"]), ready.json()

    os.kill(referral.process.pid, signal.SIGCONT)
    assert wait_until(lambda: read_as_partner(journey.url, episode).status_code == 200, timeout=20)
    assert wait_until(
        lambda: httpx.get(f"{journey.url}/health/ready", timeout=BOUND).status_code == 200,
        timeout=20,
    )


class SlowFeed:
    """An HTTP proxy in front of the referral service that answers every request late."""

    def __init__(self, upstream: str, delay: float) -> None:
        import http.server

        self.upstream, self.delay = upstream, delay
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                threading.Event().wait(proxy.delay)
                answer = httpx.get(proxy.upstream + self.path, headers=dict(self.headers))
                self.send_response(answer.status_code)
                self.send_header("content-type", answer.headers.get("content-type", ""))
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_slow_referral_feed_fails_partner_reads_closed_and_never_the_owners_writes(
    tmp_path: Path,
) -> None:
    env = {"TJ_DATA_DIR": str(tmp_path), "TJ_FOLLOW_INTERVAL_SECONDS": "0.2"}
    referral = ServiceProcess("referral", env).start()
    slow = SlowFeed(referral.url, delay=0.0)
    journey = ServiceProcess(
        "journey", {**env, "TJ_REFERRAL_URL": slow.url, "TJ_CONSENT_TIMEOUT_SECONDS": "1"}
    ).start()
    try:
        episode = shared_episode(referral.url, journey.url)
        assert read_as_partner(journey.url, episode).status_code == 200
        slow.delay = 3.0
        answers: list[httpx.Response] = []

        def partner() -> None:
            answers.append(read_as_partner(journey.url, episode))

        threads = [threading.Thread(target=partner) for _ in range(PARTNER_READS)]
        for thread in threads:
            thread.start()
        with httpx.Client(base_url=journey.url, headers=TIER3, timeout=BOUND) as http:
            for n in range(10):
                written = http.post(
                    f"/episodes/{episode}/keyworker", json={"on": days_ago(1), "keyworker": f"k{n}"}
                )
                assert written.status_code == 201, written.text
        for thread in threads:
            thread.join()
        assert {a.status_code for a in answers} == {503}
        slow.delay = 0.0
        assert wait_until(
            lambda: read_as_partner(journey.url, episode).status_code == 200, timeout=30
        )
    finally:
        slow.server.shutdown()
        journey.stop()
        referral.stop()
