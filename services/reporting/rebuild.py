"""Drop the read models and rebuild them from the feeds (`make rebuild-reporting`).

Stop the reporting service first (or let it wait: a running follower is harmless, it finds
each page already applied). Shows progress; ends when both feeds are caught up.
"""

import sys
import time

import httpx

from services.common.issuer import service_token
from services.common.settings import Settings
from services.reporting import db
from services.reporting.follower import followers


def rebuild(settings: Settings, out: object = sys.stdout) -> dict[str, int]:
    engine = db.make_engine(settings.database_url("reporting"))
    db.drop(engine)
    db.upgrade(engine)
    audiences = [settings.referral_audience, settings.journey_audience]
    token = service_token(settings, "reporting-rebuild", "reporting-service", audiences)
    urls = {"referral": settings.referral_url, "journey": settings.journey_url}
    counts = {}
    page_size = settings.follow_page_size
    with httpx.Client(timeout=60) as http:
        for feed, follower in followers(engine, urls, token, page_size, 0).items():
            started, applied, has_more = time.monotonic(), 0, True
            try:
                # Pages of internal records hold no items: only has_more says we are done.
                while has_more:
                    page = follower.poll_once(http)
                    applied, has_more = applied + len(page.items), page.has_more
                    print(
                        f"\r{feed}: {applied} events, position {follower.position} of "
                        f"{follower.upstream_last_position}",
                        end="",
                        file=out,
                        flush=True,
                    )  # type: ignore[call-overload]
            except httpx.HTTPError as error:
                sys.exit(
                    f"\ncannot read the {feed} feed at {urls[feed]}: {error}. "
                    f"Start the {feed} service (make run) or set TJ_{feed.upper()}_URL."
                )
            rate = applied / max(time.monotonic() - started, 1e-9)
            print(f"\r{feed}: {applied} events applied ({rate:,.0f}/s)" + " " * 20, file=out)  # type: ignore[call-overload]
            counts[feed] = applied
    db.analyze(engine)
    engine.dispose()
    return counts


if __name__ == "__main__":
    rebuild(Settings())
