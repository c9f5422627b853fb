"""Helpers for the dashboard's tests: signing in over plain HTTP, reading its CSV, and the
API's figures it must equal."""

import csv
import io
import re
from datetime import date
from typing import Any

import httpx

from services.reporting.disclosure import month_end

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    match = CSRF_FIELD.search(page.text)
    assert match, page.text
    return match[1]


def post_sign_in(
    http: httpx.Client, token: str, origin: str | None = "same", csrf: str | None = "page"
) -> httpx.Response:
    """POST the sign-in form as a browser would (origin "same": this site's; csrf "page":
    the value the sign-in page gave)."""
    page = http.get("/dashboard/sign-in")
    assert page.status_code == 200
    form = {"token": token}
    if csrf is not None:
        form["csrf"] = csrf_of(page) if csrf == "page" else csrf
    headers = {}
    if origin is not None:
        headers["Origin"] = str(http.base_url).rstrip("/") if origin == "same" else origin
    return http.post("/dashboard/sign-in", data=form, headers=headers, follow_redirects=False)


def flatten(figures: Any, path: str) -> list[tuple[str, Any]]:
    """Every figure of a /kpis answer as (dotted path, value); `of` texts are not figures."""
    if not isinstance(figures, dict):
        return [(path, figures)]
    return [
        leaf
        for key, value in figures.items()
        if key != "of"
        for leaf in flatten(value, f"{path}.{key}")
    ]


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def as_text(value: Any) -> str:
    """A figure as the CSV writes it."""
    return "" if value is None else str(value)


def months(last: date, count: int = 24) -> list[tuple[date, date]]:
    index = last.year * 12 + last.month - 1
    firsts = [date(i // 12, i % 12 + 1, 1) for i in range(index - count + 1, index + 1)]
    return [(first, month_end(first)) for first in firsts]


def api_rows(
    api: httpx.Client | Any, headers: dict[str, str], key: str, last: date, **scope: str
) -> list[dict[str, str]]:
    """GET /kpis for each of the 24 months to `last`, as the dashboard's CSV rows of `key`."""
    rows = []
    for start, end in months(last):
        params = {"period_start": start.isoformat(), "period_end": end.isoformat(), **scope}
        answer = api.get("/kpis", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        for path, value in flatten(answer.json()["figures"][key], key):
            rows.append(
                {
                    "period_start": start.isoformat(),
                    "period_end": end.isoformat(),
                    "figure": path,
                    "value": as_text(value),
                }
            )
    return rows
