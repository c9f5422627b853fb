"""The NDTMS extract for one organisation with 2,000 episodes (goal: under a second).

Fills fresh read models directly (SQLite in a temporary folder, or TJ_REPORTING_DATABASE_URL),
each episode with an opening, triage, care plan, substance profile, an intervention and a
client profile, then times building the rows and the file.
Run: .venv/bin/python bench/ndtms_extract.py [episodes]
"""

import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from services.reporting import db
from services.reporting.models import FactRow
from services.reporting.ndtms import extract
from services.reporting.ndtms.models import ClientProfileRow, NdtmsClient


def fill(engine: object, episodes: int) -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC)
    facts, clients, profiles = [], [], []
    for n in range(episodes):
        episode, client = str(uuid.uuid4()), str(uuid.uuid4())
        referred = date(2026, 4, 1) + timedelta(days=n % 150)

        def fact(
            version: int, kind: str, on: date, data: dict[str, object], episode: str = episode
        ) -> None:
            facts.append(
                {
                    "episode_id": episode,
                    "version": version,
                    "type": kind,
                    "organisation": "ORG1",
                    "business_date": on,
                    "recorded_from": at,
                    "recorded_to": None,
                    "data": json.dumps(data, default=str),
                }
            )

        opened = {"client_id": client, "referral_date": referred, "source": "gp"}
        fact(1, "EpisodeOpened", referred, {**opened, "priority_flags": []})
        fact(2, "TriageCompleted", referred + timedelta(days=2), {"risks": {}})
        fact(3, "CarePlanAgreed", referred + timedelta(days=5), {"next_review_on": None})
        substances = [{"substance": "heroin", "age_first_used": 20, "route": "inject"}]
        fact(
            4, "SubstanceProfileRecorded", referred + timedelta(days=5), {"substances": substances}
        )
        start = {
            "intervention_id": str(uuid.uuid4()),
            "modality": "specialist_prescribing",
            "tier": 3,
            "referred_on": referred + timedelta(days=5),
            "setting": "community",
        }
        fact(5, "InterventionStarted", referred + timedelta(days=10), start)
        clients.append(
            {
                "client_id": client,
                "initials": "SE",
                "date_of_birth": date(1980, 1, 1),
                "sex": "male",
                "recorded_at": at,
            }
        )
        profile = {"ethnicity": "white_british", "consent_to_national_return": n % 10 != 0}
        profiles.append(
            {
                "client_id": client,
                "organisation": "ORG1",
                "business_date": referred,
                "recorded_at": at,
                "data": json.dumps(profile),
            }
        )
    with engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(insert(FactRow), facts)
        connection.execute(insert(NdtmsClient), clients)
        connection.execute(insert(ClientProfileRow), profiles)


def main() -> None:
    episodes = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(f"sqlite:///{folder}/reporting.db")
        db.upgrade(engine)
        fill(engine, episodes)
        db.analyze(engine)
        scope = extract.Scope("ORG1", date(2026, 10, 31), datetime.now(UTC))
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            with engine.connect() as connection:
                built = extract.rows(connection, scope)
            size = len(extract.text(built).encode())
            timings.append(time.perf_counter() - started)
        print(
            f"{len(built)} rows, {size:,} bytes; extract best {min(timings) * 1000:.0f} ms, "
            f"median {sorted(timings)[2] * 1000:.0f} ms"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
