"""Response models of the reporting service's KPIs, caseloads and waiting list: exactly what the
routes return, so that the OpenAPI document describes it and a partner can generate a typed client.

Figures come in two forms. Providers, CJIT, CARAT teams and administrators see their own figures
exactly: a count is a whole number, a share carries its `ratio`, a median or percentile its value
in (interpolated) days. A commissioner sees them under disclosure control
(services/reporting/disclosure.py): a count is rounded to the nearest 5 or "suppressed", a share
carries a whole `percent` (or "suppressed") instead of the ratio, a median whole days or
"suppressed". The models say both, figure by figure; `suppressed_small_numbers` in the answer says
which applies.

Every model forbids properties it does not name: a figure added to the computation without its
model fails loudly in the tests rather than vanishing from the answer. Fields are declared in the
order the figures are computed, so the answer's JSON keeps its order too.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

# Published as a one-value enum rather than a `const`: generated clients (openapi-python-client)
# mis-parse `integer | const` and would reject every exact count.
Suppressed = Annotated[
    Literal["suppressed"],
    WithJsonSchema({"type": "string", "enum": ["suppressed"], "title": "Suppressed"}),
]
Phase = Literal["waiting", "engagement", "delivery", "completion"]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CountOut(Out):
    count: int | Suppressed = Field(
        description="Exact; for a commissioner rounded to the nearest 5, 0 shown, 1 to 5 "
        '"suppressed".'
    )
    of: str = Field(description="What is counted.")


class ShareOut(Out):
    """A share as seen exactly: numerator, denominator and their ratio."""

    numerator: CountOut
    denominator: CountOut
    ratio: float | None = Field(description="numerator / denominator; null when it is 0.")


class DisclosedShareOut(Out):
    """A share as a commissioner sees it: a whole percentage of the unrounded counts."""

    numerator: CountOut
    denominator: CountOut
    percent: int | Suppressed | None = Field(
        description='Whole percentage, half up; "suppressed" unless numerator and denominator '
        "are both shown; null when the denominator is 0."
    )


Share = ShareOut | DisclosedShareOut


class StatisticOut(Out):
    """A median or percentile in days, over a counted set of values."""

    value: float | int | Suppressed | None = Field(
        description="Days, interpolated between the closest ranks; for a commissioner whole days "
        'over 10 or more values, "suppressed" over fewer; null over no values.'
    )
    over: CountOut


class WaitingTimesOut(Out):
    started: CountOut
    median_days: StatisticOut
    p90_days: StatisticOut
    within_21_days: Share
    waited_42_days_or_more: CountOut
    still_waiting_42_days_or_more_at_end: CountOut


class RetentionOut(Out):
    discharged_retained: Share
    in_treatment_retained: CountOut


class PlannedExitsOut(Out):
    all: Share
    tier4: Share


class CarePlanCoverageOut(Out):
    with_care_plan: Share
    review_overdue: CountOut


class BySourceOut(Out):
    """Every referral source code, 0 included, in code order (tests check it is every
    ReferralSource)."""

    carat: CountOut
    cjit: CountOut
    family_or_friend: CountOut
    gp: CountOut
    hospital: CountOut
    other: CountOut
    other_provider: CountOut
    probation: CountOut
    self: CountOut
    social_care: CountOut


class ReferralSourcesOut(Out):
    total: CountOut
    by_source: BySourceOut


class HandoverContinuityOut(Out):
    handovers: CountOut
    accepted: Share
    median_days_release_to_acceptance: StatisticOut


class SuccessfulCompletionOut(Out):
    all: Share
    opiate: Share
    non_opiate: Share
    alcohol: Share
    non_opiate_and_alcohol: Share
    not_stated: Share


class TopChangeOut(Out):
    pairs: CountOut
    opiates: Share
    crack: Share


class KpiFiguresOut(Out):
    """Every KPI; the definitions are in docs/ (and DESIGN.md, "What is derived")."""

    numbers_in_treatment: CountOut
    waiting_times: WaitingTimesOut
    retention_12_weeks: RetentionOut
    planned_exits: PlannedExitsOut
    care_plan_coverage: CarePlanCoverageOut
    referral_sources: ReferralSourcesOut
    criminal_justice_engagement: Share
    re_engagements: CountOut
    handover_continuity: HandoverContinuityOut
    without_re_presentation: Share
    successful_completion: SuccessfulCompletionOut
    prison_to_community_continuity: Share
    top_compliance: Share
    top_change: TopChangeOut


class ScopeOut(Out):
    organisation: str | None
    area: str | None


class PeriodOut(Out):
    start: date
    end: date


class DisclosureControlOut(Out):
    rounded_to_nearest: int
    suppressed: str
    percentages: str
    medians_and_percentiles: str
    breakdowns: str


Leaf = int | float | str | None


class FigureRevisionOut(Out):
    figure: str = Field(description="Dotted path of the figure, e.g. waiting_times.started.count")
    known_at: Leaf = Field(description="As known at `known_at`.")
    current: Leaf = Field(description="As known now.")


class FeedLagOut(Out):
    applied_position: int = Field(description="The last position of the feed applied.")
    upstream_last_position: int | None = Field(description="Null until the follower has read.")
    positions_behind: int | None
    last_contact: str | None = Field(
        description="When the follower last reached the feed (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    last_error: str | None


class FeedsOut(Out):
    referral: FeedLagOut
    journey: FeedLagOut


class KpisOut(Out):
    scope: ScopeOut | Literal["overall"]
    period: PeriodOut
    as_at: date | None
    known_at: datetime | None
    suppressed_small_numbers: bool = Field(description="True for a commissioner.")
    disclosure_control: DisclosureControlOut | None = Field(
        description="The rules applied (a commissioner's answer only)."
    )
    figures: KpiFiguresOut
    revisions: list[FigureRevisionOut] | None = Field(
        description="With `known_at`: every figure that changed since; otherwise null."
    )
    feeds: FeedsOut


class CaseloadRowOut(Out):
    episode_id: str
    client_id: str
    keyworker: str | None
    phase: Phase
    tier: int | None = Field(description="The highest tier of the interventions active.")
    referral_date: date
    days_since_referral: int
    days_in_treatment: int | None
    last_review_on: date | None
    next_review_on: date | None
    review_overdue: bool
    risk_flags: list[str] = Field(description="Risk areas rated medium or high; priority flags.")
    top_due_on: date | None
    top_overdue: bool


class CaseloadOut(Out):
    organisation: str
    as_at: date
    known_at: datetime | None
    total: int = Field(description="Rows in the whole caseload (before limit and offset).")
    rows: list[CaseloadRowOut]
    feeds: FeedsOut


class WaitingRowOut(Out):
    episode_id: str
    client_id: str
    referral_date: date
    days_waiting: int
    over_3_weeks: bool
    six_weeks_or_more: bool
    phase: Phase
    keyworker: str | None


class WaitingListOut(Out):
    organisation: str
    as_at: date
    known_at: datetime | None
    rows: list[WaitingRowOut]
    feeds: FeedsOut
