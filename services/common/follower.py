"""Pull a service's REST feed page by page; the caller applies each page exactly once.

The follower holds no business rules and no position of its own that matters: `apply_page`
receives a page's items and its `next_after`, and must record `next_after` as the position in
the same transaction as the changes it makes; `position` reads it back from that store, so a
crash or restart resumes exactly where the store says.

The position is the page's `next_after`, never its last item's: the feed never serves internal
records (idempotency keys, consent projections), so a page can hold few items or none, and a
follower that moved only to its last item would stall on a run of them.
"""

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx

from services.common import tracing
from services.common.feed import FeedItem, FeedPage
from services.common.metrics import (
    FOLLOWER_ERRORS,
    FOLLOWER_LAG,
    FOLLOWER_POSITION,
    FOLLOWER_UPSTREAM,
)

log = logging.getLogger(__name__)
# Asked before every request, so a token renewed (or replaced in its file) is used at once.
TokenProvider = Callable[[], str]


def retry_after(error: BaseException) -> float | None:
    """Seconds to wait before asking again, for a 503 answer (its Retry-After, at least 1 s);
    None for any other failure."""
    if not isinstance(error, httpx.HTTPStatusError) or error.response.status_code != 503:
        return None
    try:
        return max(1.0, float(error.response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def waits(error: BaseException, backoff: float, most: float) -> tuple[float, float]:
    """(seconds to wait now, the backoff after): a 503 says when to ask again (a service
    indexing its log at start-up), so it is asked then, not after a backoff grown while it
    was starting; any other failure waits the backoff, which doubles up to `most`."""
    told = retry_after(error)
    if told is not None:
        return min(told, most), backoff
    return backoff, min(backoff * 2, most)


class FeedFollower:
    def __init__(
        self,
        name: str,
        feed_url: str,
        token: TokenProvider,
        apply_page: Callable[[list[FeedItem], int], None],
        position: Callable[[], int],
        page_size: int = 500,
        idle_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        self.name, self.feed_url = name, feed_url
        self._apply_page, self._position = apply_page, position
        self._token = token
        self.page_size, self.idle_seconds = page_size, idle_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.position: int | None = None
        self.upstream_last_position: int | None = None
        self.last_error: str | None = None
        self.last_contact: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._polling = threading.Lock()  # one page at a time, whoever asks
        self._prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"prefetch-{name}")
        self._prefetched: tuple[int, Future[FeedPage]] | None = None
        self._caught_up_failed_at: float | None = None
        # Kept open: a consent check catches up on every cross-organisation read.
        self._catch_up_http = httpx.Client()

    def catch_up(self, timeout: float = 2.0) -> bool:
        """Apply every page available now, for a caller that needs current upstream state.

        Bounded: False if that is not done within `timeout` seconds in all (waiting for a page
        another thread is applying included). After a failure, callers get False at once for
        the next `timeout` seconds, so a slow or frozen upstream never ties up a thread pool.
        """
        started = time.monotonic()
        if self._caught_up_failed_at is not None and started - self._caught_up_failed_at < timeout:
            return False
        deadline = started + timeout
        if not self._polling.acquire(timeout=timeout):
            return self._catch_up_failed("the feed is busy or frozen")
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return self._catch_up_failed(f"not caught up within {timeout:g} s")
                if not self._poll(self._catch_up_http, remaining).has_more:
                    self._caught_up_failed_at = None
                    return True
        except (httpx.HTTPError, ValueError, TimeoutError) as error:
            return self._catch_up_failed(f"{type(error).__name__}: {error}")
        finally:
            self._polling.release()

    def _catch_up_failed(self, why: str) -> bool:
        self.last_error, self._caught_up_failed_at = why, time.monotonic()
        return False

    def poll_once(self, http: httpx.Client) -> FeedPage:
        """Fetch and apply one page and return it: keep polling while its `has_more` is true,
        even when it held no items."""
        with self._polling:
            return self._poll(http)

    def _fetch(self, http: httpx.Client, after: int, timeout: float = 10.0) -> FeedPage:
        response = http.get(
            self.feed_url,
            params={"after": after, "limit": self.page_size},
            headers={"Authorization": f"Bearer {self._token()}"},
            timeout=timeout,
        )
        response.raise_for_status()
        return FeedPage.model_validate_json(response.content)

    def _poll(self, http: httpx.Client, timeout: float = 10.0) -> FeedPage:
        if self.position is None:
            self.position = self._position()
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is not None and prefetched[0] == self.position:
            page = prefetched[1].result(timeout=timeout)
        else:
            page = self._fetch(http, self.position, timeout)
        if page.has_more:  # the upstream prepares the next page while we apply this one
            after = page.next_after
            self._prefetched = (after, self._prefetcher.submit(self._fetch, http, after))
        if page.next_after > self.position:
            self._apply_traced(page)
            self.position = page.next_after
        self.upstream_last_position = page.last_position
        self.last_contact, self.last_error = datetime.now(UTC), None
        FOLLOWER_POSITION.labels(self.name).set(self.position)
        FOLLOWER_UPSTREAM.labels(self.name).set(page.last_position)
        FOLLOWER_LAG.labels(self.name).set(max(page.last_position - self.position, 0))
        return page

    def _apply_traced(self, page: FeedPage) -> None:
        if not tracing.enabled():
            self._apply_page(page.items, page.next_after)
            return
        # Its own trace, linked to the requests that wrote the page's events.
        with tracing.tracer.start_as_current_span(
            f"apply {self.name} feed page",
            links=tracing.links(item.traceparent for item in page.items),
            attributes={"feed.name": self.name, "feed.next_after": page.next_after},
        ):
            self._apply_page(page.items, page.next_after)

    def run(self) -> None:
        backoff = self.idle_seconds
        with httpx.Client(timeout=10.0) as http:
            while not self._stop.is_set():
                try:
                    page = self.poll_once(http)
                    backoff = self.idle_seconds
                    if not page.has_more:
                        self._stop.wait(self.idle_seconds)
                # The loop outlives any failure (feed down, store restarting): log, back off,
                # and re-read the position from the store, which is the truth.
                except Exception as error:
                    FOLLOWER_ERRORS.labels(self.name).inc()
                    self.last_error = f"{type(error).__name__}: {error}"
                    wait, backoff = waits(error, backoff, self.max_backoff_seconds)
                    log.warning("%s feed: %s; retrying in %.1fs", self.name, error, wait)
                    self.position = None
                    self._stop.wait(wait)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"follow-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._catch_up_http.close()

    def status(self) -> dict[str, Any]:
        # The position is the last position scanned, internal records included, so nothing
        # published remains unread exactly when it has reached the upstream's last position.
        behind = None
        if self.upstream_last_position is not None and self.position is not None:
            behind = max(self.upstream_last_position - self.position, 0)
        return {
            "feed": self.feed_url,
            "position": self.position,
            "upstream_last_position": self.upstream_last_position,
            "positions_behind": behind,
            "caught_up": behind == 0,
            "last_contact": self.last_contact.isoformat() if self.last_contact else None,
            "last_error": self.last_error,
        }
