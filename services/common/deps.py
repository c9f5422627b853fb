"""Annotated dependencies and response declarations shared by the services' routes."""

from typing import Annotated

from fastapi import Depends, Request

from services.common.access import AccessLog
from services.common.auth import Caller
from services.common.idempotency import Receipt, receipt
from services.common.versions import expected_version
from services.common.web import problems


def get_access_log(request: Request) -> AccessLog:
    log: AccessLog = request.app.state.access_log
    return log


def recorded_by(caller: Caller) -> dict[str, str]:
    return {"organisation": caller.organisation, "user": caller.user}


Log = Annotated[AccessLog, Depends(get_access_log)]
IfMatch = Annotated[int | None, Depends(expected_version)]
Key = Annotated[Receipt | None, Depends(receipt)]
WRITE_PROBLEMS = problems(400, 401, 403, 404, 409, 412, 413, 415, 422)
READ_PROBLEMS = problems(401, 403, 404, 422)
