"""Consents to share, as the worklist needs them (schema in migrations/versions/0006): held by
the organisation that recorded it, with its end date, known from `recorded_from` until
`recorded_to`. The holder's later consent on the same referral replaces its earlier one; the
client's withdrawal ends every consent of the client recorded before it."""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Index, Integer, String, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from services.catalogue import require
from services.common.feed import FeedItem
from services.reporting.models import Base
from services.reporting.queries import Knowledge, known

require("referral", "ReferralMade", "consent", "client_id")
require("referral", "ConsentChanged", "consent", "client_id")
require("referral", "ConsentWithdrawn", "client_id")


class ConsentRow(Base):
    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(String(36), nullable=False)
    client_id: Mapped[str] = mapped_column(String(36), nullable=False)
    holder: Mapped[str] = mapped_column(String(64), nullable=False)
    given_on: Mapped[Any] = mapped_column(Date, nullable=False)
    ends_on: Mapped[Any] = mapped_column(Date)
    recorded_from: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_to: Mapped[Any] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_consents_holder_ends", "holder", "ends_on"),
        Index("ix_consents_client", "client_id"),
    )


def project(connection: Connection, item: FeedItem) -> None:
    """One referral-feed item's change to consents (they are few: one statement each)."""
    data = item.data
    holder = item.recorded_by.organisation if item.recorded_by else None
    if item.type == "ConsentWithdrawn":
        _close(connection, item, ConsentRow.client_id == data["client_id"])
        return
    consent = data.get("consent")
    if item.type not in ("ReferralMade", "ConsentChanged") or not consent or holder is None:
        return
    referral_id = str(item.aggregate_id)
    if item.type == "ConsentChanged":
        _close(
            connection,
            item,
            (ConsentRow.referral_id == referral_id) & (ConsentRow.holder == holder),
        )
    ends_on = consent.get("ends_on")
    connection.execute(
        insert(ConsentRow).values(
            referral_id=referral_id,
            client_id=str(data["client_id"]),
            holder=holder,
            given_on=date.fromisoformat(consent["given_on"]),
            ends_on=date.fromisoformat(ends_on) if ends_on else None,
            recorded_from=item.recorded_at,
        )
    )


def _close(connection: Connection, item: FeedItem, which: Any) -> None:
    connection.execute(
        update(ConsentRow)
        .where(which, ConsentRow.recorded_to.is_(None))
        .values(recorded_to=item.recorded_at)
    )


def ending(
    connection: Connection, holder: str, knowledge: Knowledge, day: date, ahead: int
) -> list[tuple[str, str, date]]:
    """(referral, client, end date) of the holder's consents given by the day and ending from
    the day to the day + `ahead`, as known."""
    query = select(ConsentRow.referral_id, ConsentRow.client_id, ConsentRow.ends_on).where(
        ConsentRow.holder == holder,
        ConsentRow.given_on <= day,
        ConsentRow.ends_on.between(day, day + timedelta(days=ahead)),
        known(ConsentRow.recorded_from, ConsentRow.recorded_to, knowledge),
    )
    return [(str(r), str(c), e) for r, c, e in connection.execute(query)]
