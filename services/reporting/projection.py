"""Feed items -> read-model rows. No HTTP; the follower supplies the transaction.

Referral feed: client areas, referrals with each status change and when it was recorded, and
which person each client registration is (as known over recording time).
Journey feed: every event a fact row; corrections close the row they correct (and, for a
replacement, insert its new content) as of the time the correction was recorded.
"""

import json
import re
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from services.catalogue import require
from services.common.feed import FeedItem
from services.reporting import consents, db, period_counts, summaries
from services.reporting.models import (
    ClientArea,
    EpisodeKeyworker,
    EpisodeSummary,
    FactRow,
    PersonLinkRow,
    ReferralRow,
)
from services.reporting.ndtms import coordinators
from services.reporting.ndtms.models import ClientProfileRow, NdtmsClient

CORRECTIONS = (require("journey", "EventRecordedInError"), require("journey", "EventCorrected"))


def postcode_area(district: str | None) -> str:
    """The letters of a postcode district (LS6 -> LS, SW1A -> SW); 'unknown' when not given."""
    match = re.match(r"[A-Z]+", district or "")
    return match.group() if match else "unknown"


def day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def project_referral_page(connection: Connection, items: list[FeedItem]) -> None:
    """A page in a few statements: inserts first, then the status changes they precede."""
    clients, referrals, accepted, closed, links = [], [], [], [], []
    attributors, profiles = [], []
    for item in items:
        data, referral_id = item.data, str(item.aggregate_id)
        consents.project(connection, item)
        match item.type:
            case "ClientRegistered":
                clients.append(
                    {"client_id": referral_id, "area": postcode_area(data.get("postcode_district"))}
                )
                attributors.append(
                    {
                        "client_id": referral_id,
                        "initials": data["given_name"][:1] + data["family_name"][:1],
                        "date_of_birth": day(data["date_of_birth"]),
                        "sex": data["sex"],
                        "recorded_at": item.recorded_at,
                    }
                )
            case "ClientProfileRecorded":
                profiles.append(
                    {
                        "client_id": referral_id,
                        "organisation": (item.recorded_by.organisation if item.recorded_by else ""),
                        "business_date": item.business_date,
                        "recorded_at": item.recorded_at,
                        "data": json.dumps({k: v for k, v in data.items() if v is not None}),
                    }
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
            case "PersonLinked":  # a registration's first link: nothing to close
                links.append(person_link(item))
            case "PersonRelinked":
                if links:  # keep recording order: the link it replaces may be on this page
                    connection.execute(insert(PersonLinkRow), links)
                    links = []
                connection.execute(
                    update(PersonLinkRow)
                    .where(
                        PersonLinkRow.client_id == data["client_id"],
                        PersonLinkRow.recorded_to.is_(None),
                    )
                    .values(recorded_to=item.recorded_at)
                )
                links.append(person_link(item))
    if links:
        connection.execute(insert(PersonLinkRow), links)
    if clients:
        connection.execute(insert(ClientArea), clients)
        connection.execute(insert(NdtmsClient), attributors)
        area_recorded(connection, [c["client_id"] for c in clients])
    if profiles:
        connection.execute(insert(ClientProfileRow), profiles)
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


def area_recorded(connection: Connection, client_ids: list[str]) -> None:
    """A client's area arrived after its episodes (the journey feed ran ahead): the counts
    kept per period and area that include them change (period_counts.py)."""
    S = EpisodeSummary
    earliest: dict[str, int] = {}
    for start in range(0, len(client_ids), 500):
        query = (
            select(S.organisation, func.min(S.opened_on))
            .where(S.client_id.in_(client_ids[start : start + 500]), S.recorded_to.is_(None))
            .group_by(S.organisation)
        )
        for organisation, opened_on in connection.execute(query):
            earliest[organisation] = min(opened_on, earliest.get(organisation, opened_on))
    period_counts.invalidate(connection, earliest)


def keyworker_named(item: FeedItem) -> str | None:
    """The keyworker an opening, an assignment or a correction replacing either names."""
    if item.type in ("EpisodeOpened", "KeyworkerAssigned"):
        return item.data.get("keyworker")
    if item.type == "EventCorrected" and item.data.get("target_type") in (
        "EpisodeOpened",
        "KeyworkerAssigned",
    ):
        return (item.data.get("replacement") or {}).get("keyworker")
    return None


def keyworkers_named(connection: Connection, named: set[tuple[str, str, str]]) -> None:
    """Add (organisation, keyworker, episode) to episode_keyworkers, once each."""
    insert_ = db.insert_of(connection)
    rows = [{"organisation": o, "keyworker": k, "episode_id": e} for o, k, e in sorted(named)]
    connection.execute(insert_(EpisodeKeyworker).on_conflict_do_nothing(), rows)


def person_link(item: FeedItem) -> dict[str, Any]:
    return {
        "client_id": item.data["client_id"],
        "person_id": item.data["person_id"],
        "recorded_from": item.recorded_at,
        "recorded_to": None,
    }


# What the views and KPIs read of each event; the rest of its data stays in the journey
# service. Keeping only this makes the facts table small and quick to read. Each name is
# checked against the event catalogue when this module is imported.
KEPT = {
    require("journey", kind, *fields): fields
    for kind, fields in {
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
        "InterventionStarted": (
            "intervention_id",
            "modality",
            "tier",
            "referred_on",
            "first_appointment_offered_on",
            "setting",
        ),
        "InterventionEnded": ("intervention_id", "exit_status"),
        "SubstanceProfileRecorded": (
            "substances",
            "injecting_status",
            "alcohol_days",
            "alcohol_units",
        ),
        "BloodBorneVirusesRecorded": (
            "hepatitis_b",
            "hepatitis_b_vaccination",
            "hepatitis_c",
            "hepatitis_c_tested_on",
            "hepatitis_c_result",
        ),
        "NaloxoneIssued": ("kits",),
        "TopRecorded": ("stage", "substance_use", "injecting", "crime", "health_and_social"),
        "Discharged": ("exit_reason", "planned"),
        "ReEngaged": ("organisation", "new_episode_id"),
        "EventRecordedInError": ("target_version",),
        "EventCorrected": ("target_version",),
    }.items()
}
# The referral events projected here, and the fields read of each, likewise checked.
require("referral", "ClientRegistered", "postcode_district", "given_name", "family_name", "sex")
require("referral", "ClientProfileRecorded", "consent_to_national_return")
require(
    "referral",
    "ReferralMade",
    "client_id",
    "source",
    "referring_organisation",
    "receiving_organisation",
    "handover",
)
for _decision in ("ReferralAccepted", "ReferralDeclined", "ReferralWithdrawn"):
    require("referral", _decision)
for _link in ("PersonLinked", "PersonRelinked"):
    require("referral", _link, "client_id", "person_id")


def brief(kind: str, data: dict[str, Any]) -> str:
    return json.dumps({k: data[k] for k in KEPT.get(kind, ()) if k in data})


class JourneyProjector:
    """Remembers each episode's organisation, so a page needs no lookups once warm."""

    def __init__(self) -> None:
        self._organisations: dict[str, str] = {}

    def project_page(self, connection: Connection, items: list[FeedItem]) -> None:
        rows: list[dict[str, Any]] = []
        episodes = set()
        for item in items:
            if item.aggregate_type == coordinators.AGGREGATE:  # a client's, not an episode's
                coordinators.project(connection, item)
                continue
            episode_id = str(item.aggregate_id)
            episodes.add(episode_id)
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
        named = {
            (
                self._organisation(connection, str(item.aggregate_id)),
                keyworker,
                str(item.aggregate_id),
            )
            for item in items
            if (keyworker := keyworker_named(item))
        }
        if named:
            keyworkers_named(connection, named)
        summaries.refresh(connection, episodes)

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
