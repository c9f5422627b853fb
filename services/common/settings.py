"""One settings object for every service, read from TJ_* environment variables."""

import os
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_ISSUER = "treatment-journeys-dev"


class FileSettingsSource(PydanticBaseSettingsSource):
    """TJ_<NAME>_FILE=/run/secrets/x sets <name> to the file's content (stripped): secrets such
    as a database URL with its password stay out of the environment and the compose file."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        variable = f"TJ_{field_name.upper()}_FILE"
        if field_name.endswith("_file") or variable not in os.environ:
            return None, field_name, False
        return Path(os.environ[variable]).read_text().strip(), field_name, False

    def __call__(self) -> dict[str, Any]:
        values = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class Settings(BaseSettings):
    """Configuration shared by the three services.

    An empty `*_database_url` means the embedded default: a SQLite file under `data_dir`.
    A PostgreSQL URL (postgresql://user:password@host:port/dbname) switches that service's
    store to PostgreSQL with the same code.
    """

    model_config = SettingsConfigDict(env_prefix="TJ_")

    data_dir: Path = Path("data")
    referral_database_url: str = ""
    journey_database_url: str = ""
    reporting_database_url: str = ""
    host: str = "127.0.0.1"
    referral_port: int = 8001
    journey_port: int = 8002
    reporting_port: int = 8003
    referral_url: str = "http://127.0.0.1:8001"
    journey_url: str = "http://127.0.0.1:8002"
    # Bearer tokens (see docs/access-and-safety.md, "Identity and tokens"). The services verify
    # with public keys only: a JWKS from a URL or a file; with neither, the development issuer's
    # key pair in data_dir (created on first use) and its public JWKS data_dir/jwks.json.
    jwks_url: str = ""
    jwks_file: Path | None = None
    issuer: str = DEFAULT_ISSUER
    referral_audience: str = "treatment-journeys/referral"
    journey_audience: str = "treatment-journeys/journey"
    reporting_audience: str = "treatment-journeys/reporting"
    max_token_lifetime_seconds: int = 12 * 3600
    # The followers' own token: read from this file (kept fresh by the platform) when set, else
    # minted by the development issuer (key file: issuer_key_file, default data_dir) and renewed
    # when a third of its lifetime remains. With a JWKS configured, one of the two must be set.
    service_token_file: Path | None = None
    issuer_key_file: Path | None = None
    service_token_lifetime_seconds: int = 3600
    max_body_bytes: int = 64 * 1024
    follow_interval_seconds: float = 0.5
    follow_page_size: int = 500
    # Faults answer 503 within bounded times (seconds), never hang.
    write_timeout_seconds: float = 5.0
    # Each event store's PostgreSQL pool (per worker): connections kept open, and extra ones
    # opened under load. Writes go through one committer per worker, so a few suffice; the
    # connection budget is in docs/operating.md.
    postgres_pool_size: int = 4
    postgres_max_overflow: int = 6
    consent_timeout_seconds: float = 2.0
    retry_after_seconds: int = 2
    # Readiness (docs/operating.md): a follower more positions behind than this, or whose last
    # poll failed, makes its service not ready; 0 leaves followers out of readiness.
    ready_max_lag_positions: int = 10_000
    # The reporting service migrates its read models at start-up; production runs the
    # migration as a one-off job (python -m services.reporting.migrate) and sets this false.
    migrate_at_startup: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileSettingsSource(settings_cls), dotenv_settings)

    def store(self, service: str) -> dict[str, str]:
        """The event store settings of a service (see store_env)."""
        from services.common.store import store_env

        return store_env(
            self.database_url(service),
            self.write_timeout_seconds,
            self.postgres_pool_size,
            self.postgres_max_overflow,
        )

    def database_url(self, service: str) -> str:
        url: str = getattr(self, f"{service}_database_url")
        return url or f"sqlite:///{self.data_dir / f'{service}.db'}"

    def audience(self, service: str) -> str:
        return str(getattr(self, f"{service}_audience"))

    def audiences(self) -> list[str]:
        return [self.referral_audience, self.journey_audience, self.reporting_audience]

    @property
    def local_identity(self) -> bool:
        """No identity provider configured: the development issuer in data_dir stands in."""
        return not (self.jwks_url or self.jwks_file)
