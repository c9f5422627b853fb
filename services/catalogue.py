"""The event catalogue: every event type published on the referral and journey feeds, with the
JSON schema of its `data`, read from the very event classes the services record with, so
there is one definition. `make openapi` publishes it in openapi/feed.schema.json; the
reporting projection names the events and fields it reads through it, so a name that is not
in the catalogue fails at import rather than silently matching nothing.
"""

import dataclasses
import typing
from functools import cache
from typing import Any

from eventsourcing.domain import CanMutateAggregate
from pydantic import ConfigDict, create_model

from services.common.feed import INTERNAL_EVENTS
from services.journey.domain import Episode
from services.journey.top_coordinator import TopCareCoordination
from services.referral.domain import Client, PersonLink, Referral

# The aggregates whose events each feed publishes (internal records are never published).
FEEDS: dict[str, tuple[type, ...]] = {
    "referral": (Client, Referral, PersonLink),
    "journey": (Episode, TopCareCoordination),
}
# Every event has these; the feed item carries them in its own fields, not in `data`.
ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "originator_id_type",
        "timestamp",
        "on",
        "by",
    }
)


def _event_classes(aggregate: type) -> dict[str, type]:
    return {
        name: value
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and name not in ("Event", "Created")
        and (aggregate.__name__, name) not in INTERNAL_EVENTS
    }


def _default(event_class: type, field: str) -> Any:
    """A field added later has a default: events stored before it was added lack it."""
    for f in dataclasses.fields(event_class):
        if f.name == field and f.default is not dataclasses.MISSING:
            return f.default
    return ...


@cache
def catalogue() -> dict[str, dict[str, dict[str, Any]]]:
    """feed -> event type -> {"aggregate_type", "fields" (name -> type), "schema"}."""
    feeds: dict[str, dict[str, dict[str, Any]]] = {}
    for feed, aggregates in FEEDS.items():
        events = feeds.setdefault(feed, {})
        for aggregate in aggregates:
            for name, event_class in _event_classes(aggregate).items():
                hints = typing.get_type_hints(event_class)
                fields = {k: v for k, v in hints.items() if k not in ENVELOPE}
                model = create_model(  # type: ignore[call-overload]
                    name,
                    __config__=ConfigDict(title=f"{aggregate.__name__}.{name} data"),
                    **{k: (v, _default(event_class, k)) for k, v in fields.items()},
                )
                events[name] = {
                    "aggregate_type": aggregate.__name__,
                    "fields": fields,
                    "model": model,
                    "schema": model.model_json_schema(),
                }
    return feeds


def require(feed: str, event_type: str, *fields: str) -> str:
    """The event type's name, after checking the catalogue has it with these fields."""
    known = catalogue()[feed].get(event_type)
    if known is None:
        raise LookupError(f"no {event_type} event on the {feed} feed")
    missing = [f for f in fields if f not in known["fields"]]
    if missing:
        raise LookupError(f"{event_type} on the {feed} feed has no {', '.join(missing)}")
    return event_type


def check_data(feed: str, event_type: str, data: dict[str, Any]) -> None:
    """Raise (pydantic's ValidationError) unless `data` is what the catalogue says."""
    catalogue()[feed][event_type]["model"].model_validate(data)


def published() -> dict[str, Any]:
    """The catalogue as JSON Schema: per feed, per event type, the schema of `data`."""
    return {
        feed: {
            name: {"aggregate_type": e["aggregate_type"], "data": e["schema"]}
            for name, e in sorted(events.items())
        }
        for feed, events in catalogue().items()
    }
