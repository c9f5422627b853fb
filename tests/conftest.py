from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from services.common.settings import Settings

if TYPE_CHECKING:
    from tests.journey_driver import JourneyDriver
    from tests.reporting_driver import ReportingDriver
from tests.support import (
    AUTH_SETTINGS,
    CONFIGURED_POSTGRES,
    MakeSettings,
    database_url,
    embedded_postgres,
    stop_embedded_postgres,
)

STORES = ["sqlite", "postgres"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    server = embedded_postgres()
    if server is not None:
        host, port = CONFIGURED_POSTGRES
        terminalreporter.write_line(
            f"no PostgreSQL answered at {host}:{port}: the tests used embedded-postgres on"
            f" 127.0.0.1:{server.port} (data in {server.data_dir}); stopping it"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the embedded PostgreSQL server if a test started one (see tests/support.py)."""
    stop_embedded_postgres()


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over both stores."""
    return str(request.param)


@pytest.fixture
def make_settings(store: str, tmp_path: Path) -> Iterator[MakeSettings]:
    """Settings with fresh stores (of the parametrised kind) for the named services."""
    with ExitStack() as stack:

        def make(*services: str) -> Settings:
            urls = {
                f"{service}_database_url": stack.enter_context(
                    database_url(store, tmp_path, service)
                )
                for service in services
            }
            return Settings(data_dir=tmp_path, **AUTH_SETTINGS, **urls)

        yield make


@pytest.fixture
def referral_api(make_settings: MakeSettings) -> Iterator[TestClient]:
    from services.referral.main import create_app

    app = create_app(make_settings("referral"))
    yield TestClient(app)
    app.state.application.close()
    app.state.access_log.close()


@pytest.fixture
def journey_driver(make_settings: MakeSettings) -> Iterator["JourneyDriver"]:
    from services.journey.main import create_app as journey_app
    from services.referral.main import create_app as referral_app
    from tests.journey_driver import JourneyDriver

    settings = make_settings("referral", "journey")
    referral, journey = referral_app(settings), journey_app(settings)
    yield JourneyDriver(TestClient(referral), TestClient(journey))
    for app in (referral, journey):
        app.state.application.close()
        app.state.access_log.close()


@pytest.fixture
def reporting_driver(make_settings: MakeSettings) -> Iterator["ReportingDriver"]:
    from services.journey.main import create_app as journey_app
    from services.referral.main import create_app as referral_app
    from services.reporting.main import create_app as reporting_app
    from tests.journey_driver import JourneyDriver
    from tests.reporting_driver import ReportingDriver

    settings = make_settings("referral", "journey", "reporting")
    referral, journey = referral_app(settings), journey_app(settings)
    reporting = reporting_app(settings)
    yield ReportingDriver(
        JourneyDriver(TestClient(referral), TestClient(journey)), TestClient(reporting)
    )
    for app in (referral, journey):
        app.state.application.close()
        app.state.access_log.close()
    reporting.state.engine.dispose()
    reporting.state.access_log.close()
    reporting.state.publications.close()
