"""openapi/ holds exactly what the apps serve, so the public contract cannot drift silently."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.common.export_openapi import OPENAPI_DIR, documents, render, service_apps
from services.common.settings import Settings
from tests.support import AUTH_SETTINGS


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("openapi"), **AUTH_SETTINGS)


def test_committed_documents_equal_what_the_apps_serve(settings: Settings) -> None:
    for filename, document in documents(settings).items():
        committed = (OPENAPI_DIR / filename).read_text()
        assert committed == render(document), f"openapi/{filename} is stale: run `make openapi`"


def test_running_apps_serve_the_committed_documents(settings: Settings) -> None:
    for name, app in service_apps(settings).items():
        served = TestClient(app).get("/openapi.json").json()
        committed = (OPENAPI_DIR / f"{name}.openapi.json").read_text()
        assert render(served) == committed


def test_feed_schema_is_committed_and_describes_every_item_field() -> None:
    schema = (Path(OPENAPI_DIR) / "feed.schema.json").read_text()
    for field in (
        "position",
        "event_id",
        "type",
        "aggregate_id",
        "business_date",
        "recorded_at",
        "version",
        "data",
        "next_after",
    ):
        assert f'"{field}"' in schema


def test_every_error_response_is_declared_as_problem_json(settings: Settings) -> None:
    for app in service_apps(settings).values():
        for path, operations in app.openapi()["paths"].items():
            for method, operation in operations.items():
                for status, response in operation["responses"].items():
                    if status.startswith(("4", "5")):
                        content = response.get("content", {})
                        assert "application/problem+json" in content, (method, path, status)


def test_every_operation_has_a_short_stable_id_unique_in_its_service(settings: Settings) -> None:
    """operationIds are the route names in snake case (a generated client's function names),
    never FastAPI's generated name + path + method."""
    for name, app in service_apps(settings).items():
        operations = [
            (method, path, operation)
            for path, methods in app.openapi()["paths"].items()
            for method, operation in methods.items()
        ]
        ids = [operation["operationId"] for _, _, operation in operations]
        assert len(ids) == len(set(ids)), (name, sorted(i for i in ids if ids.count(i) > 1))
        for method, path, operation in operations:
            operation_id = operation["operationId"]
            assert re.fullmatch(r"[a-z][a-z0-9_]{2,40}", operation_id), (name, path, operation_id)
            assert not operation_id.endswith(f"_{method}"), (name, path, operation_id)
    kpis = service_apps(settings)["reporting"].openapi()["paths"]["/kpis"]["get"]
    assert kpis["operationId"] == "read_kpis"
