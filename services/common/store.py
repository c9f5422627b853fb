"""Event-store wiring: JSON transcodings for our value types, the store chosen by URL, and
idempotent writes.

An Idempotency-Key is saved in the same transaction as the events it produced, so a retry, a
concurrent duplicate or a crash between them can never record twice; the replayed result is
the aggregate at the version the first request produced, with the ids it created.
"""

import copy
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID, uuid5

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application, LRUCache, Repository
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    EventStore,
    IntegrityError,
    JSONTranscoder,
    Recording,
    Transcoder,
    Transcoding,
)

from services.common.errors import (
    IdempotencyKeyReusedError,
    OutcomeUnknownError,
    StoreUnavailableError,
)
from services.common.group_commit import GroupCommit
from services.common.tracing import TRACEPARENT, stamp

NAMESPACE = UUID("2b0e8f4e-8c1a-4a57-9d36-0a4c2f1b7e21")
# The class was first defined in services/common/idempotency.py: its records are stored under
# that module's topics, and keep them.
RECORD_TOPIC = "services.common.idempotency:IdempotencyRecord"


class IdempotencyRecord(Aggregate):
    """An Idempotency-Key's use: the request's fingerprint and the result it produced."""

    TOPIC = RECORD_TOPIC

    class Created(Aggregate.Created):
        TOPIC = f"{RECORD_TOPIC}.Created"

    @staticmethod
    def create_id(organisation: str, key: str) -> UUID:
        return uuid5(NAMESPACE, f"{organisation}\n{key}")

    @event("IdempotencyKeyUsed", topic=f"{RECORD_TOPIC}.IdempotencyKeyUsed")
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


@dataclass(frozen=True)
class Receipt:
    """A write's Idempotency-Key, scoped to the writer's organisation, with the fingerprint of
    its request (a reused key with another fingerprint is refused)."""

    organisation: str
    key: str
    fingerprint: str

    @property
    def record_id(self) -> UUID:
        return IdempotencyRecord.create_id(self.organisation, self.key)


# What a keyed write answers: the aggregate, and the ids it created besides the aggregate's.
Written = tuple[Any, dict[str, str]]


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def enum_transcoding(enum_type: type[Enum]) -> Transcoding:
    """A transcoding that stores an enum member as its value, under the enum's own name."""

    class EnumAsValue(Transcoding):
        type = enum_type
        name = f"enum_{enum_type.__name__}"

        def encode(self, obj: Enum) -> Any:
            return obj.value

        def decode(self, data: Any) -> Enum:
            return enum_type(data)

    return EnumAsValue()


class TracedEventStore(EventStore[Any]):
    """Stores each event with the trace context it was written in (see tracing.py)."""

    def put(self, domain_events: Any, **kwargs: Any) -> list[Recording[Any]]:
        stamp(domain_events)
        return super().put(domain_events, **kwargs)


class EventTranscoder(JSONTranscoder):
    """JSON, with the stored trace context left out of the decoded event: it describes the
    request that wrote the event, not the event."""

    def decode(self, data: bytes) -> Any:
        decoded = super().decode(data)
        if isinstance(decoded, dict):
            decoded.pop(TRACEPARENT, None)
        return decoded


class VersionedCache(LRUCache[Any, Any]):
    """An aggregate cache that never replaces a newer version with an older one.

    Without fast-forwarding (the SQLite default), a request that loaded an aggregate before
    another request saved a newer version could otherwise put the stale one back.
    """

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self._put_lock = threading.Lock()

    def put(self, key: Any, value: Any) -> Any:
        with self._put_lock:
            link = self.cache.get(key)
            if link is not None and value is not None and link[self.RESULT].version > value.version:
                return None
            return super().put(key, value)


@contextmanager
def schema_lock(env: dict[str, str]) -> Iterator[None]:
    """On PostgreSQL, one process at a time creates the store's tables: several workers of a
    service starting together would otherwise race on CREATE TABLE IF NOT EXISTS and fail
    ("tuple concurrently updated"). A session advisory lock, released when it closes."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    with psycopg.connect(
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        dbname=env["POSTGRES_DBNAME"],
        user=env["POSTGRES_USER"],
        password=env.get("POSTGRES_PASSWORD") or None,
        connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT") or 5),
        autocommit=True,
    ) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        yield


SCHEMA_LOCK_KEY = 7_314_055_190  # any fixed number: names the lock "creating our tables"


class ConcurrentChangeError(Exception):
    """Another change to the same record was saved first; read it again and retry."""


class JsonApplication(Application[Any]):
    """An eventsourcing Application whose events are JSON with explicit transcodings.

    Subclasses list the enums their events carry in `enums`.
    """

    enums: tuple[type[Enum], ...] = ()

    def __init__(self, env: dict[str, str] | None = None) -> None:
        with schema_lock(env or {}):
            super().__init__(env)  # creates the store's tables if they are missing
        timeout = float(self.env.get("WRITE_TIMEOUT_SECONDS") or 5)
        self.group_commit = GroupCommit(self.events, timeout=timeout)

    def construct_transcoder(self) -> Transcoder:
        transcoder = EventTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def construct_event_store(self) -> EventStore[Any]:
        return TracedEventStore(mapper=self.mapper, recorder=self.recorder)

    def construct_repository(self) -> Repository[Any]:
        repository = super().construct_repository()
        if isinstance(repository.cache, LRUCache):
            repository.cache = VersionedCache(repository.cache.maxsize)
        return repository

    def replayed(self, receipt: Receipt | None) -> Written | None:
        """An earlier request's result for this Idempotency-Key: the aggregate at the version
        that request produced, with the ids it created. None for a new key; a key used for a
        different request is refused (IdempotencyKeyReusedError). Keyed writes ask this first."""
        if receipt is None:
            return None
        try:
            record: IdempotencyRecord = self.repository.get(receipt.record_id)
        except AggregateNotFoundError:
            return None
        if record.fingerprint != receipt.fingerprint:
            raise IdempotencyKeyReusedError(
                "This Idempotency-Key was used for a different request; use a new key."
            )
        aggregate: Any = self.repository.get(record.aggregate_id, version=record.result_version)
        return aggregate, dict(record.created)

    def save_keyed(
        self,
        receipt: Receipt | None,
        *aggregates: Aggregate,
        result: Aggregate | None = None,
        created: dict[str, str] | None = None,
    ) -> Written:
        """Save the aggregates' new events, and the Idempotency-Key's record pointing at
        `result`'s resulting version (by default the first aggregate's) and the ids `created`,
        in one transaction through group commit; answer (result, created).

        If a concurrent request with the same key was saved first, answer its result instead.
        Raises ConcurrentChangeError for a real conflict, and StoreUnavailableError or
        OutcomeUnknownError on a fault (nothing cached then)."""
        result = result or aggregates[0]
        created = dict(created or {})
        if receipt is not None:
            record = IdempotencyRecord(
                organisation=receipt.organisation,
                key=receipt.key,
                fingerprint=receipt.fingerprint,
                aggregate_id=result.id,
                version=result.version,
                created=created,
            )
            aggregates = (*aggregates, record)
        events = [e for a in aggregates for e in a.collect_events()]
        stamp(events)  # here, in the request's thread: the committer's thread has no trace
        try:
            self.group_commit.put(events)
        except IntegrityError:
            self.forget([a.id for a in aggregates])  # may be stale: read the store next time
            replayed = self.replayed(receipt)  # a concurrent request with the same key won?
            if replayed is not None:
                return replayed
            raise ConcurrentChangeError(
                "Another change to the same record was saved first; read it again and retry."
            ) from None
        except (StoreUnavailableError, OutcomeUnknownError):
            self.forget([a.id for a in aggregates])
            raise
        self.cache(list(aggregates))
        return result, created

    def cache(self, aggregates: list[Aggregate]) -> None:
        cache = self.repository.cache
        if cache is None:
            return
        for aggregate in aggregates:
            if not self.repository.fastforward:
                cache.put(aggregate.id, aggregate)
            else:  # a copy: reads fast-forward the cached one in place
                cache.put(aggregate.id, copy.deepcopy(aggregate))

    def forget(self, aggregate_ids: list[Any]) -> None:
        cache = self.repository.cache
        if cache is not None:
            for aggregate_id in aggregate_ids:
                with suppress(KeyError):
                    cache.get(aggregate_id, evict=True)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        for enum_type in self.enums:
            transcoder.register(enum_transcoding(enum_type))


def store_env(
    database_url: str, write_timeout: float = 5.0, pool_size: int = 4, max_overflow: int = 6
) -> dict[str, str]:
    """Translate a database URL into the eventsourcing library's persistence settings.

    `write_timeout` bounds how long a writer waits (see group_commit.py); the store's own lock
    waits are bounded by the same figure, so a held lock fails a transaction rather than
    holding the committer. `pool_size` and `max_overflow` size each PostgreSQL pool: with
    several workers per service, workers x applications x (pool + overflow) must stay under
    the server's max_connections.
    """
    parsed = urlparse(database_url)
    lock_timeout = str(max(1, math.ceil(write_timeout)))
    bounds = {"WRITE_TIMEOUT_SECONDS": str(write_timeout)}
    if parsed.scheme == "sqlite":
        path = database_url.removeprefix("sqlite:///")
        if not path or path == database_url:
            raise ValueError(f"expected sqlite:///path/to/file.db, got {database_url!r}")
        # The embedded default runs one process per service, so an application's in-process
        # aggregate cache is authoritative and need not re-read the store before each use.
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": lock_timeout,
            "AGGREGATE_CACHE_FASTFORWARD": "n",
            **bounds,
        }
    if parsed.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parsed.path.lstrip("/"),
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(max_overflow),
            "POSTGRES_LOCK_TIMEOUT": lock_timeout,
            "POSTGRES_CONNECT_TIMEOUT": lock_timeout,
            **bounds,
        }
    raise ValueError(f"unsupported database URL {database_url!r}: use sqlite:/// or postgresql://")
