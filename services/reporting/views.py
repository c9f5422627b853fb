"""Episodes and referrals as the KPIs see them, folded from effective fact rows.

Pure: rows in (already filtered to "as at" and "as known at"), views out.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.common.codes import episode_tier

STRUCTURED = (3, 4)
PLAN_TYPES = ("InitialCarePlanAgreed", "CarePlanAgreed", "CarePlanReviewed")


@dataclass
class Intervention:
    modality: str
    tier: int
    started_on: date
    ended_on: date | None = None

    @property
    def structured(self) -> bool:
        return self.tier in STRUCTURED

    def active_on(self, day: date) -> bool:
        """Started on or before the day and not ended before it."""
        return self.started_on <= day and (self.ended_on is None or self.ended_on >= day)

    def active_during(self, start: date, end: date) -> bool:
        """Active on any day of [start, end]."""
        return self.started_on <= end and (self.ended_on is None or self.ended_on >= start)


@dataclass
class EpisodeView:
    episode_id: str
    organisation: str
    client_id: str
    referral_id: str | None
    referral_date: date  # the wait starts here (a re-engaged episode: the re-engagement date)
    opened_on: date
    source: str | None
    keyworker: str | None = None
    triaged_on: date | None = None
    risks: dict[str, str] = field(default_factory=dict)
    priority_flags: list[str] = field(default_factory=list)
    interventions: dict[str, Intervention] = field(default_factory=dict)
    care_plan_dates: list[date] = field(default_factory=list)
    plans: list[tuple[date, date | None, str]] = field(default_factory=list)
    discharged_on: date | None = None
    exit_reason: str | None = None
    planned_exit: bool = False
    aftercare_on: date | None = None
    # (interview date, stage, substance use section)
    tops: list[tuple[date, str, dict[str, Any]]] = field(default_factory=list)
    substance_profiles: list[tuple[date, list[str]]] = field(default_factory=list)

    @property
    def first_structured_start(self) -> date | None:
        starts = [i.started_on for i in self.interventions.values() if i.structured]
        return min(starts) if starts else None

    @property
    def had_tier4(self) -> bool:
        """Any Tier 4 intervention in the episode before discharge."""
        cutoff = self.discharged_on or date.max
        return any(i.tier == 4 and i.started_on <= cutoff for i in self.interventions.values())

    def open_on(self, day: date) -> bool:
        """Opened on or before the day and not discharged before it."""
        return self.opened_on <= day and (self.discharged_on is None or self.discharged_on >= day)

    def waiting_on(self, day: date) -> bool:
        """Open, with no structured intervention started on or before the day."""
        first = self.first_structured_start
        return self.open_on(day) and (first is None or first > day)

    def latest_plan(self, day: date) -> tuple[date, date | None, str] | None:
        """The latest agreed or reviewed plan on or before the day."""
        earlier = [p for p in self.plans if p[0] <= day]
        return max(earlier, key=lambda p: p[0]) if earlier else None

    def phase(self, day: date) -> str:
        if self.aftercare_on is not None or (self.discharged_on and self.discharged_on <= day):
            return "completion"
        first = self.first_structured_start
        if first is not None and first <= day:
            return "delivery"
        return "engagement" if self.triaged_on is not None else "waiting"

    def tier_on(self, day: date) -> int | None:
        tier = episode_tier(i.tier for i in self.interventions.values() if i.active_on(day))
        return None if tier is None else tier.value


@dataclass
class ReferralView:
    referral_id: str
    client_id: str
    source: str
    receiving_organisation: str
    referral_date: date
    handover_kind: str | None
    release_date: date | None
    accepted_on: date | None


def fold_episode(
    rows: list[tuple[int, str, date, dict[str, Any]]], episode_id: str, organisation: str
) -> EpisodeView | None:
    """One episode from its effective facts (version, type, business date, data), in order.

    Correction events themselves carry no facts: the rows they corrected were already
    closed or replaced when the rows were selected.
    """
    if not rows or rows[0][1] != "EpisodeOpened":
        return None  # opening recorded in error (or not yet known): the episode is absent
    _, _, opened_on, d = rows[0]
    view = EpisodeView(
        episode_id=episode_id,
        organisation=organisation,
        client_id=d["client_id"],
        referral_id=d.get("referral_id"),
        referral_date=date.fromisoformat(d["referral_date"]),
        opened_on=opened_on,
        source=d.get("source"),
        keyworker=d.get("keyworker"),
        priority_flags=list(d.get("priority_flags") or []),
    )
    for _, kind, on, d in rows[1:]:
        apply(view, kind, on, d)
    if view.discharged_on is not None:  # a discharge ends what is still active
        for intervention in view.interventions.values():
            if intervention.ended_on is None or intervention.ended_on > view.discharged_on:
                intervention.ended_on = view.discharged_on
    return view


def apply(view: EpisodeView, kind: str, on: date, d: dict[str, Any]) -> None:
    match kind:
        case "TriageCompleted":
            if view.triaged_on is None:
                view.triaged_on, view.risks = on, dict(d.get("risks") or {})
        case "KeyworkerAssigned":
            view.keyworker = d["keyworker"]
        case "InitialCarePlanAgreed" | "CarePlanAgreed" | "CarePlanReviewed":
            review = d.get("next_review_on")
            view.plans.append((on, date.fromisoformat(review) if review else None, kind))
            if kind == "CarePlanAgreed":
                view.care_plan_dates.append(on)
        case "InterventionStarted":
            view.interventions[d["intervention_id"]] = Intervention(
                d["modality"], int(d["tier"]), on
            )
        case "InterventionEnded":
            if d["intervention_id"] in view.interventions:
                view.interventions[d["intervention_id"]].ended_on = on
        case "Discharged":
            view.discharged_on, view.exit_reason = on, d["exit_reason"]
            view.planned_exit = bool(d["planned"])
        case "AftercarePlanAgreed":
            view.aftercare_on = on
        case "TopRecorded":
            view.tops.append((on, d["stage"], d.get("substance_use") or {}))
        case "SubstanceProfileRecorded":
            view.substance_profiles.append((on, [s["substance"] for s in d["substances"]]))
