"""Annotated dependencies and response declarations shared by the services' routes."""

import hashlib
import json
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Header, Request

from services.common.access import AccessLog
from services.common.auth import Caller
from services.common.store import Receipt
from services.common.versions import expected_version
from services.common.web import problems


def get_access_log(request: Request) -> AccessLog:
    log: AccessLog = request.app.state.access_log
    return log


def recorded_by(caller: Caller) -> dict[str, str]:
    return {"organisation": caller.organisation, "user": caller.user}


async def receipt(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            # Printable ASCII, no white space at either end (HTTP would strip it).
            pattern=r"^[!-~]([ -~]{0,253}[!-~])?$",
            description="Retry-safe writes: the same key and body returns the first "
            "response and records nothing more; a different body is 422.",
        ),
    ] = None,
) -> Receipt | None:
    if key is None:
        return None
    body = await request.body()
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True)
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    digest = hashlib.sha256(
        f"{request.method}\n{request.url.path}\n{request.headers.get('if-match', '')}\n"
        f"{canonical}".encode()
    ).hexdigest()
    return Receipt(organisation="", key=key, fingerprint=digest)


def own_key(key: Receipt | None, caller: Caller) -> Receipt | None:
    """The request's Idempotency-Key, scoped to the caller's organisation (keys are per
    organisation), as the application's keyed writes take it."""
    return None if key is None else replace(key, organisation=caller.organisation)


Log = Annotated[AccessLog, Depends(get_access_log)]
IfMatch = Annotated[int | None, Depends(expected_version)]
Key = Annotated[Receipt | None, Depends(receipt)]
WRITE_PROBLEMS = problems(400, 401, 403, 404, 409, 412, 413, 415, 422)
READ_PROBLEMS = problems(401, 403, 404, 422)
