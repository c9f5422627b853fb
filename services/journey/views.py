"""Episode state and events as response models."""

from services.common.clock import today
from services.common.codes import PLANNED_EXITS
from services.common.feed import RecordedBy, event_id
from services.common.top_schedule import overdue
from services.journey.domain import Episode
from services.journey.schemas import (
    EpisodeOut,
    EventOut,
    InterventionOut,
    JourneyEpisodeOut,
    PlanOut,
    TopOut,
    plain_data,
)
from services.journey.state import Intervention
from services.journey.steps.corrections import effective
from services.journey.steps.top import top_due_on


def intervention_out(i: Intervention) -> InterventionOut:
    return InterventionOut(
        id=i.id,
        modality=i.modality,
        tier=i.tier,
        started_on=i.started_on,
        ended_on=i.ended_on,
        end_reason=getattr(i.end_reason, "value", i.end_reason),
        referred_on=i.referred_on,
        first_appointment_offered_on=i.first_appointment_offered_on,
        setting=getattr(i.setting, "value", i.setting),
        exit_status=getattr(i.exit_status, "value", i.exit_status),
    )


def episode_out(episode: Episode) -> EpisodeOut:
    s = episode.state
    due = None if s.void else top_due_on(s)
    plan = None
    if s.plan_on is not None:
        full = s.care_plan_on is not None and s.care_plan_on == s.plan_on
        plan = PlanOut(
            kind="care_plan" if full else "initial_care_plan",
            agreed_on=s.plan_on,
            goals=[plain_data(goal) for goal in s.goals],
            last_review_on=s.last_review_on,
            next_review_on=s.next_review_on,
        )
    return EpisodeOut(
        id=episode.id,
        version=episode.version,
        void=s.void,
        client_id=s.client_id,
        organisation=s.organisation,
        referral_id=s.referral_id,
        referral_date=s.referral_date,
        opened_on=s.opened_on,
        source=s.source,
        phase=s.phase,
        tier=s.tier,
        tier_indicated=s.tier_indicated,
        keyworker=s.keyworker,
        triaged_on=s.triaged_on,
        triage=plain_data(s.triage) if s.triage else None,
        comprehensive_assessment_on=s.assessed_on,
        latest_plan=plan,
        next_review_on=s.next_review_on,
        active_interventions=[intervention_out(i) for i in s.active_interventions],
        interventions=[intervention_out(i) for i in s.interventions.values()],
        risk_flags=s.risk_flags,
        handover=plain_data(s.handover) if s.handover else None,
        discharged_on=s.discharged_on,
        exit_reason=s.exit_reason,
        planned_exit=None if s.exit_reason is None else s.exit_reason in PLANNED_EXITS,
        aftercare=plain_data(s.aftercare) if s.aftercare else None,
        re_engaged_from=s.re_engaged_from,
        re_engaged_on=s.re_engaged_on,
        re_engaged_to=s.re_engaged_to,
        tops=[TopOut(on=on, stage=stage.value) for on, stage in s.tops],
        top_due_on=due,
        top_overdue=overdue(due, today()),
    )


def events_out(episode: Episode) -> list[EventOut]:
    return [
        EventOut(
            version=fact.version,
            event_id=event_id(episode.id, fact.version),
            type=fact.type,
            business_date=fact.on,
            recorded_at=fact.recorded_at,
            recorded_by=RecordedBy(**fact.recorded_by) if fact.recorded_by else None,
            corrected_at=fact.corrected_at,
            data=plain_data(fact.data),
        )
        for fact in effective(episode.facts)
    ]


def journey_episode_out(episode: Episode) -> JourneyEpisodeOut:
    return JourneyEpisodeOut(episode=episode_out(episode), events=events_out(episode))
