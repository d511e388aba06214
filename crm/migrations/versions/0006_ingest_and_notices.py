"""shipment data in and proactive care: tracking events keep the source system's event id (unique per parcel);
the notices outbox and log, "Notify me" subscriptions, /notify off opt-outs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ('created', 'in_transit', 'out_for_delivery', 'delivered', 'delayed', 'exception', 'returned', 'lost')


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_event_id', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_tracking_events_shipment_source', ['shipment_id', 'source_event_id'])

    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum(*STATUSES, name='shipmentstatus', native_enum=False, length=32), nullable=False),
    sa.Column('audience', sa.Enum('owner', 'subscriber', name='noticeaudience', native_enum=False, length=32), nullable=False),
    sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'failed', 'skipped', name='noticestate', native_enum=False, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deferred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_notices_shipment_id_shipments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('shipment_id', 'status', 'chat_id', name='uq_notices_shipment_status_chat')
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index('ix_notices_state_due', ['state', 'due_at'], unique=False)

    op.create_table('notice_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_notice_subscriptions_shipment_id_shipments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_subscriptions')),
    sa.UniqueConstraint('chat_id', 'shipment_id', name='uq_notice_subscriptions_chat_shipment')
    )
    with op.batch_alter_table('notice_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_subscriptions_shipment_id'), ['shipment_id'], unique=False)

    op.create_table('notice_opt_outs',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chat_id', name=op.f('pk_notice_opt_outs'))
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('notice_opt_outs')
    with op.batch_alter_table('notice_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_subscriptions_shipment_id'))
    op.drop_table('notice_subscriptions')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_state_due')
        batch_op.drop_index(batch_op.f('ix_notices_chat_id'))
    op.drop_table('notices')
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_tracking_events_shipment_source', type_='unique')
        batch_op.drop_column('source_event_id')
