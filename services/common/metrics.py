"""Prometheus metrics: one set per process, served at GET /metrics (see docs/operating.md).

With several uvicorn workers, set PROMETHEUS_MULTIPROC_DIR (an empty folder, before the
workers start) and /metrics answers for all workers of the service together; without it, each
answer is the worker that happened to take the scrape.
"""

import os
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:  # the store counts its commits here: it need not load the web framework
    from fastapi import FastAPI
    from prometheus_fastapi_instrumentator.metrics import Info

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter(
    "tj_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "tj_http_request_duration_seconds",
    "HTTP request duration by route template, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
PROBLEMS = Counter(
    "tj_problems_total",
    "problem+json answers by type slug (a rule's name for rule rejections) and status.",
    ["type", "status"],
)
FEED_LAST_POSITION = Gauge(
    "tj_feed_last_position",
    "The last position recorded in this service's event feed.",
    multiprocess_mode="livemax",
)
FOLLOWER_POSITION = Gauge(
    "tj_follower_position",
    "The feed position this service's read models have applied.",
    ["feed"],
    multiprocess_mode="livemax",
)
FOLLOWER_UPSTREAM = Gauge(
    "tj_follower_upstream_last_position",
    "The upstream feed's last position, as last seen by the follower.",
    ["feed"],
    multiprocess_mode="livemax",
)
FOLLOWER_LAG = Gauge(
    "tj_follower_lag_positions",
    "Feed positions not yet applied (upstream last position - applied position).",
    ["feed"],
    multiprocess_mode="livemin",
)
FOLLOWER_ERRORS = Counter(
    "tj_follower_errors_total", "Failed feed polls (upstream or store).", ["feed"]
)
COMMIT_BATCH = Histogram(
    "tj_group_commit_batch_writes",
    "Writes committed together in one store transaction (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
COMMIT_QUEUE = Gauge(
    "tj_group_commit_queue_length",
    "Writes waiting for the group committer.",
    multiprocess_mode="livesum",
)
STORE_ERRORS = Counter(
    "tj_store_errors_total",
    "Event store failures: a failed commit or an unanswered readiness probe.",
    ["operation"],
)


def _observe(info: "Info") -> None:
    labels = (info.modified_handler, info.method, info.modified_status)
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(info.modified_duration)


def instrument(app: "FastAPI") -> None:
    """Count and time every request by its route template (never the raw path: ids stay out
    of the labels); requests to no route are counted under the route "none"."""
    from prometheus_fastapi_instrumentator import Instrumentator

    Instrumentator(
        should_group_status_codes=False,
        excluded_handlers=["/metrics"],
    ).add(_observe).instrument(app)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus's text format: every worker's when in multiprocess mode."""
    registry: Any = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST
