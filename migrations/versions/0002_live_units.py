"""live unit assignments: a unit's baud rate and whether it runs live

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('devices') as batch:
        batch.add_column(sa.Column('baud', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('live', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('devices') as batch:
        batch.drop_column('live')
        batch.drop_column('baud')
