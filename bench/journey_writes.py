"""Journey events over HTTP against the bare-insert ceiling, on SQLite then PostgreSQL.

    .venv/bin/python bench/journey_writes.py [--events 3000] [--concurrency 16]
    .venv/bin/python bench/journey_writes.py --store postgres --workers 1,2,4

Starts real uvicorn processes (referral + journey, and the bare endpoint), opens episodes
through the referral feed, then sends journey events (triage, care plan, interventions,
reviews, keyworker changes: every one validated, rule-checked and stored with optimistic
concurrency) and the same number of bare inserts, and prints rates, ratio, p50 and p99.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.builders import client_body, days_ago, referral_body
from tests.journey_driver import GOALS, RISKS
from tests.support import ServiceProcess, auth, postgres_database, wait_until

H = auth("ORG1")


def episode_script(n_events: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """A realistic sequence of journey events for one episode, as (path, body)."""
    yield (
        "triage",
        {
            "on": days_ago(80),
            "urgency": "routine",
            "tier_indicated": 3,
            "outcome": "structured_treatment_needed",
            "risks": RISKS,
        },
    )
    yield "care-plan", {"on": days_ago(79), "goals": GOALS, "next_review_on": days_ago(50)}
    sent = 2
    while sent < n_events:
        day = max(1, 78 - sent // 4)
        step = sent % 4
        if step == 0:
            yield "interventions", {"on": days_ago(day), "modality": "structured_psychosocial"}
        elif step == 1:
            yield "keyworker", {"on": days_ago(day), "keyworker": f"worker-{sent}"}
        elif step == 2:
            yield (
                "care-plan-reviews",
                {
                    "on": days_ago(day),
                    "next_review_on": days_ago(day - 28),
                    "progress": [{"goal": 0, "progress": "improving"}],
                },
            )
        else:
            yield (
                "comprehensive-assessment",
                {
                    "on": days_ago(day),
                    "needs": {
                        "drug_and_alcohol_misuse": "x",
                        "health": "y",
                        "offending": "z",
                        "social_functioning": "w",
                    },
                },
            )
        sent += 1


async def run_load(
    requests: list[Callable[[httpx.AsyncClient], Any]], concurrency: int, base_url: str
) -> tuple[float, list[float], int]:
    """Send the requests with `concurrency` workers, each taking its own share in order."""
    latencies: list[float] = []
    failures = 0
    shares = [requests[i::concurrency] for i in range(concurrency)]

    async def worker(share: list[Callable[[httpx.AsyncClient], Any]]) -> None:
        nonlocal failures
        async with httpx.AsyncClient(base_url=base_url, headers=H, timeout=60) as http:
            for make in share:
                started = time.perf_counter()
                response = await make(http)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 201:
                    failures += 1
                    if failures < 5:
                        print(f"  unexpected {response.status_code}: {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(share) for share in shares))
    return time.perf_counter() - started, latencies, failures


def open_episodes(referral: ServiceProcess, journey: ServiceProcess, count: int) -> list[str]:
    with httpx.Client(base_url=referral.url, headers=H) as http:
        for _ in range(count):
            client = http.post("/clients", json=client_body()).json()
            body = referral_body(client["id"], referral_date=days_ago(90))
            referral_id = http.post("/referrals", json=body).json()["id"]
            http.post(f"/referrals/{referral_id}/accept", json={"accepted_on": days_ago(85)})
    episodes: list[str] = []

    def all_opened() -> bool:
        episodes.clear()
        after = 0
        while True:  # every page: consent records share the feed with the openings
            page = httpx.get(
                f"{journey.url}/feed", params={"after": after, "limit": 1000}, headers=H
            ).json()
            episodes.extend(
                i["aggregate_id"] for i in page["items"] if i["type"] == "EpisodeOpened"
            )
            if not page["has_more"]:
                return len(episodes) == count
            after = page["next_after"]

    wait_until(all_opened, timeout=120)
    return episodes


def summary(name: str, elapsed: float, latencies: list[float], failures: int) -> float:
    rate = len(latencies) / elapsed
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"  {name:<8} {len(latencies):>6} requests in {elapsed:6.2f}s = {rate:7.0f}/s   "
        f"p50 {cuts[49] * 1000:6.1f} ms   p99 {cuts[98] * 1000:6.1f} ms   failures {failures}"
    )
    return rate


def bench_store(
    label: str,
    urls: dict[str, str],
    data_dir: Path,
    events: int,
    concurrency: int,
    workers: int = 1,
) -> tuple[float, float]:
    """(journey events/s, bare inserts/s), each service with `workers` uvicorn workers."""
    print(f"\n== {label}, {workers} worker(s) per service ==")
    env = {
        "TJ_DATA_DIR": str(data_dir),
        "TJ_REFERRAL_DATABASE_URL": urls["referral"],
        "TJ_JOURNEY_DATABASE_URL": urls["journey"],
        "TJ_FOLLOW_INTERVAL_SECONDS": "0.1",
        "TJ_LOG_LEVEL": "WARNING",  # one log line per request would be measured too
    }
    referral = ServiceProcess("referral", env, workers=workers).start()
    journey_env = {**env, "TJ_REFERRAL_URL": referral.url}
    journey = ServiceProcess("journey", journey_env, workers=workers).start()
    bare = ServiceProcess(
        "bare",
        {"BARE_DATABASE_URL": urls["bare"]},
        app="bench.bare_insert:create_app",
        workers=workers,
    )
    try:
        per_episode = 20
        n_episodes = max(concurrency, events // per_episode)
        print(f"  opening {n_episodes} episodes through the referral feed ...", flush=True)
        episodes = open_episodes(referral, journey, n_episodes)
        # Interleave episodes so each worker's share walks several episodes in order.
        scripts = {e: list(episode_script(per_episode)) for e in episodes}
        journey_requests = []
        for step in range(per_episode):
            for episode in episodes:
                path, body = scripts[episode][step]

                def make(
                    http: httpx.AsyncClient,
                    e: str = episode,
                    p: str = path,
                    b: dict[str, Any] = body,
                ) -> Any:
                    return http.post(f"/episodes/{e}/{p}", json=b)

                journey_requests.append(make)
        # Worker i takes requests i, i+c, ...; with episodes a multiple of c, each episode
        # belongs to one worker, so its events arrive in order and never race.
        n_episodes = len(episodes) - len(episodes) % concurrency
        journey_requests = [
            r for k, r in enumerate(journey_requests) if k % len(episodes) < n_episodes
        ]
        print(f"  sending {len(journey_requests)} journey events at concurrency {concurrency} ...")
        journey_rate = summary(
            "journey", *asyncio.run(run_load(journey_requests, concurrency, journey.url))
        )
        bare.start()
        bare_requests = [lambda http: http.post("/rows", json={"n": 1, "on": days_ago(1)})] * len(
            journey_requests
        )
        bare_rate = summary("bare", *asyncio.run(run_load(bare_requests, concurrency, bare.url)))
        print(f"  ratio journey/bare = {journey_rate / bare_rate:.2f}  (goal >= 0.5)")
        return journey_rate, bare_rate
    finally:
        for process in (bare, journey, referral):
            process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=3200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--workers",
        default="1",
        help="uvicorn workers per service, comma-separated for several runs (PostgreSQL only)",
    )
    args = parser.parse_args()
    if args.workers != "1":
        by_workers([int(w) for w in args.workers.split(",")], args)
        return
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            urls = {s: f"sqlite:///{data / f'{s}.db'}" for s in ("referral", "journey", "bare")}
            bench_store("SQLite (embedded default)", urls, data, args.events, args.concurrency)
    if args.store in ("postgres", "both"):
        with (
            tempfile.TemporaryDirectory() as tmp,
            postgres_database() as referral_url,
            postgres_database() as journey_url,
            postgres_database() as bare_url,
        ):
            urls = {"referral": referral_url, "journey": journey_url, "bare": bare_url}
            bench_store("PostgreSQL 15 (local)", urls, Path(tmp), args.events, args.concurrency)


def by_workers(counts: list[int], args: argparse.Namespace) -> None:
    """The PostgreSQL run at each worker count, on fresh databases, then a table."""
    results = []
    for workers in counts:
        with (
            tempfile.TemporaryDirectory() as tmp,
            postgres_database() as referral_url,
            postgres_database() as journey_url,
            postgres_database() as bare_url,
        ):
            urls = {"referral": referral_url, "journey": journey_url, "bare": bare_url}
            label = "PostgreSQL 15 (local)"
            rates = bench_store(label, urls, Path(tmp), args.events, args.concurrency, workers)
            results.append((workers, *rates))
    print("\n| workers per service | journey events/s | bare inserts/s | ratio |")
    print("| --- | --- | --- | --- |")
    for workers, journey, bare in results:
        print(f"| {workers} | {journey:,.0f} | {bare:,.0f} | {journey / bare:.2f} |")


if __name__ == "__main__":
    main()
