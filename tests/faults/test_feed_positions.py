"""Feed positions are 64-bit: a position past 2**31 is stored and read back as it is, also in
a read-model database migrated from before the change."""

from pathlib import Path

from alembic import command
from sqlalchemy import insert

from services.reporting import db
from services.reporting.follower import apply_page, projectors, stored_position
from services.reporting.models import FeedPosition
from tests.support import database_url

FAR = 2**31 + 7
FARTHER = 2**40 + 3


def test_a_position_past_two_to_the_31_round_trips(store: str, tmp_path: Path) -> None:
    with database_url(store, tmp_path, "reporting") as url:
        engine = db.make_engine(url)
        try:
            config = db.alembic_config(engine)
            with db.writing(engine).begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "0002")  # the schema before positions were 64-bit
                connection.execute(insert(FeedPosition).values(feed="referral", position=41))
            db.upgrade(engine)
            assert stored_position(engine, "referral") == 41

            apply_page(engine, "referral", projectors()["referral"], None, [], FAR)
            apply_page(engine, "journey", projectors()["journey"], None, [], FARTHER)

            assert stored_position(engine, "referral") == FAR
            assert stored_position(engine, "journey") == FARTHER
        finally:
            engine.dispose()
