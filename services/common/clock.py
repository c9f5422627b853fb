"""Business dates are dates in England, whatever the server's time zone."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

ENGLAND = ZoneInfo("Europe/London")


def today() -> date:
    return datetime.now(ENGLAND).date()
