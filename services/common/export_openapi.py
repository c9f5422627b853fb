"""Write every service's OpenAPI document and the feed schema into openapi/ (`make openapi`)."""

import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.common.feed import FeedPage
from services.common.settings import Settings

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "openapi"


def service_apps(settings: Settings) -> dict[str, FastAPI]:
    from services.journey.main import create_app as journey
    from services.referral.main import create_app as referral
    from services.reporting.main import create_app as reporting

    return {
        "referral": referral(settings),
        "journey": journey(settings),
        "reporting": reporting(settings),
    }


def feed_schema() -> dict[str, Any]:
    from services.catalogue import published

    schema = FeedPage.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Event feed page (GET /feed on the referral and journey services)"
    schema["x-event-catalogue"] = {
        "description": "Every event type on each feed: the item's `type`, its "
        "`aggregate_type`, and the JSON Schema of its `data`.",
        "feeds": published(),
    }
    return schema


def documents(settings: Settings) -> dict[str, dict[str, Any]]:
    docs = {f"{name}.openapi.json": app.openapi() for name, app in service_apps(settings).items()}
    docs["feed.schema.json"] = feed_schema()
    return docs


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir))
        for filename, document in documents(settings).items():
            (OPENAPI_DIR / filename).write_text(render(document))
            print(f"wrote openapi/{filename}")


if __name__ == "__main__":
    main()
