"""A small in-process index kept by reading a service's own event log forward.

It reads the store, not in-process state, so several processes of one service agree.
"""

import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application


class LogIndex:
    def __init__(self, application: Application[Any], on_event: Callable[[Any], None]) -> None:
        self._application, self._on_event = application, on_event
        self._position = 0
        self._lock = threading.Lock()

    @property
    def position(self) -> int:
        return self._position

    def catch_up(self) -> None:
        with self._lock:
            while True:
                notifications = self._application.recorder.select_notifications(
                    start=self._position, limit=1000, inclusive_of_start=False
                )
                if not notifications:
                    return
                for notification in notifications:
                    self._position = notification.id  # the event's position, while indexed
                    self._on_event(self._application.mapper.to_domain_event(notification))
