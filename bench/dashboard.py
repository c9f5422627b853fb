"""The dashboard's page time: one page view computes every KPI for 24 months (GET /kpis's
figures, month by month through the SQL aggregates), the waiting list and caseloads.

    .venv/bin/python bench/dashboard.py [--clients 3000] [--views 10]

Generates the journeys (tests/generator.py: 50 organisations, five years) into SQLite, starts
the three services as real processes, signs in through the sign-in form and times GET
/dashboard: cold (a scope not asked before: every month computed) and warm (asked again:
the figures are cached until new events are applied), for a provider and for a commissioner.
"""

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.common.auth import Role
from services.common.store import store_env
from services.journey.application import JourneyApplication
from services.referral.application import ReferralApplication
from tests.generator import generate
from tests.support import ServiceProcess, auth, token, wait_until


def signed_in(url: str, org: str, role: Role) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=120)
    page = http.get("/dashboard/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    answer = http.post(
        "/dashboard/sign-in",
        data={"token": token(org, role), "csrf": csrf[1]},
        headers={"Origin": url},
    )
    assert answer.status_code == 303, answer.text
    return http


def timed(http: httpx.Client, params: dict[str, str]) -> float:
    started = time.perf_counter()
    answer = http.get("/dashboard", params=params)
    elapsed = (time.perf_counter() - started) * 1000
    assert answer.status_code == 200, answer.text[:500]
    return elapsed


def report(label: str, times: list[float]) -> None:
    print(
        f"  {label}: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms "
        f"over {len(times)} views",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--views", type=int, default=10)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="tj-bench-dashboard-"))
    urls = {s: f"sqlite:///{data / f'{s}.db'}" for s in ("referral", "journey", "reporting")}
    referrals = ReferralApplication(env=store_env(urls["referral"]))
    journeys = JourneyApplication(env=store_env(urls["journey"]))
    stats = generate(referrals, journeys, args.clients, batch=1000)
    referrals.close()
    journeys.close()
    events = stats.referral_events + stats.journey_events
    print(f"{args.clients:,} clients, {stats.episodes:,} episodes, {events:,} events", flush=True)
    env = {
        "TJ_DATA_DIR": str(data),
        "TJ_LOG_LEVEL": "WARNING",  # a JSON line per request would drown the figures
        **{f"TJ_{s.upper()}_DATABASE_URL": url for s, url in urls.items()},
        "TJ_FOLLOW_PAGE_SIZE": "1000",
    }
    referral = ServiceProcess("referral", env).start()
    journey = ServiceProcess("journey", {**env, "TJ_REFERRAL_URL": referral.url}).start()
    upstream = {"TJ_REFERRAL_URL": referral.url, "TJ_JOURNEY_URL": journey.url}
    reporting = ServiceProcess("reporting", {**env, **upstream}).start()
    try:

        def caught_up() -> bool:
            details = httpx.get(
                f"{reporting.url}/health/details", headers=auth("b", Role.SERVICE), timeout=10
            )
            return all(s["caught_up"] for s in details.json()["following"].values())

        wait_until(caught_up, timeout=3600, interval=0.5)
        views = range(args.views)
        commissioner = signed_in(reporting.url, "NHSE", Role.COMMISSIONER)
        cold = [timed(commissioner, {"organisation": f"ORG{n:02d}"}) for n in views]
        report("commissioner, one organisation, cold", cold)
        report("commissioner, England, cold", [timed(commissioner, {})])
        report("commissioner, England, warm", [timed(commissioner, {}) for _ in views])
        providers = [signed_in(reporting.url, f"ORG{10 + n:02d}", Role.PROVIDER) for n in views]
        report("provider, own organisation, cold", [timed(p, {}) for p in providers])
        report("provider, own organisation, warm", [timed(p, {}) for p in providers])
    finally:
        for process in (reporting, journey, referral):
            process.stop()


if __name__ == "__main__":
    main()
