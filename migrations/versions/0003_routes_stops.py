"""routes, stops, order timeline, ETA history

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('routes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('route_key', sa.String(length=100), nullable=False),
    sa.Column('service_date', sa.String(length=10), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=True),
    sa.Column('planned_start_ms', sa.BigInteger(), nullable=True),
    sa.Column('departed_ms', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('learned_speed_mps', sa.Float(), nullable=True),
    sa.Column('silent_since_ms', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['driver_id'], ['drivers.id'], name=op.f('fk_routes_driver_id_drivers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_routes_vehicle_id_vehicles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routes')),
    sa.UniqueConstraint('service_date', 'route_key', name=op.f('uq_routes_service_date_route_key'))
    )
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routes_vehicle_id'), ['vehicle_id'], unique=False)

    op.create_table('stops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('route_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=100), nullable=False),
    sa.Column('tracking_number', sa.String(length=100), nullable=False),
    sa.Column('customer_name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.String(length=500), nullable=True),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('radius_m', sa.Float(), nullable=True),
    sa.Column('window_start_ms', sa.BigInteger(), nullable=False),
    sa.Column('window_end_ms', sa.BigInteger(), nullable=False),
    sa.Column('service_s', sa.Integer(), nullable=False),
    sa.Column('planned_ms', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('arrived_ms', sa.BigInteger(), nullable=True),
    sa.Column('departed_ms', sa.BigInteger(), nullable=True),
    sa.Column('failure_reason', sa.String(length=200), nullable=True),
    sa.Column('eta_ms', sa.BigInteger(), nullable=True),
    sa.Column('eta_earliest_ms', sa.BigInteger(), nullable=True),
    sa.Column('eta_latest_ms', sa.BigInteger(), nullable=True),
    sa.Column('eta_at_ms', sa.BigInteger(), nullable=True),
    sa.Column('late', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('delay_minutes', sa.Integer(), nullable=True),
    sa.Column('delay_reason', sa.String(length=200), nullable=True),
    sa.Column('told_eta_ms', sa.BigInteger(), nullable=True),
    sa.Column('told_at_ms', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['route_id'], ['routes.id'], name=op.f('fk_stops_route_id_routes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stops')),
    sa.UniqueConstraint('order_id', name=op.f('uq_stops_order_id')),
    sa.UniqueConstraint('tracking_number', name=op.f('uq_stops_tracking_number'))
    )
    with op.batch_alter_table('stops', schema=None) as batch_op:
        batch_op.create_index('ix_stops_route_sequence', ['route_id', 'sequence'], unique=False)

    op.create_table('eta_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stop_id', sa.Integer(), nullable=False),
    sa.Column('predicted_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('eta_ms', sa.BigInteger(), nullable=False),
    sa.Column('earliest_ms', sa.BigInteger(), nullable=False),
    sa.Column('latest_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['stop_id'], ['stops.id'], name=op.f('fk_eta_history_stop_id_stops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eta_history'))
    )
    with op.batch_alter_table('eta_history', schema=None) as batch_op:
        batch_op.create_index('ix_eta_history_stop_time', ['stop_id', 'predicted_at_ms'], unique=False)

    op.create_table('order_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stop_id', sa.Integer(), nullable=False),
    sa.Column('time_ms', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('customer_facing', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['stop_id'], ['stops.id'], name=op.f('fk_order_events_stop_id_stops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events'))
    )
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.create_index('ix_order_events_stop_time', ['stop_id', 'time_ms'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_index('ix_order_events_stop_time')

    op.drop_table('order_events')
    with op.batch_alter_table('eta_history', schema=None) as batch_op:
        batch_op.drop_index('ix_eta_history_stop_time')

    op.drop_table('eta_history')
    with op.batch_alter_table('stops', schema=None) as batch_op:
        batch_op.drop_index('ix_stops_route_sequence')

    op.drop_table('stops')
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routes_vehicle_id'))

    op.drop_table('routes')
