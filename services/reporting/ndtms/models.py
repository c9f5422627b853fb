"""Read models for the national return (schema in migrations/versions/0004_ndtms.py).

Clients' attributors and profiles come from the referral feed; a profile row is what one
organisation recorded on one date, known from `recorded_at`. Submissions are records of what
was sent, not read models: a rebuild from the feeds keeps them.
"""

from typing import Any

from sqlalchemy import Date, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.models import Base


class NdtmsClient(Base):
    """What the return needs of the registration: initials, date of birth, sex."""

    __tablename__ = "ndtms_clients"
    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    initials: Mapped[str] = mapped_column(String(2), nullable=False)
    date_of_birth: Mapped[Any] = mapped_column(Date, nullable=False)
    sex: Mapped[str] = mapped_column(String(16), nullable=False)
    recorded_at: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)


class ClientProfileRow(Base):
    __tablename__ = "ndtms_client_profiles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(36), nullable=False)
    organisation: Mapped[str] = mapped_column(String(64), nullable=False)
    business_date: Mapped[Any] = mapped_column(Date, nullable=False)
    recorded_at: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_ndtms_client_profiles_client", "client_id"),)


class Submission(Base):
    __tablename__ = "ndtms_submissions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    data_set: Mapped[str] = mapped_column(String(4), nullable=False)
    organisation: Mapped[str] = mapped_column(String(64), nullable=False)
    window_start: Mapped[Any] = mapped_column(Date, nullable=False)
    period_end: Mapped[Any] = mapped_column(Date, nullable=False)
    known_at: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    submitted_by: Mapped[str] = mapped_column(String(128), nullable=False)
    submitted_at: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)


class TopCoordinatorRow(Base):
    """One naming of a client's TOP care coordinator (journey feed: CoordinatorNamed), closed by
    its ending (CoordinatorEnded); each known from when it was recorded."""

    __tablename__ = "ndtms_top_coordinators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    coordination_id: Mapped[str] = mapped_column(String(36), nullable=False)
    client_id: Mapped[str] = mapped_column(String(36), nullable=False)
    organisation: Mapped[str] = mapped_column(String(64), nullable=False)
    from_on: Mapped[Any] = mapped_column(Date, nullable=False)
    recorded_at: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_on: Mapped[Any] = mapped_column(Date)
    ended_recorded_at: Mapped[Any] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_ndtms_top_coordinators_client", "client_id"),
        Index("ix_ndtms_top_coordinators_coordination", "coordination_id"),
    )
