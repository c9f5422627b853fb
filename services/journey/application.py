"""The journey application: episodes, their events, and opening episodes from the referral feed."""

from collections import defaultdict
from contextlib import suppress
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, ProcessRecorder, Tracking

from services.common import codes
from services.common.clock import today
from services.common.feed import FeedItem
from services.common.group_commit import GroupCommit
from services.common.log_index import LogIndex
from services.common.store import JsonApplication
from services.journey.domain import Episode
from services.journey.rules import (
    ConcurrentChangeError,
    EpisodeNotFoundError,
    VersionMismatchError,
)

REFERRAL_FEED = "referral"


class JourneyApplication(JsonApplication):
    name = "journey"
    enums = tuple(codes.CODED_LISTS.values())
    # Hot episodes stay in memory; each read still fast-forwards from the store, so several
    # processes stay correct.
    env = {"AGGREGATE_CACHE_MAXSIZE": "10000"}

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._by_client: dict[UUID, list[UUID]] = defaultdict(list)
        self._by_organisation: dict[str, list[UUID]] = defaultdict(list)
        self._log_index = LogIndex(self, self._index_event)
        self._group_commit = GroupCommit(self.events)

    def construct_recorder(self) -> ProcessRecorder:
        # A process recorder stores the followed feed's position with the events it causes.
        return self.factory.process_recorder()

    # Following the referral feed

    def referral_feed_position(self) -> int:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder.max_tracking_id(REFERRAL_FEED) or 0

    def apply_referral_page(self, items: list[FeedItem]) -> None:
        """Open an episode per accepted referral; each with its feed position, atomically."""
        last_tracked = None
        for item in items:
            if item.type != "ReferralAccepted":
                continue
            episode = self._episode_from(item)
            tracking = Tracking(application_name=REFERRAL_FEED, notification_id=item.position)
            try:
                self.events.put(episode.collect_events(), tracking=tracking)
            except IntegrityError:
                pass  # already opened (a second follower, or a page seen twice): nothing to do
            last_tracked = item.position
        if items and items[-1].position != last_tracked:
            # Remember we read past events that open nothing, so a restart need not re-read them.
            recorder = self.recorder
            assert isinstance(recorder, ProcessRecorder)
            try:
                recorder.insert_tracking(Tracking(REFERRAL_FEED, items[-1].position))
            except IntegrityError:
                pass  # another follower got there first

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

    # Commands

    def record(
        self,
        episode_id: UUID,
        event_class: type[Episode.JourneyEvent],
        by: dict[str, str],
        on: date,
        expected_version: int | None = None,
        **data: Any,
    ) -> Episode:
        episode = self._get_for_change(episode_id, expected_version)
        episode.record(event_class, on, by, today(), **data)
        self._save(episode)
        return episode

    def re_engage(
        self,
        episode_id: UUID,
        by: dict[str, str],
        on: date,
        expected_version: int | None,
        keyworker: str | None,
    ) -> Episode:
        """The client returns: the old episode records it and a new, linked one opens (§3.9.2)."""
        old = self._get_for_change(episode_id, expected_version)
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
        self._save(old, new)
        return new

    def mark_in_error(
        self,
        episode_id: UUID,
        target_version: int,
        by: dict[str, str],
        reason: str,
        expected_version: int | None,
    ) -> Episode:
        episode = self._get_for_change(episode_id, expected_version)
        episode.mark_in_error(target_version, by, reason, today())
        self._save(episode)
        return episode

    def correct(
        self,
        episode_id: UUID,
        target_version: int,
        by: dict[str, str],
        reason: str,
        replacement_on: date,
        replacement: dict[str, Any],
        expected_version: int | None,
    ) -> Episode:
        episode = self._get_for_change(episode_id, expected_version)
        episode.correct(target_version, replacement_on, replacement, by, reason, today())
        self._save(episode)
        return episode

    def _get_for_change(self, episode_id: UUID, expected_version: int | None) -> Episode:
        episode = self.get_episode(episode_id)
        if expected_version is not None and expected_version != episode.version:
            raise VersionMismatchError(
                f"The episode is at version {episode.version}, not {expected_version}."
            )
        return episode

    def _save(self, *episodes: Episode) -> None:
        cache = self.repository.cache
        try:
            self._group_commit.put([e for episode in episodes for e in episode.collect_events()])
        except IntegrityError:
            if cache is not None:  # whatever we hold may be stale: read the store next time
                for episode in episodes:
                    with suppress(KeyError):
                        cache.get(episode.id, evict=True)
            raise ConcurrentChangeError(
                "Another change to the episode was saved first; read it again and retry."
            ) from None
        if cache is not None and not self.repository.fastforward:
            for episode in episodes:
                cache.put(episode.id, episode)

    # Queries

    def get_episode(self, episode_id: UUID) -> Episode:
        try:
            episode: Any = self.repository.get(episode_id)
        except AggregateNotFoundError:
            raise EpisodeNotFoundError(f"No episode {episode_id}.") from None
        assert isinstance(episode, Episode)
        return episode

    def client_episodes(self, client_id: UUID) -> list[Episode]:
        """A client's episodes across organisations, in the order they opened."""
        self._log_index.catch_up()
        episodes = [self.get_episode(i) for i in self._by_client.get(client_id, [])]
        return sorted(episodes, key=lambda e: (e.state.opened_on, e.created_on))

    def organisation_episodes(self, organisation: str) -> list[Episode]:
        self._log_index.catch_up()
        return [self.get_episode(i) for i in self._by_organisation.get(organisation, [])]

    def _index_event(self, domain_event: Any) -> None:
        if type(domain_event).__name__ == "EpisodeOpened":
            self._by_client[domain_event.client_id].append(domain_event.originator_id)
            self._by_organisation[domain_event.organisation].append(domain_event.originator_id)
