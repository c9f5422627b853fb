"""A realistic set of journeys, written through the real domain commands (every rule runs),
saved in batches for speed: clients, referrals (accepted, declined, withdrawn), then episodes
with triage, plans, reviews, interventions by modality and tier, discharges with the mix of
exit reasons, drop-outs, corrections and re-engagements of a real area.
"""

import contextlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from services.common.clock import today
from services.common.codes import (
    MODALITY_TIER,
    PLANNED_EXITS,
    AssessmentOutcome,
    DeclineReason,
    ExitReason,
    HandoverKind,
    InterventionEndReason,
    Modality,
    NeedDomain,
    PriorityFlag,
    ReferralSource,
    RiskLevel,
    Sex,
    Tier,
    TopStage,
    Urgency,
    WithdrawalReason,
)
from services.common.feed import read_feed
from services.common.progress import progress as progress_display
from services.journey.application import JourneyApplication
from services.journey.domain import Episode
from services.journey.steps.base import JourneyEvent
from services.referral.application import ReferralApplication
from services.referral.domain import Client, Referral
from tests import generator_ndtms as ndtms

SOURCES = [
    (ReferralSource.SELF, 25),
    (ReferralSource.GP, 20),
    (ReferralSource.CJIT, 15),
    (ReferralSource.CARAT, 10),
    (ReferralSource.PROBATION, 10),
    (ReferralSource.HOSPITAL, 8),
    (ReferralSource.OTHER_PROVIDER, 7),
    (ReferralSource.SOCIAL_CARE, 5),
]
MODALITIES = [
    (Modality.SPECIALIST_PRESCRIBING, 40),
    (Modality.GP_PRESCRIBING, 15),
    (Modality.STRUCTURED_PSYCHOSOCIAL, 20),
    (Modality.STRUCTURED_DAY_PROGRAMME, 8),
    (Modality.OTHER_STRUCTURED, 7),
    (Modality.INPATIENT, 5),
    (Modality.RESIDENTIAL_REHABILITATION, 5),
]
EXITS = [
    (ExitReason.TREATMENT_COMPLETED_DRUG_FREE, 30),
    (ExitReason.TREATMENT_COMPLETED_OCCASIONAL_USER, 15),
    (ExitReason.DROPPED_OUT, 30),
    (ExitReason.TRANSFERRED, 10),
    (ExitReason.IN_CUSTODY, 5),
    (ExitReason.MOVED_AWAY, 5),
    (ExitReason.TREATMENT_WITHDRAWN, 3),
    (ExitReason.DIED, 2),
]
AREAS = ["LS6", "LS9", "BD1", "M1", "M13", "B33", "S2", "NE1", "L8", "SW1A"]
RISKS = ["suicide_self_harm", "substance_use", "harm_to_others", "harm_from_others", "self_neglect"]


@dataclass
class Generated:
    clients: int = 0
    referrals: int = 0
    episodes: int = 0
    referral_events: int = 0
    journey_events: int = 0


def pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def generate(
    referrals: ReferralApplication,
    journeys: JourneyApplication,
    clients: int,
    organisations: int = 50,
    years: int = 5,
    seed: int = 7,
    batch: int = 500,
    progress: bool = False,
    changes: float = 0.0,
) -> Generated:
    """`changes`: the chance, at each plan review, that the structured intervention ends and
    another starts after a gap (0 by default, so the default data stay the same)."""
    rng = random.Random(seed)
    now = today()
    first_day = now - timedelta(days=365 * years)
    orgs = [f"ORG{n:02d}" for n in range(organisations)]
    by = {"organisation": "GENERATOR", "user": "generator"}
    stats = Generated()
    pending: list[Any] = []
    accepted: list[Referral] = []

    def flush(app: Any) -> None:
        if pending:
            app.save(*pending)
            pending.clear()

    stack = contextlib.ExitStack()
    bar = stack.enter_context(progress_display(unit="items")) if progress else None
    task = bar.add_task("referral side: clients", total=clients) if bar else None
    for n in range(clients):
        client = Client(
            on=now,
            by=by,
            given_name=f"Given{n}",
            family_name=f"Family{n}",
            date_of_birth=date(1960 + rng.randrange(40), 1 + rng.randrange(12), 1),
            sex=rng.choice([Sex.MALE, Sex.FEMALE]),
            nhs_number=None,
            postcode_district=rng.choice(AREAS),
        )
        receiver = rng.choice(orgs)
        referral_date = first_day + timedelta(days=rng.randrange((now - first_day).days - 30))
        source = pick(rng, SOURCES)
        handover = None
        if source is ReferralSource.CARAT and rng.random() < 0.7:
            handover = {
                "kind": HandoverKind.CARAT_TO_CJIT,
                "assessed_on": referral_date - timedelta(days=5),
                "assessment_outcome": AssessmentOutcome.STRUCTURED_TREATMENT_NEEDED,
                "needs": {},
                "risks": {r: RiskLevel.LOW for r in RISKS},
                "release_date": referral_date + timedelta(days=rng.randrange(1, 10)),
            }
        referral = Referral.make(
            client,
            now,
            on=referral_date,
            by={"organisation": receiver, "user": "intake"},
            source=source,
            referring_organisation=None,
            receiving_organisation=receiver,
            priority_flags=[PriorityFlag.INJECTING] if rng.random() < 0.3 else [],
            consent=None,
            handover=handover,
        )
        if rng.random() < 0.9:  # the receiver takes the client profile at referral
            client.record_profile(referral_date, referral.made_by, now, ndtms.client_profile(rng))
        decision = rng.random()
        decide_on = min(now, referral_date + timedelta(days=rng.randrange(0, 12)))
        if handover and decide_on < handover["release_date"] <= now:
            decide_on = handover["release_date"]
        if decision < 0.85:
            referral.accept(
                on=decide_on, by=referral.made_by, keyworker=f"kw{rng.randrange(8)}", today=now
            )
            accepted.append(referral)
        elif decision < 0.95:
            referral.decline(
                on=decide_on, by=referral.made_by, reason=DeclineReason.NO_CAPACITY, today=now
            )
        else:
            referral.withdraw(
                on=decide_on, by=referral.made_by, reason=WithdrawalReason.OTHER, today=now
            )
        pending += [client, referral]
        stats.clients += 1
        stats.referrals += 1
        if len(pending) >= batch:
            flush(referrals)
            if bar is not None and task is not None:
                bar.update(task, completed=stats.clients)
    flush(referrals)
    if bar is not None and task is not None:
        bar.update(task, completed=stats.clients)
        task = bar.add_task("journey side: episodes", total=len(accepted))
    stats.referral_events = referrals.recorder.max_notification_id() or 0

    # The journey service opens an episode per acceptance, from the referral feed.
    after = journeys.referral_feed_position()
    while True:
        page = read_feed(referrals, after, 1000)
        journeys.apply_referral_page(page.items, page.next_after)
        after = page.next_after
        if not page.has_more:
            break
    for done, referral in enumerate(accepted, 1):
        episode = journeys.get_episode(Episode.create_id(referral.id))
        touched = journey_of(rng, episode, referral.decided_on, now, changes=changes)
        pending.extend(touched)
        stats.episodes += len(touched)
        if len(pending) >= batch:
            flush(journeys)
            if bar is not None and task is not None:
                bar.update(task, completed=done)
    flush(journeys)
    if bar is not None and task is not None:
        bar.update(task, completed=len(accepted))
    stack.close()
    stats.journey_events = journeys.recorder.max_notification_id() or 0
    return stats


def journey_of(
    rng: random.Random,
    episode: Episode,
    opened: date,
    now: date,
    depth: int = 0,
    group: str | None = None,
    changes: float = 0.0,
) -> list[Episode]:
    """Events for one episode, each through the domain's rules; returns the episodes touched.
    `group` is the client's substance group (drawn here for a first episode)."""
    group = group or ndtms.pick(rng, ndtms.GROUPS)
    by = {"organisation": episode.state.organisation, "user": f"kw{rng.randrange(8)}"}
    day = opened

    def at(offset: int) -> date | None:
        nonlocal day
        if day + timedelta(days=offset) > now:
            return None
        day += timedelta(days=offset)
        return day

    def record(event: type[JourneyEvent], on: date | None, **data: Any) -> bool:
        if on is None:
            return False
        episode.record(event, on, by, now, **data)
        return True

    def start_structured(earliest: int) -> str | None:
        """A structured intervention referred to today, starting `earliest` to 39 days on;
        its id, or None if that day has not come."""
        modality = pick(rng, MODALITIES)
        started = str(UUID(int=rng.getrandbits(128)))
        referred, start = day, at(rng.randrange(earliest, 40))
        recorded = record(
            Episode.InterventionStarted,
            start,
            intervention_id=started,
            modality=modality,
            tier=MODALITY_TIER[modality],
            **(ndtms.intervention_details(rng, modality, referred, start) if start else {}),
        )
        return started if recorded else None

    touched = [episode]
    if rng.random() > 0.95 or not record(
        Episode.TriageCompleted,
        at(rng.randrange(0, 15)),
        urgency=Urgency.ROUTINE,
        tier_indicated=Tier.TIER_3,
        outcome=AssessmentOutcome.STRUCTURED_TREATMENT_NEEDED,
        risks={r: rng.choice(list(RiskLevel)) for r in RISKS},
    ):
        return touched
    if rng.random() < 0.9:  # the substance profile, taken at triage
        record(Episode.SubstanceProfileRecorded, day, **ndtms.substance_profile(rng, group))
    injects = group == "opiate" and rng.random() < 0.6
    if injects and rng.random() < 0.75:
        record(
            Episode.BloodBorneVirusesRecorded,
            at(rng.randrange(0, 10)),
            **ndtms.blood_borne_viruses(rng, day, episode.state.referral_date),
        )
    if group == "opiate" and rng.random() < 0.5:
        record(Episode.NaloxoneIssued, at(rng.randrange(0, 20)), kits=rng.choice([1, 1, 2]))
    if rng.random() < 0.3:  # the keyworker changes
        record(
            Episode.KeyworkerAssigned, at(rng.randrange(0, 10)), keyworker=f"kw{rng.randrange(8)}"
        )
    goals = [{"domain": NeedDomain.HEALTH, "goal": "stabilise", "responsible": "keyworker"}]
    if rng.random() < 0.5:
        record(
            Episode.InitialCarePlanAgreed,
            at(rng.randrange(0, 3)),
            goals=goals,
            next_review_on=day + timedelta(days=28),
        )
    tier2 = None
    if rng.random() < 0.2:
        tier2 = str(UUID(int=rng.getrandbits(128)))
        if not record(
            Episode.InterventionStarted,
            at(rng.randrange(0, 5)),
            intervention_id=tier2,
            modality=Modality.HARM_REDUCTION,
            tier=Tier.TIER_2,
        ):
            tier2 = None
    if rng.random() < 0.7:
        record(
            Episode.ComprehensiveAssessmentCompleted,
            at(rng.randrange(1, 14)),
            needs={"health": "hep C screening", "social_functioning": "housing"},
        )
    if rng.random() > 0.85 or not record(
        Episode.CarePlanAgreed,
        at(rng.randrange(1, 22)),
        goals=goals,
        next_review_on=day + timedelta(days=90),
    ):
        return touched
    structured = None
    tops = False
    if rng.random() < 0.8:
        structured = start_structured(0)
        if structured is None:
            return touched
        # The start TOP, mostly on the day treatment starts (now and then a few days late).
        tops = rng.random() < 0.9 and record(
            Episode.TopRecorded,
            at(rng.choice([0, 0, 0, rng.randrange(1, 15)])),
            **ndtms.top(rng, TopStage.START, group, improving=0.0),
        )
    if tier2 is not None and structured is not None:  # harm reduction ends as treatment starts
        record(
            Episode.InterventionEnded,
            day,
            intervention_id=tier2,
            reason=InterventionEndReason.COMPLETED,
        )
    length = rng.randrange(30, 700)
    reviews = 0
    while length > 90:
        length -= 90
        reviews += 1
        if not record(
            Episode.CarePlanReviewed,
            at(90),
            progress=[],
            revised_goals=None,
            next_review_on=day + timedelta(days=90),
        ):
            return touched
        if rng.random() < 0.02:  # a wrong next review date, corrected
            episode.correct(
                episode.version,
                day,
                {"progress": [], "revised_goals": None, "next_review_on": day + timedelta(days=60)},
                by,
                "next review date mistyped",
                now,
            )
        if changes and structured in episode.state.interventions and rng.random() < changes:
            # The treatment changes: this intervention ends, another starts after a gap.
            record(
                Episode.InterventionEnded,
                day,
                intervention_id=structured,
                reason=InterventionEndReason.COMPLETED,
            )
            structured = start_structured(1)
            if structured is None:
                return touched
        if tops and reviews % 2 == 0 and rng.random() < 0.85:  # a review TOP every ~182 days
            record(
                Episode.TopRecorded,
                at(rng.randrange(0, 8)),
                **ndtms.top(rng, TopStage.REVIEW, group, improving=0.45),
            )
        if rng.random() < 0.06:  # a later substance profile, now and then of another group
            if rng.random() < 0.4:
                group = ndtms.pick(rng, ndtms.GROUPS)
            record(Episode.SubstanceProfileRecorded, day, **ndtms.substance_profile(rng, group))
    if rng.random() < 0.02 and episode.facts[-1].type != "EventCorrected":  # a mistake
        episode.mark_in_error(episode.version, by, "entered on the wrong client", now)
    if rng.random() > 0.75 or (leaving := at(length)) is None:
        return touched
    reason = pick(rng, EXITS)
    if structured in episode.state.interventions:
        record(
            Episode.InterventionEnded,
            leaving,
            intervention_id=structured,
            reason=ndtms.end_reason(reason),
        )
    if tops and rng.random() < (0.8 if reason in PLANNED_EXITS else 0.3):
        record(Episode.TopRecorded, leaving, **ndtms.top(rng, TopStage.EXIT, group, improving=0.6))
    record(Episode.Discharged, leaving, exit_reason=reason, planned=reason in PLANNED_EXITS)
    if reason in PLANNED_EXITS and rng.random() < 0.5:
        record(
            Episode.AftercarePlanAgreed,
            at(rng.randrange(0, 14)),
            drug_related_support=["mutual aid"],
            non_drug_related_support=["housing"],
            agencies=["local recovery community"],
        )
    if depth == 0 and reason is ExitReason.DROPPED_OUT and rng.random() < 0.25:
        back = at(rng.randrange(30, 300))
        if back is not None:
            new = Episode(
                on=back,
                by=by,
                client_id=episode.state.client_id,
                organisation=episode.state.organisation,
                referral_id=None,
                referral_date=back,
                source=None,
                referring_organisation=None,
                priority_flags=[],
                handover=None,
                keyworker=None,
                re_engaged_from=episode.id,
            )
            episode.record(
                Episode.ReEngaged,
                back,
                by,
                now,
                new_episode_id=new.id,
                organisation=episode.state.organisation,
            )
            touched += journey_of(rng, new, back, now, depth + 1, group, changes)
    return touched
