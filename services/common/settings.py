"""One settings object for every service, read from TJ_* environment variables."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


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
    # Signing key for bearer tokens; empty means a key generated once into data_dir.
    auth_secret: str = ""
    # Token that services use to read each other's feeds; empty means minted from auth_secret.
    service_token: str = ""
    max_body_bytes: int = 64 * 1024
    follow_interval_seconds: float = 0.5
    follow_page_size: int = 500
    # Faults answer 503 within bounded times (seconds), never hang.
    write_timeout_seconds: float = 5.0
    consent_timeout_seconds: float = 2.0
    retry_after_seconds: int = 2

    def database_url(self, service: str) -> str:
        url: str = getattr(self, f"{service}_database_url")
        return url or f"sqlite:///{self.data_dir / f'{service}.db'}"
