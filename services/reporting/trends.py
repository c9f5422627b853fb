"""What the dashboard shows: every KPI month by month, the waiting list and caseloads.

The KPIs are exactly GET /kpis's figures for each month (api.compute_figures, the same
function and cache, with the episodes folded once for the 24 months; through `disclose` for a
commissioner): the dashboard computes no figure of its own.
The waiting-list distribution and caseloads by phase count the open episodes on a day, as
GET /waiting-list and GET /caseloads list them, and a commissioner sees them through the same
`disclose` (a total and a breakdown: rounded, 1 to 5 suppressed, no cell derivable).
"""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request

from services.common.clock import today
from services.reporting import queries
from services.reporting.api import applied_positions, engine_of, monthly_kpi_figures
from services.reporting.disclosure import disclose, month_end
from services.reporting.kpis import Period, count

MONTHS = 24
MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
PHASES = ("waiting", "engagement", "delivery", "completion")
# The 3-week expectation and the 6-week review threshold of the waiting list (§2.7.1).
WAIT_BANDS = (
    ("21_days_or_fewer", 0, 21),
    ("22_to_41_days", 22, 41),
    ("42_to_83_days", 42, 83),
    ("84_days_or_more", 84, None),
)
TITLES = {
    "numbers_in_treatment": "Numbers in treatment",
    "waiting_times": "Waiting times",
    "retention_12_weeks": "12-week retention",
    "planned_exits": "Planned exits",
    "care_plan_coverage": "Care plan coverage",
    "referral_sources": "Referral sources",
    "criminal_justice_engagement": "Criminal-justice engagement",
    "re_engagements": "Re-engagements",
    "handover_continuity": "Handover continuity",
    "without_re_presentation": "Completions without re-presentation",
    "successful_completion": "Successful completion",
    "prison_to_community_continuity": "Prison to community continuity",
    "top_compliance": "TOP compliance",
    "top_change": "TOP change",
}


def parse_month(text: str) -> date | None:
    """ "YYYY-MM" as the first of that month; None if it is not one."""
    match = MONTH.fullmatch(text)
    if match is None or not 1 <= int(match[1]) <= 9999:
        return None
    return date(int(match[1]), int(match[2]), 1)


def months_ending(last: date, count: int = MONTHS) -> list[Period]:
    """`count` whole calendar months, oldest first, the last one `last`'s month."""
    index = last.year * 12 + last.month - 1
    firsts = [date(i // 12, i % 12 + 1, 1) for i in range(index - count + 1, index + 1)]
    return [Period(first, month_end(first)) for first in firsts if first.year >= 1]


def flatten(figures: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every figure of an answer as (dotted path, value), in the answer's order; the `of`
    texts (what a count counts) are descriptions, not figures."""
    if not isinstance(figures, dict):
        return [(path, figures)]
    return [
        leaf
        for key, value in figures.items()
        if key != "of"
        for leaf in flatten(value, f"{path}.{key}" if path else key)
    ]


def descriptions(figures: Any, path: str = "") -> dict[str, str]:
    """The `of` text of each count, by the count's path."""
    if not isinstance(figures, dict):
        return {}
    found = {f"{path}.count": figures["of"]} if isinstance(figures.get("of"), str) else {}
    for key, value in figures.items():
        found |= descriptions(value, f"{path}.{key}" if path else key)
    return found


@dataclass(frozen=True)
class Trend:
    """One KPI month by month: a column per figure, a row per month."""

    key: str
    title: str
    columns: list[str]  # figure paths below the KPI's key
    described: dict[str, str]  # column -> what it counts
    rows: list[tuple[Period, list[Any]]]
    headline: int  # the column charted

    def series(self) -> list[Any]:
        return [values[self.headline] for _, values in self.rows]


def monthly_figures(
    request: Request, scope: queries.Scope, months: list[Period], commissioner: bool
) -> list[dict[str, Any]]:
    """GET /kpis's `figures` for each month, as the caller is shown them."""
    monthly = monthly_kpi_figures(request, scope, months, applied_positions(request))
    return [disclose(figures) if commissioner else figures for figures in monthly]


def trends(months: list[Period], monthly: list[dict[str, Any]]) -> list[Trend]:
    found = []
    for key in monthly[-1]:
        leaves = [dict(flatten(figures[key])) for figures in monthly]
        columns = list(leaves[-1])
        found.append(
            Trend(
                key=key,
                title=TITLES.get(key, key.replace("_", " ").capitalize()),
                columns=columns,
                described=descriptions(monthly[-1][key]),
                rows=[
                    (month, [figures.get(c) for c in columns])
                    for month, figures in zip(months, leaves, strict=True)
                ],
                headline=headline(columns),
            )
        )
    return found


def headline(columns: list[str]) -> int:
    """The figure charted: the first share's percentage when the KPI starts with a share
    or a statistic's value when it starts with one, else its first count."""
    first = columns[0].split(".")[0]
    for i, column in enumerate(columns):
        parts = column.split(".")
        if parts[-1] in ("ratio", "percent", "value") and (len(parts) == 1 or parts[0] == first):
            return i
    return 0


def snapshot(request: Request, scope: queries.Scope, day: date) -> dict[str, Any]:
    """Caseloads by phase and the waiting list by how long, among the episodes open on the
    day, as GET /caseloads and GET /waiting-list list them (exact: disclose for a
    commissioner)."""
    knowledge = queries.Knowledge(as_at=day if day < today() else None)
    with engine_of(request).connect() as connection:
        [episodes] = queries.episodes(connection, scope, [knowledge], day, day)
    open_ = [e for e in episodes if e.open_on(day)]
    phases = Counter(e.phase(day) for e in open_)
    waits = [(day - e.referral_date).days for e in open_ if e.waiting_on(day)]
    bands = Counter(band(days) for days in waits)
    return {
        "caseload_by_phase": {
            "total": count(len(open_), "open episodes on the day"),
            "by_phase": {p: count(phases[p], f"open episodes in the {p} phase") for p in PHASES},
        },
        "waiting_list": {
            "total": count(len(waits), "open episodes with no structured intervention started"),
            "by_wait": {
                name: count(bands[name], f"of those, waiting {name.replace('_', ' ')}")
                for name, _, _ in WAIT_BANDS
            },
        },
    }


def band(days: int) -> str:
    for name, low, high in WAIT_BANDS:
        if days >= low and (high is None or days <= high):
            return name
    return WAIT_BANDS[0][0]  # a referral dated after the day: not waiting yet
