"""Interventions (§9): started with a modality, whose tier the domain derives; ended once."""

from typing import Any, Self

from pydantic import Field, model_validator

from services.common.codes import (
    MODALITY_TIER,
    STRUCTURED_TIERS,
    InterventionEndReason,
    Modality,
    Tier,
)
from services.common.errors import NotVisibleError
from services.journey.schemas import EventIn
from services.journey.state import EpisodeState, Fact, Intervention
from services.journey.steps.base import JourneyError, JourneyEvent, Step


class InterventionStarted(JourneyEvent):
    intervention_id: str
    modality: Modality
    tier: Tier


class InterventionEnded(JourneyEvent):
    intervention_id: str
    reason: InterventionEndReason


class InterventionNotFoundError(JourneyError, NotVisibleError):
    """No such intervention in this episode."""


class StructuredInterventionBeforeCarePlanError(JourneyError):
    """No structured (Tier 3/4) intervention before a care plan is agreed."""


class InterventionEndsBeforeStartError(JourneyError):
    """An intervention cannot end before it starts."""


class InterventionAlreadyEndedError(JourneyError):
    """The intervention has already ended."""


class InterventionIn(EventIn):
    modality: Modality
    tier: Tier | None = Field(None, description="Optional; must be the modality's own tier.")

    @model_validator(mode="after")
    def tier_matches(self) -> Self:
        expected = MODALITY_TIER[self.modality]
        if self.tier is not None and self.tier is not expected:
            raise ValueError(f"{self.modality.value} is Tier {expected.value}")
        return self

    def event_data(self) -> dict[str, Any]:
        return {"modality": self.modality}


class InterventionEndIn(EventIn):
    reason: InterventionEndReason


def with_tier(data: dict[str, Any]) -> dict[str, Any]:
    """An intervention's tier is its modality's (§9)."""
    return {**data, "tier": MODALITY_TIER[Modality(data["modality"])]}


def check_start(state: EpisodeState, fact: Fact) -> None:
    if fact.data["tier"] not in STRUCTURED_TIERS:
        return
    if state.care_plan_on is None:
        raise StructuredInterventionBeforeCarePlanError(
            "A Tier 3/4 intervention needs an agreed care plan (an initial care plan is Tier 2)."
        )
    if fact.on < state.care_plan_on:
        raise StructuredInterventionBeforeCarePlanError(
            f"{fact.on} is before the care plan was agreed ({state.care_plan_on})."
        )


def check_end(state: EpisodeState, fact: Fact) -> None:
    intervention = state.interventions.get(fact.data["intervention_id"])
    if intervention is None:
        raise InterventionNotFoundError(f"No intervention {fact.data['intervention_id']}.")
    if intervention.ended_on is not None:
        raise InterventionAlreadyEndedError(f"It ended on {intervention.ended_on}.")
    if fact.on < intervention.started_on:
        raise InterventionEndsBeforeStartError(
            f"{fact.on} is before the intervention started ({intervention.started_on})."
        )


def started(state: EpisodeState, fact: Fact) -> None:
    d = fact.data
    state.interventions[d["intervention_id"]] = Intervention(
        id=d["intervention_id"], modality=d["modality"], tier=d["tier"], started_on=fact.on
    )


def ended(state: EpisodeState, fact: Fact) -> None:
    intervention = state.interventions.get(fact.data["intervention_id"])
    if intervention is not None:  # its start may since have been recorded in error
        intervention.ended_on, intervention.end_reason = fact.on, fact.data["reason"]


STEPS = [
    Step(InterventionStarted, started, check_start, derive=with_tier, body=InterventionIn),
    Step(InterventionEnded, ended, check_end, body=InterventionEndIn),
]
