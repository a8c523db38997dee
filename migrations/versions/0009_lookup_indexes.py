"""lookup indexes: name and street words found by (field, term) from the index alone; lookup keys in code
point order on PostgreSQL

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

A lookup by name asks `lookup_terms` for ``field = 1 AND term >= 'mart' AND term < 'mart' || U+10FFFF``.
The index was (term, stop_id): every word it matched cost a read of its table row to check ``field``
(thousands of random page reads for a common prefix, on PostgreSQL a bitmap heap scan). The index is now
(field, term, stop_id), which answers the whole query (an index-only scan on PostgreSQL, a covering index on
SQLite).

On PostgreSQL, the lookup keys `lookup_terms.term`, `stops.email_key` (the e-mail prefix lookup) and
`stops.phone_key` take the "C" collation, the order SQLite's BINARY gives them (code point order, for UTF-8):
- Under a database's linguistic collation (en_US.UTF-8 from glibc, the usual default) U+10FFFF sorts as if
  it were not there, so the range above held only the word itself: prefixes found nothing.
- Which region most stored phones are in (asked on every lookup when no `phone_region` is set) reads
  ``phone_key >= '+' AND phone_key < ','``, an index range in code point order only; ``LIKE '+%'`` could not
  use the index under any collation but "C" and read all of it when no key starts with "+".
The keys are compared for equality or by prefix only, so nothing else changes. Changing a column's collation
rebuilds its indexes but not the table.
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_lookup_terms_term', table_name='lookup_terms')
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('lookup_terms', 'term', type_=sa.String(length=60, collation='C'),
                        existing_type=sa.String(length=60), existing_nullable=False)
        op.alter_column('stops', 'email_key', type_=sa.String(length=200, collation='C'),
                        existing_type=sa.String(length=200), existing_nullable=True)
        op.alter_column('stops', 'phone_key', type_=sa.String(length=20, collation='C'),
                        existing_type=sa.String(length=20), existing_nullable=True)
    op.create_index('ix_lookup_terms_field_term', 'lookup_terms', ['field', 'term', 'stop_id'])


def downgrade() -> None:
    op.drop_index('ix_lookup_terms_field_term', table_name='lookup_terms')
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('stops', 'phone_key', type_=sa.String(length=20),
                        existing_type=sa.String(length=20, collation='C'), existing_nullable=True)
        op.alter_column('stops', 'email_key', type_=sa.String(length=200),
                        existing_type=sa.String(length=200, collation='C'), existing_nullable=True)
        op.alter_column('lookup_terms', 'term', type_=sa.String(length=60),
                        existing_type=sa.String(length=60, collation='C'), existing_nullable=False)
    op.create_index('ix_lookup_terms_term', 'lookup_terms', ['term', 'stop_id'])
