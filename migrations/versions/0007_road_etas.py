"""road-network ETAs: what ETAs rest on, and the driven legs the depot learns from

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eta_basis', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('straight_legs', sa.Integer(), nullable=True))
    with op.batch_alter_table('stops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expected_service_s', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('service_basis', sa.String(length=20), nullable=True))
    op.create_table(
        'driven_legs',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True),
        sa.Column('route_id', sa.Integer(), sa.ForeignKey('routes.id', ondelete='CASCADE'), nullable=False),
        sa.Column('stop_id', sa.Integer(), sa.ForeignKey('stops.id', ondelete='CASCADE'), nullable=False),
        sa.Column('departed_ms', sa.BigInteger(), nullable=False),
        sa.Column('arrived_ms', sa.BigInteger(), nullable=False),
        sa.Column('driven_m', sa.Float(), nullable=False),
        sa.Column('straight_m', sa.Float(), nullable=False),
        sa.Column('road_s', sa.Float(), nullable=True),
    )
    op.create_index('ix_driven_legs_route_id', 'driven_legs', ['route_id'])
    op.create_index('ix_driven_legs_arrived_ms', 'driven_legs', ['arrived_ms'])


def downgrade() -> None:
    op.drop_table('driven_legs')
    with op.batch_alter_table('stops', schema=None) as batch_op:
        batch_op.drop_column('service_basis')
        batch_op.drop_column('expected_service_s')
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.drop_column('straight_legs')
        batch_op.drop_column('eta_basis')
