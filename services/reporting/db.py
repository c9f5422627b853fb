"""The reporting database: engine from the service's URL, schema from alembic."""

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite

from services.reporting.models import Base

ROOT = Path(__file__).resolve().parents[2]
IMMEDIATE = "sqlite_immediate"
MIGRATION_LOCK_KEY = 7_314_055_191  # any fixed number: names the lock "migrating read models"


def writing(engine: Engine) -> Engine:
    """The engine for transactions that write: on SQLite they begin with the write lock."""
    return engine.execution_options(**{IMMEDIATE: True})


def sqlalchemy_url(database_url: str) -> str:
    if database_url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + database_url.split("://", 1)[1]
    return database_url


def make_engine(database_url: str, search_path: str | None = None) -> Engine:
    """`search_path` (PostgreSQL): the schema the read models are in, when not `public`."""
    url = sqlalchemy_url(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def wal(dbapi_connection, record):  # type: ignore[no-untyped-def]
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            # Read models are rebuilt from the feeds, and the feed position commits with the
            # rows: after a power cut, the last pages are simply applied again. So no fsync
            # per page (measured 22 ms a commit here); WAL keeps the file consistent.
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
            dbapi_connection.execute("PRAGMA wal_autocheckpoint=16384")
            # KPI queries read thousands of scattered rows: a larger page cache and mmap
            # measured 34 ms -> 24 ms for one organisation's quarter at 100,000 clients.
            dbapi_connection.execute("PRAGMA cache_size=-65536")
            dbapi_connection.execute("PRAGMA mmap_size=1073741824")
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves

        @event.listens_for(engine, "begin")
        def begin(connection):  # type: ignore[no-untyped-def]
            if connection.get_execution_options().get(IMMEDIATE):
                # Writers take SQLite's write lock at the start, so two followers serialise,
                # never race.
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                # Readers never wait on the writer (WAL), and see one snapshot per transaction.
                connection.exec_driver_sql("BEGIN")

        return engine
    # No JIT: a KPI query's many CASE expressions made PostgreSQL spend ~100 ms compiling it
    # at 3,000 clients (more than running it) and over a second at 30,000.
    options = "-c jit=off" + (f" -c search_path={search_path}" if search_path else "")
    return create_engine(url, pool_size=10, max_overflow=10, connect_args={"options": options})


def alembic_config(engine: Engine) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine) -> None:
    """Create or migrate the read models to the latest schema (`alembic upgrade head`).

    On PostgreSQL one process at a time: several workers starting together would otherwise
    race to create the tables (the loser crashed on "alembic_version already exists"). The
    lock is the transaction's, so a worker that waited finds the schema at head."""
    with writing(engine).begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def head_revision(engine: Engine) -> str | None:
    """The latest migration in migrations/."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None: not migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def drop(engine: Engine) -> None:
    """Drop every read model (`alembic downgrade base`), for a rebuild from the feeds."""
    with writing(engine).begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")


def analyze(engine: Engine) -> None:
    """Refresh the query planner's statistics after bulk loading. Measured on PostgreSQL:
    a bulk-loaded facts table without them planned a nested loop (1.5 s); with them, 16 ms.
    PostgreSQL also vacuums the read models: until VACUUM has set a table's visibility map,
    an index-only scan visits the table for every row, and the KPIs' covering indexes are
    read index-only (the read models' own tables: on the search path, so a rebuild's
    shadow schema's)."""
    if engine.dialect.name == "sqlite":
        with writing(engine).begin() as connection:
            connection.exec_driver_sql("PRAGMA optimize")
        return
    tables = ", ".join(Base.metadata.tables)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {tables}")


def insert_of(connection: Connection) -> Any:
    """The dialect's `insert` (with on_conflict_do_nothing / on_conflict_do_update): SQLite's
    and PostgreSQL's take the same arguments."""
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert
