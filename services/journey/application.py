"""The journey application: episodes, their events, and opening episodes from the referral feed."""

import copy
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, ProcessRecorder, Tracking

from services.common import codes
from services.common.clock import today
from services.common.codes import SharingPurpose
from services.common.errors import ConsentUnknownError, ForbiddenError
from services.common.feed import FeedItem
from services.common.log_index import LogIndex
from services.common.store import ConcurrentChangeError, JsonApplication, Receipt
from services.journey.consent import ClientConsents, shared_with
from services.journey.domain import Episode
from services.journey.steps.base import EpisodeNotFoundError, JourneyEvent, VersionMismatchError
from services.journey.top_coordinator import TopCareCoordination

REFERRAL_FEED = "referral"
# Referral events that change who may see another organisation's part of a journey.
CONSENT_EVENTS = frozenset(
    {"ReferralMade", "ReferralDeclined", "ReferralWithdrawn", "ConsentChanged", "ConsentWithdrawn"}
)


class JourneyApplication(JsonApplication):
    name = "journey"
    enums = tuple(codes.CODED_LISTS.values())
    # Hot episodes stay in memory; each read still fast-forwards from the store, so several
    # processes stay correct.
    env = {"AGGREGATE_CACHE_MAXSIZE": "10000"}

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._by_client: dict[UUID, list[UUID]] = defaultdict(list)
        self._owners: dict[UUID, tuple[str, UUID]] = {}
        # Catches up with the referral feed before sharing decisions; main.py sets it.
        self.consent_refresher: Callable[[], bool] = lambda: False
        self.log_index = LogIndex(self, self._index_event, frozenset({"EpisodeOpened"}))

    def construct_recorder(self) -> ProcessRecorder:
        # A process recorder stores the followed feed's position with the events it causes.
        return self.factory.process_recorder()

    # Following the referral feed

    def referral_feed_position(self) -> int:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder.max_tracking_id(REFERRAL_FEED) or 0

    def apply_referral_page(self, items: list[FeedItem], next_after: int) -> None:
        """Open an episode per accepted referral and keep each client's consent; every change
        is stored with its feed position in one transaction, so each item applies once. The
        page's `next_after` is then tracked too, so a page of events that open nothing (or of
        none at all) still moves the position."""
        last_tracked = None
        for item in items:
            changed = self._changes_for(item)
            if not changed:
                continue
            tracking = Tracking(application_name=REFERRAL_FEED, notification_id=item.position)
            try:
                self.events.put([e for a in changed for e in a.collect_events()], tracking=tracking)
            except IntegrityError:
                pass  # already applied (a second follower, or a page seen twice): nothing to do
            else:
                self.cache(changed)
            last_tracked = item.position
        if next_after != last_tracked:
            # Remember we read past positions that open nothing, so a restart need not re-read
            # them.
            recorder = self.recorder
            assert isinstance(recorder, ProcessRecorder)
            try:
                recorder.insert_tracking(Tracking(REFERRAL_FEED, next_after))
            except IntegrityError:
                pass  # already there: another follower got there first, or the page was seen

    def _changes_for(self, item: FeedItem) -> list[Aggregate]:
        data = item.data
        if item.type == "ReferralAccepted":
            return [self._episode_from(item)]
        if item.aggregate_type != "Referral" or item.type not in CONSENT_EVENTS:
            return []
        client_id = data.get("client_id")
        if client_id is None:
            return []  # a decision stored before decisions named the client: nothing to end
        consents = self._consents_for(UUID(client_id))
        referral_id = item.aggregate_id
        if item.type == "ReferralMade":
            parties = {data["receiving_organisation"], data.get("referring_organisation")}
            if item.recorded_by:
                parties.add(item.recorded_by.organisation)
            consents.relate(referral_id, sorted(p for p in parties if p), live=True)
        elif item.type in ("ReferralDeclined", "ReferralWithdrawn"):
            known = consents.relationships.get(str(referral_id), {"organisations": set()})
            consents.relate(referral_id, sorted(known["organisations"]), live=False)
        elif item.type == "ConsentWithdrawn":
            consents.revoke(on=item.business_date, referral_id=referral_id)
        if item.type in ("ReferralMade", "ConsentChanged") and data.get("consent"):
            # Held by the organisation that recorded it: it opens that organisation's part.
            holder = item.recorded_by.organisation if item.recorded_by else None
            consent = data["consent"]
            consents.record(
                on=date.fromisoformat(consent["given_on"]),
                referral_id=referral_id,
                organisations=shared_with(data, holder or ""),
                purposes=[SharingPurpose(p) for p in consent["purposes"]],
                holder=holder,
                ends_on=date.fromisoformat(consent["ends_on"]) if consent.get("ends_on") else None,
            )
        return [consents]

    def _consents_for(self, client_id: UUID) -> ClientConsents:
        try:
            consents: ClientConsents = self.repository.get(ClientConsents.create_id(client_id))
        except AggregateNotFoundError:
            consents = ClientConsents(client_id=client_id)
        return consents

    def _episode_from(self, item: FeedItem) -> Episode:
        d = item.data
        handover = d.get("handover")
        return Episode(
            on=item.business_date,
            by=item.recorded_by.model_dump() if item.recorded_by else {},
            client_id=UUID(d["client_id"]),
            organisation=d["receiving_organisation"],
            referral_id=item.aggregate_id,
            referral_date=date.fromisoformat(d["referral_date"]),
            source=codes.ReferralSource(d["source"]),
            referring_organisation=d.get("referring_organisation"),
            priority_flags=[codes.PriorityFlag(f) for f in d.get("priority_flags", [])],
            handover=handover,
            keyworker=d.get("keyworker"),
            re_engaged_from=None,
        )

    # Commands: only the episode's own organisation writes to it. Each takes the request's
    # Idempotency-Key (a Receipt, or None) and answers (episode, ids created): a key seen
    # before answers its first result, before any rule is checked again.

    def record(
        self,
        episode_id: UUID,
        event_class: type[JourneyEvent],
        by: dict[str, str],
        on: date,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
        **data: Any,
    ) -> tuple[Episode, dict[str, str]]:
        return self._change(
            episode_id,
            expected_version,
            by["organisation"],
            receipt,
            lambda episode: episode.record(event_class, on, by, today(), **data),
        )

    def start_intervention(
        self,
        episode_id: UUID,
        by: dict[str, str],
        on: date,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
        **data: Any,
    ) -> tuple[Episode, dict[str, str]]:
        """An intervention starts with a new id (`created["intervention_id"]`)."""
        intervention_id = str(uuid4())
        episode, created = self._change(
            episode_id,
            expected_version,
            by["organisation"],
            receipt,
            lambda episode: episode.record(
                Episode.InterventionStarted,
                on,
                by,
                today(),
                intervention_id=intervention_id,
                **data,
            ),
            created={"intervention_id": intervention_id},
        )
        return episode, created or {"intervention_id": intervention_id}

    def re_engage(
        self,
        episode_id: UUID,
        by: dict[str, str],
        on: date,
        expected_version: int | None,
        keyworker: str | None,
        receipt: Receipt | None = None,
    ) -> tuple[Episode, dict[str, str]]:
        """The client returns (§3.9.2): the old episode records it and a new, linked one opens
        for the same organisation. Only the episode's own organisation re-engages its client;
        a client returning to another organisation is a new referral. Answers the new one."""
        replayed = self.replayed(receipt)
        if replayed is not None:
            return replayed
        old = self.get_episode(episode_id)
        self._check_writer(old, by["organisation"])
        if expected_version is not None and expected_version != old.version:
            raise VersionMismatchError(
                f"The episode is at version {old.version}, not {expected_version}."
            )
        state = old.state
        new = Episode(
            on=on,
            by=by,
            client_id=state.client_id,
            organisation=by["organisation"],
            referral_id=None,
            referral_date=on,
            source=None,
            referring_organisation=None,
            priority_flags=list(state.priority_flags),
            handover=None,
            keyworker=keyworker,
            re_engaged_from=old.id,
        )
        old.record(
            Episode.ReEngaged,
            on,
            by,
            today(),
            new_episode_id=new.id,
            organisation=by["organisation"],
        )
        return self.save_keyed(receipt, old, new, result=new)

    def mark_in_error(
        self,
        episode_id: UUID,
        target_version: int,
        by: dict[str, str],
        reason: str,
        expected_version: int | None,
        receipt: Receipt | None = None,
    ) -> tuple[Episode, dict[str, str]]:
        return self._change(
            episode_id,
            expected_version,
            by["organisation"],
            receipt,
            lambda episode: episode.mark_in_error(target_version, by, reason, today()),
        )

    def correct(
        self,
        episode_id: UUID,
        target_version: int,
        by: dict[str, str],
        reason: str,
        replacement_on: date,
        replacement: dict[str, Any],
        expected_version: int | None,
        receipt: Receipt | None = None,
    ) -> tuple[Episode, dict[str, str]]:
        return self._change(
            episode_id,
            expected_version,
            by["organisation"],
            receipt,
            lambda episode: episode.correct(
                target_version, replacement_on, replacement, by, reason, today()
            ),
        )

    def _change(
        self,
        episode_id: UUID,
        expected_version: int | None,
        organisation: str,
        receipt: Receipt | None,
        command: Callable[[Episode], None],
        created: dict[str, str] | None = None,
    ) -> tuple[Episode, dict[str, str]]:
        """Run a command on the episode and save it with the Idempotency-Key's record; a key
        seen before answers its first result instead, before the command's rules run.

        It starts from the cached episode without first asking the store for newer events
        (on PostgreSQL, 15% of a write). If another process saved one meanwhile, the save
        conflicts: the episode is read again from the store and the command, its rules
        included, runs again on it; only a conflict on a fresh read is a real race (409).
        A concurrent request with the same key that saved first is answered by the save.
        """
        replayed = self.replayed(receipt)
        if replayed is not None:
            return replayed
        episode, cached = self._get_for_change(episode_id, expected_version, organisation)
        command(episode)
        try:
            return self.save_keyed(receipt, episode, created=created)
        except ConcurrentChangeError:
            if not cached:
                raise  # a real race
            episode, _ = self._get_for_change(episode_id, expected_version, organisation)
            command(episode)
            return self.save_keyed(receipt, episode, created=created)

    def _get_for_change(
        self, episode_id: UUID, expected_version: int | None, organisation: str
    ) -> tuple[Episode, bool]:
        """The episode to change, and whether it came from the cache (may be stale)."""
        episode = self._cached_episode(episode_id)
        if episode is not None and (expected_version or 0) > episode.version:
            self.forget([episode_id])  # the caller has seen a newer version than our copy
            episode = None
        cached = episode is not None
        if episode is None:
            episode = self.get_episode(episode_id)
        self._check_writer(episode, organisation)
        if expected_version is not None and expected_version != episode.version:
            if cached:  # our copy may be the stale one: ask the store before answering 412
                self.forget([episode_id])
                return self._get_for_change(episode_id, expected_version, organisation)
            raise VersionMismatchError(
                f"The episode is at version {episode.version}, not {expected_version}."
            )
        return episode, cached

    def _check_writer(self, episode: Episode, organisation: str) -> None:
        """Only the episode's own organisation records on it; to anyone who may not even see
        it, it does not exist."""
        if episode.state.organisation != organisation:
            self.visible_episode(organisation, episode.id, SharingPurpose.CARE_COORDINATION)
            raise ForbiddenError("Only the episode's own organisation records on it.")

    def _cached_episode(self, episode_id: UUID) -> Episode | None:
        cache = self.repository.cache
        if cache is None:
            return None
        try:
            cached = cache.get(episode_id)
        except KeyError:
            return None
        return copy.deepcopy(cached) if isinstance(cached, Episode) else None

    # Queries

    def get_episode(self, episode_id: UUID) -> Episode:
        try:
            episode: Any = self.repository.get(episode_id)
        except AggregateNotFoundError:
            raise EpisodeNotFoundError(f"No episode {episode_id}.") from None
        if not isinstance(episode, Episode):
            raise EpisodeNotFoundError(f"No episode {episode_id}.")
        return episode

    def visible_episode(
        self, organisation: str, episode_id: UUID, purpose: SharingPurpose | None
    ) -> Episode:
        """The episode if the organisation owns it or a consent held by its owner covers it.

        A missing episode and one not shared answer alike, in time too: both ask the referral
        feed for consent first, as a not-shared one must.
        """
        may_see = self.sharing(organisation, purpose)
        try:
            episode = self.get_episode(episode_id)
        except EpisodeNotFoundError:
            may_see("", None)
            raise
        if not may_see(episode.state.organisation, episode.state.client_id):
            raise EpisodeNotFoundError(f"No episode {episode_id}.")
        return episode

    def sharing(
        self, viewer: str, purpose: SharingPurpose | None
    ) -> Callable[[str, UUID | None], bool]:
        """A test of whether `viewer` may see an (owner, client)'s episode for `purpose`.

        Its own episodes always, without asking anyone; another organisation's only for a
        stated purpose under a standing consent held by that organisation, while the viewer is
        in a care relationship with the client. Consent is read after catching up with the
        referral feed, so a withdrawal counts from the moment it is recorded. If the feed
        cannot be read within the consent timeout, nothing is shared and the read fails
        (ConsentUnknownError, 503): not "no such record".
        """
        fresh: bool | None = None
        on = today()

        def may_see(owner: str, client_id: UUID | None) -> bool:
            nonlocal fresh
            if viewer == owner:
                return True
            if fresh is None:
                fresh = self.consent_refresher()
            if not fresh:
                raise ConsentUnknownError(
                    "The referral service, which holds the client's consent, cannot be "
                    "reached now; nothing is shared. Retry shortly."
                )
            if client_id is None or purpose is None:
                return False
            try:
                consents: ClientConsents = self.repository.get(ClientConsents.create_id(client_id))
            except AggregateNotFoundError:
                return False
            related = consents.in_care_relationship(viewer) or self.has_episode_with(
                viewer, client_id
            )
            return related and consents.permits(viewer, owner, purpose, on)

        return may_see

    def client_episodes(
        self, client_id: UUID, organisation: str, purpose: SharingPurpose | None
    ) -> list[Episode]:
        """A client's episodes that the organisation may see, in the order they opened."""
        self.log_index.catch_up()
        may_see = self.sharing(organisation, purpose)
        episodes = [self.get_episode(i) for i in self._by_client.get(client_id, [])]
        if not episodes:
            may_see("", None)  # an unknown client takes as long as one not shared
        visible = [e for e in episodes if may_see(e.state.organisation, client_id)]
        return sorted(visible, key=lambda e: (e.state.opened_on, e.created_on))

    # The TOP care coordinator (one organisation per client at a time)

    def top_coordination(self, client_id: UUID, organisation: str) -> TopCareCoordination:
        """The client's coordination record, for an organisation with an episode of theirs
        (to anyone else the client does not exist here)."""
        if not self.has_episode_with(organisation, client_id):
            raise EpisodeNotFoundError(f"No episode of client {client_id} at {organisation}.")
        try:
            found: TopCareCoordination = self.repository.get(
                TopCareCoordination.create_id(client_id)
            )
        except AggregateNotFoundError:
            found = TopCareCoordination(client_id=client_id)
        return found

    def name_top_coordinator(
        self, client_id: UUID, organisation: str, on: date, by: dict[str, str]
    ) -> TopCareCoordination:
        coordination = self.top_coordination(client_id, by["organisation"])
        if not self.has_episode_with(organisation, client_id):
            raise ForbiddenError(f"{organisation} has no episode of this client.")
        coordination.name(organisation, on, by)
        self.save_keyed(None, coordination)
        return coordination

    def end_top_coordinator(
        self, client_id: UUID, on: date, by: dict[str, str]
    ) -> TopCareCoordination:
        coordination = self.top_coordination(client_id, by["organisation"])
        current = coordination.current
        if current is not None and current["organisation"] != by["organisation"]:
            raise ForbiddenError("Only the TOP care coordinator ends its coordination.")
        coordination.end(on, by)
        self.save_keyed(None, coordination)
        return coordination

    def knows_client(self, client_id: UUID) -> bool:
        self.log_index.catch_up()
        return client_id in self._by_client

    def has_episode_with(self, organisation: str, client_id: UUID) -> bool:
        """Is the organisation party to the client here (has it an episode of theirs)?"""
        self.log_index.catch_up()
        return any(self._owners[e][0] == organisation for e in self._by_client.get(client_id, []))

    def episode_owner(self, episode_id: UUID) -> tuple[str, UUID] | None:
        """(organisation, client) of an episode, from the log index; for feed filtering."""
        self.log_index.catch_up()
        return self._owners.get(episode_id)

    def clients_of(self, items: list[FeedItem]) -> list[UUID | None]:
        """For the audit of feed pages: the client of each item's episode (or TOP coordination)."""
        self.log_index.catch_up()
        clients: list[UUID | None] = []
        for item in items:
            owner = self._owners.get(item.aggregate_id)
            named = item.data.get("client_id") if item.aggregate_type != "Episode" else None
            clients.append(owner[1] if owner else UUID(named) if named else None)
        return clients

    def _index_event(self, domain_event: Any) -> None:
        if type(domain_event).__name__ == "EpisodeOpened":
            episode_id = domain_event.originator_id
            self._by_client[domain_event.client_id].append(episode_id)
            self._owners[episode_id] = (domain_event.organisation, domain_event.client_id)
