"""What every service's FastAPI app has: problem+json, request limits, auth, /health, /codes."""

import math
import os
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from services.common.access import (
    ADMINISTRATORS,
    READERS,
    Purpose,
    log_of,
    record,
    require_role,
    require_role_audited,
)
from services.common.auth import Caller, CurrentCaller, Role, token_verifier
from services.common.codes import SharingPurpose, coded_lists
from services.common.feed import FeedItem, FeedPage, read_feed
from services.common.issuer import dev_issuer
from services.common.logs import RequestLog, configure_logging
from services.common.metrics import STORE_ERRORS, exposition, instrument
from services.common.problems import (
    MEDIA_TYPE,
    RequestGuard,
    ResponseHeaders,
    install_problem_handlers,
)
from services.common.settings import Settings
from services.common.store import JsonApplication
from services.common.tracing import instrument_app

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "rule": {"type": "string", "description": "The rule broken, for 409/412/422 answers."},
        "errors": {
            "type": "array",
            "description": "For validation errors: which fields are wrong.",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {
                        "type": "string",
                        "description": "What is wrong: a schema constraint (e.g. missing, "
                        "string_pattern_mismatch) or value_error, a rule beyond the schema.",
                    },
                },
            },
        },
    },
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries declaring problem+json answers."""
    descriptions = {
        400: "Malformed request (e.g. a Content-Length that is not a number)",
        401: "Missing, expired, forged or misdirected bearer token",
        403: "The caller may not do this",
        404: "No such record (or not visible to the caller)",
        409: "A rule or the record's current state forbids this",
        412: "The record changed since the version given in If-Match",
        413: "Request body too large",
        415: "Request body is not JSON",
        422: "The request is not valid (including a body that is not UTF-8 JSON)",
        503: "A store or upstream fault; Retry-After says when to try again",
    }
    return {
        status: {
            "description": descriptions.get(status, "Problem"),
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def operation_id(route: APIRoute) -> str:
    """A short, stable operationId: the route's name in snake case (`read_kpis`,
    `record_triage_completed`), not FastAPI's name + path + method. Unique per service (tests
    check it), so a partner's generated client has one readable function per operation."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", route.name).lower()


def create_service_app(
    service: str,
    title: str,
    description: str,
    settings: Settings,
    domain_errors: Mapping[type[Exception], tuple[int, str]],
    private_paths: tuple[str, ...] = ("/",),
    form_paths: tuple[str, ...] = (),
) -> FastAPI:
    """`private_paths`: path prefixes whose authenticated answers carry personal data, so
    carry Cache-Control: no-store. `form_paths`: path prefixes of HTML pages whose forms post
    application/x-www-form-urlencoded bodies."""
    configure_logging(service)
    keep_private(settings.data_dir)
    # Every PostgreSQL session of this process waits at most this long for a lock (libpq reads
    # PGOPTIONS when it connects): a table lock held elsewhere fails a statement, answered 503,
    # instead of hanging it. The event store's inserts set their own, equal, bound.
    lock_timeout = max(1, math.ceil(settings.write_timeout_seconds))
    os.environ.setdefault("PGOPTIONS", f"-c lock_timeout={lock_timeout}s")
    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    if settings.local_identity:
        dev_issuer(settings)  # publishes data_dir/jwks.json, the public keys verified with
    app.state.verifier = token_verifier(settings, service)
    install_problem_handlers(app, domain_errors)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes, form_paths=form_paths)
    app.add_middleware(ResponseHeaders, private_paths=private_paths)
    instrument(app)
    app.add_middleware(RequestLog)
    instrument_app(app, service)

    base_openapi = app.openapi

    def openapi_with_problem() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base_openapi()
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                PROBLEM_SCHEMA
            )
            schema["components"]["securitySchemes"] = {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An ES256 JWT from the identity provider naming the user "
                    "(sub), organisation (org) and role, with this service in its aud.",
                }
            }
            schema["security"] = [{"bearer": []}]
            for path_item in schema.get("paths", {}).values():
                for operation in path_item.values():
                    operation.setdefault("responses", {})["503"] = problems(503)[503]
            drop_null_from_parameters(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi_with_problem  # type: ignore[method-assign]
    return app


def keep_private(data_dir: Path) -> None:
    """Stores, audit logs and keys readable by this user only: files created from now on
    (SQLite's -wal and -shm included) are 0600, the data folder 0700, and files already in
    it are made 0600."""
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True)
    # A local PostgreSQL server kept in the folder (make run STORE=postgres) runs as its own
    # system user, which must pass through it: others may traverse, never list or read.
    data_dir.chmod(0o711 if (data_dir / "postgres").is_dir() else 0o700)
    for path in data_dir.iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(0o600)


# Health probes ask the store from here, so a store that does not answer (a table lock held
# by another session) makes the probe say so within its bound instead of hanging it.
_probes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="health-probe")
PROBE_TIMEOUT_SECONDS = 2.0


def store_health(application: JsonApplication) -> dict[str, Any]:
    """The event store's part of readiness: reachable, and its write path working."""
    reasons = []
    last_position: int | None = None
    try:
        probe = _probes.submit(application.recorder.max_notification_id)
        last_position = probe.result(timeout=PROBE_TIMEOUT_SECONDS) or 0
    except PersistenceError as error:
        STORE_ERRORS.labels("probe").inc()
        reasons.append(f"event store unreachable: {error}")
    except TimeoutError:
        STORE_ERRORS.labels("probe").inc()
        reasons.append(f"event store did not answer within {PROBE_TIMEOUT_SECONDS:g} s")
    write_path = application.group_commit.status()
    if not write_path["working"]:
        reasons.append(f"write path failing: {write_path['last_error']}")
    return {"last_position": last_position, "write_path": write_path, "reasons": reasons}


def follower_reasons(name: str, status: dict[str, Any], max_lag: int) -> list[str]:
    """A follower's part of readiness: its upstream answers and it is at most `max_lag`
    positions behind (0: not checked)."""
    if max_lag <= 0:
        return []
    if status["last_error"] is not None:
        return [f"{name} feed: lag unknown, the last poll failed: {status['last_error']}"]
    behind = status["positions_behind"]
    if behind is not None and behind > max_lag:
        return [f"{name} feed: {behind} positions behind (more than {max_lag})"]
    return []


def drop_null_from_parameters(schema: dict[str, Any]) -> None:
    """A query or header parameter is present or absent, never null: `X | None` in a route
    publishes as X (pydantic would offer a null branch that a client could only send as the
    text "null")."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                spec = parameter["schema"]
                branches = spec.get("anyOf", [])
                rest = [b for b in branches if b != {"type": "null"}]
                if len(rest) == 1 and len(branches) == 2:
                    del spec["anyOf"]
                    spec.update(rest[0])


FeedFilter = Callable[[Request, Caller, SharingPurpose | None], Callable[[FeedItem], bool]]
# The client whose data each feed item carries, if any.
ClientsOf = Callable[[list[FeedItem]], list[UUID | None]]


def common_router(
    get_application: Callable[[Request], Application[Any]],
    health: Callable[[Request], dict[str, Any]],
    feed_filter: FeedFilter,
    clients_of: ClientsOf,
) -> APIRouter:
    """/health (open), /codes and /feed (authenticated)."""
    router = service_router(health)
    router.include_router(feed_router(get_application, feed_filter, clients_of))
    return router


class ReadinessOut(BaseModel):
    status: Literal["ok", "not_ready"]
    reasons: list[str] = Field(description="Why the service cannot serve now; empty when ready.")


class HealthDetailsOut(ReadinessOut):
    """Readiness with the service's figures (its store's last position, the write path's
    queue, each follower's progress); the figures differ by service."""

    model_config = ConfigDict(extra="allow")


class LiveOut(BaseModel):
    status: Literal["live"]


NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"description": "Not ready: `reasons` says why", "model": ReadinessOut}
}


def service_router(health: Callable[[Request], dict[str, Any]]) -> APIRouter:
    """/health, /health/live, /health/ready (open), /health/details and /codes (authenticated).

    `health` returns the service's details, with `reasons` listing why it cannot serve now.
    The open probes answer only status and reasons: positions, queue sizes and follower
    progress are activity figures, for administrators and services only.
    """
    router = APIRouter()

    @router.get(
        "/health/live", tags=["service"], response_model=LiveOut, openapi_extra={"security": []}
    )
    def get_live() -> dict[str, str]:
        """The process answers."""
        return {"status": "live"}

    def readiness(request: Request) -> tuple[dict[str, Any], int]:
        details = health(request)
        reasons = details.pop("reasons", [])
        status = "ok" if not reasons else "not_ready"
        body = {"status": status, "reasons": reasons, **details}
        return body, 200 if not reasons else 503

    @router.get(
        "/health/ready",
        tags=["service"],
        response_model=ReadinessOut,
        openapi_extra={"security": []},
        responses=NOT_READY,
    )
    def get_ready(request: Request) -> JSONResponse:
        """Ready to serve: store reachable and the write path working (503 with the reasons
        otherwise). Status and reasons only; the figures are at /health/details."""
        body, status = readiness(request)
        open_body = {"status": body["status"], "reasons": body["reasons"]}
        return JSONResponse(jsonable_encoder(open_body), status_code=status)

    router.add_api_route(
        "/health",
        get_ready,
        methods=["GET"],
        tags=["service"],
        response_model=ReadinessOut,
        openapi_extra={"security": []},
        responses=NOT_READY,
        summary="Get Health (the same answer as /health/ready)",
        name="get_health",
    )

    @router.get(
        "/health/details",
        tags=["service"],
        response_model=HealthDetailsOut,
        responses={**problems(401, 403), **NOT_READY},
    )
    def get_health_details(request: Request, caller: CurrentCaller) -> JSONResponse:
        """Readiness with its figures: the store's last position, the write path's queue and
        each follower's progress. Administrators and services only."""
        require_role(caller, ADMINISTRATORS | {Role.SERVICE}, "read health details")
        body, status = readiness(request)
        return JSONResponse(jsonable_encoder(body), status_code=status)

    @router.get(
        "/metrics",
        tags=["service"],
        response_class=Response,
        responses={
            200: {
                "content": {"text/plain": {"schema": {"type": "string"}}},
                "description": "Prometheus text format",
            },
            **problems(401, 403),
        },
    )
    def get_metrics(caller: CurrentCaller) -> Response:
        """Prometheus metrics (requests by route and status, rule rejections, feed and
        follower positions, group commit, store errors). Administrators and services only:
        the figures reveal activity. See docs/operating.md."""
        require_role(caller, ADMINISTRATORS | {Role.SERVICE}, "read metrics")
        body, media_type = exposition()
        return Response(body, media_type=media_type)

    @router.get("/codes", tags=["service"], responses=problems(401))
    def get_codes(caller: CurrentCaller) -> dict[str, object]:
        """Every coded list: sources, modalities and their tiers, exit reasons (and which are
        planned exits), urgencies, decline reasons and more."""
        return coded_lists()

    return router


def feed_router(
    get_application: Callable[[Request], Application[Any]],
    feed_filter: FeedFilter,
    clients_of: ClientsOf,
) -> APIRouter:
    router = APIRouter()

    @router.get("/feed", tags=["feed"], response_model=FeedPage, responses=problems(401, 403, 422))
    def get_feed(
        request: Request,
        caller: CurrentCaller,
        purpose: Purpose,
        after: Annotated[
            int, Query(ge=0, le=2**63 - 1, description="Return items after this position.")
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> FeedPage:
        """This service's events in recording order, a page at a time.

        Positions strictly increase but may have gaps; page with `after=next_after` until
        `has_more` is false. Schema: openapi/feed.schema.json.

        Service tokens see every event. A partner (provider, CJIT, CARAT, administrator)
        sees only events of records its organisation is party to, or that the client's
        standing consent lets it see for the stated Purpose. Every page is audited: one
        entry for each client whose data it carries, for services too. Commissioners read
        KPIs, not feeds (403).
        """
        application = get_application(request)
        if caller.role is Role.SERVICE:
            page = read_feed(application, after, limit)
        else:
            require_role_audited(request, caller, purpose, READERS, "read a feed")
            page = read_feed(application, after, limit, feed_filter(request, caller, purpose))
        clients = dict.fromkeys(c for c in clients_of(page.items) if c is not None)
        records: list[tuple[object, UUID | None]] = [(f"after={after}", c) for c in clients]
        if not records and caller.role is not Role.SERVICE:
            records = [(f"after={after}", None)]
        record(log_of(request), caller, purpose, "feed", records)
        # Already a validated FeedPage: serialise once (pages are large and followers fast).
        return Response(page.model_dump_json(), media_type="application/json")  # type: ignore[return-value]

    return router
