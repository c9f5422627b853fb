"""Read models of the reporting service (schema owned by alembic, see migrations/).

Facts are bitemporal: `business_date` is when it happened, and a row is what was known from
`recorded_from` until `recorded_to` (NULL: still known). A correction closes the row it
corrects at the time the correction was recorded and, for a replacement, opens a new one;
so "as known at T" is a range filter and "as at D" a date filter.
"""

from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData()


class FeedPosition(Base):
    """How far each followed feed has been applied; written in the same transaction."""

    __tablename__ = "feed_positions"
    feed: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ClientArea(Base):
    """A client's area: the postcode area (letters of the postcode district), for KPIs."""

    __tablename__ = "client_areas"
    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    area: Mapped[str] = mapped_column(String(8), nullable=False)


class PersonLinkRow(Base):
    """Which person a client registration is, as known from `recorded_from` until
    `recorded_to` (NULL: still known); a merge or split closes one row and opens another. A
    client with no row is a person of its own (its id is the person's)."""

    __tablename__ = "person_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(36), nullable=False)
    person_id: Mapped[str] = mapped_column(String(36), nullable=False)
    recorded_from: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_to: Mapped[Any] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_person_links_client", "client_id"),)


class EpisodeKeyworker(Base):
    """Every keyworker an episode's opening or a keyworker assignment ever named, corrections'
    replacements included and nothing ever removed: the episodes one keyworker's worklist
    folds (worklist.keyworker_episodes; the fold then decides whose each is)."""

    __tablename__ = "episode_keyworkers"
    organisation: Mapped[str] = mapped_column(String(64), primary_key=True)
    keyworker: Mapped[str] = mapped_column(String(128), primary_key=True)
    episode_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class ReferralRow(Base):
    __tablename__ = "referrals"
    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    referring_organisation: Mapped[str | None] = mapped_column(String(64))
    receiving_organisation: Mapped[str] = mapped_column(String(64), nullable=False)
    referral_date: Mapped[Any] = mapped_column(Date, nullable=False)
    recorded_at: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    handover_kind: Mapped[str | None] = mapped_column(String(32))
    release_date: Mapped[Any] = mapped_column(Date)
    accepted_on: Mapped[Any] = mapped_column(Date)
    accepted_recorded_at: Mapped[Any] = mapped_column(DateTime(timezone=True))
    closed_on: Mapped[Any] = mapped_column(Date)  # declined or withdrawn
    closed_recorded_at: Mapped[Any] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_referrals_receiver_date", "receiving_organisation", "referral_date"),
        Index("ix_referrals_referrer_date", "referring_organisation", "referral_date"),
        Index("ix_referrals_release", "handover_kind", "release_date"),
    )


class FactRow(Base):
    """One journey event as known over a span of recording time."""

    __tablename__ = "facts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(String(36), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    type: Mapped[str] = mapped_column(String(48), nullable=False)
    organisation: Mapped[str] = mapped_column(String(64), nullable=False)
    business_date: Mapped[Any] = mapped_column(Date, nullable=False)
    recorded_from: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_to: Mapped[Any] = mapped_column(DateTime(timezone=True))
    data: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (
        Index("ix_facts_episode_version", "episode_id", "version"),
        Index("ix_facts_org_type_date", "organisation", "type", "business_date"),
        Index("ix_facts_type_date", "type", "business_date"),
    )


CURRENT, SUPERSEDED = text("recorded_to IS NULL"), text("recorded_to IS NOT NULL")
NOW_COLUMNS = (
    "opened_on",
    "discharged_on",
    "organisation",
    "episode_id",
    "client_id",
    "recorded_from",
    "waiting_from",
    "triaged_on",
    "first_structured_on",
    "first_tier4_on",
    "first_care_plan_on",
    "planned_exit",
    "last_profiled_on",
    "last_substance_group",
    "last_agreed_on",
    "last_next_review_on",
    "structured_spans",
    "span_started_on",
    "span_ended_on",
)


class EpisodeSummary(Base):
    """What the KPIs read of one episode, as it stood over a span of recording time (see
    summaries.py). Days are ordinals (date.toordinal()), so day arithmetic is the same plain
    integer arithmetic on SQLite and PostgreSQL."""

    __tablename__ = "episode_summaries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(String(36), nullable=False)
    organisation: Mapped[str] = mapped_column(String(64), nullable=False)
    client_id: Mapped[str] = mapped_column(String(36), nullable=False)
    referral_id: Mapped[str | None] = mapped_column(String(36))
    recorded_from: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_to: Mapped[Any] = mapped_column(DateTime(timezone=True))
    opened_on: Mapped[int] = mapped_column(Integer, nullable=False)
    waiting_from: Mapped[int] = mapped_column(Integer, nullable=False)
    triaged_on: Mapped[int | None] = mapped_column(Integer)
    first_structured_on: Mapped[int | None] = mapped_column(Integer)
    first_tier4_on: Mapped[int | None] = mapped_column(Integer)
    first_care_plan_on: Mapped[int | None] = mapped_column(Integer)
    discharged_on: Mapped[int | None] = mapped_column(Integer)
    planned_exit: Mapped[int] = mapped_column(Integer, nullable=False)
    # Read inline so that most episodes need no look-up in the child tables (aggregates.py):
    # the latest profile and plan (the first recorded of those on the latest date), and the
    # span of the structured intervention when there is exactly one.
    last_profiled_on: Mapped[int | None] = mapped_column(Integer)
    last_substance_group: Mapped[str | None] = mapped_column(String(32))
    last_agreed_on: Mapped[int | None] = mapped_column(Integer)
    last_next_review_on: Mapped[int | None] = mapped_column(Integer)
    structured_spans: Mapped[int | None] = mapped_column(Integer)
    span_started_on: Mapped[int | None] = mapped_column(Integer)
    span_ended_on: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_summaries_episode", "episode_id"),
        # Current rows, holding every column the KPIs read (an index-only scan), and rows
        # superseded, by when (queries.summaries_in_force).
        Index("ix_summaries_now", *NOW_COLUMNS, sqlite_where=CURRENT, postgresql_where=CURRENT),
        Index(
            "ix_summaries_superseded",
            "recorded_to",
            "opened_on",
            sqlite_where=SUPERSEDED,
            postgresql_where=SUPERSEDED,
        ),
        # The same for one organisation's. Not one index of (organisation, recorded_to, ...):
        # SQLite's statistics count each NULL as distinct, and it skip-scanned such an index
        # for England-wide questions (migration 0011).
        Index(
            "ix_summaries_org_now",
            "organisation",
            *(c for c in NOW_COLUMNS if c != "organisation"),
            sqlite_where=CURRENT,
            postgresql_where=CURRENT,
        ),
        Index(
            "ix_summaries_org_superseded",
            "organisation",
            "recorded_to",
            sqlite_where=SUPERSEDED,
            postgresql_where=SUPERSEDED,
        ),
        Index("ix_summaries_referral", "referral_id"),
        Index("ix_summaries_client", "client_id"),
    )


class SummarySpan(Base):
    """A structured (Tier 3/4) intervention of a summarised episode: started, and ended (by
    its end or the discharge, whichever came first; NULL: not ended)."""

    __tablename__ = "summary_spans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(String(36), nullable=False)
    organisation: Mapped[str] = mapped_column(String(64), nullable=False)
    recorded_from: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_to: Mapped[Any] = mapped_column(DateTime(timezone=True))
    started_on: Mapped[int] = mapped_column(Integer, nullable=False)
    ended_on: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_spans_episode", "episode_id", "recorded_from", "started_on", "ended_on"),
        Index("ix_spans_org", "organisation", "recorded_to"),
    )


class SummaryPlan(Base):
    """A plan (initial, agreed or reviewed) of a summarised episode, in recording order."""

    __tablename__ = "summary_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(String(36), nullable=False)
    recorded_from: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_to: Mapped[Any] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    agreed_on: Mapped[int] = mapped_column(Integer, nullable=False)
    next_review_on: Mapped[int | None] = mapped_column(Integer)

    # By version, latest first, holding what is read (migration 0011).
    __table_args__ = (
        Index(
            "ix_plans_episode",
            "episode_id",
            "recorded_from",
            text("agreed_on DESC"),
            "seq",
            "next_review_on",
        ),
    )


class SummaryProfile(Base):
    """A substance profile of a summarised episode: its date and the substance group it puts
    the episode in (outcomes.group_of), in recording order."""

    __tablename__ = "summary_profiles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(String(36), nullable=False)
    recorded_from: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_to: Mapped[Any] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    profiled_on: Mapped[int] = mapped_column(Integer, nullable=False)
    substance_group: Mapped[str] = mapped_column(String(32), nullable=False)

    __table_args__ = (
        Index(
            "ix_profiles_episode",
            "episode_id",
            "recorded_from",
            text("profiled_on DESC"),
            "seq",
            "substance_group",
        ),
    )


TOPS_BY_DATE = ("interviewed_on", "stage", "episode_id", "recorded_from", "recorded_to")


class SummaryTop(Base):
    """A TOP of a summarised episode, in recording order: interview date, stage, and the
    28-day totals of the items the outcome KPIs compare (NULL: NA or not asked)."""

    __tablename__ = "summary_tops"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[str] = mapped_column(String(36), nullable=False)
    organisation: Mapped[str | None] = mapped_column(String(64))  # the episode's (0013)
    recorded_from: Mapped[Any] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_to: Mapped[Any] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    interviewed_on: Mapped[int] = mapped_column(Integer, nullable=False)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    opiates_days: Mapped[int | None] = mapped_column(Integer)
    crack_days: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_tops_episode", "episode_id", "recorded_from", "stage", "interviewed_on"),
        Index("ix_tops_date", *TOPS_BY_DATE),
        Index("ix_tops_org_date", "organisation", *TOPS_BY_DATE),
    )


class PeriodCounts(Base):
    """One organisation's episode counts (aggregates.Counts, per client area, as JSON) for one
    commissioner period, over the current summary rows with no `as_at`: kept by
    services/reporting/period_counts.py, deleted by the projection in the transaction that
    changes a summary the counts could include. A row present is a row in force."""

    __tablename__ = "period_counts"
    period_start: Mapped[int] = mapped_column(Integer, primary_key=True)  # ordinals
    period_end: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation: Mapped[str] = mapped_column(String(64), primary_key=True)
    counts: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_period_counts_org", "organisation", "period_end"),)


class CountedOrganisation(Base):
    """Every organisation with summaries: those a period's counts must have a row for. The
    projection writes an organisation's row before deleting its counts, which on PostgreSQL
    makes it the lock that orders that delete after a keeper's insert (period_counts.py)."""

    __tablename__ = "counted_organisations"
    organisation: Mapped[str] = mapped_column(String(64), primary_key=True)
    changed_from: Mapped[int] = mapped_column(Integer, nullable=False)  # the last change's day
