"""RFC 9457 problem+json: the only shape an error leaves our services in."""

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError as SQLOperationalError
from sqlalchemy.exc import TimeoutError as SQLPoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.errors import (
    ConsentUnknownError,
    IdempotencyKeyReusedError,
    OutcomeUnknownError,
    StoreUnavailableError,
)
from services.common.metrics import PROBLEMS

PROBLEM_TYPE_BASE = "https://treatment-journeys.example/problems/"
MEDIA_TYPE = "application/problem+json"
FORM_TYPE = "application/x-www-form-urlencoded"

log = logging.getLogger(__name__)


class Problem(Exception):
    """An error that already knows its HTTP answer (used by the shared plumbing)."""

    def __init__(self, status: int, slug: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.extra = (
            status,
            slug,
            title,
            detail,
            extra,
        )
        self.headers: dict[str, str] | None = None


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    PROBLEMS.labels(slug, str(status)).inc()
    body = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        errors.append(
            {
                "field": ".".join(location),
                "message": error.get("msg", "invalid"),
                "type": error.get("type", "value_error"),
            }
        )
    return errors


def allowed_methods(request: Request, fallback: str) -> str:
    """Every method the published document gives the request's path (and OPTIONS, answered
    here); routes not in the document keep what the router said."""
    app: FastAPI = request.app
    path = request.url.path
    for template, operations in app.openapi()["paths"].items():
        pattern = re.sub(r"\\{[^}/]+\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return ", ".join(sorted({"OPTIONS", *(m.upper() for m in operations)}))
    return fallback


def install_problem_handlers(
    app: FastAPI, domain_errors: Mapping[type[Exception], tuple[int, str]]
) -> None:
    """Turn every error into problem+json.

    `domain_errors` maps a service's domain error classes to (status, problem slug); the
    error's class docstring first line is the title and its message the detail.
    """

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(
            exc.status, exc.slug, exc.title, exc.detail, headers=exc.headers, **exc.extra
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem_response(
            422, "validation-error", "The request is not valid", detail, errors=errors
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette's Allow names the methods of the first route on the path only.
            headers = {"Allow": allowed_methods(request, (headers or {}).get("Allow", ""))}
            if request.method == "OPTIONS":
                return Response(status_code=204, headers=headers)
        titles = {404: "Not found", 405: "Method not allowed", 401: "Not authenticated"}
        title = titles.get(exc.status_code, "HTTP error")
        return problem_response(
            exc.status_code,
            title.lower().replace(" ", "-"),
            title,
            str(exc.detail),
            headers=headers,
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "internal-error", "Internal error", "The error was logged; nothing was recorded."
        )

    def on_fault(slug: str) -> Callable[[Request, Exception], Any]:
        """A store or upstream fault: 503 with Retry-After, and the detail says whether
        anything was recorded."""

        async def handler(request: Request, exc: Exception) -> JSONResponse:
            if isinstance(exc, StoreUnavailableError | OutcomeUnknownError | ConsentUnknownError):
                title, detail = _title(exc), str(exc)
            else:
                log.warning("store fault on %s %s: %s", request.method, request.url.path, exc)
                title = "The store is unavailable"
                detail = "The store could not answer; nothing was recorded. Retry shortly."
            retry_after = getattr(request.app.state.settings, "retry_after_seconds", 2)
            return problem_response(
                503, slug, title, detail, headers={"Retry-After": str(retry_after)}
            )

        return handler

    async def on_conflict(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(
            409,
            "concurrent-change",
            "Another change was saved first",
            "Another change to the same record was saved first; read it again and retry.",
            rule="concurrent-change",
        )

    def on_domain(status: int, slug: str) -> Callable[[Request, Exception], Any]:
        async def handler(request: Request, exc: Exception) -> JSONResponse:
            if status == 404:  # identical for "absent" and "not yours", so nothing leaks
                return problem_response(404, "not-found", "Not found", str(exc))
            return problem_response(status, slug, _title(exc), str(exc), rule=slug)

        return handler

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
    for fault, slug in (
        (StoreUnavailableError, "store-unavailable"),
        (PersistenceError, "store-unavailable"),
        (SQLOperationalError, "store-unavailable"),
        (SQLPoolTimeout, "store-unavailable"),
        (OutcomeUnknownError, "outcome-unknown"),
        (ConsentUnknownError, "consent-unknown"),
    ):
        app.add_exception_handler(fault, on_fault(slug))
    app.add_exception_handler(IntegrityError, on_conflict)
    app.add_exception_handler(IdempotencyKeyReusedError, on_domain(422, "idempotency-key-reused"))
    for error_type, (status, slug) in domain_errors.items():
        app.add_exception_handler(error_type, on_domain(status, slug))


def _title(exc: Exception) -> str:
    """An error class's docstring's first line is its problem title."""
    return (type(exc).__doc__ or type(exc).__name__).strip().splitlines()[0].rstrip(".")


class RequestGuard:
    """Pure ASGI middleware, before routing: bounded bodies (413, announced or chunked),
    JSON-only writes (415) and UTF-8 bodies (422, as for any body that is not JSON). A write's
    body is read here, whole, so nothing downstream ever sees part of a rejected one."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, form_paths: tuple[str, ...] = ()) -> None:
        """`form_paths`: path prefixes of HTML forms, which may also post
        application/x-www-form-urlencoded bodies (bounded and UTF-8 all the same)."""
        self.app, self.max_body_bytes, self.form_paths = app, max_body_bytes, form_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        # Header values are bytes; HTTP allows any octet in them, so latin-1 never fails.
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length")
        if length is not None and not (length.isascii() and length.isdigit()):
            await self._reject(scope, receive, send, 400, "A Content-Length must be a number.")
            return
        if length is not None and int(length) > self.max_body_bytes:
            await self._reject(scope, receive, send, 413)
            return
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        form = content_type == FORM_TYPE and scope["path"].startswith(self.form_paths)
        if (
            length != "0"
            and content_type not in ("application/json", "")
            and not (content_type.endswith("+json"))
            and not form
        ):
            await self._reject(scope, receive, send, 415)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body_bytes:
                await self._reject(scope, receive, send, 413)
                return
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:  # 422, like any other body that is not JSON
            await self._reject(scope, receive, send, 422, "body: not UTF-8 text")
            return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, status: int, detail: str = ""
    ) -> None:
        if status == 413:
            response = problem_response(
                413,
                "payload-too-large",
                "Request body too large",
                f"Request bodies are limited to {self.max_body_bytes} bytes.",
            )
        elif status == 415:
            response = problem_response(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                "Send request bodies as application/json.",
            )
        elif status == 422:
            errors = [{"field": "body", "message": "The request body is not UTF-8 JSON."}]
            response = problem_response(
                422, "validation-error", "The request is not valid", detail, errors=errors
            )
        else:
            response = problem_response(status, "malformed-request", "Malformed request", detail)
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read by the guard, delivered once; then whatever the server says next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class ResponseHeaders:
    """Pure ASGI middleware: every response says `X-Content-Type-Options: nosniff`; an
    authenticated request's answer under one of `private_paths` (personal data) also says
    `Cache-Control: no-store`, so no browser or proxy keeps a copy."""

    def __init__(self, app: ASGIApp, private_paths: tuple[str, ...]) -> None:
        self.app, self.private_paths = app, private_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authenticated = any(k.lower() == b"authorization" for k, _ in scope["headers"])
        private = authenticated and scope["path"].startswith(self.private_paths)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not (private and k.lower() == b"cache-control")
                ]
                headers.append((b"x-content-type-options", b"nosniff"))
                if private:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
