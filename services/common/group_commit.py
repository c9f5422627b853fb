"""Group commit: concurrent writers share one store transaction.

Every insert takes the store's write lock (PostgreSQL: the table lock that keeps feed order
safe; SQLite: its single writer) and pays for a commit. Under concurrent load, request threads
hand their events to one committer thread, which writes whatever has queued in a single
transaction. If that transaction fails on a version conflict, it writes the batch again one
request at a time, so each writer still gets its own answer: saved, or IntegrityError (409).
"""

import queue
import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import EventStore, IntegrityError

MAX_BATCH = 64


class _Write:
    def __init__(self, events: Sequence[Any]) -> None:
        self.events = events
        self.done = threading.Event()
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(self, store: EventStore[Any]) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[_Write] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def put(self, events: Sequence[Any]) -> None:
        """Store the events atomically (all or none); raise what the store raised."""
        write = _Write(events)
        self._queue.put(write)
        write.done.wait()
        if write.error is not None:
            raise write.error

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[_Write]) -> None:
        if len(batch) > 1:
            try:
                self._store.put([event for write in batch for event in write.events])
            except IntegrityError:
                pass  # some writes conflict: write them one by one below
            else:
                for write in batch:
                    write.done.set()
                return
        for write in batch:
            # Any failure belongs to the request that asked for it, never to the committer.
            try:
                self._store.put(write.events)
            except BaseException as error:
                write.error = error
            write.done.set()
