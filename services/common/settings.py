"""One settings object for every service, read from TJ_* environment variables."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ISSUER = "treatment-journeys-dev"


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
    consent_timeout_seconds: float = 2.0
    retry_after_seconds: int = 2

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
