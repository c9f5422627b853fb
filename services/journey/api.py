"""HTTP routes of the journey service: one POST per journey event, reads, corrections."""

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from services.common.access import (
    AccessLog,
    NotVisibleError,
    Purpose,
    Reader,
    Staff,
    audited,
    written,
)
from services.common.auth import Caller
from services.common.codes import SharingPurpose
from services.common.deps import (
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    IfMatch,
    Key,
    Log,
    own_key,
    recorded_by,
)
from services.common.problems import Problem
from services.common.store import Receipt
from services.common.versions import set_etag
from services.journey.application import JourneyApplication
from services.journey.domain import Episode
from services.journey.schemas import (
    EpisodeOut,
    EpisodeWrittenOut,
    EventIn,
    EventOut,
    InterventionStartedOut,
    JourneyOut,
)
from services.journey.steps import STEPS, Step
from services.journey.steps.base import EpisodeNotFoundError
from services.journey.steps.corrections import (
    CorrectionIn,
    EventNotFoundError,
    InErrorIn,
    UncorrectableEventError,
)
from services.journey.steps.interventions import InterventionEndIn, InterventionIn
from services.journey.steps.opening import ReEngageIn
from services.journey.views import episode_out, events_out, journey_episode_out


def get_application(request: Request) -> JourneyApplication:
    application: JourneyApplication = request.app.state.application
    return application


App = Annotated[JourneyApplication, Depends(get_application)]
router = APIRouter(tags=["episodes"])
CARE = SharingPurpose.CARE_COORDINATION

# A correction's replacement is validated by the body of the event it replaces.
BODY_FOR_TYPE: dict[str, type[EventIn]] = {s.type: s.body for s in STEPS if s.body is not None}


def answer(
    episode: Episode, response: Response, created: dict[str, str] | None = None
) -> EpisodeWrittenOut:
    set_etag(response, episode.version)
    response.headers["Location"] = f"/episodes/{episode.id}"
    if created and "intervention_id" in created:
        response.headers["Intervention-Id"] = created["intervention_id"]
    return EpisodeWrittenOut(**dict(episode_out(episode)), event_version=episode.version)


@dataclass
class EpisodeWrite:
    """What every write to an episode takes from its request: the writer (staff of the
    episode's organisation), its `If-Match` and `Idempotency-Key` (scoped to the writer's
    organisation), and where it is audited."""

    app: JourneyApplication
    log: AccessLog
    caller: Caller
    purpose: SharingPurpose | None
    if_match: int | None
    key: Receipt | None
    response: Response

    @property
    def by(self) -> dict[str, str]:
        return recorded_by(self.caller)

    def done(self, episode: Episode, created: dict[str, str]) -> EpisodeWrittenOut:
        """The application's answer (the episode, and the ids it created) as the response,
        audited as a write returning the client's episode."""
        written(self.log, self.caller, self.purpose, "episode", episode.id, episode.state.client_id)
        return answer(episode, self.response, created)


def episode_write(
    app: App,
    log: Log,
    caller: Staff,
    purpose: Purpose,
    if_match: IfMatch,
    key: Key,
    response: Response,
) -> EpisodeWrite:
    return EpisodeWrite(app, log, caller, purpose, if_match, own_key(key, caller), response)


Write = Annotated[EpisodeWrite, Depends(episode_write)]


def add_event_endpoint(step: Step) -> None:
    """POST /episodes/{id}/<step path>: record the step's event from its body."""
    event_class, body_type = step.event, step.body

    def record_event(episode_id: UUID, body: EventIn, write: Write) -> EpisodeWrittenOut:
        return write.done(
            *write.app.record(
                episode_id,
                event_class,
                write.by,
                body.on,
                write.if_match,
                write.key,
                **body.event_data(),
            )
        )

    record_event.__annotations__["body"] = body_type  # FastAPI validates the specific body
    record_event.__name__ = f"record_{step.type}"
    router.post(
        f"/episodes/{{episode_id}}/{step.path}",
        status_code=201,
        response_model=EpisodeWrittenOut,
        summary=step.summary,
        responses=WRITE_PROBLEMS,
    )(record_event)


for routed in STEPS:
    if routed.path is not None:
        add_event_endpoint(routed)


@router.post(
    "/episodes/{episode_id}/interventions",
    status_code=201,
    response_model=InterventionStartedOut,
    responses=WRITE_PROBLEMS,
)
def start_intervention(
    episode_id: UUID,
    body: InterventionIn,
    write: Write,
) -> InterventionStartedOut:
    """Start an intervention; its tier follows from the modality (GET /codes, modality_tiers).

    Rule: a Tier 3/4 (structured) intervention needs an agreed care plan, not dated after it.
    The new intervention's id is `intervention_id` (also in the `Intervention-Id` header).
    """
    episode, created = write.app.start_intervention(
        episode_id, write.by, body.on, write.if_match, write.key, **body.event_data()
    )
    started = write.done(episode, created)
    # A replay answers with the id the first request created (kept with its key).
    return InterventionStartedOut(**dict(started), intervention_id=created["intervention_id"])


@router.post(
    "/episodes/{episode_id}/interventions/{intervention_id}/end",
    status_code=201,
    response_model=EpisodeWrittenOut,
    responses=WRITE_PROBLEMS,
)
def end_intervention(
    episode_id: UUID,
    intervention_id: str,
    body: InterventionEndIn,
    write: Write,
) -> EpisodeWrittenOut:
    """End an intervention. Rules: not before it started; only once."""
    return write.done(
        *write.app.record(
            episode_id,
            Episode.InterventionEnded,
            write.by,
            body.on,
            write.if_match,
            write.key,
            intervention_id=intervention_id,
            reason=body.reason,
            exit_status=body.exit_status,
        )
    )


@router.post(
    "/episodes/{episode_id}/re-engagement",
    status_code=201,
    response_model=EpisodeWrittenOut,
    responses=WRITE_PROBLEMS,
)
def re_engage(
    episode_id: UUID,
    body: ReEngageIn,
    write: Write,
) -> EpisodeWrittenOut:
    """The client returns after discharge or drop-out (§3.9.2): a new episode, for the caller's
    organisation, linked to this one. Only the episode's own organisation re-engages (a client
    returning to another organisation is a new referral). Returns the new episode (its `id`;
    `re_engaged_from` names this one); its waiting time counts from the re-engagement date."""
    return write.done(
        *write.app.re_engage(
            episode_id, write.by, body.on, write.if_match, body.keyworker, write.key
        )
    )


@router.post(
    "/episodes/{episode_id}/events/{version}/recorded-in-error",
    status_code=201,
    response_model=EpisodeWrittenOut,
    responses=WRITE_PROBLEMS,
    tags=["corrections"],
    name="mark_event_in_error",
)
def mark_in_error(
    episode_id: UUID,
    version: int,
    body: InErrorIn,
    write: Write,
) -> EpisodeWrittenOut:
    """Mark the episode's event at `version` recorded in error: it drops out of every derived
    view from now on (the event itself is kept). Marking the opening voids the episode."""
    return write.done(
        *write.app.mark_in_error(
            episode_id, version, write.by, body.reason, write.if_match, write.key
        )
    )


@router.post(
    "/episodes/{episode_id}/events/{version}/correction",
    status_code=201,
    response_model=EpisodeWrittenOut,
    responses=WRITE_PROBLEMS,
    tags=["corrections"],
    name="correct_event",
)
def correct(
    episode_id: UUID,
    version: int,
    body: CorrectionIn,
    write: Write,
) -> EpisodeWrittenOut:
    """Replace the event at `version` by a corrected one: `replacement` is the body the
    event's own endpoint takes. Views use the correction from the time it is recorded."""
    episode = write.app.visible_episode(write.caller.organisation, episode_id, CARE)
    target = next((f for f in episode.facts if f.version == version), None)
    if target is None:
        raise EventNotFoundError(f"The episode has no event at version {version}.")
    body_type = BODY_FOR_TYPE.get(target.type)
    if body_type is None:
        raise UncorrectableEventError(f"A {target.type} event can only be marked in error.")
    try:
        parsed = body_type.model_validate(body.replacement)
    except ValidationError as error:
        raise Problem(
            422,
            "validation-error",
            "The request is not valid",
            str(error),
            errors=replacement_errors(error),
            rule="replacement-invalid",  # its body depends on the event replaced
        ) from None
    return write.done(
        *write.app.correct(
            episode_id,
            version,
            write.by,
            body.reason,
            parsed.on,
            parsed.event_data(),
            write.if_match,
            write.key,
        )
    )


def replacement_errors(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": ".".join(["body", "replacement", *map(str, e["loc"])]),
            "message": e["msg"],
            "type": e["type"],
        }
        for e in error.errors()
    ]


def audited_episode(
    app: JourneyApplication,
    log: AccessLog,
    caller: Caller,
    purpose: Any,
    what: str,
    episode_id: UUID,
) -> Episode:
    """The episode if visible to the caller (own, or under consent); the read is audited."""
    with audited(log, caller, purpose, what, episode_id) as read:
        owner = app.episode_owner(episode_id)
        read.client_id = owner[1] if owner else None
        return app.visible_episode(caller.organisation, episode_id, purpose)


@router.get("/episodes/{episode_id}", response_model=EpisodeOut, responses=READ_PROBLEMS)
def read_episode(
    episode_id: UUID, app: App, log: Log, caller: Reader, purpose: Purpose, response: Response
) -> EpisodeOut:
    """Current state: phase, tier, keyworker, latest plan, active interventions, next review
    date, risk flags. The ETag is the episode version; send it as If-Match on writes.
    Visible to the episode's organisation, and to others under the client's consent for the
    stated Purpose. Audited."""
    episode = audited_episode(app, log, caller, purpose, "episode", episode_id)
    set_etag(response, episode.version)
    return episode_out(episode)


@router.get("/episodes", response_model=EpisodeOut, responses=READ_PROBLEMS)
def find_episode(
    referral_id: UUID, app: App, log: Log, caller: Reader, purpose: Purpose, response: Response
) -> EpisodeOut:
    """The episode an accepted referral opened (the referral service names it as `episode_id`
    in the acceptance). It appears once this service has followed the referral feed, normally
    within a second of the acceptance; until then, and when it is not visible to you, 404.
    Visible as GET /episodes/{episode_id} is. Audited."""
    with audited(log, caller, purpose, "episode-by-referral", referral_id) as read:
        episode_id = Episode.create_id(referral_id)
        owner = app.episode_owner(episode_id)
        read.client_id = owner[1] if owner else None
        try:
            episode = app.visible_episode(caller.organisation, episode_id, purpose)
        except EpisodeNotFoundError:
            raise EpisodeNotFoundError(f"No episode opened from referral {referral_id}.") from None
    set_etag(response, episode.version)
    response.headers["Content-Location"] = f"/episodes/{episode.id}"
    return episode_out(episode)


@router.get("/episodes/{episode_id}/events", response_model=list[EventOut], responses=READ_PROBLEMS)
def read_episode_events(
    episode_id: UUID, app: App, log: Log, caller: Reader, purpose: Purpose
) -> list[EventOut]:
    """The episode's events in recording order, with corrections applied. Audited."""
    return events_out(audited_episode(app, log, caller, purpose, "episode-events", episode_id))


@router.get(
    "/clients/{client_id}/journey",
    response_model=JourneyOut,
    tags=["journeys"],
    responses=READ_PROBLEMS,
)
def read_journey(
    client_id: UUID, app: App, log: Log, caller: Reader, purpose: Purpose
) -> JourneyOut:
    """A client's journey: the episodes the caller may see, across organisations, in the
    order they opened, each with its events in order and corrections applied. Another
    organisation's episodes appear only under a consent held by it that names yours and the
    stated Purpose; the rest are left out. Audited."""
    with audited(log, caller, purpose, "journey", client_id) as read:
        read.client_id = client_id if app.knows_client(client_id) else None
        episodes = app.client_episodes(client_id, caller.organisation, purpose)
        if not episodes:
            raise NotVisibleError(f"No journey for client {client_id}.")
    return JourneyOut(client_id=client_id, episodes=[journey_episode_out(e) for e in episodes])
