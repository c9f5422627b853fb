"""The Treatment Outcomes Profile (TOP): the keyworker's interview over the past 28 days, in the
four sections of the form (substance use, injecting, crime, health and social functioning), at
treatment start, every review, exit and after exit (reference §5).

Scales follow the form (reference §4.4, §5.2): a days item is the using days in each of the past
four weeks (four counts of 0-7) or its 28-day total (0-28); ratings are 0-20; yes/no items are
Y or N. `NA` is a real answer ("did not disclose or did not answer") and is allowed for every
item, but never for one week alone; an item left out was not asked. A client who did not inject
(0 days) has not shared: sharing is N (the form: "enter 0 and 'N' and skip to section 3").
"""

from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, model_validator

from services.common.codes import TopStage
from services.common.schemas import StrictIn
from services.common.top_schedule import next_top_due, review_days
from services.journey.schemas import EventIn
from services.journey.state import EpisodeState, Fact
from services.journey.steps.base import EpisodeClosedError, JourneyError, JourneyEvent, Step

NA = "NA"
Week = Annotated[int, Field(ge=0, le=7)]
Weeks = Annotated[list[Week], Field(min_length=4, max_length=4)]
Days = Weeks | Annotated[int, Field(ge=0, le=28)] | Literal["NA"]
Rating = Annotated[int, Field(ge=0, le=20)] | Literal["NA"]
YesNo = Literal["Y", "N", "NA"]

DAYS_DOC = "Days in each of the past four weeks ([0-7] x 4), or the 28-day total (0-28), or NA."


def days_total(value: Any) -> int | None:
    """The 28-day total of a days item; None when NA or not asked."""
    if isinstance(value, list):
        return sum(value)
    return value if isinstance(value, int) else None


class TopRecorded(JourneyEvent):
    stage: TopStage
    substance_use: dict[str, Any]
    injecting: dict[str, Any]
    crime: dict[str, Any]
    health_and_social: dict[str, Any]


class ReviewTopWithoutStartError(JourneyError):
    """A review TOP needs a start TOP in the episode."""


class PostExitTopBeforeDischargeError(JourneyError):
    """A post-treatment-exit TOP is recorded after the discharge."""


class SubstanceUseIn(StrictIn):
    alcohol: Days | None = Field(None, description=DAYS_DOC)
    opiates: Days | None = Field(None, description="Illicit opiates/opioids. " + DAYS_DOC)
    crack: Days | None = Field(None, description=DAYS_DOC)
    cocaine: Days | None = Field(None, description=DAYS_DOC)
    amphetamines: Days | None = Field(None, description=DAYS_DOC)
    cannabis: Days | None = Field(None, description=DAYS_DOC)
    other: Days | None = Field(None, description="Other problem substance. " + DAYS_DOC)
    tobacco: Days | None = Field(None, description=DAYS_DOC)


class InjectingIn(StrictIn):
    days: Days | None = Field(None, description="Days injected non-prescribed drugs. " + DAYS_DOC)
    needle_sharing: YesNo | None = Field(None, description="Used someone else's needle/syringe.")
    paraphernalia_sharing: YesNo | None = Field(
        None, description="Used someone else's spoon, water or filter."
    )

    @model_validator(mode="after")
    def no_sharing_without_injecting(self) -> Self:
        shared = {self.needle_sharing, self.paraphernalia_sharing} - {None, "N"}
        if days_total(self.days) == 0 and shared:
            raise ValueError("a client who did not inject has not shared: sharing is N")
        return self


class CrimeIn(StrictIn):
    shoplifting: Days | None = Field(None, description=DAYS_DOC)
    drug_selling: Days | None = Field(None, description=DAYS_DOC)
    other_theft: YesNo | None = None
    assault: YesNo | None = Field(None, description="Assault or violence.")


class HealthAndSocialIn(StrictIn):
    psychological_health: Rating | None = Field(None, description="0 (poor) to 20 (good), or NA.")
    physical_health: Rating | None = Field(None, description="0 (poor) to 20 (good), or NA.")
    quality_of_life: Rating | None = Field(None, description="0 (poor) to 20 (good), or NA.")
    paid_work: Days | None = Field(None, description=DAYS_DOC)
    education: Days | None = Field(None, description="College or school. " + DAYS_DOC)
    acute_housing_problem: YesNo | None = None
    eviction_risk: YesNo | None = None


class TopIn(EventIn):
    """`on` is the interview date."""

    stage: TopStage
    substance_use: SubstanceUseIn | None = None
    injecting: InjectingIn | None = None
    crime: CrimeIn | None = None
    health_and_social: HealthAndSocialIn | None = None

    @model_validator(mode="after")
    def something_answered(self) -> Self:
        if not any(_given(s) for s in self.sections()):
            raise ValueError("a TOP answers at least one item (NA counts as an answer)")
        return self

    def sections(self) -> list[BaseModel | None]:
        return [self.substance_use, self.injecting, self.crime, self.health_and_social]

    def event_data(self) -> dict[str, Any]:
        names = ("substance_use", "injecting", "crime", "health_and_social")
        return {"stage": self.stage} | {
            name: _given(section) for name, section in zip(names, self.sections(), strict=True)
        }


def _given(section: BaseModel | None) -> dict[str, Any]:
    if section is None:
        return {}
    return {k: v for k, v in section.model_dump(mode="json").items() if v is not None}


def with_sharing(data: dict[str, Any]) -> dict[str, Any]:
    """The NDTMS return's one sharing item: Y if either kind of sharing is Y (reference §5.2)."""
    injecting = dict(data.get("injecting") or {})
    answers = {injecting.get("needle_sharing"), injecting.get("paraphernalia_sharing")}
    if days_total(injecting.get("days")) == 0:
        answers.add("N")  # did not inject: has not shared (the form: "enter 0 and 'N'")
    if "Y" in answers:
        injecting["sharing"] = "Y"
    elif "N" in answers:
        injecting["sharing"] = "NA" if NA in answers else "N"
    elif NA in answers:
        injecting["sharing"] = NA
    return {**data, "injecting": injecting}


def check_top(state: EpisodeState, fact: Fact) -> None:
    stage = TopStage(fact.data["stage"])
    discharged = state.discharged_on
    if stage is TopStage.POST_EXIT:
        if discharged is None or fact.on < discharged:
            raise PostExitTopBeforeDischargeError(
                "A post-treatment-exit TOP is dated on or after the discharge."
            )
        return
    if discharged is not None and stage is not TopStage.EXIT:
        raise EpisodeClosedError(f"The episode was discharged on {discharged}.")
    if stage is TopStage.REVIEW and not any(s is TopStage.START for _, s in state.tops):
        raise ReviewTopWithoutStartError("A review TOP needs a start TOP in the episode.")


def top_recorded(state: EpisodeState, fact: Fact) -> None:
    state.tops.append((fact.on, TopStage(fact.data["stage"])))


def top_due_on(state: EpisodeState) -> date | None:
    """The next TOP due date (DESIGN "TOP due"), or None when none is due."""
    return next_top_due(
        [on for on, _ in state.tops],
        any(stage is TopStage.EXIT for _, stage in state.tops),
        state.first_structured_start,
        state.discharged_on,
        review_days(state.organisation),
    )


STEPS = [
    Step(
        TopRecorded,
        top_recorded,
        check_top,
        derive=with_sharing,
        body=TopIn,
        path="top",
        summary="Treatment Outcomes Profile (start, review, exit, post_exit): substance use, "
        "injecting, crime, health and social functioning over the past 28 days.",
        after_discharge=True,
    )
]
