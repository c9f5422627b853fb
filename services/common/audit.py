"""The audit log: an append-only, hash-chained record of every attempt to see personal data.

The chain is one event sequence (one originator id); an entry's version is its place in the
chain. Writers read the tail (one row), link their entries to it and insert them at the next
versions: a writer that raced another (thread or process) gets the store's unique-version
conflict and links again to the new tail, so the chain stays linear.

    python -m services.common.audit verify [--service referral|journey|reporting]
checks each service's chain on the configured stores (exit code 1 at the first broken link).
"""

import argparse
import bisect
import hashlib
import random
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoder

from services.common.log_index import LogIndex, once

CHAIN_ID = UUID("5b0f2d1e-8f61-4e9c-9a37-2d4f6b8c0a11")
GENESIS = "0" * 64
NOT_STATED = "not_stated"
OUTCOMES = ("granted", "denied_role", "denied_scope", "not_found", "refused")
APPEND_ATTEMPTS = 50


@dataclass(frozen=True)
class AuditEntry(DomainEvent):
    """One link: the entry, the previous link's hash and this link's hash."""

    entry: dict[str, Any]
    previous: str
    hash: str


def canonical(entry: dict[str, Any]) -> bytes:
    """Compact JSON, keys sorted, UTF-8 unescaped: byte for byte what
    json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    gives for an entry's strings and nulls (tests/unit/test_audit_canonical.py checks every
    code point), which links were first hashed with; orjson takes a fifth of the time."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


def link_hash(previous: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256(previous.encode() + canonical(entry)).hexdigest()


class LinkTranscoder(JSONTranscoder):
    """Encodes links with orjson (the library's json encoder took ~40 µs a link; a worklist
    read audits ~200 rows). A link's state holds only strings, None and its timestamp, which
    goes through the registered transcoding as before, so `decode` (the library's) reads
    links written either way."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=self._encode_obj, option=orjson.OPT_PASSTHROUGH_DATETIME)


class AccessLog(Application[Any]):
    """The audit log of one service, in its own store (a sibling SQLite file, or the
    auditlog_events table), so audit entries never enter a feed."""

    name = "AuditLog"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._append_lock = threading.Lock()
        self._tail: tuple[int, str] | None = None
        self._by_client: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._by_organisation: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._index = LogIndex(self, self._index_event)

    def construct_transcoder(self) -> Transcoder:
        transcoder = LinkTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def append(self, entries: list[dict[str, Any]]) -> None:
        """Chain the entries after the tail and store them in one insert; relink and retry
        when another writer took the tail first."""
        if not entries:
            return
        with self._append_lock:
            for _ in range(APPEND_ATTEMPTS):
                version, previous = self._tail or self.read_tail()
                links = []
                for entry in entries:
                    version += 1
                    digest = link_hash(previous, entry)
                    links.append(
                        AuditEntry(
                            originator_id=CHAIN_ID,
                            originator_version=version,
                            timestamp=datetime.now(UTC),
                            entry=entry,
                            previous=previous,
                            hash=digest,
                        )
                    )
                    previous = digest
                try:
                    stored = [self.mapper.to_stored_event(e) for e in links]
                    once(self.recorder, "insert_events", stored)
                except IntegrityError:
                    self._tail = None
                    time.sleep(random.uniform(0, 0.005))
                    continue
                self._tail = (version, previous)
                return
        raise IntegrityError(f"audit chain still contended after {APPEND_ATTEMPTS} attempts")

    def read_tail(self) -> tuple[int, str]:
        """(version, hash) of the last link: one row, never the whole log."""
        last = once(self.recorder, "select_events", CHAIN_ID, desc=True, limit=1)
        if not last:
            return 0, GENESIS
        link = self.mapper.to_domain_event(last[0])
        assert isinstance(link, AuditEntry)
        return link.originator_version, link.hash

    def links(self, page: int = 1000) -> Iterator[tuple[int, Any]]:
        """(version, link or the error decoding it) in chain order, a page at a time."""
        after = 0
        while True:
            stored = self.recorder.select_events(CHAIN_ID, gt=after or None, limit=page)
            if not stored:
                return
            for row in stored:
                try:
                    yield row.originator_version, self.mapper.to_domain_event(row)
                except (ValueError, KeyError, TypeError) as error:
                    yield row.originator_version, error
                after = row.originator_version

    def verify(self) -> tuple[int, str | None]:
        """The number of links, and a description of the first broken one (None if intact)."""
        expected, previous, count = 1, GENESIS, 0
        for version, link in self.links():
            count += 1
            if isinstance(link, Exception):
                return count, f"entry {version}: unreadable ({link})"
            if version != expected:
                return count, f"entry {expected}: missing (next stored is {version})"
            if link.previous != previous:
                return count, f"entry {version}: does not link to entry {version - 1}"
            if link_hash(previous, link.entry) != link.hash:
                return count, f"entry {version}: altered (its hash does not match)"
            expected, previous = version + 1, link.hash
        return count, None

    def of_client(self, client_id: UUID, after: int, limit: int) -> list[dict[str, Any]]:
        self._index.catch_up()
        return _page(self._by_client.get(str(client_id), []), after, limit)

    def of_organisation(self, organisation: str, after: int, limit: int) -> list[dict[str, Any]]:
        self._index.catch_up()
        return _page(self._by_organisation.get(organisation, []), after, limit)

    def _index_event(self, link: Any) -> None:
        if not isinstance(link, AuditEntry):
            return
        row = {"seq": link.originator_version, **link.entry}
        if row.get("client_id"):
            self._by_client[row["client_id"]].append(row)
        self._by_organisation[row["organisation"]].append(row)


def _page(rows: list[dict[str, Any]], after: int, limit: int) -> list[dict[str, Any]]:
    start = bisect.bisect_right(rows, after, key=lambda row: row["seq"])
    return rows[start : start + limit + 1]  # one more than asked: says whether more remain


def access_log_env(store: dict[str, str]) -> dict[str, str]:
    """Beside the service's store: a sibling SQLite file, or its own PostgreSQL table."""
    env = dict(store)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        env["SQLITE_DBNAME"] = env["SQLITE_DBNAME"].removesuffix(".db") + ".audit.db"
    else:  # appends are one at a time per process (a lock), so a small pool does
        env.update(POSTGRES_POOL_SIZE="2", POSTGRES_MAX_OVERFLOW="2")
    return env


SERVICES = ("referral", "journey", "reporting")


def verify_service(service: str) -> int:
    from services.common.settings import Settings
    from services.common.store import store_env

    env = access_log_env(store_env(Settings().database_url(service)))
    if "SQLITE_DBNAME" in env and not Path(env["SQLITE_DBNAME"]).exists():
        print(f"{service}: no audit log at {env['SQLITE_DBNAME']}")
        return 0
    log = AccessLog(env=env)
    try:
        count, broken = log.verify()
    finally:
        log.close()
    if broken:
        print(f"{service}: {count} entries read; BROKEN at {broken}")
        return 1
    print(f"{service}: {count} entries, chain intact")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Check the audit logs' hash chains.")
    parser.add_argument("command", choices=["verify"])
    parser.add_argument("--service", choices=SERVICES, action="append")
    args = parser.parse_args(argv)
    failures = [verify_service(s) for s in args.service or SERVICES]
    sys.exit(1 if any(failures) else 0)


if __name__ == "__main__":
    main()
