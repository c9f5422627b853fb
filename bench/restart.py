"""How long the journey service takes, after a start, to answer its first feed page (its log
index built; docs/operating.md), over the SQLite stores a `bench/reporting.py --keep DIR` run
left.

    .venv/bin/python bench/restart.py DIR
"""

import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.common.auth import Role
from tests.support import ServiceProcess, auth


def main() -> None:
    data = Path(sys.argv[1])
    urls = {s: f"sqlite:///{data / f'{s}.db'}" for s in ("referral", "journey")}
    env = {
        "TJ_DATA_DIR": str(data),
        "TJ_LOG_LEVEL": "WARNING",
        "TJ_REFERRAL_DATABASE_URL": urls["referral"],
        "TJ_JOURNEY_DATABASE_URL": urls["journey"],
    }
    started = time.perf_counter()
    journey = ServiceProcess("journey", env).start(timeout=120)
    live = time.perf_counter() - started
    try:
        while True:
            page = httpx.get(
                f"{journey.url}/feed",
                params={"limit": 1000},
                headers=auth("reporting", Role.SERVICE),
                timeout=600,
            )
            if page.status_code == 200:
                break
            time.sleep(float(page.headers.get("Retry-After", "1")))
        print(
            f"journey: live after {live:.1f} s, first feed page after "
            f"{time.perf_counter() - started:.1f} s"
        )
    finally:
        journey.stop()


if __name__ == "__main__":
    main()
