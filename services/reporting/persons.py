"""Figures "for the client" follow the person: which person each client registration was, as
known at a recording time (merges and splits count from when they were recorded)."""

from collections import defaultdict
from datetime import date

import orjson
from sqlalchemy import Connection, String, select, type_coerce

from services.reporting.models import FactRow, PersonLinkRow
from services.reporting.queries import Knowledge, as_date, effective, known


def persons_of(
    connection: Connection, client_ids: set[str], knowledge: Knowledge
) -> dict[str, str]:
    """client id -> person id; a client with no link known then is a person of its own."""
    found = {c: c for c in client_ids}
    ids = sorted(client_ids)
    condition = known(PersonLinkRow.recorded_from, PersonLinkRow.recorded_to, knowledge)
    for start in range(0, len(ids), 500):
        query = select(PersonLinkRow.client_id, PersonLinkRow.person_id).where(
            PersonLinkRow.client_id.in_(ids[start : start + 500]), condition
        )
        found.update((str(c), str(p)) for c, p in connection.execute(query))
    return found


def openings_by_person(
    connection: Connection, knowledge: Knowledge, start: date, end: date
) -> dict[str, list[date]]:
    """The dates episodes were opened (re-engaged ones included) from start to end, at any
    organisation, by person as known then."""
    query = select(type_coerce(FactRow.business_date, String), FactRow.data).where(
        FactRow.type == "EpisodeOpened",
        effective(knowledge),
        FactRow.business_date >= start,
        FactRow.business_date <= end,
    )
    rows = [
        (as_date(on), str(orjson.loads(data)["client_id"]))
        for on, data in connection.execute(query)
    ]
    persons = persons_of(connection, {client for _, client in rows}, knowledge)
    found: dict[str, list[date]] = defaultdict(list)
    for on, client in rows:
        found[persons[client]].append(on)
    return found
