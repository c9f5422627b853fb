"""create_app(settings): the reporting service (read models and KPIs come in a later step)."""

from fastapi import FastAPI

from services.common.settings import Settings
from services.common.web import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_service_app(
        "Reporting service", "Caseloads, waiting lists and KPIs.", settings, {}
    )

    @app.get("/health", tags=["service"], openapi_extra={"security": []})
    def health() -> dict[str, str]:
        return {"status": "ok", "service": "reporting"}

    return app
