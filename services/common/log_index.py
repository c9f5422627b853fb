"""A small in-process index kept by reading a service's own event log forward.

It reads the store, not in-process state, so several processes of one service agree.
"""

import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application


def once(recorder: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call a recorder method with one attempt. The library's PostgreSQL recorder retries a
    failed statement ten times; behind a table lock each attempt waits the lock timeout, so a
    request would hang for most of a minute instead of answering 503 within the bound."""
    bound = getattr(type(recorder), method)
    return getattr(bound, "__wrapped__", bound)(recorder, *args, **kwargs)


class LogIndex:
    def __init__(self, application: Application[Any], on_event: Callable[[Any], None]) -> None:
        self._application, self._on_event = application, on_event
        self._position = 0
        self._lock = threading.Lock()

    @property
    def position(self) -> int:
        return self._position

    def catch_up(self) -> None:
        """Read the log forward from the index's position and index what is new. The read is
        made outside the lock, one attempt: behind a stalled store each request waits one lock
        timeout at most, never its turn behind others' reads (two requests may read the same
        page; each event is indexed once)."""
        while True:
            notifications = once(
                self._application.recorder,
                "select_notifications",
                start=self._position,
                limit=1000,
                inclusive_of_start=False,
            )
            if not notifications:
                return
            with self._lock:
                for notification in notifications:
                    if notification.id <= self._position:
                        continue  # indexed meanwhile by another request's read
                    self._position = notification.id  # the event's position, while indexed
                    self._on_event(self._application.mapper.to_domain_event(notification))
