"""JSON log lines on stderr, one per request, with a request id and no personal data.

Every line is a JSON object. The request line names the route template (never the raw path or
query), the method, status, duration, the caller's organisation and role, and the request id
(taken from X-Request-Id when it is a plain token, generated otherwise, and returned in
X-Request-Id). Nothing from a request or response body is ever logged.
"""

import logging
import os
import re
import sys
import time
import uuid
from typing import Any

import structlog
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_configured = False
log = structlog.get_logger("services.request")


def _trace_ids(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = format(context.trace_id, "032x")
        event["span_id"] = format(context.span_id, "016x")
    return event


def configure_logging(service: str) -> None:
    """Route every log record of the process (ours, uvicorn's, libraries') through one JSON
    formatter on stderr. Idempotent; the level is TJ_LOG_LEVEL (default INFO)."""
    global _configured
    if _configured:
        return
    _configured = True
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _trace_ids,
        lambda logger, method, event: {"service": service, **event},
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    handler.set_name("tj-json")
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != "tj-json"] + [handler]
    root.setLevel(os.environ.get("TJ_LOG_LEVEL", "INFO").upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # Our request line replaces uvicorn's access line, which logs raw paths and query strings.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request at INFO: the followers poll twice a second.
    logging.getLogger("httpx").setLevel(logging.WARNING)


class RequestLog:
    """ASGI middleware: the request id and one JSON line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = scope.get("route")
                caller = scope.get("state", {}).get("caller")
                log.info(
                    "request",
                    method=scope["method"],
                    route=getattr(route, "path", "none"),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    organisation=getattr(caller, "organisation", None),
                    role=getattr(getattr(caller, "role", None), "value", None),
                )
