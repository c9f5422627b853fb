"""The audit append of one read that returns N rows (a keyworker's worklist at 100,000 clients
returns ~200): median ms of appending N entries to an access log on SQLite, as
access.record does (one entry per row, one insert).

    .venv/bin/python bench/audit_append.py [--rows 200] [--reps 30]
"""

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.common.access import record
from services.common.audit import AccessLog
from services.common.auth import Caller, Role


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": f"{folder}/a.db"}
        log = AccessLog(env=env)
        caller = Caller("bench", "ORG11", Role.PROVIDER)
        rows = [(str(uuid.uuid4()), uuid.uuid4()) for _ in range(args.rows)]
        times = []
        for _ in range(args.reps):
            started = time.perf_counter()
            record(log, caller, None, "worklist-row", rows)
            times.append(time.perf_counter() - started)
        print(f"{args.rows} entries: median {statistics.median(times) * 1000:.2f} ms")
        log.close()


if __name__ == "__main__":
    main()
