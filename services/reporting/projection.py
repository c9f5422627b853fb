"""Feed items -> read-model rows. No HTTP; the follower supplies the transaction.

Referral feed: client areas and referrals with each status change and when it was recorded.
Journey feed: every event a fact row; corrections close the row they correct (and, for a
replacement, insert its new content) as of the time the correction was recorded.
"""

import json
import re
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from services.common.feed import FeedItem
from services.reporting import summaries
from services.reporting.models import ClientArea, FactRow, ReferralRow

CORRECTIONS = ("EventRecordedInError", "EventCorrected")


def postcode_area(district: str | None) -> str:
    """The letters of a postcode district (LS6 -> LS, SW1A -> SW); 'unknown' when not given."""
    match = re.match(r"[A-Z]+", district or "")
    return match.group() if match else "unknown"


def day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def project_referral_page(connection: Connection, items: list[FeedItem]) -> None:
    """A page in a few statements: inserts first, then the status changes they precede."""
    clients, referrals, accepted, closed = [], [], [], []
    for item in items:
        data, referral_id = item.data, str(item.aggregate_id)
        match item.type:
            case "ClientRegistered":
                clients.append(
                    {"client_id": referral_id, "area": postcode_area(data.get("postcode_district"))}
                )
            case "ReferralMade":
                handover = data.get("handover") or {}
                referrals.append(
                    {
                        "referral_id": referral_id,
                        "client_id": data["client_id"],
                        "source": data["source"],
                        "referring_organisation": data.get("referring_organisation"),
                        "receiving_organisation": data["receiving_organisation"],
                        "referral_date": item.business_date,
                        "recorded_at": item.recorded_at,
                        "handover_kind": handover.get("kind"),
                        "release_date": day(handover.get("release_date")),
                    }
                )
            case "ReferralAccepted":
                accepted.append(
                    {"rid": referral_id, "on": item.business_date, "at": item.recorded_at}
                )
            case "ReferralDeclined" | "ReferralWithdrawn":
                closed.append(
                    {"rid": referral_id, "on": item.business_date, "at": item.recorded_at}
                )
    if clients:
        connection.execute(insert(ClientArea), clients)
    if referrals:
        connection.execute(insert(ReferralRow), referrals)
    target = ReferralRow.referral_id == bindparam("rid")
    if accepted:
        connection.execute(
            update(ReferralRow)
            .where(target)
            .values(accepted_on=bindparam("on"), accepted_recorded_at=bindparam("at")),
            accepted,
        )
    if closed:
        connection.execute(
            update(ReferralRow)
            .where(target)
            .values(closed_on=bindparam("on"), closed_recorded_at=bindparam("at")),
            closed,
        )


# What the views and KPIs read of each event; the rest of its data stays in the journey
# service. Keeping only this makes the facts table small and quick to read.
KEPT = {
    "EpisodeOpened": (
        "client_id",
        "referral_id",
        "referral_date",
        "source",
        "keyworker",
        "priority_flags",
    ),
    "TriageCompleted": ("risks",),
    "KeyworkerAssigned": ("keyworker",),
    "InitialCarePlanAgreed": ("next_review_on",),
    "CarePlanAgreed": ("next_review_on",),
    "CarePlanReviewed": ("next_review_on",),
    "InterventionStarted": ("intervention_id", "modality", "tier"),
    "InterventionEnded": ("intervention_id",),
    "Discharged": ("exit_reason", "planned"),
    "ReEngaged": ("organisation", "new_episode_id"),
    "EventRecordedInError": ("target_version",),
    "EventCorrected": ("target_version",),
}


def brief(kind: str, data: dict[str, Any]) -> str:
    return json.dumps({k: data[k] for k in KEPT.get(kind, ()) if k in data})


class JourneyProjector:
    """Remembers each episode's organisation, so a page needs no lookups once warm."""

    def __init__(self) -> None:
        self._organisations: dict[str, str] = {}

    def project_page(self, connection: Connection, items: list[FeedItem]) -> None:
        rows: list[dict[str, Any]] = []
        for item in items:
            episode_id = str(item.aggregate_id)
            if item.type == "EpisodeOpened":
                self._organisations[episode_id] = item.data["organisation"]
            if item.type in CORRECTIONS:
                if rows:  # keep recording order: earlier inserts land before the correction
                    connection.execute(insert(FactRow), rows)
                    rows = []
                self._correct(connection, item)
            rows.append(self._fact(connection, item, episode_id))
        if rows:
            connection.execute(insert(FactRow), rows)
        summaries.refresh(connection, {str(item.aggregate_id) for item in items})

    def _fact(self, connection: Connection, item: FeedItem, episode_id: str) -> dict[str, Any]:
        return {
            "episode_id": episode_id,
            "version": item.version,
            "type": item.type,
            "organisation": self._organisation(connection, episode_id),
            "business_date": item.business_date,
            "recorded_from": item.recorded_at,
            "recorded_to": None,
            "data": brief(item.type, item.data),
        }

    def _correct(self, connection: Connection, item: FeedItem) -> None:
        target = item.data["target_version"]
        episode_id = str(item.aggregate_id)
        current = (
            connection.execute(
                select(FactRow).where(
                    FactRow.episode_id == episode_id,
                    FactRow.version == target,
                    FactRow.recorded_to.is_(None),
                )
            )
        ).first()
        if current is None:
            return
        connection.execute(
            update(FactRow).where(FactRow.id == current.id).values(recorded_to=item.recorded_at)
        )
        if item.type == "EventCorrected":
            connection.execute(
                insert(FactRow).values(
                    episode_id=episode_id,
                    version=target,
                    type=current.type,
                    organisation=current.organisation,
                    business_date=day(item.data["replacement_on"]),
                    recorded_from=item.recorded_at,
                    recorded_to=None,
                    data=brief(current.type, item.data["replacement"]),
                )
            )

    def _organisation(self, connection: Connection, episode_id: str) -> str:
        if episode_id not in self._organisations:
            found = connection.execute(
                select(FactRow.organisation).where(
                    FactRow.episode_id == episode_id, FactRow.version == 1
                )
            ).scalar()
            self._organisations[episode_id] = found or "unknown"
        return self._organisations[episode_id]
