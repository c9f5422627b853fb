"""create_app(settings): the journey service (episodes come in the next step)."""

from fastapi import FastAPI

from services.common.settings import Settings
from services.common.web import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_service_app("Journey service", "Episodes and journey events.", settings, {})

    @app.get("/health", tags=["service"], openapi_extra={"security": []})
    def health() -> dict[str, str]:
        return {"status": "ok", "service": "journey"}

    return app
