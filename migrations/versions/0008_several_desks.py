"""several desks on one database: outbox leases, versions, units read by a desk, desks named, the change log

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('claimed_until_ms', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('sent_by', sa.String(length=100), nullable=True))
    for table in ('routes', 'stops'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('read_since_ms', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('read_seen_ms', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('desk', sa.String(length=100), nullable=True))
    op.create_table(
        'changes',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('ref_id', sa.BigInteger(), nullable=False),
        sa.Column('at_ms', sa.BigInteger(), nullable=False),
        sa.Column('desk', sa.String(length=100), nullable=True),
    )
    op.create_index('ix_changes_at_ms', 'changes', ['at_ms'])


def downgrade() -> None:
    op.drop_table('changes')
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_column('desk')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('read_seen_ms')
        batch_op.drop_column('read_since_ms')
        batch_op.drop_column('read_by')
    for table in ('stops', 'routes'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('sent_by')
        batch_op.drop_column('claimed_until_ms')
        batch_op.drop_column('claimed_by')
