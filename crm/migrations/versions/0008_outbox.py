"""outbox: messages Telegram did not take, retried in order per chat

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('reply_markup', sa.JSON(), nullable=True),
    sa.Column('parse_mode', sa.String(length=16), nullable=True),
    sa.Column('copy_from_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('copy_message_id', sa.BigInteger(), nullable=True),
    sa.Column('log_kind', sa.String(length=32), nullable=True),
    sa.Column('notify_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('escalation_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('pending', 'gave_up', 'failed', name='outboxstate', native_enum=False, length=32),
              nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_state_chat', ['state', 'chat_id', 'id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_state_chat')
    op.drop_table('outbox_messages')
