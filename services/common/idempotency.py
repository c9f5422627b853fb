"""Idempotent writes: an Idempotency-Key is saved in the same transaction as the events it
produced, so a retry, a concurrent duplicate or a crash between them can never record twice.

The replayed response is the aggregate rendered at the version the first request produced.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event
from fastapi import Header, Request

from services.common.auth import Caller
from services.common.problems import Problem

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
        headers: dict[str, str],
    ) -> None:
        self.fingerprint, self.aggregate_id = fingerprint, aggregate_id
        self.result_version, self.headers = version, headers


@dataclass
class Receipt:
    """A keyed write in progress: the app turns it into a record beside its own events."""

    organisation: str
    key: str
    fingerprint: str
    headers: dict[str, str]

    def record(self, aggregate: Aggregate) -> IdempotencyRecord:
        return IdempotencyRecord(
            organisation=self.organisation,
            key=self.key,
            fingerprint=self.fingerprint,
            aggregate_id=aggregate.id,
            version=aggregate.version,
            headers=self.headers,
        )

    @property
    def record_id(self) -> UUID:
        return IdempotencyRecord.create_id(self.organisation, self.key)


async def receipt(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            # Printable ASCII, no white space at either end (HTTP would strip it).
            pattern=r"^[!-~]([ -~]{0,253}[!-~])?$",
            description="Retry-safe writes: the same key and body returns the first "
            "response and records nothing more; a different body is 422.",
        ),
    ] = None,
) -> "Receipt | None":
    if key is None:
        return None
    body = await request.body()
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True)
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    digest = hashlib.sha256(
        f"{request.method}\n{request.url.path}\n{request.headers.get('if-match', '')}\n"
        f"{canonical}".encode()
    ).hexdigest()
    return Receipt(organisation="", key=key, fingerprint=digest, headers={})


def bind(receipt: "Receipt | None", caller: Caller) -> "Receipt | None":
    """Keys are scoped to the caller's organisation."""
    if receipt is not None:
        receipt.organisation = caller.organisation
    return receipt


def check_replay(record: IdempotencyRecord | None, receipt: Receipt) -> IdempotencyRecord | None:
    """The earlier record for this key if the request is the same; 422 if the body differs."""
    if record is None:
        return None
    if record.fingerprint != receipt.fingerprint:
        raise Problem(
            422,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            "This Idempotency-Key was used for a different request; use a new key.",
            rule="idempotency-key-reused",
        )
    return record


def keyed_write(
    app: Any, key: "Receipt | None", caller: Caller, write: Callable[["Receipt | None"], Aggregate]
) -> tuple[Any, dict[str, str]]:
    """Run a write once per Idempotency-Key; a repeat gets the first result and headers back.

    `app` is a JsonApplication (replay, repository); `write` saves with the receipt.
    """
    from services.common.store import ConcurrentChangeError

    key = bind(key, caller)
    record = app.replay(key)
    if record is None:
        try:
            return write(key), (key.headers if key else {})
        except ConcurrentChangeError:
            record = app.replay(key)  # a concurrent request with the same key won
            if record is None:
                raise
    aggregate = app.repository.get(record.aggregate_id, version=record.result_version)
    return aggregate, dict(record.headers)
