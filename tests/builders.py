"""Request bodies for tests: valid by default, overridable field by field."""

import calendar
from datetime import date, timedelta
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


def last_month() -> date:
    """The first of last month: a whole month in the past, as a commissioner asks."""
    return (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)


def month_of(day: date | str) -> dict[str, str]:
    """The calendar month holding the day, as KPI query parameters."""
    first = (date.fromisoformat(day) if isinstance(day, str) else day).replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return {"period_start": first.isoformat(), "period_end": last.isoformat()}


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
