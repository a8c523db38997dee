"""lookup keys: phone and e-mail keys on stops, name and street words

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import locale
import re
import unicodedata
from collections import Counter

import phonenumbers
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_key', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('email_key', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_stops_phone_key', ['phone_key'], unique=False)
        batch_op.create_index('ix_stops_email_key', ['email_key'], unique=False)
    op.create_table('lookup_terms',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('term', sa.String(length=60), nullable=False),
    sa.Column('stop_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.SmallInteger(), nullable=False),
    sa.ForeignKeyConstraint(['stop_id'], ['stops.id'], name=op.f('fk_lookup_terms_stop_id_stops'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lookup_terms'))
    )
    with op.batch_alter_table('lookup_terms', schema=None) as batch_op:
        batch_op.create_index('ix_lookup_terms_term', ['term', 'stop_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lookup_terms_stop_id'), ['stop_id'], unique=False)
    _index_existing_stops()


def _index_existing_stops() -> None:
    """Orders stored before this version get their keys. National phone numbers are read with the region of the
    stored international ones, else this computer's locale: a migration reads no user settings (a setting
    `phone_region` applies to the orders stored from then on)."""
    conn = op.get_bind()
    stops = sa.table('stops', sa.column('id'), sa.column('customer_name'), sa.column('address'),
                     sa.column('phone'), sa.column('email'), sa.column('phone_key'), sa.column('email_key'))
    rows = conn.execute(sa.select(stops.c.id, stops.c.customer_name, stops.c.address, stops.c.phone,
                                  stops.c.email)).all()
    international = [k for k in (_phone_key(r.phone, None) for r in rows[:200]) if k]
    region = _region_of(international) or _locale_region()
    for row in rows:
        conn.execute(stops.update().where(stops.c.id == row.id).values(
            phone_key=_phone_key(row.phone, region), email_key=_email_key(row.email)))
        _index_terms(conn, row.id, row.customer_name, row.address)


# What the keys were at this revision, frozen here: a migration never imports the app, whose code moves on.
_NAME, _STREET = 1, 2
_TERM_MAX = 60
_WORD = re.compile(r"[0-9a-z]+")
_TERMS = sa.table('lookup_terms', sa.column('term'), sa.column('stop_id'), sa.column('field'))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    return list(dict.fromkeys(w[:_TERM_MAX] for w in _WORD.findall(_fold(text))))


def _locale_region() -> str | None:
    name = locale.getlocale()[0] or ""
    return name.split("_")[1][:2].upper() if "_" in name else None


def _phone_key(text: str | None, region: str | None) -> str | None:
    if not text or sum(ch.isdigit() for ch in text) < 6:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _region_of(keys: list[str]) -> str | None:
    codes = Counter(phonenumbers.parse(k).country_code for k in keys)
    if not codes:
        return None
    region = phonenumbers.region_code_for_country_code(codes.most_common(1)[0][0])
    return None if region == "ZZ" else region


def _email_key(text: str | None) -> str | None:
    text = (text or "").strip().lower()
    return text if "@" in text else None


def _index_terms(conn: sa.Connection, stop_id: int, customer_name: str, address: str) -> None:
    conn.execute(_TERMS.delete().where(_TERMS.c.stop_id == stop_id))
    rows = [{"term": w, "stop_id": stop_id, "field": _NAME} for w in _words(customer_name)]
    rows += [{"term": w, "stop_id": stop_id, "field": _STREET} for w in _words(address) if not w.isdigit()]
    if rows:
        conn.execute(_TERMS.insert(), rows)


def downgrade() -> None:
    op.drop_table('lookup_terms')
    with op.batch_alter_table('stops', schema=None) as batch_op:
        batch_op.drop_index('ix_stops_email_key')
        batch_op.drop_index('ix_stops_phone_key')
        batch_op.drop_column('email_key')
        batch_op.drop_column('phone_key')
