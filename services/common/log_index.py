"""A small in-process index kept by reading a service's own event log forward.

It reads the store, not in-process state, so several processes of one service agree.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application

from services.common.errors import StoreUnavailableError

log = logging.getLogger(__name__)
WARM_RETRY_SECONDS = 0.5
WARM_WAIT_SECONDS = 5.0  # a service starting waits this long for its index, then serves


class IndexWarmingError(StoreUnavailableError):
    """The service is still indexing its event log after starting.

    Nothing was recorded: retry shortly."""


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
        kinds: frozenset[str] | None = None,
    ) -> None:
        """`kinds`: the names of the event classes `on_event` indexes (None: every one); the
        others are passed over without being decoded."""
        self._application, self._on_event, self._kinds = application, on_event, kinds
        self._position = 0
        self._lock = threading.Lock()
        self._warming: threading.Thread | None = None
        self._warm = threading.Event()

    def warm(self, wait_seconds: float) -> None:
        """Index the whole log from start-up, in a thread, waiting at most `wait_seconds` for it.
        Until it is done, a request's `catch_up` answers IndexWarmingError (503, Retry-After)
        instead of reading the log alongside it (after a restart at 100,000 clients the
        journey log took minutes, and every feed request timed out), and `reasons` makes the
        service not ready."""
        self._warming = threading.Thread(target=self._warm_up, name="log-index", daemon=True)
        self._warming.start()
        self._warm.wait(wait_seconds)

    def warm_done(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for the index to be warm; whether it is."""
        return self._warm.wait(timeout)

    def _warm_up(self) -> None:
        while True:
            try:
                self.catch_up()
            except Exception as error:  # the store is unreachable at start-up: again shortly
                log.warning("indexing the event log: %s; again in %ss", error, WARM_RETRY_SECONDS)
                time.sleep(WARM_RETRY_SECONDS)
                continue
            self._warm.set()
            return

    def reasons(self) -> list[str]:
        """Readiness: why the index cannot answer yet."""
        if self._warming is None or self._warm.is_set():
            return []
        return [f"indexing the event log after starting: at position {self._position}"]

    @property
    def position(self) -> int:
        return self._position

    def catch_up(self) -> None:
        """Read the log forward from the index's position and index what is new. The read is
        made outside the lock, one attempt: behind a stalled store each request waits one lock
        timeout at most, never its turn behind others' reads (two requests may read the same
        page; each event is indexed once)."""
        warming = self._warming is not None and not self._warm.is_set()
        if warming and threading.current_thread() is not self._warming:
            raise IndexWarmingError(
                "The service is indexing its event log after starting "
                f"(at position {self._position}); nothing was recorded. Retry shortly."
            )
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
                    if self._kinds is None or notification.topic.rpartition(".")[2] in self._kinds:
                        self._on_event(self._application.mapper.to_domain_event(notification))
