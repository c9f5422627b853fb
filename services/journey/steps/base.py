"""What every clinical step shares: the journey event base class, the shape of a step, and the
rules that hold for every event (dates, a void or closed episode)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from eventsourcing.domain import Aggregate

from services.common.errors import NotVisibleError
from services.journey.schemas import EventIn
from services.journey.state import EpisodeState, Fact


class Absorbs(Protocol):
    """What a journey event is applied to (the Episode): the steps name no layer above them."""

    def absorb(self, journey_event: Any) -> None: ...


class JourneyEvent(Aggregate.Event):
    """A journey event: its business date (`on`), who recorded it (`by`) and its own fields,
    which are the feed item's `data`."""

    on: date
    by: dict[str, str]

    def apply(self, aggregate: Aggregate) -> None:
        episode: Absorbs = aggregate  # type: ignore[assignment]
        episode.absorb(self)


def no_rule(state: EpisodeState, fact: Fact) -> None:
    """Only the rules every event has (see `check_common`)."""


def as_given(data: dict[str, Any]) -> dict[str, Any]:
    return data


@dataclass(frozen=True)
class Step:
    """One kind of journey event and everything about it: the rule checked when it is recorded
    (never on replay), how it changes the episode's state, what the domain derives from what the
    caller gives (`derive`), and the request body and path it is recorded through."""

    event: type[JourneyEvent]
    evolve: Callable[[EpisodeState, Fact], None]
    check: Callable[[EpisodeState, Fact], None] = no_rule
    derive: Callable[[dict[str, Any]], dict[str, Any]] = as_given
    body: type[EventIn] | None = None
    path: str | None = None
    summary: str = ""
    after_discharge: bool = False  # may be recorded on a discharged episode

    @property
    def type(self) -> str:
        return self.event.__name__


class JourneyError(Exception):
    """A journey-service rule was broken."""


class EpisodeNotFoundError(JourneyError, NotVisibleError):
    """No such episode."""


class EpisodeVoidError(JourneyError):
    """The episode's opening was recorded in error; nothing more can be recorded on it."""


class EpisodeClosedError(JourneyError):
    """Only aftercare, re-engagement and corrections can be recorded after discharge."""


class AlreadyDischargedError(JourneyError):
    """An episode is discharged once."""


class DateBeforeReferralError(JourneyError):
    """No business date before the referral date."""


class DateInFutureError(JourneyError):
    """No business date in the future."""


class VersionMismatchError(JourneyError):
    """The episode has changed since the version the caller expected."""


def check_date(state: EpisodeState, on: date, today: date) -> None:
    if on < state.referral_date:
        raise DateBeforeReferralError(f"{on} is before the referral date ({state.referral_date}).")
    if on > today:
        raise DateInFutureError(f"{on} is after today ({today}).")


def check_open(state: EpisodeState, allowed_after_discharge: bool, discharging: bool) -> None:
    if state.void:
        raise EpisodeVoidError("The episode's opening was recorded in error.")
    if state.discharged_on is not None and not allowed_after_discharge:
        if discharging:
            raise AlreadyDischargedError(f"The episode was discharged on {state.discharged_on}.")
        raise EpisodeClosedError(f"The episode was discharged on {state.discharged_on}.")
