"""Cost per write as an episode grows: appends to an episode of ~10 events against appends to
one of ~400, over HTTP to a real journey process, on SQLite then PostgreSQL.

    .venv/bin/python bench/episode_growth.py [--events 400] [--sample 100] [--store sqlite]

Goal (issue 9): an append at 400 events costs at most 1.5x an append at 10. Prints, for each
store, the rate and p50/p99 of `--sample` sequential keyworker changes on a short episode and
on a long one, and the ratio of their rates.
"""

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.journey_writes import open_episodes
from tests.builders import days_ago
from tests.support import ServiceProcess, auth, postgres_database

H = auth("ORG1")


def append(http: httpx.Client, episode: str, count: int, label: str) -> list[float]:
    latencies = []
    for n in range(count):
        started = time.perf_counter()
        answer = http.post(
            f"/episodes/{episode}/keyworker", json={"on": days_ago(1), "keyworker": f"{label}{n}"}
        )
        latencies.append(time.perf_counter() - started)
        if answer.status_code != 201:
            raise SystemExit(f"append failed: {answer.status_code} {answer.text}")
    return latencies


def report(name: str, latencies: list[float]) -> float:
    rate = len(latencies) / sum(latencies)
    p50 = statistics.median(latencies) * 1000
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    print(f"  {name:<28} {rate:8.0f}/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms", flush=True)
    return rate


def bench_store(store: str, events: int, sample: int) -> None:
    with ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = {
            "TJ_DATA_DIR": str(data),
            "TJ_FOLLOW_INTERVAL_SECONDS": "0.05",
            "TJ_LOG_LEVEL": "WARNING",
        }
        if store == "postgres":
            env["TJ_REFERRAL_DATABASE_URL"] = stack.enter_context(postgres_database())
            env["TJ_JOURNEY_DATABASE_URL"] = stack.enter_context(postgres_database())
        referral = ServiceProcess("referral", env).start()
        stack.callback(referral.stop)
        journey = ServiceProcess("journey", {**env, "TJ_REFERRAL_URL": referral.url}).start()
        stack.callback(journey.stop)
        short, long = open_episodes(referral, journey, 2)
        with httpx.Client(base_url=journey.url, headers=H, timeout=30) as http:
            print(f"{store}: growing one episode to {events} events ...", flush=True)
            append(http, long, events - sample, "grow")
            append(http, short, 8, "warm")
            print(f"{store}: {sample} appends each", flush=True)
            at_10 = report("episode of ~10 events", append(http, short, sample, "s"))
            at_n = report(f"episode of ~{events} events", append(http, long, sample, "l"))
        print(f"  ratio (10 / {events}): {at_10 / at_n:.2f}x  (goal: at most 1.5x)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    for store in stores:
        bench_store(store, args.events, args.sample)


if __name__ == "__main__":
    main()
