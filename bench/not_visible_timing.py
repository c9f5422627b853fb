"""Does a record that exists but is not visible answer like one that does not exist, in time?

    .venv/bin/python bench/not_visible_timing.py [--sample 300]

Starts real referral and journey processes on SQLite. Organisation A registers a client, has
a referral accepted and so an episode; organisation B then asks, alternately, for A's client,
referral, episode and journey and for random ids that do not exist. Prints the median and p90
of each, and the difference of the medians (goal, issue 10: under 2 ms).
"""

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.builders import client_body, days_ago, referral_body
from tests.support import ServiceProcess, auth, wait_until

A, B = auth("ORGA"), {**auth("ORGB"), "Purpose": "care_coordination"}


def timed(http: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    answer = http.get(url, headers=B)
    elapsed = time.perf_counter() - started
    if answer.status_code != 404:
        raise SystemExit(f"expected 404 for {url}, got {answer.status_code}: {answer.text}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        env = {"TJ_DATA_DIR": data}
        referral = ServiceProcess("referral", env).start()
        journey = ServiceProcess("journey", {**env, "TJ_REFERRAL_URL": referral.url}).start()
        try:
            with httpx.Client(base_url=referral.url) as r, httpx.Client(base_url=journey.url) as j:
                client = r.post("/clients", json=client_body(), headers=A).json()["id"]
                body = referral_body(client, receiving_organisation="ORGA", consent=None)
                made = r.post("/referrals", json=body, headers=A).json()["id"]
                r.post(f"/referrals/{made}/accept", json={"accepted_on": days_ago(1)}, headers=A)
                journey_of = f"/clients/{client}/journey"
                episodes = wait_until(lambda: j.get(journey_of, headers=A).json().get("episodes"))
                episode = episodes[0]["episode"]["id"]
                cases = [
                    ("referral: client", r, f"/clients/{client}", "/clients/{}"),
                    ("referral: referral", r, f"/referrals/{made}", "/referrals/{}"),
                    ("journey: episode", j, f"/episodes/{episode}", "/episodes/{}"),
                    ("journey: journey", j, journey_of, "/clients/{}/journey"),
                ]
                print(f"{args.sample} reads of each, alternating (ms):", flush=True)
                for name, http, hidden, missing in cases:
                    for _ in range(20):  # warm up
                        timed(http, hidden), timed(http, missing.format(uuid.uuid4()))
                    seen, absent = [], []
                    for _ in range(args.sample):
                        seen.append(timed(http, hidden))
                        absent.append(timed(http, missing.format(uuid.uuid4())))
                    s50, a50 = statistics.median(seen) * 1000, statistics.median(absent) * 1000
                    s90 = statistics.quantiles(seen, n=10)[8] * 1000
                    a90 = statistics.quantiles(absent, n=10)[8] * 1000
                    print(
                        f"  {name:<20} not visible p50 {s50:6.2f} p90 {s90:6.2f}   "
                        f"missing p50 {a50:6.2f} p90 {a90:6.2f}   difference {s50 - a50:+6.2f}",
                        flush=True,
                    )
        finally:
            journey.stop()
            referral.stop()


if __name__ == "__main__":
    main()
