"""Request bodies for tests: valid by default, overridable field by field."""

from datetime import timedelta
from typing import Any

from services.common.clock import today

TODAY = today()
VALID_NHS_NUMBER = "9434765919"
RISK_AREAS = [
    "suicide_self_harm",
    "substance_use",
    "harm_to_others",
    "harm_from_others",
    "self_neglect",
]


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def client_body(**override: Any) -> dict[str, Any]:
    body = {
        "given_name": "Sam",
        "family_name": "Example",
        "date_of_birth": "1985-04-12",
        "sex": "female",
        "nhs_number": VALID_NHS_NUMBER,
        "postcode_district": "LS6",
    }
    return {**body, **override}


def handover_body(**override: Any) -> dict[str, Any]:
    body = {
        "kind": "carat_to_cjit",
        "assessed_on": days_ago(40),
        "assessment_outcome": "structured_treatment_needed",
        "needs": {"drug_and_alcohol_misuse": "daily heroin use", "health": "hepatitis C test"},
        "risks": {area: "medium" for area in RISK_AREAS},
        "release_date": days_ago(31),
    }
    return {**body, **override}


def referral_body(client_id: str, **override: Any) -> dict[str, Any]:
    body = {
        "client_id": client_id,
        "source": "gp",
        "receiving_organisation": "ORG1",
        "referral_date": days_ago(30),
        "priority_flags": ["injecting"],
        "consent": {
            "given_on": days_ago(30),
            "share_with": ["ORG1", "CJIT1"],
            "purposes": ["care_coordination", "treatment"],
        },
    }
    return {**body, **override}


def handover_referral_body(client_id: str, **override: Any) -> dict[str, Any]:
    return referral_body(
        client_id,
        source="carat",
        referring_organisation="HMP1",
        receiving_organisation="CJIT1",
        handover=handover_body(),
        **override,
    )
