"""Assistant events (append-only record of impressions, clicks, carts, orders, FAQ, fallbacks,
hand-overs, ratings) and the conversation an order was placed in.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 13:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# frozen as of this revision (a later change of the types gets its own migration)
TYPES = "impression click add_to_cart checkout_started order_placed faq_answered faq_unsure fallback handoff rating".split()


def upgrade() -> None:
    op.create_table(
        "assistant_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("model", sa.String(length=40), nullable=True),
        sa.Column("variant", sa.String(length=16), nullable=True),
        sa.Column("value", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "type IN (" + ", ".join(repr(t) for t in TYPES) + ")", name="assistant_event_type"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assistant_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assistant_events_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assistant_events_conversation_id"), ["conversation_id"], unique=False
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conversation_id", sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_conversation_id"), ["conversation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_conversation_id"))
        batch_op.drop_column("conversation_id")
    with op.batch_alter_table("assistant_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistant_events_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_assistant_events_at"))
    op.drop_table("assistant_events")
