from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.common.settings import Settings
from tests.support import SECRET, database_url

STORES = ["sqlite", "postgres"]
MakeSettings = Callable[..., Settings]


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
            return Settings(data_dir=tmp_path, auth_secret=SECRET, **urls)

        yield make


@pytest.fixture
def referral_api(make_settings: MakeSettings) -> Iterator[TestClient]:
    from services.referral.main import create_app

    app = create_app(make_settings("referral"))
    yield TestClient(app)
    app.state.application.close()
