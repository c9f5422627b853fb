"""The event feed: the public, ordered, paged contract every follower depends on."""

import json
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import Application
from pydantic import BaseModel, Field

from services.common.metrics import FEED_LAST_POSITION

# Attributes every stored event has that the feed item carries in its own fields.
ENVELOPE = {
    "originator_id",
    "originator_version",
    "timestamp",
    "originator_topic",
    "on",
    "by",
    "traceparent",
}


class RecordedBy(BaseModel):
    organisation: str
    user: str


class FeedItem(BaseModel):
    """One recorded event. `position` is strictly increasing but may have gaps."""

    position: int = Field(description="Position in this service's feed; page with after=.")
    event_id: UUID = Field(description="Stable id of the event (same on every read).")
    type: str = Field(description="Stable event type name, e.g. ReferralAccepted.")
    aggregate_type: str = Field(description="What the event happened to, e.g. Referral.")
    aggregate_id: UUID
    version: int = Field(description="The aggregate's version after this event (1 = created).")
    business_date: date = Field(description="The date it happened in the world.")
    recorded_at: datetime = Field(description="When it was recorded (UTC).")
    recorded_by: RecordedBy | None
    data: dict[str, Any] = Field(description="The event's own fields as plain JSON.")
    traceparent: str | None = Field(
        default=None,
        description="W3C trace context of the request that recorded it, when tracing was on.",
    )


class FeedPage(BaseModel):
    items: list[FeedItem]
    after: int = Field(description="This page holds items with position > after.")
    next_after: int = Field(description="Pass as ?after= to get the next page.")
    last_position: int = Field(description="Highest position recorded when the page was read.")
    has_more: bool = Field(description="True when items exist after this page.")


def plain(value: Any) -> Any:
    """Domain values as plain JSON values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def event_id(aggregate_id: UUID, version: int) -> UUID:
    return uuid5(aggregate_id, str(version))


# Records a service keeps for itself, never published: idempotency keys, consent projections.
INTERNAL_AGGREGATES = frozenset({"IdempotencyRecord", "ClientConsents"})
# Events of a published aggregate kept internal: the TOP coordination record's creation (its
# namings and endings are published).
INTERNAL_EVENTS = frozenset({("TopCareCoordination", "CoordinationOpened")})


def _unwrap(obj: dict[str, Any]) -> Any:
    """A transcoded value (the library's {"_type_", "_data_"} envelope) as plain JSON: our
    transcodings already store dates, enums and datetimes as their plain values; UUIDs are
    stored as hex."""
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        data = obj["_data_"]
        return str(UUID(data)) if obj["_type_"] == "uuid_hex" else data
    return obj


# Stored state straight to plain JSON: no domain event is built only to be turned back into
# JSON (that round trip was half the cost of a feed page).
_plain_state = json.JSONDecoder(object_hook=_unwrap).decode


def read_feed(
    app: Application[Any], after: int, limit: int, visible: Callable[[FeedItem], bool] | None = None
) -> FeedPage:
    """Scan up to `limit` positions after `after`; return the published, visible items.

    `next_after` is the last position scanned, so a caller who may see only some events
    (or none on a page) still moves forward; `has_more` says whether positions remain.
    """
    notifications = app.recorder.select_notifications(
        start=after, limit=limit + 1, inclusive_of_start=False
    )
    has_more = len(notifications) > limit
    scanned = notifications[:limit]
    items = []
    for notification in scanned:
        aggregate_type, _, type_name = notification.topic.rpartition(":")[2].rpartition(".")
        if aggregate_type in INTERNAL_AGGREGATES or (aggregate_type, type_name) in INTERNAL_EVENTS:
            continue
        state = _plain_state(notification.state.decode("utf8"))
        by = state.get("by")
        aggregate_id = notification.originator_id
        if not isinstance(aggregate_id, UUID):
            aggregate_id = UUID(str(aggregate_id))
        # Built from our own typed store, so no validation is needed (pages are large).
        item = FeedItem.model_construct(
            position=notification.id,
            event_id=event_id(aggregate_id, notification.originator_version),
            type=type_name,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            version=notification.originator_version,
            business_date=date.fromisoformat(state["on"]),
            recorded_at=datetime.fromisoformat(state["timestamp"]),
            recorded_by=RecordedBy.model_construct(**by) if by else None,
            data={k: v for k, v in state.items() if k not in ENVELOPE},
            traceparent=state.get("traceparent"),
        )
        if visible is None or visible(item):
            items.append(item)
    last_position = app.recorder.max_notification_id() or 0
    FEED_LAST_POSITION.set(last_position)
    next_after = scanned[-1].id if scanned else max(after, 0)
    return FeedPage.model_construct(
        items=items,
        after=after,
        next_after=next_after,
        last_position=last_position,
        has_more=has_more,
    )
