"""Triage (§4.2, risks over the five areas of §4.5), the keyworker, and the comprehensive
assessment across the four domains (§4.4)."""

from typing import Any, Self

from pydantic import Field, model_validator

from services.common.codes import AssessmentOutcome, NeedDomain, RiskArea, RiskLevel, Tier, Urgency
from services.common.schemas import LongText, UserName
from services.journey.schemas import EventIn
from services.journey.state import EpisodeState, Fact
from services.journey.steps.base import JourneyError, JourneyEvent, Step


class TriageCompleted(JourneyEvent):
    urgency: Urgency
    tier_indicated: Tier
    outcome: AssessmentOutcome
    risks: dict[str, RiskLevel]


class KeyworkerAssigned(JourneyEvent):
    keyworker: str


class ComprehensiveAssessmentCompleted(JourneyEvent):
    needs: dict[str, str]


class AlreadyTriagedError(JourneyError):
    """The episode already has a triage assessment; correct it instead."""


class TriageIn(EventIn):
    urgency: Urgency
    tier_indicated: Tier
    outcome: AssessmentOutcome
    risks: dict[RiskArea, RiskLevel] = Field(description="A level for each area of §4.5.")

    @model_validator(mode="after")
    def all_risk_areas(self) -> Self:
        missing = [area.value for area in RiskArea if area not in self.risks]
        if missing:
            raise ValueError(f"risks must cover all five areas; missing {', '.join(missing)}")
        return self

    def event_data(self) -> dict[str, Any]:
        data = super().event_data()
        data["risks"] = {area.value: level for area, level in self.risks.items()}
        return data


class KeyworkerIn(EventIn):
    keyworker: UserName


class AssessmentIn(EventIn):
    needs: dict[NeedDomain, LongText] = Field(description="Needs in each of the four domains.")

    @model_validator(mode="after")
    def all_domains(self) -> Self:
        missing = [d.value for d in NeedDomain if d not in self.needs]
        if missing:
            raise ValueError(f"needs must cover all four domains; missing {', '.join(missing)}")
        return self

    def event_data(self) -> dict[str, Any]:
        return {"needs": {domain.value: text for domain, text in self.needs.items()}}


def check_triage(state: EpisodeState, fact: Fact) -> None:
    if state.triaged_on is not None:
        raise AlreadyTriagedError(f"The episode was triaged on {state.triaged_on}.")


def triaged(state: EpisodeState, fact: Fact) -> None:
    state.triaged_on, state.triage = fact.on, fact.data


def keyworker_assigned(state: EpisodeState, fact: Fact) -> None:
    state.keyworker = fact.data["keyworker"]


def assessed(state: EpisodeState, fact: Fact) -> None:
    state.assessed_on, state.needs = fact.on, fact.data["needs"]


STEPS = [
    Step(
        TriageCompleted,
        triaged,
        check_triage,
        body=TriageIn,
        path="triage",
        summary="Triage assessment: urgency, tier indicated, outcome, risks over the five "
        "areas of §4.5.",
    ),
    Step(
        KeyworkerAssigned,
        keyworker_assigned,
        body=KeyworkerIn,
        path="keyworker",
        summary="Assign or change the keyworker.",
    ),
    Step(
        ComprehensiveAssessmentCompleted,
        assessed,
        body=AssessmentIn,
        path="comprehensive-assessment",
        summary="Comprehensive assessment: needs across the four domains (§4.4).",
    ),
]
