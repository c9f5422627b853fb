"""Every KPI of a question, in-process, over an existing reporting store: the SQL that
api.compute_figures runs (aggregates.figures, persons.re_presentation, outcome_aggregates
.figures, one frame shared), for three quarters, England-wide, area LS and one organisation,
as known now and as known at KNOWN_AT; median (and max) ms of each part. The counts kept per
commissioner period are read as the service reads them (period_counts.preset).

    .venv/bin/python bench/kpi_inprocess.py URL KNOWN_AT OUT.json [--reps N] [--check BASE.json]

URL: a reporting store a `bench/reporting.py --keep DIR` run left (sqlite:///DIR/reporting.db).
Writes every figure to OUT.json; --check asserts them equal, digit for digit, to a previous
run's (e.g. before a change).
"""

import argparse
import json
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.common.clock import today
from services.reporting import aggregates, db, outcome_aggregates, persons, queries

try:  # not in the code before period_counts.py, which a --check base may come from
    from services.reporting import period_counts
except ImportError:
    period_counts = None  # type: ignore[assignment]
from services.reporting.kpis import Period

QUARTERS = [
    Period(date(2026, 7, 1), date(2026, 9, 30)),
    Period(date(2026, 4, 1), date(2026, 6, 30)),
    Period(date(2025, 10, 1), date(2025, 12, 31)),
]
SCOPES = {
    "England": queries.Scope(),
    "area LS": queries.Scope(area="LS"),
    "ORG03": queries.Scope(organisation="ORG03"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("known_at", type=datetime.fromisoformat)
    parser.add_argument("out", type=Path)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--check", type=Path)
    args = parser.parse_args()
    base = json.loads(args.check.read_text()) if args.check else None
    kept = period_counts is not None
    engine = db.make_engine(args.url)
    results = {}
    for label, scope in SCOPES.items():
        for when, known_at in (("now", None), ("known_at", args.known_at)):
            parts: dict[str, list[float]] = {
                "total": [],
                "aggregates": [],
                "re_presentation": [],
                "outcomes": [],
            }
            for _ in range(args.reps):
                for n, period in enumerate(QUARTERS):
                    k = queries.Knowledge(period.end, known_at)
                    with engine.connect() as c:
                        t0 = time.perf_counter()
                        [f] = aggregates.frames(scope, period, [k])
                        if kept:  # as api.compute_figures
                            period_counts.preset(c, [f], today())
                        figures = aggregates.figures(c, scope, period, k, f)
                        t1 = time.perf_counter()
                        figures["without_re_presentation"] = persons.re_presentation(
                            c, scope, period, k, period.end
                        )
                        t2 = time.perf_counter()
                        figures |= outcome_aggregates.figures(c, scope, period, k, period.end, f)
                        t3 = time.perf_counter()
                    for part, took in zip(parts, (t3 - t0, t1 - t0, t2 - t1, t3 - t2), strict=True):
                        parts[part].append(took * 1000)
                    key = f"{label}|{when}|{n}"
                    results[key] = json.loads(json.dumps(figures, default=str))
                    if base is not None:
                        assert base[key] == results[key], key
            medians = " ".join(f"{p} {statistics.median(t):.0f}" for p, t in parts.items())
            print(f"{label:8} {when:8} {medians} (max {max(parts['total']):.0f}) ms", flush=True)
    args.out.write_text(json.dumps(results, sort_keys=True))
    print("every figure equal to the base" if base is not None else f"figures in {args.out}")


if __name__ == "__main__":
    main()
