"""Finding orders from what a caller says: tracking number, order id, phone, e-mail, name or street.

Ranked: exact identifiers first (tracking number, order id), then the phone or
e-mail, then names whose words start with every word typed (whole words before
prefixes), then streets; within a rank, the most recent service day first.
Each kind is an index probe; nothing scans the orders.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, and_, intersect, or_, select

from fleet_desk.store.models import LookupTerm, Route, Stop
from fleet_desk.store.search_index import (
    NAME,
    STREET,
    email_key,
    locale_region,
    mask_email,
    mask_phone,
    phone_keys,
    usual_region,
    words,
)

EXACT, CONTACT, NAME_WORDS, NAME_PREFIX, STREET_WORDS, EMAIL_PREFIX = range(6)
MIN_PREFIX = 2
#: Up to this many stops matching a name or street are ordered by their ids (see `_by_words`).
FEW = 2000
_END = "\U0010ffff"


@dataclass(frozen=True)
class Hit:
    """One order in a result list (phone and e-mail masked)."""

    stop_id: int
    rank: int
    order_id: str
    tracking_number: str
    customer_name: str
    phone: str
    email: str
    address: str
    service_date: str
    status: str


def find_orders(engine: Engine, query: str, region: str | None = None, limit: int = 20) -> list[Hit]:
    """The orders ``query`` may mean, best first."""
    text = query.strip()
    if not text:
        return []
    with engine.connect() as conn:
        region = region or usual_region(conn) or locale_region()
        ranked: dict[int, int] = {}
        for rank, ids in _candidates(conn, text, region, limit):
            for stop_id in ids:
                ranked.setdefault(stop_id, rank)
            if len(ranked) >= limit:
                break  # the list is full; weaker kinds of match would come after it
        if not ranked:
            return []
        rows = conn.execute(
            select(Stop.id, Stop.order_id, Stop.tracking_number, Stop.customer_name, Stop.phone, Stop.email,
                   Stop.address, Route.service_date, Stop.status)
            .join(Route, Route.id == Stop.route_id).where(Stop.id.in_(list(ranked)))
        ).all()
    hits = [Hit(r.id, ranked[r.id], r.order_id, r.tracking_number, r.customer_name, mask_phone(r.phone),
                mask_email(r.email), r.address, r.service_date, r.status) for r in rows]
    hits.sort(key=lambda h: (h.rank, -date.fromisoformat(h.service_date).toordinal(), h.customer_name, h.stop_id))
    return hits[:limit]


def _candidates(conn: Connection, text: str, region: str | None, limit: int) -> Iterator[tuple[int, Sequence[int]]]:
    """(rank, stop ids) from the strongest kind of match to the weakest."""
    ids = {text, text.upper()}
    yield EXACT, conn.scalars(select(Stop.id).where(or_(Stop.tracking_number.in_(ids), Stop.order_id.in_(ids)))).all()
    phone = phone_keys(text, region)
    if phone:
        yield CONTACT, conn.scalars(select(Stop.id).where(Stop.phone_key.in_(phone)).limit(limit)).all()
    email = email_key(text)
    if email:
        yield CONTACT, conn.scalars(select(Stop.id).where(Stop.email_key == email).limit(limit)).all()
        yield EMAIL_PREFIX, conn.scalars(select(Stop.id).where(Stop.email_key >= email,
                                                               Stop.email_key < email + _END).limit(limit)).all()
    typed = [w for w in words(text) if len(w) >= MIN_PREFIX or w.isdigit()]
    if not typed or phone:
        return
    yield NAME_WORDS, _by_words(conn, typed, NAME, whole=True, limit=limit)
    yield NAME_PREFIX, _by_words(conn, typed, NAME, whole=False, limit=limit)
    yield STREET_WORDS, _by_words(conn, typed, STREET, whole=False, limit=limit)


def _by_words(conn: Connection, typed: list[str], field: int, whole: bool, limit: int) -> Sequence[int]:
    """Stops with, for every typed word, a word of ``field`` equal to it (``whole``) or starting with it; the
    most recent service day first.

    The matching stops are read first from the words' index alone, at most `FEW` of them. That many or fewer
    are ordered by their ids: a query the planner cannot misjudge. More, and they are ordered by walking the
    service days from the newest, which meets them soon. Asked in one query, PostgreSQL judges how many match
    from each column alone (a word frequent among streets is taken for frequent among names too) and walked
    every stop of the depot, 200,000 at depot scale, for a word no name has ("lyon": 0.4 s)."""
    parts = []
    for word in typed:
        match = LookupTerm.term == word if whole else and_(LookupTerm.term >= word, LookupTerm.term < word + _END)
        parts.append(select(LookupTerm.stop_id).where(match, LookupTerm.field == field))
    matched = parts[0] if len(parts) == 1 else intersect(*parts)
    few = conn.scalars(select(matched.subquery().c[0]).limit(FEW + 1)).all()
    if not few:
        return []
    within = Stop.id.in_(sorted(set(few))) if len(few) <= FEW else and_(*(Stop.id.in_(part) for part in parts))
    query = (select(Stop.id).join(Route, Route.id == Stop.route_id).where(within)
             .order_by(Route.service_date.desc(), Stop.id).limit(limit))
    return conn.scalars(query).all()
