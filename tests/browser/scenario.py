"""A small scenario recorded through the real services' HTTP APIs, as partners record one."""

from typing import Any

import httpx

from services.common.auth import Role
from tests.builders import client_body, days_ago, referral_body
from tests.journey_driver import GOALS, RISKS
from tests.support import auth, wait_until

SERVICE = auth("browser-test", Role.SERVICE)


def record_episode(
    referral: httpx.Client, journey: httpx.Client, org: str, n: int, steps: int
) -> None:
    """One referral to `org`, accepted; then `steps` of: triage, care plan and a structured
    intervention, a planned discharge."""
    headers = auth(org, Role.PROVIDER)
    client = referral.post("/clients", json=client_body(), headers=headers)
    assert client.status_code == 201, client.text
    client_id = client.json()["id"]
    body = referral_body(
        client_id, receiving_organisation=org, referral_date=days_ago(70 - n), consent=None
    )
    made = referral.post("/referrals", json=body, headers=headers)
    assert made.status_code == 201, made.text
    accepted = referral.post(
        f"/referrals/{made.json()['id']}/accept",
        json={"accepted_on": days_ago(68 - n), "keyworker": "kim"},
        headers=headers,
    )
    assert accepted.status_code == 200, accepted.text

    def opened() -> Any:
        answer = journey.get(f"/clients/{client_id}/journey", headers=headers)
        return answer.status_code == 200 and answer.json()["episodes"]

    episode = wait_until(opened)[0]["episode"]["id"]
    triage = {
        "on": days_ago(60 - n),
        "urgency": "routine",
        "tier_indicated": 3,
        "outcome": "structured_treatment_needed",
        "risks": RISKS,
    }
    plan = {"on": days_ago(55 - n), "goals": GOALS, "next_review_on": days_ago(-30)}
    start = {"on": days_ago(50 - n), "modality": "specialist_prescribing"}
    discharge = {"on": days_ago(10), "exit_reason": "treatment_completed_drug_free"}
    recorded = [("triage", triage), ("care-plan", plan), ("interventions", start)]
    for path, step in [*recorded, ("discharge", discharge)][:steps]:
        answer = journey.post(f"/episodes/{episode}/{path}", json=step, headers=headers)
        assert answer.status_code == 201, (path, answer.text)


def record(referral_url: str, journey_url: str, episodes: dict[str, list[int]]) -> None:
    """For each organisation, one episode per entry, taken that many steps."""
    with httpx.Client(base_url=referral_url) as referral, httpx.Client(base_url=journey_url) as j:
        for org, steps in episodes.items():
            for n, count in enumerate(steps):
                record_episode(referral, j, org, n, count)


def caught_up(reporting_url: str) -> bool:
    details = httpx.get(f"{reporting_url}/health/details", headers=SERVICE, timeout=5)
    following = details.json()["following"]
    return all(f["caught_up"] and f["positions_behind"] == 0 for f in following.values())
