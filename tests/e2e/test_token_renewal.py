"""The followers renew their own tokens: with service tokens that live 4 s (and no token
accepted for longer than 6 s), the system still follows after three times that long. The three
services run as `make run` runs them: the development issuer in their shared data folder."""

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.auth import Caller, Role
from services.common.issuer import Issuer, load_or_create_key
from services.common.settings import DEFAULT_ISSUER, Settings
from tests.builders import client_body, days_ago, referral_body
from tests.support import ServiceProcess, wait_until

pytestmark = pytest.mark.e2e
LIFETIME = 4


def following(reporting: ServiceProcess, headers: dict[str, str]) -> dict[str, Any]:
    details = httpx.get(f"{reporting.url}/health/details", headers=headers, timeout=5)
    return dict(details.json()["following"])


def test_followers_outlive_their_tokens(tmp_path: Path) -> None:
    env = {
        "TJ_DATA_DIR": str(tmp_path),
        "TJ_SERVICE_TOKEN_LIFETIME_SECONDS": str(LIFETIME),
        "TJ_MAX_TOKEN_LIFETIME_SECONDS": str(LIFETIME + 2),
        "TJ_FOLLOW_INTERVAL_SECONDS": "0.1",
    }
    referral = ServiceProcess("referral", env, test_issuer=False)
    journey = ServiceProcess("journey", {**env, "TJ_REFERRAL_URL": referral.url}, test_issuer=False)
    upstream = {"TJ_REFERRAL_URL": referral.url, "TJ_JOURNEY_URL": journey.url}
    reporting = ServiceProcess("reporting", {**env, **upstream}, test_issuer=False)
    processes = [referral, journey, reporting]
    try:
        for process in processes:
            process.start()
        dev = Issuer(load_or_create_key(tmp_path / "issuer-key.pem"), DEFAULT_ISSUER)
        audiences = Settings(data_dir=tmp_path).audiences()

        def headers() -> dict[str, str]:  # our own tokens must be short-lived too
            alice = Caller("alice", "ORG1", Role.PROVIDER)
            return {"Authorization": f"Bearer {dev.mint(alice, audiences, timedelta(seconds=3))}"}

        def admin() -> dict[str, str]:
            operator = Caller("ops", "ORG1", Role.ADMINISTRATOR)
            return {
                "Authorization": f"Bearer {dev.mint(operator, audiences, timedelta(seconds=3))}"
            }

        started = time.monotonic()
        while True:
            client = httpx.post(f"{referral.url}/clients", json=client_body(), headers=headers())
            client_id = client.json()["id"]
            made = httpx.post(
                f"{referral.url}/referrals", json=referral_body(client_id), headers=headers()
            )
            accepted = httpx.post(
                f"{referral.url}/referrals/{made.json()['id']}/accept",
                json={"accepted_on": days_ago(1)},
                headers=headers(),
            )
            assert accepted.status_code == 200, accepted.text
            journey_read = f"{journey.url}/clients/{client_id}/journey"

            def opened(url: str = journey_read) -> bool:
                return httpx.get(url, headers=headers()).status_code == 200

            wait_until(opened, timeout=15)
            if time.monotonic() - started > 3 * LIFETIME:
                break
            time.sleep(LIFETIME / 2)

        last = {
            feed: httpx.get(f"{url}/feed", headers=headers()).json()["last_position"]
            for feed, url in (("referral", referral.url), ("journey", journey.url))
        }
        wait_until(
            lambda: all(
                status["position"] is not None and status["position"] >= last[feed]
                for feed, status in following(reporting, admin()).items()
            ),
            timeout=15,
        )
        for status in following(reporting, admin()).values():
            assert status["last_error"] is None
    finally:
        for process in processes:
            process.stop()
