"""Care planning: the initial care plan after triage (§4.3), the care plan with goals across
the four domains (§5.3.2), and its reviews."""

from datetime import date
from typing import Any, Self

from pydantic import Field, model_validator

from services.common.codes import GoalProgress
from services.common.schemas import Day, LongText, StrictIn
from services.journey.schemas import MAX_GOALS, EventIn, GoalIn, PlanIn
from services.journey.state import EpisodeState, Fact
from services.journey.steps.base import JourneyError, JourneyEvent, Step


class InitialCarePlanAgreed(JourneyEvent):
    goals: list[dict[str, Any]]
    next_review_on: date | None


class CarePlanAgreed(JourneyEvent):
    goals: list[dict[str, Any]]
    next_review_on: date


class CarePlanReviewed(JourneyEvent):
    progress: list[dict[str, Any]]
    revised_goals: list[dict[str, Any]] | None
    next_review_on: date


class CarePlanBeforeTriageError(JourneyError):
    """No care plan before triage."""


class ReviewWithoutPlanError(JourneyError):
    """No care plan review without an agreed plan."""


class UnknownGoalError(JourneyError):
    """The review refers to a goal the current plan does not have."""


class InitialCarePlanIn(PlanIn):
    """An initial care plan after triage: immediate needs, Tier 2 level (§4.3)."""

    next_review_on: Day | None = None

    @model_validator(mode="after")
    def review_after_agreement(self) -> Self:
        self.check_review_date(self.next_review_on)
        return self


class CarePlanIn(PlanIn):
    """Goals across the four domains, each with who is responsible (§5.3.2)."""

    next_review_on: Day

    @model_validator(mode="after")
    def review_after_agreement(self) -> Self:
        self.check_review_date(self.next_review_on)
        return self


class GoalProgressIn(StrictIn):
    goal: int = Field(ge=0, lt=MAX_GOALS, description="Index of the goal in the current plan.")
    progress: GoalProgress
    note: LongText | None = None


class ReviewIn(EventIn):
    progress: list[GoalProgressIn] = Field(min_length=1, max_length=MAX_GOALS)
    revised_goals: list[GoalIn] | None = Field(None, max_length=MAX_GOALS)
    next_review_on: Day

    @model_validator(mode="after")
    def review_after_review(self) -> Self:
        if self.next_review_on <= self.on:
            raise ValueError("next_review_on must be after the review")
        return self


def check_plan(state: EpisodeState, fact: Fact) -> None:
    if state.triaged_on is None:
        raise CarePlanBeforeTriageError("Record the triage assessment first.")
    if fact.on < state.triaged_on:
        raise CarePlanBeforeTriageError(f"{fact.on} is before the triage ({state.triaged_on}).")


def check_review(state: EpisodeState, fact: Fact) -> None:
    plan_on = state.plan_on
    if plan_on is None:
        raise ReviewWithoutPlanError("Agree an initial care plan or a care plan first.")
    if fact.on < plan_on:
        raise ReviewWithoutPlanError(f"{fact.on} is before the plan was agreed ({plan_on}).")
    for progress in fact.data["progress"]:
        if not 0 <= progress["goal"] < len(state.goals):
            raise UnknownGoalError(
                f"Goal {progress['goal']} does not exist; the plan has goals "
                f"0 to {len(state.goals) - 1}."
            )


def initial_plan_agreed(state: EpisodeState, fact: Fact) -> None:
    state.initial_plan_on = fact.on
    state.goals, state.next_review_on = list(fact.data["goals"]), fact.data["next_review_on"]


def plan_agreed(state: EpisodeState, fact: Fact) -> None:
    state.care_plan_on = fact.on
    state.goals, state.next_review_on = list(fact.data["goals"]), fact.data["next_review_on"]


def reviewed(state: EpisodeState, fact: Fact) -> None:
    state.last_review_on, state.next_review_on = fact.on, fact.data["next_review_on"]
    if fact.data["revised_goals"]:
        state.goals = list(fact.data["revised_goals"])


STEPS = [
    Step(
        InitialCarePlanAgreed,
        initial_plan_agreed,
        check_plan,
        body=InitialCarePlanIn,
        path="initial-care-plan",
        summary="Initial care plan after triage (§4.3). Rule: not before triage.",
    ),
    Step(
        CarePlanAgreed,
        plan_agreed,
        check_plan,
        body=CarePlanIn,
        path="care-plan",
        summary="Care plan agreed (§5.3.2). Rule: not before triage.",
    ),
    Step(
        CarePlanReviewed,
        reviewed,
        check_review,
        body=ReviewIn,
        path="care-plan-reviews",
        summary="Care plan reviewed. Rule: needs an agreed plan (initial or full), not dated "
        "before it.",
    ),
]
