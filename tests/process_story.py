"""A client's journey driven over HTTP against service processes (see tests/support.py)."""

import httpx

from tests.builders import client_body, days_ago, referral_body
from tests.journey_driver import GOALS, RISKS, H
from tests.support import wait_until


def journey_story(
    referral_url: str, journey_url: str, reporting_url: str, person: dict[str, str] | None = None
) -> None:
    """A client's journey through every service, reads included, with one rule broken."""
    with (
        httpx.Client(base_url=referral_url, headers=H, timeout=10) as referral,
        httpx.Client(base_url=journey_url, headers=H, timeout=10) as journey,
    ):
        client = referral.post("/clients", json=client_body(**(person or {}))).json()
        assert referral.get(f"/clients/{client['id']}").status_code == 200
        made = referral.post("/referrals", json=referral_body(client["id"])).json()
        accept = {"accepted_on": days_ago(28), "keyworker": "kim"}
        assert referral.post(f"/referrals/{made['id']}/accept", json=accept).status_code == 200

        def opened() -> str | None:
            answer = journey.get(f"/clients/{client['id']}/journey")
            episodes = answer.json().get("episodes") if answer.status_code == 200 else None
            return str(episodes[-1]["episode"]["id"]) if episodes else None

        episode = wait_until(opened)
        plan = {"on": days_ago(20), "goals": GOALS, "next_review_on": days_ago(1)}
        broken = journey.post(f"/episodes/{episode}/care-plan", json=plan)
        assert broken.status_code == 409  # care-plan-before-triage
        triage = {
            "on": days_ago(25),
            "urgency": "routine",
            "tier_indicated": 3,
            "outcome": "structured_treatment_needed",
            "risks": RISKS,
        }
        assert journey.post(f"/episodes/{episode}/triage", json=triage).status_code == 201
        assert journey.post(f"/episodes/{episode}/care-plan", json=plan).status_code == 201
        assert journey.get(f"/episodes/{episode}").status_code == 200
    caseloads = httpx.get(f"{reporting_url}/caseloads", headers=H, timeout=10)
    assert caseloads.status_code == 200
