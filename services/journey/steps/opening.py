"""Opening an episode: from an accepted referral (the referral feed opens it, see
`Episode.__init__`), or by re-engagement after discharge (§3.9.2, QRP9), which records
`ReEngaged` on the old episode and opens a new one for the same organisation."""

from uuid import UUID

from services.common.schemas import UserName
from services.journey.schemas import EventIn
from services.journey.state import EpisodeState, Fact
from services.journey.steps.base import JourneyError, JourneyEvent, Step

OPENING = "EpisodeOpened"  # the Episode aggregate's creation event


class ReEngaged(JourneyEvent):
    new_episode_id: UUID
    organisation: str


class NotDischargedError(JourneyError):
    """Only a discharged episode can be re-engaged."""


class AlreadyReEngagedError(JourneyError):
    """The client has already re-engaged from this episode; record on the new episode."""


class DateBeforeDischargeError(JourneyError):
    """A re-engagement cannot be dated before the discharge."""


class ReEngageIn(EventIn):
    keyworker: UserName | None = None


def opened(state: EpisodeState, fact: Fact) -> None:
    d = fact.data
    state.client_id, state.organisation = d["client_id"], d["organisation"]
    state.referral_id, state.referral_date = d["referral_id"], d["referral_date"]
    state.opened_on, state.source = fact.on, d["source"]
    state.priority_flags, state.handover = list(d["priority_flags"]), d["handover"]
    state.re_engaged_from, state.keyworker = d["re_engaged_from"], d["keyworker"]


def check_re_engagement(state: EpisodeState, fact: Fact) -> None:
    if state.discharged_on is None:
        raise NotDischargedError("The episode is still open.")
    if state.re_engaged_to is not None:
        raise AlreadyReEngagedError(f"The client re-engaged into episode {state.re_engaged_to}.")
    if fact.on < state.discharged_on:
        raise DateBeforeDischargeError(
            f"{fact.on} is before the discharge ({state.discharged_on})."
        )


def re_engaged(state: EpisodeState, fact: Fact) -> None:
    state.re_engaged_on, state.re_engaged_to = fact.on, fact.data["new_episode_id"]


STEPS = [Step(ReEngaged, re_engaged, check_re_engagement, after_discharge=True)]
