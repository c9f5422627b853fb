"""The dashboard: HTML pages for commissioners and providers (docs/dashboard.md).

Sign-in takes a bearer token from our identity provider, verified exactly as the API verifies
it (app.state.verifier), and keeps it in an HttpOnly, SameSite=Strict cookie scoped to
/dashboard (Secure over https) that expires no later than the token. The sign-in and sign-out
forms carry a double-submit CSRF token and must come from this origin. Every page says
Cache-Control: no-store and a Content-Security-Policy that allows nothing but this origin's
stylesheet: the charts are server-rendered SVG, and there is no script.

The figures are GET /kpis's (services.reporting.trends): the same access rule (figures_scope),
the same function, the same disclosure control for a commissioner. Like /kpis, a page view is
logged by the request log (route, status, organisation, role); it shows no personal data, so
it writes no access-log entry.
"""

import csv
import hmac
import io
import re
import secrets
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.common.access import READERS
from services.common.auth import ORGANISATION, Caller, Role, TokenVerifier
from services.common.clock import today
from services.common.errors import ForbiddenError
from services.common.problems import FORM_TYPE, Problem
from services.reporting import charts, queries, trends
from services.reporting.api import AREA_PATTERN, figures_scope
from services.reporting.disclosure import SUPPRESSED, disclose
from services.reporting.kpis import Period

PATH = "/dashboard"
SESSION_COOKIE = "tj_dashboard_session"
CSRF_COOKIE = "tj_dashboard_csrf"
MAX_TOKEN_CHARS = 8192
ROLES = READERS | {Role.COMMISSIONER}
HERE = Path(__file__).parent
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
SNAPSHOT_TABLES = ("caseload_by_phase", "waiting_list")

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True)
)
router = APIRouter(prefix=PATH, include_in_schema=False)


class PageError(Exception):
    """A page that cannot be shown: an HTML error page with this status."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def base_of(request: Request) -> str:
    """The dashboard's path as the browser sees it (behind a proxy that strips a prefix,
    uvicorn's --root-path names the prefix)."""
    return str(request.scope.get("root_path", "")).rstrip("/") + PATH


def secured(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def html(
    request: Request, template: str, status: int = 200, caller: Caller | None = None, **context: Any
) -> HTMLResponse:
    csrf = request.cookies.get(CSRF_COOKIE, "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{43}", csrf):
        csrf = secrets.token_urlsafe(32)
    body = templates.get_template(template).render(
        caller=caller, csrf=csrf, base=base_of(request), **context
    )
    response = HTMLResponse(body, status_code=status)
    set_cookie(request, response, CSRF_COOKIE, csrf, max_age=None)
    secured(response)
    return response


def error_page(request: Request, error: PageError, caller: Caller | None = None) -> HTMLResponse:
    return html(request, "error.html", error.status, caller, title=error.title, detail=error.detail)


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        expires=max_age,
        path=base_of(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def verifier(request: Request) -> TokenVerifier:
    found: TokenVerifier = request.app.state.verifier
    return found


def signed_in(request: Request) -> Caller | None:
    """The caller whose token the session cookie holds, verified now (None: sign in)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        caller = verifier(request).read(token)
    except Problem as problem:
        if problem.status == 401:
            return None
        raise PageError(problem.status, problem.title, problem.detail) from None
    request.state.caller = caller  # the request log names the organisation and role
    return caller


def to_sign_in(request: Request) -> Response:
    response = RedirectResponse(f"{base_of(request)}/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=base_of(request))
    return secured(response)


def same_origin(request: Request) -> bool:
    """The form was posted from a page of this origin (Origin, else Referer)."""
    expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
    origin = request.headers.get("origin")
    if origin is None:
        referer = urlsplit(request.headers.get("referer", ""))
        origin = f"{referer.scheme}://{referer.netloc}"
    return hmac.compare_digest(origin.encode(), expected.encode())


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form, when it came from this site: same origin, and the CSRF field equal
    to the CSRF cookie (which another site can neither read nor set)."""
    if not same_origin(request):
        raise PageError(403, "Refused", "This form may be sent only from this site's pages.")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
        raise PageError(415, "Unsupported form", "Send the form as the page does.")
    try:
        fields = parse_qs((await request.body()).decode(), keep_blank_values=True, max_num_fields=8)
    except ValueError:
        raise PageError(400, "Malformed form", "The form sent could not be read.") from None
    form = {key: values[0] for key, values in fields.items()}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get("csrf", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise PageError(
            403,
            "The form has expired",
            "The form did not carry this site's security code: open the page again and resend.",
        )
    return form


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    return html(request, "sign_in.html", title="Sign in")


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    try:
        form = await checked_form(request)
    except PageError as error:
        return error_page(request, error)
    token = form.get("token", "").strip()

    def refused(status: int, message: str) -> Response:
        return html(request, "sign_in.html", status, title="Sign in", error=message)

    if not token:
        return refused(422, "Enter an access token.")
    if len(token) > MAX_TOKEN_CHARS:
        return refused(422, f"An access token has at most {MAX_TOKEN_CHARS} characters.")
    try:
        caller, expires = verifier(request).read_with_expiry(token)
    except Problem as problem:
        if problem.status != 401:
            return error_page(request, PageError(problem.status, problem.title, problem.detail))
        return refused(401, f"That token was not accepted. {problem.detail}")
    if caller.role not in ROLES:
        return refused(403, f"A {caller.role.value} token cannot sign in to the dashboard.")
    # The browser adds max-age to its own clock a moment later; a second's margin keeps the
    # cookie from outliving the token by that moment.
    lifetime = int(expires - time.time()) - 1
    if lifetime <= 0:
        return refused(401, "That token was not accepted. It has expired; get a new one.")
    request.state.caller = caller
    response = RedirectResponse(base_of(request), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token, max_age=lifetime)
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(32), max_age=None)
    return secured(response)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    try:
        await checked_form(request)
    except PageError as error:
        return error_page(request, error)
    return to_sign_in(request)


@router.get("/static/dashboard.css")
def stylesheet() -> Response:
    return secured(FileResponse(HERE / "static" / "dashboard.css", media_type="text/css"))


@dataclass(frozen=True)
class View:
    """What a page shows: whose figures, and the months."""

    caller: Caller
    scope: queries.Scope
    months: list[Period]
    params: dict[str, str]

    @property
    def commissioner(self) -> bool:
        return self.caller.role is Role.COMMISSIONER

    @property
    def day(self) -> date:
        """The day of the waiting list and caseloads: the last month's end, or today."""
        return min(self.months[-1].end, today())


def view_of(request: Request, caller: Caller) -> View:
    if caller.role not in ROLES:
        raise PageError(403, "Refused", f"A {caller.role.value} cannot use the dashboard.")
    query = request.query_params
    this_month = today().replace(day=1)
    end = query.get("end") or this_month.strftime("%Y-%m")
    last = trends.parse_month(end)
    if last is None or last > this_month:
        raise PageError(422, "No such month", "Choose a month up to this one, as YYYY-MM.")
    area = query.get("area", "").strip().upper() or None
    organisation = query.get("organisation", "").strip() or None
    if area is not None and not re.fullmatch(AREA_PATTERN, area):
        raise PageError(422, "No such area", "An area is a postcode area: one or two letters.")
    if organisation is not None and not ORGANISATION.fullmatch(organisation):
        raise PageError(422, "No such organisation", "That is not an organisation code.")
    months = trends.months_ending(last)
    try:
        organisation = figures_scope(caller, organisation, area, months[-1], None)
    except ForbiddenError as error:
        raise PageError(403, "Refused", str(error)) from None
    params = {"end": end, "area": area or "", "organisation": organisation or ""}
    if caller.role is not Role.COMMISSIONER:
        params = {"end": end}
    return View(caller, queries.Scope(organisation=organisation, area=area), months, params)


def month_label(period: Period) -> str:
    label = period.start.strftime("%b %Y")
    return f"{label} (to date)" if period.start <= today() < period.end else label


def shown(value: Any, column: str) -> str:
    """A figure as the page shows it: suppression and missing figures in words."""
    if value == SUPPRESSED:
        return "suppressed (1\N{EN DASH}5)"
    if value is None:
        return "none"
    last = column.split(".")[-1]
    if last == "ratio":
        return f"{value * 100:.1f}%"
    if last == "percent":
        return f"{value}%"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def plotted(value: Any, column: str) -> float | None:
    if value is None or value == SUPPRESSED:
        return None
    return float(value) * (100 if column.endswith("ratio") else 1)


def heading(column: str) -> str:
    parts = column.split(".")
    if parts[-1] in ("count", "value"):
        parts.pop()
    if parts and parts[-1] in ("ratio", "percent"):
        parts[-1] = "%"
    separator = " \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} "
    return separator.join(p.replace("_", " ") for p in parts) or "count"


def figures_of(request: Request, view: View) -> tuple[list[trends.Trend], dict[str, Any]]:
    monthly = trends.monthly_figures(request, view.scope, view.months, view.commissioner)
    snapshot = trends.snapshot(request, view.scope, view.day)
    shown = disclose(snapshot) if view.commissioner else snapshot
    return trends.trends(view.months, monthly), shown


def scope_label(view: View) -> str:
    scope = view.scope
    if scope.organisation and scope.area:
        return f"{scope.organisation}, postcode area {scope.area}"
    if scope.organisation:
        return scope.organisation
    if scope.area:
        return f"postcode area {scope.area}"
    return "England"


def this_month_options(selected: date) -> list[tuple[str, str, bool]]:
    this_month = today().replace(day=1)
    months = trends.months_ending(this_month, 36)
    return [
        (m.start.strftime("%Y-%m"), m.start.strftime("%B %Y"), m.start == selected)
        for m in reversed(months)
    ]


@router.get("")
def dashboard(request: Request) -> Response:
    caller = None
    try:
        caller = signed_in(request)
        if caller is None:
            return to_sign_in(request)
        view = view_of(request, caller)
    except PageError as error:
        return error_page(request, error, caller)
    kpi_trends, snapshot = figures_of(request, view)
    labels = [month_label(m) for m in view.months]
    sections = [
        {
            "trend": trend,
            "headings": [heading(c) for c in trend.columns],
            "rows": [
                (month_label(m), [shown(v, c) for v, c in zip(values, trend.columns, strict=True)])
                for m, values in trend.rows
            ],
            "chart": charts.line_chart(
                f"chart-{trend.key}",
                f"{trend.title}: {heading(trend.columns[trend.headline])}, by month",
                [m.start.strftime("%b %y") for m in view.months],
                [plotted(v, trend.columns[trend.headline]) for v in trend.series()],
                "%" if trend.columns[trend.headline].endswith(("ratio", "percent")) else "",
            ),
        }
        for trend in kpi_trends
    ]
    return html(
        request,
        "dashboard.html",
        caller=caller,
        title=f"Dashboard: {scope_label(view)}",
        view=view,
        scope_label=scope_label(view),
        labels=labels,
        sections=sections,
        snapshots=[snapshot_section(name, snapshot[name]) for name in SNAPSHOT_TABLES],
        day=view.day,
        months=this_month_options(view.months[-1].start),
        query="&".join(f"{k}={v}" for k, v in view.params.items() if v),
    )


def snapshot_section(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    [cells] = [v for k, v in figures.items() if k.startswith("by_")]
    names = list(cells)
    labels = [n.replace("_", " ") for n in names]
    values = [cells[n]["count"] for n in names]
    title = "Caseload by phase" if name == "caseload_by_phase" else "Waiting list by time waiting"
    return {
        "name": name,
        "title": title,
        "rows": [*zip(labels, [shown(v, "count") for v in values], strict=True)],
        "total": shown(figures["total"]["count"], "count"),
        "chart": charts.bar_chart(
            f"chart-{name}", title, labels, [plotted(v, "count") for v in values]
        ),
    }


@router.get("/csv/{name}")
def download(request: Request, name: str) -> Response:
    caller = None
    try:
        caller = signed_in(request)
        if caller is None:
            return to_sign_in(request)
        view = view_of(request, caller)
        table = name.removesuffix(".csv")
        if not name.endswith(".csv") or not (table in SNAPSHOT_TABLES or table in trends.TITLES):
            raise PageError(404, "No such table", f"There is no table {name!r} to download.")
    except PageError as error:
        return error_page(request, error, caller)
    kpi_trends, snapshot = figures_of(request, view)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if table in SNAPSHOT_TABLES:
        writer.writerow(["as_at", "figure", "value"])
        for path, value in trends.flatten(snapshot[table], table):
            writer.writerow([view.day.isoformat(), path, "" if value is None else value])
    else:
        found = [t for t in kpi_trends if t.key == table]
        if not found:
            return error_page(request, PageError(404, "No such table", f"No {table} figures."))
        writer.writerow(["period_start", "period_end", "figure", "value"])
        for month, values in found[0].rows:
            for column, value in zip(found[0].columns, values, strict=True):
                path = f"{table}.{column}" if column else table
                writer.writerow([month.start, month.end, path, "" if value is None else value])
    first, last = view.months[0].start, view.months[-1].start
    filename = f"{table}-{first:%Y-%m}-to-{last:%Y-%m}.csv"
    response = Response(out.getvalue(), media_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return secured(response)
