"""Idempotent writes: an Idempotency-Key is saved in the same transaction as the events it
produced, so a retry, a concurrent duplicate or a crash between them can never record twice.

The replayed response is the aggregate rendered at the version the first request produced.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.common.auth import Caller
from services.common.errors import IdempotencyKeyReusedError

NAMESPACE = UUID("2b0e8f4e-8c1a-4a57-9d36-0a4c2f1b7e21")
INTERNAL_TYPES = frozenset({"IdempotencyKeyUsed"})


class IdempotencyRecord(Aggregate):
    @staticmethod
    def create_id(organisation: str, key: str) -> UUID:
        return uuid5(NAMESPACE, f"{organisation}\n{key}")

    @event("IdempotencyKeyUsed")
    def __init__(
        self,
        organisation: str,
        key: str,
        fingerprint: str,
        aggregate_id: UUID,
        version: int,
        created: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.fingerprint, self.aggregate_id = fingerprint, aggregate_id
        # The ids the write created besides its aggregate's (an intervention's). Records
        # stored before kept them as the HTTP header they were answered in.
        old = {"intervention_id": (headers or {}).get("Intervention-Id")}
        self.result_version = version
        self.created = created or {k: v for k, v in old.items() if v}


@dataclass
class Receipt:
    """A keyed write in progress: the app turns it into a record beside its own events."""

    organisation: str
    key: str
    fingerprint: str
    created: dict[str, str]

    def record(self, aggregate: Aggregate) -> IdempotencyRecord:
        return IdempotencyRecord(
            organisation=self.organisation,
            key=self.key,
            fingerprint=self.fingerprint,
            aggregate_id=aggregate.id,
            version=aggregate.version,
            created=self.created,
        )

    @property
    def record_id(self) -> UUID:
        return IdempotencyRecord.create_id(self.organisation, self.key)


def bind(receipt: "Receipt | None", caller: Caller) -> "Receipt | None":
    """Keys are scoped to the caller's organisation."""
    if receipt is not None:
        receipt.organisation = caller.organisation
    return receipt


def check_replay(record: IdempotencyRecord | None, receipt: Receipt) -> IdempotencyRecord | None:
    """The earlier record for this key if the request is the same (the body differs: error)."""
    if record is None:
        return None
    if record.fingerprint != receipt.fingerprint:
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was used for a different request; use a new key."
        )
    return record


def keyed_write(
    app: Any, key: "Receipt | None", caller: Caller, write: Callable[["Receipt | None"], Aggregate]
) -> tuple[Any, dict[str, str]]:
    """Run a write once per Idempotency-Key; a repeat gets the first result back, with the ids
    it created.

    `app` is a JsonApplication (replay, repository); `write` saves with the receipt.
    """
    from services.common.store import ConcurrentChangeError

    key = bind(key, caller)
    record = app.replay(key)
    if record is None:
        try:
            return write(key), (key.created if key else {})
        except ConcurrentChangeError:
            record = app.replay(key)  # a concurrent request with the same key won
            if record is None:
                raise
    aggregate = app.repository.get(record.aggregate_id, version=record.result_version)
    return aggregate, dict(record.created)
