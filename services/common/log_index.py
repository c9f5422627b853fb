"""A small in-process index kept by reading a service's own event log forward.

It reads the store, not in-process state, so several processes of one service agree.
"""

import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application

from services.common.errors import StoreUnavailableError


def once(recorder: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call a recorder method with one attempt. The library's PostgreSQL recorder retries a
    failed statement ten times; behind a table lock each attempt waits the lock timeout, so a
    request would hang for most of a minute instead of answering 503 within the bound."""
    bound = getattr(type(recorder), method)
    return getattr(bound, "__wrapped__", bound)(recorder, *args, **kwargs)


class LogIndex:
    def __init__(
        self,
        application: Application[Any],
        on_event: Callable[[Any], None],
        wait_seconds: float = 5.0,
    ) -> None:
        self._application, self._on_event = application, on_event
        self._position = 0
        self._lock = threading.Lock()
        # Bounded: behind a stalled store, requests queued on the index must not wait one
        # lock timeout each in turn.
        self._wait_seconds = wait_seconds

    @property
    def position(self) -> int:
        return self._position

    def catch_up(self) -> None:
        if not self._lock.acquire(timeout=self._wait_seconds):
            raise StoreUnavailableError("The store is not answering; nothing was recorded.")
        try:
            self._catch_up()
        finally:
            self._lock.release()

    def _catch_up(self) -> None:
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
            for notification in notifications:
                self._position = notification.id  # the event's position, while indexed
                self._on_event(self._application.mapper.to_domain_event(notification))
