"""On the real PostgreSQL, every query a customer lookup issues probes an index: the statements
`fleet_desk.lookup.search.find_orders` really sends are recorded and EXPLAINed on a depot of 36,000 orders
(tables big enough that a scan would cost the planner more than an index)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, text

from fleet_desk.lookup.search import find_orders
from fleet_desk.store import search_index
from fleet_desk.store.search_index import NAME, STREET, email_key, phone_key, words

DAYS, ROUTES, STOPS = 30, 300, 4  # 36,000 orders on 9,000 routes
LETTERS = "abcdefghijklmnopqrstuvwxyz"
BIG_TABLES = {"stops", "lookup_terms", "routes"}


def _word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(n))


def _fill(engine: Engine) -> list[tuple]:
    """The depot's orders, copied in as the benchmark does (COPY), then vacuumed and analysed as autovacuum
    leaves a live database; returns the stops' rows."""
    rng = random.Random(20)
    first = [_word(rng, 6).capitalize() for _ in range(300)]
    last = [_word(rng, 8).capitalize() for _ in range(1000)]
    streets = [f"{kind} {_word(rng, 7).capitalize()}" for kind in ("rue", "avenue", "cours", "quai")
               for _ in range(250)]
    routes, stops, terms = [], [], []
    stop_id = 0
    for d in range(DAYS):
        for r in range(ROUTES):
            route_id = d * ROUTES + r + 1
            routes.append((route_id, f"R{r + 1:03d}", f"2026-11-{d + 1:02d}", 1, "done"))
            for s in range(STOPS):
                stop_id += 1
                name = f"{rng.choice(first)} {rng.choice(last)}"
                phone = f"+33 4 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
                email = f"{'.'.join(words(name))}{stop_id % 89}@example.com"
                address = f"{rng.randint(1, 150)} {rng.choice(streets)}, Lyon"
                stops.append((stop_id, route_id, s + 1, f"ORD-{stop_id:07d}", f"FD{stop_id:09d}", name, phone, email,
                              phone_key(phone, "FR"), email_key(email), address, 45.7, 4.8, 0, 1, 240, "pending"))
                terms += [(w, stop_id, NAME) for w in words(name)]
                terms += [(w, stop_id, STREET) for w in words(address) if not w.isdigit()]
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("INSERT INTO vehicles (id, name) VALUES (1, 'Van 1')")
        for table, columns, rows in (
                ("routes", "id, route_key, service_date, vehicle_id, status", routes),
                ("stops", "id, route_id, sequence, order_id, tracking_number, customer_name, phone, email, phone_key, "
                          "email_key, address, lat, lon, window_start_ms, window_end_ms, service_s, status", stops),
                ("lookup_terms", "term, stop_id, field", terms)):
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
        raw.commit()
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        for table in ("vehicles", "routes", "stops", "lookup_terms"):
            cur.execute(f"VACUUM ANALYZE {table}")
    finally:
        raw.close()
    return stops


def _sent(engine: Engine, query: str) -> list[tuple[str, object]]:
    """The statements (and parameters) one lookup sends, no phone region set (so the usual one is asked too)."""
    sent: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        hits = find_orders(engine, query, None)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert hits, f"{query!r} found nothing"
    return sent


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.fixture
def depot(engine: Engine) -> list[tuple]:
    return _fill(engine)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_every_lookup_query_probes_an_index_never_a_scan(engine, depot):
    """Tracking number, order id, phone (national and international), e-mail (whole and its start), whole
    name words, name prefixes, a street and a word of 9,000 addresses: no sequential scan anywhere; name and
    street words are read from the (field, term, stop_id) index alone (the stops walked from the newest day,
    for a word of many, each by its own words)."""
    stop = depot[12_345]
    name, email, address = stop[5], stop[7], stop[10]
    first, last = words(name)
    asked = {
        "tracking number": stop[4].lower(),
        "order id": stop[3].lower(),
        "phone, national": "0" + stop[8][3:],
        "phone, international": stop[6],
        "e-mail": email.upper(),
        "e-mail start": email[: email.index("@") + 3],
        "whole name": f"{last} {first}",
        "name prefixes": f"{last[:3]} {first[:3]}",
        "street": " ".join(w[:4] for w in words(address) if not w.isdigit() and w != "lyon"),
        "a word of a quarter of the streets": "avenue",  # more than FEW stops: walked from the newest day
    }
    used: set[str] = set()
    with engine.connect() as conn:
        for kind, query in asked.items():
            for statement, parameters in _sent(engine, query):
                plan = json.loads(json.dumps(conn.exec_driver_sql(  # type: ignore[arg-type]
                    "EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()))[0]["Plan"]
                for node in _nodes(plan):
                    table = node.get("Relation Name")
                    assert node["Node Type"] != "Seq Scan", f"{kind}: {table} scanned: {statement}"
                    if table == "lookup_terms":  # by words from the index alone, or a walked stop's own words
                        assert (node["Node Type"], node["Index Name"]) in {
                            ("Index Only Scan", "ix_lookup_terms_field_term"), ("Index Scan", "ix_lookup_terms_stop_id")
                        }, f"{kind}: {node['Node Type']}: {statement}"
                    if "Index Name" in node:
                        used.add(node["Index Name"])
    assert {"uq_stops_tracking_number", "uq_stops_order_id", "ix_stops_phone_key", "ix_stops_email_key",
            "ix_lookup_terms_field_term", "pk_stops", "pk_routes"} <= used


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_lookup_keys_are_in_code_point_order_whatever_the_database_collation(engine):
    """A prefix is looked up as ``term >= 'mart' AND term < 'mart' || U+10FFFF``. Under glibc's en_US.UTF-8,
    a usual database default, U+10FFFF sorts as if absent and the range holds 'mart' alone; the lookup keys
    are compared in code point order (collation "C"), as SQLite's BINARY, whatever the database's default."""
    with engine.connect() as conn:
        collations = dict(conn.execute(text(
            "SELECT table_name || '.' || column_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name IN ('term', 'email_key', 'phone_key')")).all())
    assert collations == {"lookup_terms.term": "C", "stops.email_key": "C", "stops.phone_key": "C"}


def test_names_matching_few_or_many_stops_give_the_same_hits_on_both_databases(db_url, monkeypatch):
    """Up to `FEW` matching stops are ordered by their ids, more by walking the service days: the hits, their
    ranks and order are the same either way, and on SQLite and PostgreSQL alike."""
    import fleet_desk.lookup.search as search
    from fleet_desk.store import open_database

    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO vehicles (id, name) VALUES (1, 'Van 1')"))
            conn.execute(text("INSERT INTO routes (id, route_key, service_date, vehicle_id, status) "
                              "VALUES (1, 'R1', '2026-11-02', 1, 'done'), (2, 'R1', '2026-11-03', 1, 'done'), "
                              "(3, 'R1', '2026-11-01', 1, 'done')"))
        rng = random.Random(5)
        names = ["Marie Martin", "Marius Marty", "Martine Lyon", "Léon Mars", "Anna Marchand", "Paul Roux"]
        with engine.begin() as conn:
            for i in range(1, 91):
                name, street = rng.choice(names), rng.choice(["rue Martin", "avenue Lyon", "quai Mars"])
                conn.execute(text(
                    "INSERT INTO stops (id, route_id, sequence, order_id, tracking_number, customer_name, address, "
                    "lat, lon, window_start_ms, window_end_ms, service_s, status) VALUES (:i, :r, :i, :o, :t, :n, "
                    ":a, 45.7, 4.8, 0, 1, 240, 'pending')"),
                    {"i": i, "r": rng.randint(1, 3), "o": f"ORD-{i}", "t": f"FD{i}", "n": name, "a": f"3 {street}"})
                search_index.index_terms(conn, i, name, f"3 {street}")
        asked = ["mar", "mart", "martin", "mar mar", "lyon", "leon", "rue mart", "ly", "zz", "marie martin"]

        def hits() -> list[list[tuple[int, int]]]:
            return [[(h.stop_id, h.rank) for h in find_orders(engine, q, "FR", limit=12)] for q in asked]

        monkeypatch.setattr(search, "FEW", 10_000)
        by_ids = hits()
        monkeypatch.setattr(search, "FEW", 3)
        walked = hits()
    finally:
        engine.dispose()
    assert walked == by_ids
    assert [len(h) for h in by_ids[:4]] == [12, 12, 12, 12]  # more than FEW = 3 match: both ways were taken
    assert by_ids[8] == []
    assert all(rank == search.NAME_WORDS for _, rank in by_ids[9])
