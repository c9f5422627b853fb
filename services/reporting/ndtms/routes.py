"""HTTP routes of the national return: the extract, its validation report, submissions.

Access: a provider or an administrator, for its own organisation only; every episode row read
(in a file, a report or a change list) is audited; a request for another organisation is
refused (403) and audited as refused.
"""

import hashlib
import uuid
from calendar import monthrange
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from services.common.access import Purpose, log_of, record, refuse, require_role_audited
from services.common.auth import Caller, CurrentCaller, Role
from services.common.errors import ForbiddenError, NotVisibleError
from services.common.problems import Problem
from services.common.schemas import Day, Moment, OrganisationCode, StrictIn
from services.common.web import problems
from services.reporting.ndtms import extract, mapping
from services.reporting.ndtms.models import Submission
from services.reporting.ndtms.validation import validate

router = APIRouter(prefix="/ndtms", tags=["national return"])
RETURN_ROLES = frozenset({Role.PROVIDER, Role.ADMINISTRATOR})
PROBLEMS = problems(401, 403, 422)
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The CSV file."}
}
PeriodEnd = Annotated[Day, Query(description="The month end the return is for.")]
KnownAt = Annotated[
    Moment | None,
    Query(description="Recording time (with offset): what was known then. Default: now."),
]


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def check_scope(
    request: Request, caller: Caller, purpose: Any, organisation: str, period_end: date
) -> None:
    require_role_audited(request, caller, purpose, RETURN_ROLES, "read the national return")
    if organisation != caller.organisation:
        refuse(request, caller, purpose, "ndtms-return", f"organisation={organisation}")
        raise ForbiddenError("You may read your own organisation's return only.")
    if period_end.day != monthrange(period_end.year, period_end.month)[1]:
        raise Problem(422, "not-a-month-end", "Not a month end", f"{period_end} is not one.")


def scope_of(organisation: str, period_end: date, known_at: datetime | None) -> extract.Scope:
    now = datetime.now(UTC)
    if known_at is not None and extract.utc(known_at) > now:
        raise Problem(422, "known-at-in-future", "known_at in the future", "Ask about the past.")
    return extract.Scope(organisation, period_end, extract.utc(known_at or now))


def build(request: Request, scope: extract.Scope) -> list[extract.Row]:
    with engine_of(request).connect() as connection:
        return extract.rows(connection, scope)


def audit(request: Request, caller: Caller, purpose: Any, built: list[extract.Row]) -> None:
    if built:
        pairs = [(r.record.episode_id, uuid.UUID(r.record.client_id)) for r in built]
        record(log_of(request), caller, purpose, "ndtms-row", pairs)


def read_return(
    request: Request,
    caller: Caller,
    purpose: Any,
    organisation: str,
    period_end: date,
    known_at: datetime | None,
) -> tuple[extract.Scope, list[extract.Row]]:
    """The return's rows for a caller allowed to read them, each row read audited."""
    check_scope(request, caller, purpose, organisation, period_end)
    scope = scope_of(organisation, period_end, known_at)
    built = build(request, scope)
    audit(request, caller, purpose, built)
    return scope, built


def csv_response(scope: extract.Scope, built: list[extract.Row]) -> StreamingResponse:
    """Streamed a row at a time: a large organisation's file is never one string."""
    return StreamingResponse(
        (line.encode() for line in extract.lines(built)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{scope.file_name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/extract", response_class=StreamingResponse, responses={**CSV, **PROBLEMS})
def get_extract(
    request: Request,
    caller: CurrentCaller,
    purpose: Purpose,
    organisation: OrganisationCode,
    period_end: PeriodEnd,
    known_at: KnownAt = None,
) -> StreamingResponse:
    """The monthly return as a CSV: one row per episode open on any day from 1 April of the
    financial year to `period_end`, as known at `known_at`; header of item codes, every value
    quoted, NA where not held; without consent, only AGNCY, CLIENTID and CONSENT."""
    scope, built = read_return(request, caller, purpose, organisation, period_end, known_at)
    return csv_response(scope, built)


class FindingOut(BaseModel):
    item: str = Field(description="The data set item, e.g. TRIAGED.")
    rule: str
    message: str


class EpisodeFindingsOut(BaseModel):
    episode_id: str
    link: str = Field(description="The episode in the journey service.")
    errors: list[FindingOut]
    warnings: list[FindingOut]


class ValidationOut(BaseModel):
    data_set: str
    organisation: str
    window_start: date
    period_end: date
    known_at: datetime
    episodes_checked: int
    errors: int = Field(description="Errors block a submission.")
    warnings: int
    episodes: list[EpisodeFindingsOut] = Field(description="Episodes with any finding.")


def report(scope: extract.Scope, built: list[extract.Row]) -> ValidationOut:
    found = []
    for r in built:
        checked = validate(r)
        if checked.errors or checked.warnings:
            found.append(
                EpisodeFindingsOut(
                    episode_id=r.record.episode_id,
                    link=f"/episodes/{r.record.episode_id}",
                    errors=[FindingOut(**vars(f)) for f in checked.errors],
                    warnings=[FindingOut(**vars(f)) for f in checked.warnings],
                )
            )
    return ValidationOut(
        data_set=mapping.DATA_SET,
        organisation=scope.organisation,
        window_start=scope.window_start,
        period_end=scope.period_end,
        known_at=scope.known_at,
        episodes_checked=len(built),
        errors=sum(len(e.errors) for e in found),
        warnings=sum(len(e.warnings) for e in found),
        episodes=found,
    )


@router.get("/validation", response_model=ValidationOut, responses=PROBLEMS)
def get_validation(
    request: Request,
    caller: CurrentCaller,
    purpose: Purpose,
    organisation: OrganisationCode,
    period_end: PeriodEnd,
    known_at: KnownAt = None,
) -> ValidationOut:
    """The validation report for the same scope as the extract."""
    scope, built = read_return(request, caller, purpose, organisation, period_end, known_at)
    return report(scope, built)


class SubmissionIn(StrictIn):
    organisation: OrganisationCode
    period_end: Day
    known_at: Moment | None = Field(None, description="Default: now.")


class SubmissionOut(BaseModel):
    id: str
    data_set: str
    organisation: str
    window_start: date
    period_end: date
    known_at: datetime
    sha256: str = Field(description="SHA-256 of the file, hex.")
    rows: int
    submitted_by: str
    submitted_at: datetime
    file_name: str


def submission_out(s: Submission) -> SubmissionOut:
    scope = extract.Scope(s.organisation, s.period_end, extract.utc(s.known_at))
    return SubmissionOut(
        id=s.id,
        data_set=s.data_set,
        organisation=s.organisation,
        window_start=s.window_start,
        period_end=s.period_end,
        known_at=extract.utc(s.known_at),
        sha256=s.sha256,
        rows=s.rows,
        submitted_by=s.submitted_by,
        submitted_at=extract.utc(s.submitted_at),
        file_name=scope.file_name,
    )


@router.post(
    "/submissions",
    status_code=201,
    response_model=SubmissionOut,
    responses=problems(401, 403, 409, 422),
    name="submit_return",
)
def submit(
    body: SubmissionIn, request: Request, caller: CurrentCaller, purpose: Purpose
) -> SubmissionOut:
    """Record a submission of the return as known at `known_at`: its data set, scope and the
    file's SHA-256. Refused (409) while the validation report has errors."""
    scope, built = read_return(
        request, caller, purpose, body.organisation, body.period_end, body.known_at
    )
    checked = report(scope, built)
    if checked.errors:
        raise Problem(
            409,
            "validation-errors",
            "The return has errors",
            f"{checked.errors} errors block the submission: see GET /ndtms/validation.",
        )
    row = {
        "id": str(uuid.uuid4()),
        "data_set": mapping.DATA_SET,
        "organisation": scope.organisation,
        "window_start": scope.window_start,
        "period_end": scope.period_end,
        "known_at": scope.known_at,
        "sha256": hashlib.sha256(extract.text(built).encode()).hexdigest(),
        "rows": len(built),
        "submitted_by": caller.user,
        "submitted_at": datetime.now(UTC),
    }
    with engine_of(request).begin() as connection:
        connection.execute(insert(Submission).values(**row))
    return submission_out(Submission(**row))


def own_submission(request: Request, caller: Caller, purpose: Any, sid: str) -> Submission:
    require_role_audited(request, caller, purpose, RETURN_ROLES, "read the national return")
    with Session(engine_of(request), expire_on_commit=False) as session:
        found = session.get(Submission, sid)
    if found is None or found.organisation != caller.organisation:
        raise NotVisibleError(f"No submission {sid}.")
    return found


def rebuilt(request: Request, s: Submission) -> tuple[extract.Scope, list[extract.Row]]:
    scope = extract.Scope(s.organisation, s.period_end, extract.utc(s.known_at))
    return scope, build(request, scope)


@router.get(
    "/submissions/{submission_id}",
    response_model=SubmissionOut,
    responses=problems(401, 403, 404, 422),
)
def get_submission(
    submission_id: str, request: Request, caller: CurrentCaller, purpose: Purpose
) -> SubmissionOut:
    return submission_out(own_submission(request, caller, purpose, submission_id))


@router.get(
    "/submissions/{submission_id}/file",
    response_class=StreamingResponse,
    responses={**CSV, **problems(401, 403, 404, 422)},
)
def get_submitted_file(
    submission_id: str, request: Request, caller: CurrentCaller, purpose: Purpose
) -> StreamingResponse:
    """The submitted file, regenerated from its `known_at`: byte for byte what was sent,
    whatever was corrected since (its SHA-256 is in the X-Content-SHA256 header)."""
    s = own_submission(request, caller, purpose, submission_id)
    scope, built = rebuilt(request, s)
    audit(request, caller, purpose, built)
    response = csv_response(scope, built)
    response.headers["X-Content-SHA256"] = s.sha256
    return response


class RowChangeOut(BaseModel):
    episode_id: str
    change: str = Field(description="added | removed | changed")
    items: list[str] = Field(description="For a changed row, the items whose value changed.")


class ChangesOut(BaseModel):
    submission: SubmissionOut
    known_at_now: datetime
    changes: list[RowChangeOut]


@router.get(
    "/submissions/{submission_id}/changes",
    response_model=ChangesOut,
    responses=problems(401, 403, 404, 422),
)
def get_changes(
    submission_id: str, request: Request, caller: CurrentCaller, purpose: Purpose
) -> ChangesOut:
    """The rows of the submitted file that differ from the same return as known now."""
    s = own_submission(request, caller, purpose, submission_id)
    _, then = rebuilt(request, s)
    now_scope = extract.Scope(s.organisation, s.period_end, datetime.now(UTC))
    now = build(request, now_scope)
    audit(request, caller, purpose, now)
    before = {r.record.episode_id: r.cells() for r in then}
    after = {r.record.episode_id: r.cells() for r in now}
    changes = []
    for episode_id in sorted(before.keys() | after.keys()):
        old, new = before.get(episode_id), after.get(episode_id)
        if old is None:
            changes.append(RowChangeOut(episode_id=episode_id, change="added", items=[]))
        elif new is None:
            changes.append(RowChangeOut(episode_id=episode_id, change="removed", items=[]))
        elif old != new:
            items = [c for c, a, b in zip(mapping.COLUMNS, old, new, strict=True) if a != b]
            changes.append(RowChangeOut(episode_id=episode_id, change="changed", items=items))
    return ChangesOut(
        submission=submission_out(s), known_at_now=now_scope.known_at, changes=changes
    )
