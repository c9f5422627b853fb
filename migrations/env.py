"""Alembic environment for the reporting read models."""

from alembic import context
from sqlalchemy import create_engine

from services.common.settings import Settings
from services.reporting.db import sqlalchemy_url
from services.reporting.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or sqlalchemy_url(
    Settings().database_url("reporting")
)

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(url)
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=Base.metadata)
            with context.begin_transaction():
                context.run_migrations()
        engine.dispose()
    else:
        context.configure(connection=connectable, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
