"""Feeds the reporting read models from in-process referral and journey apps' real feeds."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from services.common.feed import FeedPage
from services.reporting.follower import apply_page, projectors, stored_position
from services.reporting.models import (
    ClientArea,
    EpisodeSummary,
    FactRow,
    FeedPosition,
    ReferralRow,
    SummaryPlan,
    SummarySpan,
)
from tests.journey_driver import SERVICE, JourneyDriver


class ReportingDriver:
    def __init__(self, journeys: JourneyDriver, reporting: TestClient) -> None:
        self.journeys, self.reporting = journeys, reporting
        self.engine = reporting.app.state.engine  # type: ignore[attr-defined]
        self.projectors = projectors()

    def follow(self, page_size: int = 100) -> int:
        """Apply both feeds up to now, a page per transaction, like the follower does."""
        applied = 0
        for feed, service in (
            ("referral", self.journeys.referral),
            ("journey", self.journeys.journey),
        ):
            while True:
                after = stored_position(self.engine, feed)
                page = FeedPage.model_validate(
                    service.get(
                        "/feed", params={"after": after, "limit": page_size}, headers=SERVICE
                    ).json()
                )
                project = self.projectors[feed]
                apply_page(self.engine, feed, project, None, page.items, page.next_after)
                applied += len(page.items)
                if not page.has_more:
                    break
        return applied

    def kpis(self, headers: dict[str, str], **params: Any) -> dict[str, Any]:
        response = self.reporting.get("/kpis", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return dict(response.json())


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    with engine.connect() as connection:
        for model in (
            FeedPosition,
            ClientArea,
            ReferralRow,
            FactRow,
            EpisodeSummary,
            SummarySpan,
            SummaryPlan,
        ):
            columns = [c for c in model.__table__.columns if c.name != "id"]
            rows = connection.execute(select(*columns)).all()
            tables[model.__tablename__] = sorted(tuple(map(str, row)) for row in rows)
    return tables
