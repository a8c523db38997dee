"""lookup keys: phone and e-mail keys on stops, name and street words

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

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
    """Orders stored before this version get their keys (with the user's phone region)."""
    from fleet_desk.settings import Settings
    from fleet_desk.store.search_index import email_key, index_terms, locale_region, phone_key, region_of

    conn = op.get_bind()
    stops = sa.table('stops', sa.column('id'), sa.column('customer_name'), sa.column('address'),
                     sa.column('phone'), sa.column('email'), sa.column('phone_key'), sa.column('email_key'))
    rows = conn.execute(sa.select(stops.c.id, stops.c.customer_name, stops.c.address, stops.c.phone,
                                  stops.c.email)).all()
    international = [k for k in (phone_key(r.phone, None) for r in rows[:200]) if k]
    region = Settings.load().phone_region.upper() or region_of(international) or locale_region()
    for row in rows:
        conn.execute(stops.update().where(stops.c.id == row.id).values(
            phone_key=phone_key(row.phone, region), email_key=email_key(row.email)))
        index_terms(conn, row.id, row.customer_name, row.address)


def downgrade() -> None:
    op.drop_table('lookup_terms')
    with op.batch_alter_table('stops', schema=None) as batch_op:
        batch_op.drop_index('ix_stops_email_key')
        batch_op.drop_index('ix_stops_phone_key')
        batch_op.drop_column('email_key')
        batch_op.drop_column('phone_key')
