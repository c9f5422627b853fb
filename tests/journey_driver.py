"""Drives the referral and journey apps in-process: episodes open from the real referral feed."""

from typing import Any

from fastapi.testclient import TestClient

from services.common.auth import Role
from services.common.feed import FeedPage
from tests.builders import client_body, days_ago, handover_referral_body, referral_body
from tests.support import auth

H = auth("ORG1", Role.PROVIDER)
SERVICE = auth("test-service", Role.SERVICE)
CARAT = auth("HMP1", Role.CARAT)
CJIT = auth("CJIT1", Role.CJIT)
ORG_HEADERS = {"ORG1": H, "CJIT1": CJIT, "HMP1": CARAT}
RISKS = {
    area: "low"
    for area in [
        "suicide_self_harm",
        "substance_use",
        "harm_to_others",
        "harm_from_others",
        "self_neglect",
    ]
}
GOALS = [
    {"domain": "drug_and_alcohol_misuse", "goal": "stop injecting", "responsible": "client"},
    {"domain": "health", "goal": "hepatitis C test", "responsible": "keyworker"},
]

SUBSTANCES = {
    "on": days_ago(50),
    "substances": [{"substance": "heroin", "age_first_used": 19, "route": "inject"}],
    "injecting_status": "currently",
    "alcohol_days": 0,
    "alcohol_units": 0,
}
BBV = {
    "on": days_ago(48),
    "hepatitis_b": "offered_and_accepted",
    "hepatitis_b_vaccination": "one",
    "hepatitis_c": "offered_and_accepted",
    "hepatitis_c_tested_on": days_ago(48),
    "hepatitis_c_result": "negative",
}


class JourneyDriver:
    def __init__(self, referral: TestClient, journey: TestClient) -> None:
        self.referral, self.journey = referral, journey
        self.application = journey.app.state.application  # type: ignore[attr-defined]
        self.application.consent_refresher = self.refresh
        self.owners: dict[str, dict[str, str]] = {}

    def refresh(self) -> bool:
        self.follow_referrals()
        return True

    def follow_referrals(self) -> None:
        """One pass of the follower: read the referral feed after our position, apply it."""
        while True:
            after = self.application.referral_feed_position()
            page = FeedPage.model_validate(
                self.referral.get("/feed", params={"after": after}, headers=SERVICE).json()
            )
            self.application.apply_referral_page(page.items, page.next_after)
            if not page.has_more:
                return

    def accepted_referral(
        self,
        handover: bool = False,
        referred: int = 60,
        accepted: int = 58,
        client: dict[str, Any] | None = None,
        **override: Any,
    ) -> dict[str, Any]:
        make = handover_referral_body if handover else referral_body
        body = make("", referral_date=days_ago(referred), **override)
        # The referring organisation records the referral (the receiver, when there is none).
        receiver = ORG_HEADERS[body["receiving_organisation"]]
        maker = ORG_HEADERS.get(body.get("referring_organisation") or "", receiver)
        registered = self.referral.post(
            "/clients", json=client_body(**(client or {})), headers=maker
        ).json()
        body["client_id"] = registered["id"]
        referral = self.referral.post("/referrals", json=body, headers=maker).json()
        response = self.referral.post(
            f"/referrals/{referral['id']}/accept",
            json={"accepted_on": days_ago(accepted), "keyworker": "kim"},
            headers=receiver,
        )
        assert response.status_code == 200, response.text
        return dict(referral)

    def open_episode(self, **kwargs: Any) -> str:
        referral = self.accepted_referral(**kwargs)
        self.follow_referrals()
        owner = ORG_HEADERS[referral["receiving_organisation"]]
        journey = self.journey.get(f"/clients/{referral['client_id']}/journey", headers=owner)
        assert journey.status_code == 200, journey.text
        episode_id = str(journey.json()["episodes"][-1]["episode"]["id"])
        self.owners[episode_id] = owner
        return episode_id

    def headers_for(self, episode_id: str) -> dict[str, str]:
        return self.owners.get(episode_id, H)

    def post(self, episode_id: str, path: str, body: dict[str, Any], **headers: str) -> Any:
        return self.journey.post(
            f"/episodes/{episode_id}/{path}",
            json=body,
            headers={**self.headers_for(episode_id), **headers},
        )

    def ok(self, episode_id: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post(episode_id, path, body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def triage(self, episode_id: str, on: int = 55, **override: Any) -> dict[str, Any]:
        body = {
            "on": days_ago(on),
            "urgency": "routine",
            "tier_indicated": 3,
            "outcome": "structured_treatment_needed",
            "risks": RISKS,
            **override,
        }
        return self.ok(episode_id, "triage", body)

    def care_plan(self, episode_id: str, on: int = 50, review_in: int = 28) -> dict[str, Any]:
        body = {"on": days_ago(on), "goals": GOALS, "next_review_on": days_ago(on - review_in)}
        return self.ok(episode_id, "care-plan", body)

    def start(self, episode_id: str, modality: str = "specialist_prescribing", on: int = 45) -> str:
        response = self.post(
            episode_id, "interventions", {"on": days_ago(on), "modality": modality}
        )
        assert response.status_code == 201, response.text
        return str(response.headers["intervention-id"])

    def discharge(
        self, episode_id: str, on: int = 10, reason: str = "dropped_out"
    ) -> dict[str, Any]:
        return self.ok(episode_id, "discharge", {"on": days_ago(on), "exit_reason": reason})

    def feed_position(self) -> int:
        return int(self.journey.get("/feed", headers=SERVICE).json()["last_position"])

    def feed(self) -> list[dict[str, Any]]:
        page = self.journey.get("/feed", params={"limit": 1000}, headers=SERVICE).json()
        return list(page["items"])

    def episode(self, episode_id: str) -> dict[str, Any]:
        response = self.journey.get(f"/episodes/{episode_id}", headers=self.headers_for(episode_id))
        assert response.status_code == 200, response.text
        return dict(response.json())
