"""The aftercare plan (§9.10): drug-related and other support, and the agencies; it may be
agreed after discharge."""

from typing import Self

from pydantic import Field, model_validator

from services.common.schemas import ShortText
from services.journey.schemas import EventIn
from services.journey.state import EpisodeState, Fact
from services.journey.steps.base import JourneyEvent, Step


class AftercarePlanAgreed(JourneyEvent):
    drug_related_support: list[str]
    non_drug_related_support: list[str]
    agencies: list[str]


class AftercareIn(EventIn):
    """Drug-related and non-drug-related support after structured treatment (§9.10)."""

    drug_related_support: list[ShortText] = Field(default_factory=list, max_length=20)
    non_drug_related_support: list[ShortText] = Field(default_factory=list, max_length=20)
    agencies: list[ShortText] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def some_support(self) -> Self:
        if not (self.drug_related_support or self.non_drug_related_support):
            raise ValueError("an aftercare plan names some drug-related or other support")
        return self


def aftercare_agreed(state: EpisodeState, fact: Fact) -> None:
    state.aftercare_on, state.aftercare = fact.on, fact.data


STEPS = [
    Step(
        AftercarePlanAgreed,
        aftercare_agreed,
        body=AftercareIn,
        path="aftercare-plan",
        summary="Aftercare plan (§9.10); allowed after discharge.",
        after_discharge=True,
    )
]
