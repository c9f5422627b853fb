"""Group commit: concurrent writers share one store transaction, and every writer gets a
truthful answer within a bounded time.

Every insert takes the store's write lock (PostgreSQL: the table lock that keeps feed order
safe; SQLite: its single writer) and pays for a commit. Under concurrent load, request threads
hand their events to one committer thread, which writes whatever has queued in a single
transaction.

When a transaction fails, each write in it is settled on its own:
- its events are in the store (a COMMIT whose answer was lost, then retried by the library,
  meets its own rows): it was saved;
- a version conflict: written again alone, so that only a real conflict answers IntegrityError;
- any other store error: StoreUnavailableError (nothing recorded), or OutcomeUnknownError when
  the store cannot even be asked.

A writer waits at most `timeout` seconds. A write the committer has not yet taken is withdrawn
(StoreUnavailableError: certainly not recorded); one already being committed answers
OutcomeUnknownError. The committer survives every error, so writes succeed again as soon as the
fault clears.
"""

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import EventStore, IntegrityError, PersistenceError

from services.common.errors import OutcomeUnknownError, StoreUnavailableError
from services.common.metrics import COMMIT_BATCH, COMMIT_QUEUE, FEED_LAST_POSITION, STORE_ERRORS

MAX_BATCH = 64

log = logging.getLogger(__name__)


class _Write:
    QUEUED, TAKEN, WITHDRAWN = "queued", "taken", "withdrawn"

    def __init__(self, events: Sequence[Any]) -> None:
        self.events = events
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._state = self.QUEUED
        self._lock = threading.Lock()

    def take(self) -> bool:
        """The committer claims the write; False if its writer gave up waiting."""
        with self._lock:
            if self._state == self.WITHDRAWN:
                return False
            self._state = self.TAKEN
            return True

    def withdraw(self) -> bool:
        """The writer gives up; False if the committer already has it (outcome unknown)."""
        with self._lock:
            if self._state == self.TAKEN:
                return False
            self._state = self.WITHDRAWN
            return True

    def settle(self, error: BaseException | None = None) -> None:
        self.error = error
        self.done.set()


class GroupCommit:
    def __init__(self, store: EventStore[Any], timeout: float = 5.0) -> None:
        self._store = store
        self.timeout = timeout
        self._pending: list[_Write] = []
        self._wake = threading.Condition()
        self._thread_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.last_success_at: float | None = None
        self._committing_since: float | None = None

    def put(self, events: Sequence[Any]) -> None:
        """Store the events atomically (all or none); raise IntegrityError on a real version
        conflict, StoreUnavailableError or OutcomeUnknownError on a fault."""
        self._ensure_committer()
        write = _Write(events)
        with self._wake:
            self._pending.append(write)
            COMMIT_QUEUE.set(len(self._pending))
            self._wake.notify()
        if not write.done.wait(self.timeout):
            if write.withdraw():
                raise StoreUnavailableError(
                    f"The store did not take the write within {self.timeout:g} s; "
                    "nothing was recorded. Retry shortly."
                )
            # The committer has it: its outcome will be known, but not within our bound.
            if not write.done.wait(1.0):
                raise OutcomeUnknownError(
                    "The store did not confirm the write in time; it may or may not have "
                    "been recorded. Retry with the same Idempotency-Key."
                )
        if write.error is not None:
            raise write.error

    @property
    def queue_length(self) -> int:
        return len(self._pending)

    def status(self, window: float = 10.0) -> dict[str, Any]:
        """Failing while a commit failed in the last `window` seconds and none has succeeded
        since: a write path that is not used heals by itself in the readiness answer."""
        now = time.monotonic()
        failing = (
            self.last_error_at is not None
            and now - self.last_error_at < window
            and (self.last_success_at is None or self.last_success_at < self.last_error_at)
        )
        since = self._committing_since
        stuck = False
        if since is not None and now - since > self.timeout:
            stuck = True
            self.last_error = f"a commit has waited {now - since:.0f} s for the store"
        return {
            "working": not (failing or stuck),
            "queued": len(self._pending),
            "last_error": self.last_error,
        }

    def _ensure_committer(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending:
                    self._wake.wait()
                queued, self._pending = self._pending, []
                COMMIT_QUEUE.set(0)
            taken = [write for write in queued if write.take()]
            for start in range(0, len(taken), MAX_BATCH):
                batch = taken[start : start + MAX_BATCH]
                try:
                    self._commit(batch)
                except BaseException as error:  # never let the committer die
                    log.exception("group commit failed unexpectedly")
                    for write in batch:
                        if not write.done.is_set():
                            write.settle(OutcomeUnknownError(f"The store failed: {error}"))

    def _commit(self, batch: list[_Write]) -> None:
        self._committing_since = time.monotonic()
        COMMIT_BATCH.observe(len(batch))
        try:
            recordings = self._store.put([event for write in batch for event in write.events])
        except PersistenceError as error:
            self._committing_since = None
            self._failed(error)
            for write in batch:
                self._settle_after(write, error, alone=len(batch) == 1)
        else:
            self._committing_since = None
            self._succeeded()
            if recordings:
                FEED_LAST_POSITION.set(recordings[-1].notification.id)
            for write in batch:
                write.settle()

    def _settle_after(self, write: _Write, error: PersistenceError, alone: bool) -> None:
        """A transaction holding this write failed: find out what became of the write."""
        try:
            stored = self._is_stored(write.events)
        except PersistenceError as check_error:
            write.settle(
                OutcomeUnknownError(
                    f"The store failed ({error}) and cannot be asked whether the write was "
                    f"recorded ({check_error}). Retry with the same Idempotency-Key."
                )
            )
            return
        if stored:
            write.settle()
        elif isinstance(error, IntegrityError) and alone:
            write.settle(error)
        elif isinstance(error, IntegrityError):
            self._commit([write])  # the batch had a conflict: this write may be innocent
        else:
            write.settle(
                StoreUnavailableError(
                    f"The store is unavailable ({error}); nothing was recorded. Retry shortly."
                )
            )

    def _is_stored(self, events: Sequence[Any]) -> bool:
        """Are these very events stored? One transaction holds them all, so the first says."""
        if not events:
            return True
        first = events[0]
        found = self._store.recorder.select_events(
            first.originator_id, gt=first.originator_version - 1, lte=first.originator_version
        )
        if not found:
            return False
        stored: Any = self._store.mapper.to_domain_event(found[0])
        return type(stored) is type(first) and stored.timestamp == first.timestamp

    def _failed(self, error: BaseException) -> None:
        if not isinstance(error, IntegrityError):
            STORE_ERRORS.labels("commit").inc()
            self.last_error, self.last_error_at = (
                f"{type(error).__name__}: {error}",
                time.monotonic(),
            )

    def _succeeded(self) -> None:
        self.last_success_at = time.monotonic()
