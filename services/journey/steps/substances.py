"""The substance profile for the national return: up to three problem substances (the first
is the main one) with the age each was first used and its route, injecting status, and
drinking days and units over the past 28 days. A later profile replaces the earlier."""

from typing import Any, Self

from pydantic import Field, model_validator

from services.common.codes import InjectingStatus, Route, Substance
from services.common.schemas import StrictIn
from services.journey.schemas import EventIn
from services.journey.state import EpisodeState, Fact
from services.journey.steps.base import JourneyEvent, Step

MAX_PROBLEM_SUBSTANCES = 3


class SubstanceProfileRecorded(JourneyEvent):
    substances: list[dict[str, Any]]
    injecting_status: InjectingStatus | None
    alcohol_days: int | None
    alcohol_units: int | None


class ProblemSubstanceIn(StrictIn):
    substance: Substance
    age_first_used: int | None = Field(None, ge=5, le=100)
    route: Route | None = None


class SubstanceProfileIn(EventIn):
    substances: list[ProblemSubstanceIn] = Field(
        min_length=1,
        max_length=MAX_PROBLEM_SUBSTANCES,
        description="Problem substances 1 to 3, the main one first.",
    )
    injecting_status: InjectingStatus | None = None
    alcohol_days: int | None = Field(None, ge=0, le=28, description="Drinking days, past 28.")
    alcohol_units: int | None = Field(None, ge=0, le=5000, description="Units, past 28 days.")

    @model_validator(mode="after")
    def consistent(self) -> Self:
        named = [s.substance for s in self.substances]
        if len(set(named)) != len(named):
            raise ValueError("each problem substance is named once")
        if self.alcohol_days == 0 and self.alcohol_units:
            raise ValueError("alcohol_units must be 0 when alcohol_days is 0")
        return self

    def event_data(self) -> dict[str, Any]:
        data = super().event_data()
        data["substances"] = [s.model_dump(mode="json") for s in self.substances]
        return data


def recorded(state: EpisodeState, fact: Fact) -> None:
    state.substance_profile_on, state.substance_profile = fact.on, fact.data


STEPS = [
    Step(
        SubstanceProfileRecorded,
        recorded,
        body=SubstanceProfileIn,
        path="substance-profile",
        summary="Substance profile: up to three problem substances (age of first use, route), "
        "injecting status, alcohol days and units in the past 28 days.",
    )
]
