"""When a Treatment Outcomes Profile is due (DESIGN "TOP due"), shared by the journey read and
the reporting views.

The review interval is 182 days, or per organisation from TJ_TOP_REVIEW_DAYS: a default and
overrides, e.g. `182,N0852=91` (N0852 reviews every 91 days, everyone else every 182).
"""

import os
from datetime import date, timedelta

DEFAULT_REVIEW_DAYS = 182


def review_days(organisation: str) -> int:
    days = DEFAULT_REVIEW_DAYS
    for entry in os.environ.get("TJ_TOP_REVIEW_DAYS", "").split(","):
        name, _, value = entry.strip().rpartition("=")
        if value.isdigit() and name in ("", organisation):
            days = int(value)
            if name:
                return days
    return days


def next_top_due(
    tops: list[date],
    exit_top: bool,
    first_structured_start: date | None,
    discharged_on: date | None,
    review_days: int,
) -> date | None:
    """The next TOP due date, or None when none is due. Start TOP due with the first structured
    intervention (a TOP before it counts as the start TOP); each review `review_days` after the
    latest TOP; the exit TOP on the discharge date, answered by an exit TOP or by any TOP dated
    on or after the discharge. An episode with neither a structured intervention nor a TOP is
    outside the TOP cycle: no exit TOP is due."""
    if discharged_on is not None:
        in_cycle = bool(tops) or first_structured_start is not None
        if not in_cycle or exit_top or any(on >= discharged_on for on in tops):
            return None
        return discharged_on
    if tops:
        return max(tops) + timedelta(days=review_days)
    return first_structured_start


def overdue(due_on: date | None, day: date) -> bool:
    """Due before the day with no TOP since (a TOP since would have moved the due date)."""
    return due_on is not None and due_on < day
