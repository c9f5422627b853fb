"""Migrate the reporting read models to the code's schema, once (`alembic upgrade head`).

The production set-up runs this as a one-off job before the reporting service starts
(TJ_MIGRATE_AT_STARTUP=false there); the embedded default migrates at start-up instead.
"""

from services.common.settings import Settings
from services.reporting import db


def main() -> None:
    engine = db.make_engine(Settings().database_url("reporting"))
    try:
        db.upgrade(engine)
        print(f"reporting read models at revision {db.current_revision(engine)}")
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
